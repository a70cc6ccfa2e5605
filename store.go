package simdb

import (
	"context"
	"encoding/json"
	"time"

	"github.com/simcash/simdb/internal/provider"
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

// Store records and reads simulations in one database, a DuckDB file or a
// PostgreSQL database. It is safe for concurrent use by many goroutines:
// writes of all simulations are serialised, reads run beside them and see
// only committed, whole ticks. DuckDB lets one process at a time open a
// file for writing: open a file once per process and share the Store.
// PostgreSQL takes any number of processes, each with its Store.
type Store struct {
	p *provider.Store
}

// Options configure a Store. The zero value is ready to use: migrate on
// open, Buffered writes with the default group size and interval.
type Options struct {
	// ReadOnly opens the database read-only: no migrations, and every
	// write fails. Several read-only processes can share a DuckDB file,
	// but not with a writer; since the file cannot change while it is
	// open, a read-only Store on DuckDB keeps each event filter's total
	// for its later pages, and the rows it read past a page for the
	// cursor that follows it (GetSimulationEvents).
	ReadOnly bool
	// NoAutoMigrate leaves the schema alone; Open then fails with
	// ErrSchemaBehind when migrations are pending.
	NoAutoMigrate bool
	// Durability picks when tick events become durable (default Buffered).
	Durability Durability
	// FlushEvents is the Buffered group size: a simulation's pending events
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
	// Threads caps DuckDB's worker threads. 0: the environment variable
	// SIMDB_DUCKDB_THREADS when it is set (a setting for the whole
	// process), else one per core.
	Threads int
	// MemoryLimit is DuckDB's buffer-manager limit, e.g. "256MB" ("" is
	// DuckDB's default of 80% of RAM, which a long ingest grows into
	// because DuckDB keeps the blocks it wrote cached). It is a target, not
	// a reason to fail: a write that runs out of it runs again under twice
	// the limit (up to 32 times it) and the raised limit stays; checkpoints
	// run between commits under at least 256MB and four times the limit.
	// A database DuckDB invalidates all the same is reopened, losing no
	// committed tick (RELIABILITY.md).
	MemoryLimit string
	// TrimCHeap returns the C heap's free memory to the operating system
	// after every 32,768 events committed (glibc's malloc_trim; nothing on
	// other systems). glibc keeps what DuckDB and the Arrow writer free in
	// per-thread arenas, so without it a long ingest's resident size grows
	// well past what it uses. It acts on the whole process, not only this
	// Store, so it is off unless the program asks (the simdb binary does).
	TrimCHeap bool
	// Lease is how long a writer's hold on a running simulation outlives
	// its last heartbeat: default DefaultLease (two minutes), at least
	// MinLease, else Open fails with ErrInvalidArgument. The Store renews
	// its leases with every commit and every third of Lease while open, so
	// a run's lease expires only when its writer died (or stalled longer
	// than Lease); until then other writers are refused (*LeaseError) and
	// Recover leaves the run alone. A shorter lease lets a dead writer's
	// run be taken over sooner, for a heartbeat write more often. See
	// "Writer leases" (lease.go).
	Lease time.Duration
	// Now is the wall clock for timestamps (default time.Now); tests fix it.
	// Leases always use the real clock.
	Now func() time.Time
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
	// where an ingest with Resume picks it up.
	Buffered Durability = iota
	// Durable commits every PersistTickEvents call before it returns: a
	// crash loses nothing that was acknowledged. Each call is a transaction
	// of its own (milliseconds per call, against microseconds per event
	// when buffered).
	Durable
)

// String is "buffered" or "durable".
func (d Durability) String() string { return provider.Durability(d).String() }

// DefaultTicksPerDay is ticks_per_day for a config that does not state it
// and a start without StartOptions.TicksPerDay (SimCash's default).
const DefaultTicksPerDay = 100

// MaxSimulationIDLen bounds simulation ids, in bytes: an id is repeated in
// every event's event_id.
const MaxSimulationIDLen = 256

// Open opens the database dsn names and applies pending migrations unless
// opts.NoAutoMigrate or opts.ReadOnly is set:
//   - a postgres:// or postgresql:// URL is a PostgreSQL database, which
//     must exist (simdb creates its tables, not the database; the libpq
//     environment variables such as PGPASSWORD fill what the URL leaves
//     out). Many processes on many machines may open it at once and write
//     different simulations; see ErrConcurrentWriter for one simulation.
//     Threads, MemoryLimit and TrimCHeap do not apply to it;
//   - anything else is a DuckDB file, created if needed (":memory:" for a
//     private in-memory one).
//
// Errors: ErrUnreachable (no PostgreSQL server at the URL's address),
// ErrNoDatabase (the server has no such database), ErrSchemaBehind (auto-migration off and the schema behind,
// naming both versions), ErrSchemaAhead (a schema newer than this binary is
// never downgraded), a *LockedError (ErrLocked: another process holds the
// file, or this process has it open already), ErrNotDatabase (an existing
// file that is not a DuckDB database), an error naming SIMDB_DUCKDB_THREADS
// when a DuckDB file is opened with Threads 0 and that variable is set to
// anything but a positive number.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	p, err := provider.Open(ctx, dsn, provider.Options{
		ReadOnly:      opts.ReadOnly,
		NoAutoMigrate: opts.NoAutoMigrate,
		Durability:    provider.Durability(opts.Durability),
		FlushEvents:   opts.FlushEvents,
		FlushInterval: opts.FlushInterval,
		Threads:       opts.Threads,
		MemoryLimit:   opts.MemoryLimit,
		TrimCHeap:     opts.TrimCHeap,
		Lease:         opts.Lease,
		Now:           opts.Now,
	})
	if err != nil {
		return nil, publicError(err)
	}
	return &Store{p: p}, nil
}

// Close commits every buffered tick and closes the database; its error
// includes any commit failure not yet reported (as Flush). Simulations
// still running stay "running": their stored ticks are the resume point.
// Close is idempotent; every other call after it fails with ErrClosed.
func (s *Store) Close() error { return publicError(s.p.Close()) }

// Flush commits every buffered tick of every simulation and returns once
// they are durable. A failed commit, or an earlier one not yet reported to
// its simulation's writer, is returned here and only here (errors.Join of
// one ErrWriteFailed per simulation): the writer's next correct call (the
// ticks after the stored last tick, sent again) succeeds. A context already
// done returns its error and commits nothing; once a commit has begun,
// cancellation does not cut it short, because its ticks were acknowledged.
// ErrClosed after Close; a read-only Store has nothing to commit.
func (s *Store) Flush(ctx context.Context) error { return publicError(s.p.Flush(ctx)) }

// Path is the database the Store was opened on: a file, or a PostgreSQL URL
// without its password.
func (s *Store) Path() string { return s.p.Path() }

// Backend names the database the Store runs on: "duckdb" or "postgres".
func (s *Store) Backend() string { return s.p.Backend() }

// ConfigHash returns the config_hash PersistSimulationStart stores for
// config: the SHA-256 of the config re-encoded canonically (keys sorted, no
// whitespace, numbers as written). ErrInvalidConfig when config is not one
// JSON object.
func ConfigHash(config json.RawMessage) (string, error) {
	h, err := provider.ConfigHash(config)
	return h, publicError(err)
}

// Int64 returns a pointer to v, for EventFilter's optional fields.
func Int64(v int64) *int64 { return &v }
