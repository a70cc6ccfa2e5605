package provider

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/simcash/simdb/db"
	"github.com/simcash/simdb/internal/duckfile"
	"github.com/simcash/simdb/internal/event"
	"github.com/simcash/simdb/internal/migrate"
	"github.com/simcash/simdb/internal/pgdb"
)

// backend is what differs between the two databases a Store runs on: an
// embedded DuckDB file (backend_duckdb.go) or a PostgreSQL server
// (backend_postgres.go). Everything else — the sqlc accessors, the
// transactions, the buffering, the upserts, the event queries — is shared:
// the generated code's `$n` SQL reads the same on both.
type backend interface {
	// name is "duckdb" or "postgres".
	name() string
	// writeEvents stores a commit group's event rows inside the
	// transaction open on conn; rows[0].seq is the event count the group
	// starts from.
	writeEvents(ctx context.Context, conn *sql.Conn, id string, rows []pendingEvent, createdAt time.Time) error
	// writeSummary adds a commit group's events per type and per agent
	// to the run's summary tables and stores its register values (the
	// last of a key in a tick), inside tx, which is open on conn.
	writeSummary(ctx context.Context, conn *sql.Conn, tx *sql.Tx, id string, rows []pendingEvent) error
	// contains is the predicate "the list column col holds the value of
	// the parameter ?".
	contains(col string) string
	// oneOf is the predicate "col equals one of the values of the list
	// parameter ?".
	oneOf(col string) string
	// list binds v as a list parameter.
	list(v []string) any
	// windowOrder is what StreamEvents' window query ends with: "" where a
	// plain scan returns a run's rows in seq order (orderWindow checks
	// it), an ORDER BY where it does not.
	windowOrder() string
	// embedded reports a DuckDB file, whose Store does the upkeep a
	// server does for itself: checkpoints, retries under more memory,
	// reopening an invalidated database, trimming the C heap.
	embedded() bool
	// txError turns a failed write transaction's error into the
	// provider's terms (a sentinel where one applies).
	txError(err error) error
	// claim marks the simulation as written by this Store until release
	// (or close), failing with ErrConcurrentWriter when a live writer
	// elsewhere has claimed it. A file has one writer by construction:
	// DuckDB's does nothing.
	claim(ctx context.Context, id string) error
	release(id string)
	// holds reports a claim this Store holds on the simulation.
	holds(id string) bool
	// close gives up every claim; the Store closes the database after.
	close() error
	// checkEvents refuses, with an *EventError, what the database cannot
	// store, before anything is buffered.
	checkEvents(id string, tick int64, events []event.Event) error
}

// Backend names the database the Store runs on: "duckdb" or "postgres".
func (s *Store) Backend() string { return s.be.name() }

// openBackend opens the database path names — a PostgreSQL URL
// (postgres:// or postgresql://) or a DuckDB file — and prepares its
// schema as opts ask. It returns the name the Store reports as its Path
// (a URL without its password).
func openBackend(ctx context.Context, path string, opts Options) (backend, *sql.DB, string, error) {
	pg := pgdb.IsDSN(path)
	var (
		sqldb *sql.DB
		err   error
		name  = path
	)
	if pg {
		name = pgdb.Redact(path)
		sqldb, err = pgdb.Open(ctx, path, pgdb.Options{ReadOnly: opts.ReadOnly})
	} else {
		sqldb, err = duckfile.Open(ctx, path, duckfile.Options{ReadOnly: opts.ReadOnly, Threads: opts.Threads, MemoryLimit: opts.MemoryLimit})
	}
	if err != nil {
		return nil, nil, "", err
	}
	var m *migrate.Migrator
	if pg {
		m, err = migrate.NewPostgres(sqldb, db.PostgresMigrations())
	} else {
		m, err = migrate.New(sqldb, db.Migrations())
	}
	if err == nil {
		err = prepareSchema(ctx, m, opts)
	}
	var be backend = duckdbBackend{events: newEventWriter()}
	if err == nil && pg {
		be, err = newPostgresBackend(ctx, sqldb, opts.ReadOnly)
	}
	if err != nil {
		_ = sqldb.Close()
		return nil, nil, "", fmt.Errorf("open %s: %w", name, err)
	}
	return be, sqldb, name, nil
}
