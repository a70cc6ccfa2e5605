package simdb

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/simcash/simdb/internal/duckfile"
	"github.com/simcash/simdb/internal/event"
	"github.com/simcash/simdb/internal/migrate"
	"github.com/simcash/simdb/internal/pgdb"
	"github.com/simcash/simdb/internal/provider"
)

// Errors callers branch on, with errors.Is. Every error that stems from one
// of these wraps it; the message adds what and where.
var (
	// ErrSimulationExists: PersistSimulationStart with an id already stored.
	ErrSimulationExists = provider.ErrSimulationExists
	// ErrSimulationNotFound: no simulation has that id.
	ErrSimulationNotFound = provider.ErrSimulationNotFound
	// ErrSimulationNotRunning: the simulation is completed or failed, so it
	// takes no more events or status changes.
	ErrSimulationNotRunning = provider.ErrSimulationNotRunning
	// ErrTickAlreadyPersisted: the tick is not after the last tick already
	// persisted for the simulation, so storing it would duplicate or reorder.
	ErrTickAlreadyPersisted = provider.ErrTickAlreadyPersisted
	// ErrInvalidEvent: an event is malformed; nothing of the call is stored.
	// The error is an *EventError naming the event and the field.
	ErrInvalidEvent = provider.ErrInvalidEvent
	// ErrInvalidConfig: the start config is unusable (not a JSON object, a
	// ticks_per_day that is not a positive integer, …).
	ErrInvalidConfig = provider.ErrInvalidConfig
	// ErrInvalidArgument: an empty simulation id, a negative tick, negative
	// totals, …
	ErrInvalidArgument = provider.ErrInvalidArgument
	// ErrInvalidFilter: an event query's filter contradicts itself
	// (TickMin > TickMax), names an unknown sort or status, holds text that
	// is not UTF-8, or an event type with a comma.
	ErrInvalidFilter = provider.ErrInvalidFilter
	// ErrWriteFailed: a commit failed (a full disk, an I/O error, a
	// cancelled context mid-commit). From PersistTickEvents, Flush, Close or
	// a read, ticks were not stored: the message names them and the tick the
	// stored events end at, and the writer persists again from the tick
	// after it (a later tick and a Complete are refused until it has). From
	// PersistSimulationComplete or PersistSimulationFailed, nothing was
	// lost: the run stays running with its buffered ticks kept, and a retry
	// commits them. Each failure is reported once. RELIABILITY.md has the
	// whole contract.
	ErrWriteFailed = provider.ErrWriteFailed
	// ErrReadOnly: a write on a Store opened with Options.ReadOnly; nothing
	// was attempted.
	ErrReadOnly = provider.ErrReadOnly
	// ErrConcurrentWriter: another writer (another Store, usually another
	// process on a shared PostgreSQL database) is writing the simulation.
	// A Store claims a run from its start or first write until it
	// completes or fails it or closes, so the second writer's first call
	// fails with this, having stored and buffered nothing; should the
	// claims be bypassed, a group that would interleave fails with it
	// inside ErrWriteFailed. The message names the simulation. When
	// another writer holds the run's lease (see Lease), the error is a
	// *LeaseError naming the holder: its writer id, host, pid, last
	// heartbeat and when its lease expires.
	ErrConcurrentWriter = provider.ErrConcurrentWriter
	// ErrUnreachable: no PostgreSQL server answered at the URL's address.
	ErrUnreachable = pgdb.ErrUnreachable
	// ErrNoDatabase: the PostgreSQL server has no database of the URL's
	// name; create it first (simdb creates its tables, not the database).
	ErrNoDatabase = pgdb.ErrNoDatabase
	// ErrClosed: the Store was closed; every call after Close returns it.
	ErrClosed = provider.ErrClosed
	// ErrResumeMismatch: an ingest with Resume read a stream whose first
	// lines are not the events the run already stored (another stream, a
	// shorter or a longer one); nothing was written.
	ErrResumeMismatch = provider.ErrResumeMismatch
	// ErrSimulationRunning: DeleteSimulation of a run that is still
	// running; mark it failed first.
	ErrSimulationRunning = provider.ErrSimulationRunning
	// ErrNotDatabase: the path is an existing file that is not a DuckDB
	// database, whatever its name; it was refused before anything read or
	// wrote it.
	ErrNotDatabase = duckfile.ErrNotDatabase
	// ErrLocked: the database file is held by another process, or already
	// open in this one; the error is a *LockedError.
	ErrLocked = duckfile.ErrLocked
	// ErrSchemaBehind: migrations are pending and auto-migration is off.
	ErrSchemaBehind = migrate.ErrSchemaBehind
	// ErrSchemaAhead: the database was migrated by a newer simdb.
	ErrSchemaAhead = migrate.ErrSchemaAhead
	// ErrCopyConflict: CopyRuns found a run at the target already, holding
	// something the source's run does not (another config, status, total or
	// event). Nothing of that run is changed at the target; the message names
	// the run and the first difference.
	ErrCopyConflict = provider.ErrCopyConflict
)

