package simdb

import (
	"context"
	"encoding/json"
	"io"

	"github.com/simcash/simdb/internal/provider"
)

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

// Experiment identifies one iteration of an experiment run. RunID must not
// be empty: a run outside any experiment has no Experiment (nil).
type Experiment struct {
	RunID     string
	Iteration int32
}

// Metrics are a run's final totals. Money is integer cents (INV-1).
//
// Decoded from JSON it takes SimCash's metrics dict as well: the cost under
// "total_costs" (the seed's key) or "total_cost_cents", never both.
type Metrics struct {
	TotalArrivals    int64   `json:"total_arrivals"`
	TotalSettlements int64   `json:"total_settlements"`
	TotalCostCents   int64   `json:"total_cost_cents"`
	DurationSeconds  float64 `json:"duration_seconds"`
}

// PersistSimulationStart records a new run in status "running" with
// started_at, config_json (the config exactly as given; a nil or empty
// config is {}), config_hash (see ConfigHash) and what the config says:
// ticks_per_day (default DefaultTicksPerDay, or StartOptions.TicksPerDay),
// num_days (default 1), num_agents (the length of "agents", else
// "num_agents", else 0), total_ticks and rng_seed ("rng_seed" or "seed").
// Each key is looked up at the top level, then under "simulation"
// (SimCash's YAML configs), "scenario" and "engine_config" (a SimCash
// *.meta.json). An integer may be spelled in any JSON form of an integral
// value (100, 100.0, 1e2); a fraction is refused. Sizes the config does not
// state are recorded from the run's events when it ends (see
// PersistSimulationComplete).
//
// Errors: ErrInvalidArgument (an empty, over-long, non-UTF-8 id or one with
// control characters; a non-UTF-8 config file name; an Experiment with an
// empty or non-UTF-8 run id), ErrInvalidConfig (not one JSON object, a
// duplicate key or a lone UTF-16 surrogate escape in it, a size that is not
// a positive integer), ErrSimulationExists (the stored run is left
// untouched), ErrReadOnly, ErrClosed.
func (s *Store) PersistSimulationStart(ctx context.Context, simulationID string, config json.RawMessage, opts StartOptions) error {
	po := provider.StartOptions{ConfigFile: opts.ConfigFile, TicksPerDay: opts.TicksPerDay}
	if opts.Experiment != nil {
		po.Experiment = &provider.Experiment{RunID: opts.Experiment.RunID, Iteration: opts.Experiment.Iteration}
	}
	return publicError(s.p.PersistSimulationStart(ctx, simulationID, config, po))
}

// PersistTickEvents stores the events of one tick, in the order given, and
// returns how many it stored (0 for an empty list, which writes nothing).
//
// Every event is validated before anything is written: a JSON object with a
// non-empty string event_type; a tick member, if present, equal to tick;
// money fields integer cents; StateRegisterSet with agent_id, register_key
// and a finite new_value. A rejected event gives an *EventError (errors.Is
// ErrInvalidEvent) naming its index and field, and nothing of the call is
// stored.
//
// Stored rows get the next seq values, day = tick / ticks_per_day, the
// agent_id and tx_id columns, details (every other member, byte for byte),
// and every StateRegisterSet also lands in agent_state_registers (the last
// value of a key in a tick wins). With Durable the rows are committed when
// the call returns; with Buffered (the default) see Buffered for when.
//
// Other errors: ErrInvalidArgument (empty id, negative tick),
// ErrSimulationNotFound, ErrSimulationNotRunning, ErrTickAlreadyPersisted
// (the tick is not after the last persisted one, so a retried tick never
// duplicates), ErrWriteFailed (this commit, or an earlier buffered group of
// this simulation, failed: the message names the ticks to send again),
// ErrReadOnly, ErrClosed. A nil error promises, with Durable, that the
// tick is committed; with Buffered, that it is validated and will be
// committed in order or reported as failed (RELIABILITY.md,
// "Acknowledgement").
func (s *Store) PersistTickEvents(ctx context.Context, simulationID string, tick int64, events []json.RawMessage) (int, error) {
	n, err := s.p.PersistTickEvents(ctx, simulationID, tick, events)
	return n, publicError(err)
}

