package provider

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// postgresBackend is a PostgreSQL server reached through pgx: events go in
// through COPY (eventwriter_postgres.go), lists are TEXT[] arrays.
//
// Writers of one simulation in different processes are kept apart by a row
// lock: every event write locks the simulation's row first (SELECT … FOR
// UPDATE) and checks that the run still has the event count its group
// starts from, so a second writer waits for the first's commit and then
// fails with ErrConcurrentWriter instead of interleaving. Different
// simulations lock different rows and write side by side.
type postgresBackend struct{}

func (postgresBackend) name() string   { return "postgres" }
func (postgresBackend) embedded() bool { return false }

// contains uses the array containment operator rather than `? = ANY(col)`:
// it reads the same and a GIN index on the column can answer it.
func (postgresBackend) contains(col string) string { return col + " @> ARRAY[?]::text[]" }
func (postgresBackend) oneOf(col string) string    { return col + " = ANY(?)" }
func (postgresBackend) list(v []string) any        { return v }

func (postgresBackend) writeEvents(ctx context.Context, conn *sql.Conn, id string, rows []pendingEvent, createdAt time.Time) error {
	if len(rows) == 0 {
		return nil
	}
	var count int64
	err := conn.QueryRowContext(ctx, `SELECT event_count FROM simulations WHERE simulation_id = $1 FOR UPDATE`, id).Scan(&count)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("simulation %q: %w", id, ErrSimulationNotFound)
	}
	if err != nil {
		return fmt.Errorf("lock simulation %q: %w", id, err)
	}
	if count != rows[0].seq {
		return fmt.Errorf("simulation %q: %w: it has %d stored events, this writer expected %d", id, ErrConcurrentWriter, count, rows[0].seq)
	}
	return copyEvents(ctx, conn, id, rows, createdAt)
}

// txError names the sentinels behind PostgreSQL's unique violations: a
// second start of one id (the other PersistSimulationStart committed
// between this one's check and its insert) and, should the row lock ever
// be bypassed, a second writer's events.
func (postgresBackend) txError(err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23505" { // unique_violation
		return err
	}
	switch pgErr.ConstraintName {
	case "simulations_pkey":
		return fmt.Errorf("%w (%v)", ErrSimulationExists, err)
	case "simulation_events_pkey":
		return fmt.Errorf("%w (%v)", ErrConcurrentWriter, err)
	}
	return err
}