// EventError says which event of a call (or which line of a stream) was
// rejected and why. It matches ErrInvalidEvent with errors.Is.
type EventError struct {
	SimulationID string
	// Source is the stream's name (a file), when known.
	Source string
	// Tick is the call's tick, or the line's when known; -1 if unknown.
	Tick int64
	// Index is the event's 0-based position in a PersistTickEvents call;
	// -1 for streams.
	Index int
	// Line is the stream's 1-based line; 0 for calls.
	Line      int
	EventType string
	// Err is what is wrong: a *FieldError (one member of the event), a
	// *SyntaxError (the JSON itself), or another error.
	Err error
}

// Error reads "FILE:LINE: tick T, TYPE: what is wrong" for a stream (or
// "line LINE: …" without a Source) and `simulation "ID": event I (tick T,
// TYPE): what is wrong` for a PersistTickEvents call.
func (e *EventError) Error() string {
	var ctx []string
	if e.Tick >= 0 {
		ctx = append(ctx, "tick "+strconv.FormatInt(e.Tick, 10))
	}
	if e.EventType != "" {
		ctx = append(ctx, e.EventType)
	}
	if e.Line > 0 {
		where := "line " + strconv.Itoa(e.Line)
		if e.Source != "" {
			where = e.Source + ":" + strconv.Itoa(e.Line)
		}
		if len(ctx) > 0 {
			return fmt.Sprintf("%s: %s: %v", where, strings.Join(ctx, ", "), e.Err)
		}
		return fmt.Sprintf("%s: %v", where, e.Err)
	}
	where := fmt.Sprintf("simulation %q: event %d", e.SimulationID, e.Index)
	if len(ctx) > 0 {
		where += " (" + strings.Join(ctx, ", ") + ")"
	}
	return fmt.Sprintf("%s: %v", where, e.Err)
}

// Unwrap makes errors.Is(err, ErrInvalidEvent) hold, and exposes Err.
func (e *EventError) Unwrap() []error { return []error{ErrInvalidEvent, e.Err} }

// FieldError says which member of an event is wrong.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return fmt.Sprintf("field %q: %s", e.Field, e.Msg) }

// SyntaxError is malformed JSON, at a byte offset of the event or line.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at byte %d: %s", e.Offset, e.Msg)
}

// LockedError says which database file is locked and by which process.
type LockedError struct {
	Path string
	// PID is the holder's process id, 0 when DuckDB did not name it.
	PID int
	// InProcess is set when this process already has the file open: open
	// a file once and share the Store.
	InProcess bool
	msg       string
}

func (e *LockedError) Error() string { return e.msg }

// Unwrap makes errors.Is(err, ErrLocked) hold.
func (e *LockedError) Unwrap() error { return ErrLocked }

// publicError turns the internal error types in err's chain into the
// exported ones (*EventError, *LockedError, *LeaseError), so that errors.As works with
// this package's types. The message and every sentinel in the chain stay.
func publicError(err error) error {
	if err == nil {
		return nil
	}
	var public error
	var pe *provider.EventError
	var le *duckfile.LockedError
	var lease *provider.LeaseError
	switch {
	case errors.As(err, &pe):
		public = &EventError{
			SimulationID: pe.SimulationID, Source: pe.Source, Tick: pe.Tick,
			Index: pe.Index, Line: pe.Line, EventType: pe.EventType,
			Err: detailError(pe.Err),
		}
		if err == error(pe) {
			return public
		}
	case errors.As(err, &le):
		public = &LockedError{Path: le.Path, PID: le.PID, InProcess: le.InProcess, msg: le.Error()}
		if err == error(le) {
			return public
		}
	case errors.As(err, &lease):
		public = &LeaseError{SimulationID: lease.SimulationID, Holder: Lease(lease.Holder), At: lease.At, msg: lease.Error()}
		if err == error(lease) {
			return public
		}
	default:
		return err
	}
	return &wrapped{msg: err.Error(), errs: []error{public, err}}
}

// detailError is the exported form of what an event error says is wrong.
func detailError(err error) error {
	var fe *event.FieldError
	var se *event.SyntaxError
	switch {
	case errors.As(err, &fe):
		return &FieldError{Field: fe.Field, Msg: fe.Msg}
	case errors.As(err, &se):
		return &SyntaxError{Offset: se.Offset, Msg: se.Msg}
	}
	return err
}

// wrapped keeps an error's message and chain, with an exported form of an
// error in it first.
type wrapped struct {
	msg  string
	errs []error
}

func (w *wrapped) Error() string   { return w.msg }
func (w *wrapped) Unwrap() []error { return w.errs }
