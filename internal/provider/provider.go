// Package provider is simdb's persistence provider: the one place that turns
// a simulation's start record, tick events and final metrics into rows, each
// call inside its own transaction (or, buffered, a group of whole ticks in
// one). The public package simdb re-exports its types; internal/dbgen (sqlc)
// does the SQL, eventwriter.go the bulk event append.
package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/simcash/simdb/internal/event"
)

// Provider is the persistence protocol every code path that runs a
// simulation uses (the Go form of SimCash's SimulationPersistenceProvider).
// *Store implements it; a test double may too.
type Provider interface {
	// PersistSimulationStart records a new run in status "running".
	PersistSimulationStart(ctx context.Context, simulationID string, config json.RawMessage, opts StartOptions) error
	// PersistTickEvents stores the events one tick emitted and returns how
	// many it stored.
	PersistTickEvents(ctx context.Context, simulationID string, tick int64, events []json.RawMessage) (int, error)
	// PersistSimulationComplete records final metrics and status "completed".
	PersistSimulationComplete(ctx context.Context, simulationID string, metrics Metrics) error
	// PersistSimulationFailed records status "failed" and why.
	PersistSimulationFailed(ctx context.Context, simulationID string, reason string) error
}

var _ Provider = (*Store)(nil)

// Errors callers branch on. Every error the provider returns that stems from
// one of these wraps it, so errors.Is works; the message adds what and where.
var (
	// ErrSimulationExists: PersistSimulationStart with an id already stored.
	ErrSimulationExists = errors.New("simulation already exists")
	// ErrSimulationNotFound: no simulation has that id.
	ErrSimulationNotFound = errors.New("simulation not found")
	// ErrSimulationNotRunning: the simulation is completed or failed, so it
	// takes no more events or status changes.
	ErrSimulationNotRunning = errors.New("simulation is not running")
	// ErrTickAlreadyPersisted: the tick is not after the last tick already
	// persisted for the simulation, so storing it would duplicate or reorder.
	ErrTickAlreadyPersisted = errors.New("tick already persisted")
	// ErrInvalidEvent: an event is malformed; nothing of the call is stored.
	// The error is an *EventError naming the event and the field.
	ErrInvalidEvent = errors.New("invalid event")
	// ErrInvalidConfig: the start config is unusable (not one JSON object,
	// a duplicate key or a lone UTF-16 surrogate escape in it, a
	// ticks_per_day or num_days that is not a positive integer, …).
	ErrInvalidConfig = errors.New("invalid simulation config")
	// ErrInvalidArgument: an empty simulation id, a negative tick, …
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrInvalidFilter: an event query's filter contradicts itself
	// (TickMin > TickMax), names an unknown sort or status, holds a string
	// that is not UTF-8 or an event type with a comma.
	ErrInvalidFilter = errors.New("invalid event filter")
	// ErrWriteFailed: a commit failed (a full disk, an I/O error, a
	// cancelled context mid-commit). From PersistTickEvents, Flush, Close or
	// a read, ticks were not stored: the message names them and the tick the
	// stored events end at, and the writer persists again from the tick
	// after it (a later tick and a Complete are refused until it has). From
	// PersistSimulationComplete or PersistSimulationFailed, nothing was
	// lost: the run stays running with its buffered ticks kept, and a retry
	// commits them. RELIABILITY.md has the whole contract.
	ErrWriteFailed = errors.New("write failed")
	// ErrReadOnly: a write (start, tick events, complete, failed, recover,
	// ingest) on a Store opened with ReadOnly; nothing is buffered.
	ErrReadOnly = errors.New("simdb store is read-only")
	// ErrConcurrentWriter: another writer (another Store, usually another
	// process on a shared PostgreSQL database) is writing the simulation:
	// it claims the run (postgresBackend), or it stored events after this
	// writer loaded the run (then wrapped in ErrWriteFailed). Nothing of
	// this writer's call or group is stored.
	ErrConcurrentWriter = errors.New("simulation is being written by another writer")
	// ErrClosed: the Store was closed; every call after Close returns it.
	ErrClosed = errors.New("simdb store is closed")
)

// EventError says which event of a call (or which line of a stream) was
// rejected and why. It matches ErrInvalidEvent with errors.Is.
type EventError struct {
	SimulationID string
	Source       string // the stream's name (a file), when known
	Tick         int64  // the call's tick, or the line's when known; -1 if unknown
	Index        int    // 0-based position of the event in the call; -1 for streams
	Line         int    // 1-based line of the stream; 0 for calls
	EventType    string
	Err          error // *event.FieldError, *event.SyntaxError or a plain error
}

