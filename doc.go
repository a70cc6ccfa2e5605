// Package simdb records SimCash-style payment-system simulations: a start
// record, each tick's events and the final metrics, through one provider
// that every code path shares, so the same simulation yields the same rows
// whichever path ran it.
//
// A run is recorded in three steps:
//
//	store, err := simdb.Open(ctx, "runs.duckdb", simdb.Options{})
//	defer store.Close()
//	err = store.PersistSimulationStart(ctx, "run-1", configJSON, simdb.StartOptions{})
//	n, err := store.PersistTickEvents(ctx, "run-1", tick, events) // each tick
//	err = store.PersistSimulationComplete(ctx, "run-1", simdb.Metrics{…})
//
// and read back by page (GetSimulationEvents), as a whole stream
// (StreamEvents), or as summaries (GetSimulationSummary, GetEventSummary,
// ListSimulations, CompareSimulations, GetAgentStateRegisters).
//
// # Storage
//
// Runs live in an embedded DuckDB file: one writing process per file, and
// within it one Store shared by every goroutine (a Store is safe for
// concurrent use). The file is an ordinary DuckDB database that any DuckDB
// client can query with SimCash's own SQL.
//
// Or in a PostgreSQL database, when Open is given a postgres:// URL: any
// number of processes on any number of machines write different runs into
// it at once, each with its own Store; a second writer of one run gets
// ErrConcurrentWriter. The API, the rows and the errors are the same.
//
// On both, a running run names its writer and holds a lease the writer
// renews (Options.Lease, two minutes by default): Recover fails only the
// runs whose writer is gone, and an ingest with Resume takes over a run
// only once its writer's lease has expired (see Lease).
//
// # Errors
//
// Errors callers branch on are sentinels (errors.Is): ErrSimulationExists,
// ErrSimulationNotFound, ErrSimulationNotRunning, ErrSimulationRunning,
// ErrTickAlreadyPersisted, ErrInvalidEvent (an *EventError naming the event
// or line, tick, type and field), ErrInvalidConfig, ErrInvalidArgument,
// ErrInvalidFilter, ErrResumeMismatch, ErrCopyConflict, ErrWriteFailed, ErrReadOnly,
// ErrClosed, ErrSchemaBehind and ErrSchemaAhead; for DuckDB files ErrLocked
// (a *LockedError naming the file and the process holding it) and
// ErrNotDatabase; ErrConcurrentWriter (a *LeaseError naming the writer
// that holds the run), and for PostgreSQL ErrUnreachable and
// ErrNoDatabase. Every other error wraps the cause with what was being
// done.
//
// # Tracing
//
// A program's Go execution traces (runtime/trace, go test -trace) show
// where a Store's write time goes: the steps of each commit group are
// regions named "simdb: …" (its events stored, with the Arrow writer their
// batches built and inserted, its summary counts, the commit), as are a
// writer's wait for the group before its own and the checkpoints. While no
// trace runs, a region costs one check that tracing is off.
package simdb