// PersistSimulationComplete commits the simulation's buffered ticks and
// records the final metrics in one transaction: status "completed",
// completed_at, the totals, duration_seconds and ticks_per_second =
// total_ticks / duration_seconds (0 when the duration is not positive).
// The run's size is then what its events show wherever the config did not
// state it: without num_days, total_ticks becomes the last stored tick + 1
// and num_days the days those ticks span; without agents, num_agents
// becomes the number of distinct agents in its events. A stored run never
// states a size its own events contradict.
//
// Errors: ErrSimulationNotFound, ErrSimulationNotRunning,
// ErrInvalidArgument (a negative total or duration, a non-finite duration;
// more settlements than arrivals is accepted: SimCash's scheduled
// settlements have no Arrival), ErrReadOnly, ErrClosed, ErrWriteFailed.
// With ErrWriteFailed the run stays running and nothing acknowledged is
// lost: either this commit failed (its buffered ticks are kept, and a retry
// commits them with the status change), or an earlier commit dropped
// acknowledged ticks, and then every Complete is refused until they have
// been persisted again (or the run is marked failed). A ctx already done
// returns its error, not wrapping ErrWriteFailed: nothing was attempted.
func (s *Store) PersistSimulationComplete(ctx context.Context, simulationID string, metrics Metrics) error {
	return publicError(s.p.PersistSimulationComplete(ctx, simulationID, provider.Metrics(metrics)))
}

// PersistSimulationFailed commits the simulation's buffered ticks (they
// happened, and help explain the failure) and records status "failed",
// completed_at and the reason in error_message. Sizes the config did not
// state are recorded from the stored events, as PersistSimulationComplete
// does.
//
// It is allowed after a failed commit (the stored run then ends where that
// error said). Errors: ErrSimulationNotFound, ErrSimulationNotRunning,
// ErrInvalidArgument (a reason that is not valid UTF-8), ErrReadOnly,
// ErrClosed, and ErrWriteFailed or ctx's error as for
// PersistSimulationComplete (the run stays running, the buffer is kept).
func (s *Store) PersistSimulationFailed(ctx context.Context, simulationID string, reason string) error {
	return publicError(s.p.PersistSimulationFailed(ctx, simulationID, reason))
}

// RecoverInterrupted is Recover returning only the ids it marked failed
// ("interrupted"): the running simulations whose writer's lease was
// released or has expired, and this Store's own. Runs other writers hold
// are left alone (Recover says which, and why). Errors: as Recover.
func (s *Store) RecoverInterrupted(ctx context.Context) ([]string, error) {
	ids, err := s.p.RecoverInterrupted(ctx)
	return ids, publicError(err)
}

// IngestOptions tune IngestJSONL.
type IngestOptions struct {
	// Source names the stream in errors ("FILE:LINE: …"); "" gives "line N".
	Source string
	// Resume skips the events of ticks the simulation already stored (up to
	// its last_tick) and continues after them. Each skipped line must be
	// the stored event of the same seq (compared as rebuilt compact JSON,
	// so insignificant whitespace may differ), and the stream must hold
	// exactly the stored events of those ticks: otherwise the call fails
	// with ErrResumeMismatch naming the first divergence, before anything
	// is written. A run another writer holds fails with a *LeaseError
	// (ErrConcurrentWriter); one whose writer's lease has expired is taken
	// over.
	//
	// Resuming a run that is already completed is not an error when the
	// stream is the run (every line the stored event of the same seq, no
	// line more or less): nothing is written and the result says
	// Completed, so a retry of a worker that finished just before it was
	// killed succeeds. Any difference is ErrResumeMismatch naming the first
	// differing line, tick and seq, or the counts. The stored run, totals
	// included, is never changed. A failed run is ErrSimulationNotRunning.
	Resume bool
	// Progress, if set, is called after each tick is handed to the writer
	// with the bytes and lines read so far.
	Progress func(IngestProgress)
}