// Error reads "FILE:LINE: tick T, TYPE: what is wrong" for a stream (or
// "line LINE: …" without a Source) and `simulation "ID": event I (tick T,
// TYPE): what is wrong` for a PersistTickEvents call.
func (e *EventError) Error() string {
	var ctx []string
	if e.Tick >= 0 {
		ctx = append(ctx, fmt.Sprintf("tick %d", e.Tick))
	}
	if e.EventType != "" {
		ctx = append(ctx, e.EventType)
	}
	switch {
	case e.Line > 0:
		where := fmt.Sprintf("line %d", e.Line)
		if e.Source != "" {
			where = fmt.Sprintf("%s:%d", e.Source, e.Line)
		}
		if len(ctx) > 0 {
			return fmt.Sprintf("%s: %s: %v", where, strings.Join(ctx, ", "), e.Err)
		}
		return fmt.Sprintf("%s: %v", where, e.Err)
	default:
		where := fmt.Sprintf("simulation %q: event %d", e.SimulationID, e.Index)
		if len(ctx) > 0 {
			where += " (" + strings.Join(ctx, ", ") + ")"
		}
		return fmt.Sprintf("%s: %v", where, e.Err)
	}
}

func (e *EventError) Unwrap() []error { return []error{ErrInvalidEvent, e.Err} }

// StartOptions are the optional parts of a start record.
type StartOptions struct {
	// ConfigFile is where the config came from (config_file); "" stores NULL.
	ConfigFile string
	// Experiment places the run in an experiment; nil stores NULLs.
	Experiment *Experiment
	// TicksPerDay, when positive, supplies ticks_per_day for a config that
	// lacks it (an event stream ingested without its config). A config
	// that states a different value is an ErrInvalidConfig.
	TicksPerDay int64
}

// Experiment identifies one iteration of an experiment run.
type Experiment struct {
	RunID     string
	Iteration int32
}

// Metrics are a run's final totals. Money is integer cents (INV-1).
//
// Decoded from JSON (UnmarshalJSON) it takes SimCash's metrics dict as
// well: the cost under "total_costs" (the seed's key) or
// "total_cost_cents", never both.
type Metrics struct {
	TotalArrivals    int64   `json:"total_arrivals"`
	TotalSettlements int64   `json:"total_settlements"`
	TotalCostCents   int64   `json:"total_cost_cents"`
	DurationSeconds  float64 `json:"duration_seconds"`
}

