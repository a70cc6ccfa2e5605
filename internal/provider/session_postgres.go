package provider

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"

	"github.com/jackc/pgx/v5/stdlib"
)

// liveSession returns the session that holds the Store's claims, replacing
// it first if the server ended it (a restart, pg_terminate_backend, a
// dropped network): a dead session would fail every later claim, so no
// new run could be started through this Store again. The server dropped
// the dead session's advisory locks, so the new session takes the claims
// the Store holds again; one another writer took meanwhile is given up
// (its writes stay apart from ours through the row lock, see
// postgresBackend). The caller holds be.mu.
func (be *postgresBackend) liveSession(ctx context.Context) (*sql.Conn, error) {
	if be.session.PingContext(ctx) == nil {
		return be.session, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	_ = be.session.Close()
	conn, err := be.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("reopen the session that holds write claims: %w", err)
	}
	be.session = conn
	for id := range be.held {
		var ok bool
		if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock(`+claimKey+`)`, id).Scan(&ok); err != nil {
			return nil, fmt.Errorf("take the write claims again on a new session: %w", err)
		}
		if !ok {
			delete(be.held, id)
		}
	}
	return conn, nil
}

// beginRetries bounds how many dead pooled connections beginTx skips: a
// restarted server leaves every idle connection of the pool dead.
const beginRetries = 8

// beginTx opens a transaction on a connection of its own. On PostgreSQL, a
// BEGIN that fails because the server had already ended the pooled
// connection (a restart, pg_terminate_backend) runs again on another one:
// nothing of the transaction was done, and database/sql hands out a dead
// idle connection before anything has told it the connection is dead. A
// connection that dies later, inside the transaction, fails it
// (ErrWriteFailed from the caller) — whether a COMMIT that got no answer
// was applied cannot be known, and the provider's event-count check makes
// the resend safe either way.
func (s *Store) beginTx(ctx context.Context) (*sql.Conn, *sql.Tx, error) {
	for attempt := 0; ; attempt++ {
		conn, err := s.sqlDB().Conn(ctx)
		if err != nil {
			return nil, nil, err
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err == nil {
			return conn, tx, nil
		}
		retry := !s.be.embedded() && attempt < beginRetries && ctx.Err() == nil && pgConnClosed(conn)
		_ = conn.Close()
		if !retry {
			return nil, nil, err
		}
	}
}

// pgConnClosed reports whether conn is a pgx connection that is closed,
// and if so has the pool discard it.
func pgConnClosed(conn *sql.Conn) bool {
	closed := false
	_ = conn.Raw(func(dc any) error {
		if pc, ok := dc.(*stdlib.Conn); ok && pc.Conn().IsClosed() {
			closed = true
			return driver.ErrBadConn
		}
		return nil
	})
	return closed
}