// IngestProgress is how far a stream has been read.
type IngestProgress struct {
	Lines  int64
	Bytes  int64
	Events int64
}

// IngestResult describes an ingested stream.
type IngestResult struct {
	Lines     int64 // lines read (blank lines included)
	Events    int64 // events persisted by this call
	Skipped   int64 // events of already stored ticks skipped by Resume
	Ticks     int64 // ticks persisted by this call
	FirstTick int64 // first tick of the stream, -1 when empty
	LastTick  int64 // last tick of the stream, -1 when empty
	// Metrics are the run's totals computed from the whole stream, skipped
	// lines included: arrivals are Arrival events minus split children,
	// settlements the distinct original transactions a settlement event
	// names, total cost the sum of CostAccrual costs.total (README,
	// "Metrics computed from a stream").
	Metrics Metrics
	// Completed: Resume found the run already completed, and wrote
	// nothing. With a nil error the stream is that run, event for event
	// (nothing to do); otherwise the error (ErrResumeMismatch) names the
	// difference.
	Completed bool
}

// IngestJSONL persists a SimCash event stream (one flat JSON object per
// line, ticks never decreasing) into a running simulation, one tick at a
// time through the same path as PersistTickEvents. Blank lines are skipped.
//
// On a bad line it stops and returns an *EventError naming the line (and
// Source): every tick before that line's tick has been handed to the writer
// (commit them with Flush, or PersistSimulationFailed), and nothing of the
// bad line's tick is stored. That holds when the bad line is the first of
// its tick too: the tick before it is complete and is handed over. When the
// bad line's tick cannot be read (the line is not JSON, its tick is missing
// or malformed, it is too long) or is lower than the tick before it, the
// line may belong to the tick being read, so that tick is not stored. A
// read error (a truncated gzip file) likewise stores nothing of the tick
// being read. With Resume, a stream that diverges from the stored events
// fails with ErrResumeMismatch.
func (s *Store) IngestJSONL(ctx context.Context, simulationID string, r io.Reader, opts IngestOptions) (IngestResult, error) {
	po := provider.IngestOptions{Source: opts.Source, Resume: opts.Resume}
	if opts.Progress != nil {
		po.Progress = func(p provider.IngestProgress) { opts.Progress(IngestProgress(p)) }
	}
	res, err := s.p.IngestJSONL(ctx, simulationID, r, po)
	out := IngestResult{
		Lines: res.Lines, Events: res.Events, Skipped: res.Skipped, Ticks: res.Ticks,
		FirstTick: res.FirstTick, LastTick: res.LastTick, Metrics: Metrics(res.Metrics), Completed: res.Completed,
	}
	return out, publicError(err)
}

// DeleteSimulation removes a completed or failed run: its row, events,
// register values and summary rows, in one transaction (all or nothing),
// and returns how many events it removed. The id can then be used again.
//
// Errors: ErrInvalidArgument (a malformed id), ErrSimulationNotFound,
// ErrSimulationRunning (mark it failed first), ErrClosed.
func (s *Store) DeleteSimulation(ctx context.Context, simulationID string) (int64, error) {
	n, err := s.p.DeleteSimulation(ctx, simulationID)
	return n, publicError(err)
}

// UnmarshalJSON decodes a metrics object: total_arrivals,
// total_settlements, total_cost_cents (or SimCash's total_costs) and
// duration_seconds, each optional (absent or null: 0). The counts and the
// cost must be integer literals (money is never rounded); the duration a
// number. Anything else is an error wrapping ErrInvalidArgument, so a
// ported caller cannot lose a total silently: an unknown key, both cost
// keys, a duplicate key, a lone UTF-16 surrogate escape, a value of the
// wrong type.
func (m *Metrics) UnmarshalJSON(b []byte) error {
	var p provider.Metrics
	if err := p.UnmarshalJSON(b); err != nil {
		return err
	}
	*m = Metrics(p)
	return nil
}