// UnmarshalJSON decodes a metrics object: total_arrivals,
// total_settlements, total_cost_cents (or SimCash's total_costs) and
// duration_seconds, each optional (absent or null: 0). The counts and the
// cost must be integer literals (money is never rounded, INV-1); the
// duration a number. Anything else is an error wrapping
// ErrInvalidArgument, so a ported caller cannot lose a total silently: an
// unknown key, both cost keys, a duplicate key, a lone UTF-16 surrogate
// escape, a value of the wrong type.
func (m *Metrics) UnmarshalJSON(b []byte) error {
	if err := event.CheckObject(b); err != nil {
		return fmt.Errorf("%w: metrics: %w", ErrInvalidArgument, err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("%w: metrics: %w", ErrInvalidArgument, err)
	}
	if _, both := doc["total_costs"]; both {
		if _, cents := doc["total_cost_cents"]; cents {
			return fmt.Errorf("%w: metrics: both total_costs and total_cost_cents given; pass one", ErrInvalidArgument)
		}
	}
	var out Metrics
	for _, key := range slices.Sorted(maps.Keys(doc)) { // the first error is always the same one
		raw := doc[key]
		if string(raw) == "null" {
			continue
		}
		var dst *int64
		switch key {
		case "total_arrivals":
			dst = &out.TotalArrivals
		case "total_settlements":
			dst = &out.TotalSettlements
		case "total_cost_cents", "total_costs":
			dst = &out.TotalCostCents
		case "duration_seconds":
			if err := json.Unmarshal(raw, &out.DurationSeconds); err != nil {
				return fmt.Errorf("%w: metrics: duration_seconds must be a number, got %.40s", ErrInvalidArgument, raw)
			}
			continue
		default:
			return fmt.Errorf("%w: metrics: unknown key %q (want total_arrivals, total_settlements, total_cost_cents or total_costs, duration_seconds)", ErrInvalidArgument, key)
		}
		v, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil {
			return fmt.Errorf("%w: metrics: %s must be an integer (int64, no fraction or exponent), got %.40s", ErrInvalidArgument, key, raw)
		}
		*dst = v
	}
	*m = out
	return nil
}

// Durability says when PersistTickEvents' rows become durable.
type Durability int

const (
	// Buffered (the default) keeps whole ticks in memory and commits them in
	// groups: when a simulation has FlushEvents events pending (that group
	// then commits in the background while the next one fills),
	// FlushInterval after the first of them, before any read of the
	// simulation through the Store, and on Complete, Failed, Flush and
	// Close. A crash loses only whole ticks from the end: at most the
	// pending ticks plus the one group in flight, i.e. fewer than
	// 2×FlushEvents events plus the largest tick (RELIABILITY.md). The
	// stored run ends at its last committed tick (Simulation.LastTick),
	// where ingest --resume picks it up.
	Buffered Durability = iota
	// Durable commits every PersistTickEvents call before it returns: a
	// crash loses nothing that was acknowledged. Each call is a transaction
	// of its own (about 7 ms for a 40-event tick on the reference machine,
	// against microseconds per event when buffered).
	Durable
)

func (d Durability) String() string {
	if d == Durable {
		return "durable"
	}
	return "buffered"
}

// Options configure a Store. The zero value is ready to use: migrate on
// open, buffered writes with the default group size and interval.
type Options struct {
	// ReadOnly opens the file read-only (no migrations, no writes); several
	// read-only processes can share a file, but not with a writer. On
	// DuckDB, where no process can then change the file, the Store keeps
	// each event filter's total and seq range (eventfigures.go) and the
	// rows read past a page for the cursor after it (eventahead.go).
	ReadOnly bool
	// NoAutoMigrate leaves the schema alone; Open then fails with
	// migrate.ErrSchemaBehind when migrations are pending.
	NoAutoMigrate bool
	// Durability picks when tick events become durable (default Buffered).
	Durability Durability
	// FlushEvents is the buffered group size: a simulation's pending events
	// are committed once this many are waiting (default 50,000). Into a
	// DuckDB file that already holds events, a group of fewer than 32,768
	// events (the row group size simdb gives its files) is written to
	// DuckDB's write-ahead log and again by a later checkpoint, where a
	// larger one goes straight into the file, so smaller groups cost
	// markedly more CPU (BENCHMARKS.md has figures).
	FlushEvents int
	// FlushInterval bounds how long an event waits in the buffer (default
	// one second).
	FlushInterval time.Duration
	// Threads caps DuckDB's worker threads. 0: SIMDB_DUCKDB_THREADS when
	// it is set (duckfile.ThreadsEnv), else one per core.
	Threads int
	// MemoryLimit is DuckDB's buffer-manager limit ("256MB"; "" is DuckDB's
	// default of 80% of RAM, which a long ingest grows into because DuckDB
	// keeps the blocks it wrote cached). It is a target, not a reason to
	// fail: a write transaction that runs out of it rolls back and runs
	// again under twice the limit (up to 32 times it), and the raised
	// limit stays; checkpoints run between commits under at least 256MB
	// and four times the limit, then the limit is restored. A database
	// DuckDB invalidates all the same is closed and reopened, losing no
	// committed tick (RELIABILITY.md).
	MemoryLimit string
	// TrimCHeap returns the C heap's free memory to the operating system
	// after every 32,768 events committed (glibc's malloc_trim; nothing on
	// other systems). glibc keeps what DuckDB and the Arrow writer free in
	// per-thread arenas, so without it a long ingest's resident size grows
	// well past what it uses (BENCHMARKS.md). It acts on the whole
	// process, so it is off unless the program asks: the simdb binary does.
	TrimCHeap bool
	// Lease is how long a writer's hold on a running simulation outlives
	// its last heartbeat (default DefaultLease, two minutes; at least
	// MinLease). The Store renews its leases with every commit and every
	// third of Lease while it is open, so only a writer that died (or
	// stalled for longer than Lease) lets one expire; until then another
	// writer of the run is refused with a *LeaseError and
	// RecoverInterrupted leaves the run alone (lease.go). Shorter leases
	// let a dead writer's run be taken over sooner and cost a heartbeat
	// write more often.
	Lease time.Duration
	// Now is the wall clock for timestamps (default time.Now); tests fix it.
	// Leases use the real clock whatever Now says.
	Now func() time.Time
}

const (
	defaultFlushEvents   = 50_000
	defaultFlushInterval = time.Second
)
