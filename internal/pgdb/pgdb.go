// Package pgdb opens PostgreSQL databases for simdb through pgx's
// database/sql adapter (the sqlc accessors run on it unchanged) and turns
// the usual connection failures into errors that say what to do.
package pgdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// ErrUnreachable: no PostgreSQL server answered at the address the DSN
// names (refused, unknown host, timed out).
var ErrUnreachable = errors.New("PostgreSQL server unreachable")

// ErrNoDatabase: the server answered but has no database of that name.
var ErrNoDatabase = errors.New("PostgreSQL database does not exist")

// IsDSN reports whether s names a PostgreSQL database (a postgres:// or
// postgresql:// URL) rather than a DuckDB file.
func IsDSN(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Redact returns dsn with its password replaced by "xxxxx", for messages
// and Store.Path.
func Redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://(unparsable URL)"
	}
	return u.Redacted()
}

// Options tune how a database is opened.
type Options struct {
	// ReadOnly makes every transaction of the handle read-only
	// (default_transaction_read_only): a write fails in PostgreSQL.
	ReadOnly bool
}

// Open connects to the PostgreSQL database dsn names and checks that it
// answers. The usual libpq environment variables (PGPASSWORD, PGSSLMODE, …)
// fill what the URL leaves out. Errors wrap ErrUnreachable (no server at the
// address) or ErrNoDatabase (no such database) with what to do; other
// failures (authentication, TLS) carry the server's message.
func Open(ctx context.Context, dsn string, opts Options) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", Redact(dsn), err)
	}
	if opts.ReadOnly {
		cfg.RuntimeParams["default_transaction_read_only"] = "on"
	}
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = "simdb"
	}
	db := stdlib.OpenDB(*cfg)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, explain(dsn, cfg, err)
	}
	return db, nil
}

// explain says why connecting failed, in terms of what to do.
func explain(dsn string, cfg *pgx.ConnConfig, err error) error {
	where := fmt.Sprintf("%s:%d", cfg.Host, cfg.Port)
	var pgErr *pgconn.PgError
	var netErr net.Error
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == "3D000": // invalid_catalog_name
		return fmt.Errorf("open %s: %w: database %q on %s: create it first (createdb %s, or CREATE DATABASE %s); "+
			"simdb creates its tables, not the database: %v", Redact(dsn), ErrNoDatabase, cfg.Database, where, cfg.Database, cfg.Database, err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("open %s: %w: connection to %s refused: is PostgreSQL running and listening there "+
			"(listen_addresses, port)?: %v", Redact(dsn), ErrUnreachable, where, err)
	case errors.As(err, &dnsErr):
		return fmt.Errorf("open %s: %w: host %q not found: %v", Redact(dsn), ErrUnreachable, cfg.Host, err)
	case errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Errorf("open %s: %w: no answer from %s in time: %v", Redact(dsn), ErrUnreachable, where, err)
	}
	return fmt.Errorf("open %s: %w", Redact(dsn), err)
}
