package provider

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/simcash/simdb/internal/event"
)

// postgresBackend is a PostgreSQL server reached through pgx: events go in
// through COPY (eventwriter_postgres.go), lists are TEXT[] arrays.
//
// Writers of one simulation in different processes are kept apart twice:
//   - a claim: a Store that writes a simulation holds a session advisory
//     lock on it (keyed by a 64-bit hash of its id) on a connection of its
//     own, from its first write of the run until the run completes or
//     fails or the Store closes; PostgreSQL drops it with the session, so
//     a crashed writer's claim goes with its connection. A second writer's
//     first call fails at once with ErrConcurrentWriter, before it buffers
//     anything. The writer lease (lease.go) is the rule on both backends;
//     the claim stays beside it on PostgreSQL as a second check that a
//     lease cannot give: a run whose lease has expired while its writer's
//     session is still connected (a stalled writer, not a dead one) is
//     neither taken over nor failed by RecoverInterrupted;
//   - a row lock: every event write locks the simulation's row (SELECT …
//     FOR UPDATE) and checks that the run still has the event count its
//     group starts from, so even writers that got past the claims (a
//     session lost and reconnected) cannot interleave: the second waits
//     for the first's commit and fails with ErrConcurrentWriter.
//
// Different simulations lock different rows and write side by side.
type postgresBackend struct {
	// session holds the claims (nil for a read-only Store, which claims
	// nothing). Guarded by mu, as is held.
	mu      sync.Mutex
	session *sql.Conn
	held    map[string]bool
	// db is the pool a dead session is replaced from (liveSession).
	db *sql.DB
}

func newPostgresBackend(ctx context.Context, db *sql.DB, readOnly bool) (*postgresBackend, error) {
	be := &postgresBackend{held: make(map[string]bool), db: db}
	if readOnly {
		return be, nil
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("open the session that holds write claims: %w", err)
	}
	be.session = conn
	return be, nil
}

func (*postgresBackend) name() string   { return "postgres" }
func (*postgresBackend) embedded() bool { return false }

// claimKey is the advisory lock key of a simulation id in the schema the
// connection uses (advisory locks are per database, and each schema holds
// its own runs). Two ids whose 64-bit hashes collide would only make one
// writer refuse the other's id while it is being written.
const claimKey = `hashtextextended(current_schema() || '.' || $1, 0)`

func (be *postgresBackend) claim(ctx context.Context, id string) error {
	be.mu.Lock()
	defer be.mu.Unlock()
	if be.session == nil || be.held[id] {
		return nil
	}
	session, err := be.liveSession(ctx)
	if err != nil {
		return fmt.Errorf("claim simulation %q: %w", id, err)
	}
	var ok bool
	if err := session.QueryRowContext(ctx, `SELECT pg_try_advisory_lock(`+claimKey+`)`, id).Scan(&ok); err != nil {
		return fmt.Errorf("claim simulation %q: %w", id, err)
	}
	if !ok {
		return fmt.Errorf("simulation %q: %w: another Store (another process, or another Open in this one) is writing it", id, ErrConcurrentWriter)
	}
	be.held[id] = true
	return nil
}

func (be *postgresBackend) holds(id string) bool {
	be.mu.Lock()
	defer be.mu.Unlock()
	return be.held[id]
}

func (be *postgresBackend) release(id string) {
	be.mu.Lock()
	defer be.mu.Unlock()
	if !be.held[id] {
		return
	}
	delete(be.held, id)
	// A failed unlock leaves the claim until the Store closes; nothing is
	// lost but the chance for another writer to take the run over sooner.
	_, _ = be.session.ExecContext(context.Background(), `SELECT pg_advisory_unlock(`+claimKey+`)`, id)
}

func (be *postgresBackend) close() error {
	be.mu.Lock()
	defer be.mu.Unlock()
	if be.session == nil {
		return nil
	}
	// Unlock before the connection goes back to the pool: the session
	// (and its locks) outlive Conn.Close until the pool closes it. A
	// session the server already ended took its locks with it.
	// (A failed ping has database/sql close the Conn already: Close then
	// says so, which is no failure.)
	var err error
	alive := be.session.PingContext(context.Background()) == nil
	if alive {
		_, err = be.session.ExecContext(context.Background(), `SELECT pg_advisory_unlock_all()`)
	}
	if cerr := be.session.Close(); err == nil && alive {
		err = cerr
	}
	be.session, be.held = nil, nil
	return err
}

// contains uses the array containment operator rather than `? = ANY(col)`:
// it reads the same and a GIN index on the column can answer it.
func (*postgresBackend) contains(col string) string { return col + " @> ARRAY[?]::text[]" }
func (*postgresBackend) oneOf(col string) string    { return col + " = ANY(?)" }
func (*postgresBackend) list(v []string) any        { return v }

// windowOrder sorts by seq: PostgreSQL returns rows in heap order, which a
// writer's concurrent commits interleave, and its primary key
// (simulation_id, seq) gives a window in seq order for about the scan's
// cost, where orderWindow would sort thousands of rows in Go.
func (*postgresBackend) windowOrder() string { return " ORDER BY seq" }

func (*postgresBackend) writeEvents(ctx context.Context, conn *sql.Conn, id string, rows []pendingEvent, createdAt time.Time) error {
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
func (*postgresBackend) txError(err error) error {
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

// checkEvents refuses a NUL character (U+0000, written \u0000 in the JSON)
// in the strings simdb stores decoded — the event type, agent and
// transaction ids, the party lists, register agents and keys: PostgreSQL's
// TEXT cannot hold one, and the commit would otherwise fail after the call
// had been accepted. In details the escape stays six characters of text and
// is stored as is. (DuckDB stores NUL characters; this is the one input the
// backends treat differently.)
func (*postgresBackend) checkEvents(id string, tick int64, events []event.Event) error {
	for i := range events {
		ev := &events[i]
		field := ""
		switch {
		case strings.ContainsRune(ev.Type, 0):
			field = "event_type"
		case ev.HasAgentID && strings.ContainsRune(ev.AgentID, 0):
			field = "agent_id"
		case ev.HasTxID && strings.ContainsRune(ev.TxID, 0):
			field = "tx_id"
		case slices.ContainsFunc(ev.Agents, hasNUL):
			field = "a party (agent) id"
		case slices.ContainsFunc(ev.TxIDs, hasNUL):
			field = "a transaction id"
		case ev.Register != nil && (hasNUL(ev.Register.AgentID) || hasNUL(ev.Register.Key)):
			field = "agent_id or register_key"
		default:
			continue
		}
		return &EventError{SimulationID: id, Tick: tick, Index: i, EventType: strings.ReplaceAll(ev.Type, "\x00", `\u0000`),
			Err: &event.FieldError{Field: field, Msg: `holds a NUL character (\u0000), which PostgreSQL cannot store`}}
	}
	return nil
}

func hasNUL(s string) bool { return strings.ContainsRune(s, 0) }
