package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/pressly/goose/v3/lock"
)

// pgSessionLocker is goose's PostgreSQL session lock — the same advisory
// lock, lock.DefaultLockID, so that the goose CLI and simdb exclude each
// other — taken by waiting for it (pg_advisory_lock) instead of goose's
// polling (pg_try_advisory_lock, then a 5-second sleep): worker processes
// that open one database together would otherwise each sleep 5 s behind
// the first (seen in the PostgreSQL crash trials: four workers took 16 s to
// ingest what one ingests in 3). The wait is bounded by the caller's
// context, which pgx cancels on the server.
type pgSessionLocker struct{}

var _ lock.SessionLocker = pgSessionLocker{}

func (pgSessionLocker) SessionLock(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, lock.DefaultLockID); err != nil {
		return fmt.Errorf("take goose's advisory lock %d: %w", lock.DefaultLockID, err)
	}
	return nil
}

func (pgSessionLocker) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	var ok bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_advisory_unlock($1)`, lock.DefaultLockID).Scan(&ok); err != nil {
		return fmt.Errorf("release goose's advisory lock %d: %w", lock.DefaultLockID, err)
	}
	if !ok {
		return errors.New("release goose's advisory lock: this session did not hold it")
	}
	return nil
}
