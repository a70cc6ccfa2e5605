// Package simdb persists SimCash-style payment-system simulations in an
// embedded DuckDB file: a start record, each tick's events and the final
// metrics, through one provider that every code path shares, so the same
// simulation yields the same rows whichever path ran it.
//
//	store, err := simdb.Open(ctx, "runs.duckdb", simdb.Options{})
//	defer store.Close()
//	err = store.PersistSimulationStart(ctx, "run-1", configJSON, simdb.StartOptions{})
//	n, err := store.PersistTickEvents(ctx, "run-1", tick, events) // each tick
//	err = store.PersistSimulationComplete(ctx, "run-1", simdb.Metrics{…})
//
// The implementation lives in internal/provider, which this package cannot
// be imported by (Go forbids the cycle root → internal → root). Its types are
// re-exported here as aliases, the way package os re-exports io/fs types, so
// there is one definition of each and values pass freely between the two.
// A Store is safe for concurrent use; DuckDB allows one writing process per
// file, so open a file once per process and share the Store.
package simdb

import (
	"context"
	"encoding/json"

	"github.com/simcash/simdb/internal/duckfile"
	"github.com/simcash/simdb/internal/migrate"
	"github.com/simcash/simdb/internal/provider"
)

type (
	// Provider is the persistence protocol (start, tick events, complete,
	// failed) that Store implements and test doubles may implement too.
	Provider = provider.Provider
	// Store is the DuckDB-backed Provider plus the read side.
	Store = provider.Store
	// Options configure Open.
	Options = provider.Options
	// Durability selects Buffered (default) or Durable tick writes.
	Durability = provider.Durability
	// StartOptions are the optional parts of a start record.
	StartOptions = provider.StartOptions
	// Experiment places a run in an experiment run.
	Experiment = provider.Experiment
	// Metrics are a run's final totals (money in integer cents).
	Metrics = provider.Metrics
	// Simulation is a row of simulations.
	Simulation = provider.Simulation
	// SimulationSummary is a run with its settlement rate and daily cost.
	SimulationSummary = provider.SimulationSummary
	// ListFilter selects runs for ListSimulations.
	ListFilter = provider.ListFilter
	// EventFilter selects events for GetSimulationEvents and StreamEvents.
	EventFilter = provider.EventFilter
	// Cursor is a (tick, seq) position for keyset paging.
	Cursor = provider.Cursor
	// EventPage is a page of events with the total before paging.
	EventPage = provider.EventPage
	// StoredEvent is one stored event row.
	StoredEvent = provider.StoredEvent
	// EventSummary counts a run's events.
	EventSummary = provider.EventSummary
	// TypeCount is the number of events of one type.
	TypeCount = provider.TypeCount
	// Comparison sets two runs side by side.
	Comparison = provider.Comparison
	// EventError names the rejected event or line and why.
	EventError = provider.EventError
	// IngestOptions tune IngestJSONL.
	IngestOptions = provider.IngestOptions
	// IngestProgress is how far IngestJSONL has read.
	IngestProgress = provider.IngestProgress
	// IngestResult describes an ingested stream.
	IngestResult = provider.IngestResult
	// LockedError names a database file held by another process.
	LockedError = duckfile.LockedError
)

// Durability modes.
const (
	Buffered = provider.Buffered
	Durable  = provider.Durable
)

// EventWriter names the DuckDB bulk interface this build stores events
// through: "arrow" (Arrow record batches, about 1.45× the Appender's rate;
// build with -tags duckdb_arrow, as the Makefile does) or "appender"
// (DuckDB's Appender, any other build). Both store the same rows.
const EventWriter = provider.EventWriter

// Page size limits of GetSimulationEvents.
const (
	DefaultEventLimit = provider.DefaultEventLimit
	MaxEventLimit     = provider.MaxEventLimit
)

// Sort orders for EventFilter.Sort.
const (
	SortTickAsc  = provider.SortTickAsc
	SortTickDesc = provider.SortTickDesc
)

// Sentinel errors; see each one's documentation in internal/provider.
var (
	ErrSimulationExists     = provider.ErrSimulationExists
	ErrSimulationNotFound   = provider.ErrSimulationNotFound
	ErrSimulationNotRunning = provider.ErrSimulationNotRunning
	ErrTickAlreadyPersisted = provider.ErrTickAlreadyPersisted
	ErrInvalidEvent         = provider.ErrInvalidEvent
	ErrInvalidConfig        = provider.ErrInvalidConfig
	ErrInvalidArgument      = provider.ErrInvalidArgument
	ErrInvalidFilter        = provider.ErrInvalidFilter
	ErrWriteFailed          = provider.ErrWriteFailed
	ErrReadOnly             = provider.ErrReadOnly
	ErrClosed               = provider.ErrClosed
	// ErrLocked: another process holds the database file.
	ErrLocked = duckfile.ErrLocked
	// ErrSchemaBehind: migrations are pending and auto-migration is off.
	ErrSchemaBehind = migrate.ErrSchemaBehind
	// ErrSchemaAhead: the file was migrated by a newer simdb.
	ErrSchemaAhead = migrate.ErrSchemaAhead
)

// Open opens (creating if needed) the DuckDB database at path (":memory:"
// for a private in-memory one) and applies pending migrations unless
// opts.NoAutoMigrate or opts.ReadOnly is set. Errors: ErrSchemaBehind (auto
// migration off and the schema behind, naming both versions), ErrSchemaAhead
// (a newer schema is never downgraded), *LockedError (another process holds
// the file).
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	return provider.Open(ctx, path, opts)
}

// Int64 returns a pointer to v, for EventFilter's optional fields.
func Int64(v int64) *int64 { return &v }

// ConfigHash returns the config_hash PersistSimulationStart stores for
// config: the SHA-256 of the config re-encoded canonically (keys sorted, no
// whitespace, numbers as written). ErrInvalidConfig when config is not one
// JSON object.
func ConfigHash(config json.RawMessage) (string, error) { return provider.ConfigHash(config) }
