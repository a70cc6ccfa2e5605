package provider

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/simcash/simdb/internal/dbgen"
)

// MaxSimulationIDLen bounds simulation ids (bytes). Ids are repeated in every
// event row's event_id, so a runaway id would bloat the whole stream.
const MaxSimulationIDLen = 256

// PersistSimulationStart records a new run in status "running" with
// started_at, config_json (config exactly as given; a nil or empty config
// is {}), config_hash, rng_seed, ticks_per_day, num_days, num_agents,
// total_ticks (see parseConfig for where each comes from and the defaults
// for what the config leaves out: ticks_per_day 100, num_days 1, no
// agents) and the optional config file and experiment. Sizes the config
// does not state are recorded from the run's events when it ends (see
// PersistSimulationComplete).
//
// Errors: ErrClosed, ErrReadOnly, ErrInvalidArgument (empty, over-long,
// non-UTF-8 or control characters in the id; a non-UTF-8 config file name;
// an experiment with an empty or non-UTF-8 run id), ErrInvalidConfig,
// ErrSimulationExists (the existing row is left untouched).
func (s *Store) PersistSimulationStart(ctx context.Context, simulationID string, config json.RawMessage, opts StartOptions) error {
	if err := s.writable(); err != nil {
		return err
	}
	if err := checkSimulationID(simulationID); err != nil {
		return err
	}
	rc, err := parseConfig(config, opts.TicksPerDay)
	if err != nil {
		return fmt.Errorf("start simulation %q: %w", simulationID, err)
	}
	// DuckDB refuses invalid UTF-8 in a VARCHAR with a driver message; say
	// which argument it is instead.
	if !utf8.ValidString(opts.ConfigFile) {
		return fmt.Errorf("%w: start simulation %q: config file name is not valid UTF-8", ErrInvalidArgument, simulationID)
	}
	if e := opts.Experiment; e != nil {
		// NULL is the one way to say "no experiment": an empty run id
		// would be a third state that no experiment filter finds.
		if e.RunID == "" {
			return fmt.Errorf("%w: start simulation %q: experiment run id is empty (pass a nil Experiment for a run outside any experiment)", ErrInvalidArgument, simulationID)
		}
		if !utf8.ValidString(e.RunID) {
			return fmt.Errorf("%w: start simulation %q: experiment run id is not valid UTF-8", ErrInvalidArgument, simulationID)
		}
	}
	params := dbgen.InsertSimulationParams{
		SimulationID: simulationID,
		ConfigFile:   sql.NullString{String: opts.ConfigFile, Valid: opts.ConfigFile != ""},
		ConfigHash:   rc.hash,
		TicksPerDay:  rc.ticksPerDay,
		NumDays:      rc.numDays,
		NumAgents:    rc.numAgents,
		TotalTicks:   rc.ticksPerDay * rc.numDays,
		ConfigJson:   string(configJSON(config)),
		StartedAt:    s.opts.Now().UTC(),
	}
	if rc.rngSeed != nil {
		params.RngSeed = sql.NullInt64{Int64: *rc.rngSeed, Valid: true}
	}
	if e := opts.Experiment; e != nil {
		params.ExperimentRunID = sql.NullString{String: e.RunID, Valid: true}
		params.ExperimentIteration = sql.NullInt32{Int32: e.Iteration, Valid: true}
	}
	err = s.writeTx(ctx, func(_ *sql.Conn, tx *sql.Tx) error {
		// Checked inside the transaction so the answer is not a driver
		// message about a primary key.
		if _, err := s.q.GetWriteState(ctx, tx, simulationID); err == nil {
			return ErrSimulationExists
		} else if err != sql.ErrNoRows {
			return err
		}
		if err := s.q.InsertSimulation(ctx, tx, params); err != nil {
			return err
		}
		return s.acquireLease(ctx, tx, simulationID)
	})
	if err != nil {
		return fmt.Errorf("start simulation %q: %w", simulationID, err)
	}
	// The new run is this Store's to write (a no-op on DuckDB): on
	// PostgreSQL, RecoverInterrupted elsewhere now leaves it alone.
	if err := s.claim(ctx, simulationID); err != nil {
		return fmt.Errorf("start simulation %q: %w", simulationID, err)
	}
	return nil
}

func checkSimulationID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: empty simulation id", ErrInvalidArgument)
	case len(id) > MaxSimulationIDLen:
		return fmt.Errorf("%w: simulation id is %d bytes, the limit is %d", ErrInvalidArgument, len(id), MaxSimulationIDLen)
	case !utf8.ValidString(id):
		return fmt.Errorf("%w: simulation id is not valid UTF-8", ErrInvalidArgument)
	case strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return fmt.Errorf("%w: simulation id %q contains control characters", ErrInvalidArgument, id)
	}
	return nil
}

// PersistSimulationComplete commits any buffered ticks and records the final
// metrics: status "completed", completed_at, the totals, duration_seconds and
// ticks_per_second = total_ticks / duration_seconds (0 when the duration is
// not positive), in one transaction.
//
// The run's size is then what its events show wherever the config did not
// state it (recordRunSize): without num_days, total_ticks becomes the last
// stored tick + 1 and num_days the days those ticks span; without agents
// (or num_agents), num_agents becomes the number of distinct agents taking
// part in its events. A stored run so never states a size its own events
// contradict because a default filled a gap in its config.
//
// Errors: ErrClosed, ErrReadOnly, ErrSimulationNotFound,
// ErrSimulationNotRunning, ErrInvalidArgument (a negative total or
// duration, a non-finite duration; more settlements than arrivals is
// accepted, see checkMetrics),
// ErrWriteFailed. With ErrWriteFailed the run stays running and nothing
// acknowledged is lost: either this commit failed (its buffered ticks are
// kept, and a retry commits them with the status change), or an earlier
// commit dropped acknowledged ticks, and then every Complete is refused
// until they have been persisted again (or the run is marked failed). A ctx
// already done returns its error, not wrapping ErrWriteFailed: nothing was
// attempted, and the buffer stays for a retry.
func (s *Store) PersistSimulationComplete(ctx context.Context, simulationID string, m Metrics) error {
	if err := s.writable(); err != nil {
		return err
	}
	if err := checkMetrics(m); err != nil {
		return fmt.Errorf("complete simulation %q: %w", simulationID, err)
	}
	return s.finish(ctx, simulationID, "complete", func(tx *sql.Tx, st *simState) (int64, error) {
		totalTicks, err := s.recordRunSize(ctx, tx, simulationID)
		if err != nil {
			return 0, err
		}
		var tps float64
		if m.DurationSeconds > 0 {
			tps = float64(totalTicks) / m.DurationSeconds
		}
		return s.q.CompleteSimulation(ctx, tx, dbgen.CompleteSimulationParams{
			SimulationID:     simulationID,
			CompletedAt:      sql.NullTime{Time: s.opts.Now().UTC(), Valid: true},
			TotalArrivals:    sql.NullInt64{Int64: m.TotalArrivals, Valid: true},
			TotalSettlements: sql.NullInt64{Int64: m.TotalSettlements, Valid: true},
			TotalCostCents:   sql.NullInt64{Int64: m.TotalCostCents, Valid: true},
			DurationSeconds:  sql.NullFloat64{Float64: m.DurationSeconds, Valid: true},
			TicksPerSecond:   sql.NullFloat64{Float64: tps, Valid: true},
		})
	})
}

// checkMetrics refuses totals no run can have, naming the field:
// ErrInvalidArgument for a negative total_arrivals, total_settlements or
// total_cost_cents (SimCash's costs are charges, never credits), or a
// negative or non-finite duration_seconds (an infinite one would be stored,
// and then no summary of the run could be encoded as JSON).
//
// More settlements than arrivals is accepted: SimCash settles scheduled
// transfers that have no Arrival (scenario events; their tx_id is derived
// from the parties — medium and large hold 1 and 14), and totals computed
// from a stream count them, so a short or scenario-heavy run can settle
// more than arrived; refusing would fail the last step of ingesting a
// valid stream. SettlementRate then exceeds 1.
func checkMetrics(m Metrics) error {
	for _, f := range []struct {
		name string
		v    int64
	}{{"total_arrivals", m.TotalArrivals}, {"total_settlements", m.TotalSettlements}, {"total_cost_cents", m.TotalCostCents}} {
		if f.v < 0 {
			return fmt.Errorf("%w: %s is %d; it must not be negative", ErrInvalidArgument, f.name, f.v)
		}
	}
	if !(m.DurationSeconds >= 0) || math.IsInf(m.DurationSeconds, 0) {
		return fmt.Errorf("%w: duration_seconds is %v; it must be finite and not negative", ErrInvalidArgument, m.DurationSeconds)
	}
	return nil
}

// PersistSimulationFailed commits any buffered ticks (they happened, and
// help explain the failure) and records status "failed", completed_at and
// the reason in error_message. It is allowed after a failed commit (the
// stored run then ends where its message said). Errors: ErrClosed,
// ErrReadOnly, ErrSimulationNotFound, ErrSimulationNotRunning,
// ErrInvalidArgument (a reason that is not valid UTF-8, which DuckDB cannot
// store), ErrWriteFailed and ctx's error as for PersistSimulationComplete
// (the run stays running, the buffer is kept for a retry). Sizes the config
// did not state are recorded from the stored events, as
// PersistSimulationComplete does.
func (s *Store) PersistSimulationFailed(ctx context.Context, simulationID string, reason string) error {
	if err := s.writable(); err != nil {
		return err
	}
	if !utf8.ValidString(reason) {
		return fmt.Errorf("%w: fail simulation %q: reason is not valid UTF-8", ErrInvalidArgument, simulationID)
	}
	return s.finish(ctx, simulationID, "fail", func(tx *sql.Tx, _ *simState) (int64, error) {
		if _, err := s.recordRunSize(ctx, tx, simulationID); err != nil {
			return 0, err
		}
		return s.q.FailSimulation(ctx, tx, dbgen.FailSimulationParams{
			SimulationID: simulationID,
			CompletedAt:  sql.NullTime{Time: s.opts.Now().UTC(), Valid: true},
			ErrorMessage: sql.NullString{String: reason, Valid: true},
		})
	})
}

// recordRunSize sets, in tx, the size columns the run's config did not
// state to what its committed events show, and returns total_ticks. The
// rule (PersistSimulationComplete's doc): without num_days, total_ticks =
// last_tick + 1 and num_days = ceil(total_ticks / ticks_per_day); without
// agents, num_agents = the distinct agents of its events. A run with no
// events keeps the defaults it started with; so does a config that no
// longer parses (stored by an older simdb with looser rules).
func (s *Store) recordRunSize(ctx context.Context, tx *sql.Tx, id string) (int64, error) {
	row, err := s.q.GetRunSize(ctx, tx, id)
	if err != nil {
		return 0, err
	}
	rc, err := parseConfig(json.RawMessage(row.ConfigJson), row.TicksPerDay)
	if err != nil {
		return row.TotalTicks, nil
	}
	size := dbgen.RecordRunSizeParams{SimulationID: id, NumDays: row.NumDays, NumAgents: row.NumAgents, TotalTicks: row.TotalTicks}
	if !rc.statedDays && row.LastTick.Valid && row.LastTick.Int64 < math.MaxInt64 {
		size.TotalTicks = row.LastTick.Int64 + 1
		size.NumDays = size.TotalTicks / row.TicksPerDay
		if size.TotalTicks%row.TicksPerDay != 0 {
			size.NumDays++
		}
	}
	if !rc.statedAgents {
		size.NumAgents = row.EventAgents
	}
	if size.NumDays != row.NumDays || size.NumAgents != row.NumAgents || size.TotalTicks != row.TotalTicks {
		if err := s.q.RecordRunSize(ctx, tx, size); err != nil {
			return 0, err
		}
	}
	return size.TotalTicks, nil
}

// finish commits st's pending ticks and a status change in one transaction.
// If that fails the pending ticks stay buffered, so a retry (or Flush, or
// Close) still commits them: a finishing call never loses acknowledged
// ticks.
func (s *Store) finish(ctx context.Context, id, verb string, update func(*sql.Tx, *simState) (int64, error)) error {
	if err := checkSimulationID(id); err != nil {
		return err
	}
	// Checked first so that a cancelled call attempts nothing, rather than
	// failing halfway through.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s simulation %q: %w", verb, id, err)
	}
	st, err := s.lockSim(ctx, id)
	if err != nil {
		return fmt.Errorf("%s simulation: %w", verb, err)
	}
	defer st.mu.Unlock()
	// A failed group means ticks are missing: completing (or ending a
	// copy) would record a run that never happened. Failing it is what the
	// caller wants anyway.
	if err := s.settle(st, true); err != nil && verb != "fail" {
		return fmt.Errorf("%s simulation %q: %w", verb, id, err)
	}
	if st.status != "running" {
		return fmt.Errorf("%s simulation %q (status %s): %w", verb, id, st.status, ErrSimulationNotRunning)
	}
	if verb != "fail" {
		if err := st.checkLost(fmt.Sprintf("%s simulation %q", verb, id)); err != nil {
			return err
		}
	}
	b := st.takeBatch()
	err = s.writeTx(ctx, func(conn *sql.Conn, tx *sql.Tx) error {
		if err := s.commitBatch(ctx, conn, tx, id, b); err != nil {
			return err
		}
		// Only the lease holder ends the run (a no-op renewal for it).
		if err := s.acquireLease(ctx, tx, id); err != nil {
			return err
		}
		n, err := update(tx, st)
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrSimulationNotRunning
		}
		return nil
	})
	switch {
	case errors.Is(err, ErrSimulationNotRunning):
		// The row changed behind the Store's back: reload it.
		s.forget(st)
		return fmt.Errorf("%s simulation %q: %w", verb, id, err)
	case err != nil:
		// Nothing committed: the ticks go back to the buffer for a retry.
		st.pending = b.events
		what := "the status change"
		if len(b.events) > 0 {
			what = fmt.Sprintf("the status change and the buffered ticks %d..%d (kept, and committed by a retry)", b.events[0].tick, b.lastTick)
		}
		return fmt.Errorf("%s simulation %q: %w: %s did not commit, and the run stays running: %w", verb, id, ErrWriteFailed, what, err)
	}
	st.status = map[string]string{"complete": "completed", "fail": "failed"}[verb]
	s.lease.hold(id, false) // the update ended it
	s.forget(st)
	return nil
}

// RecoverInterrupted is Recover returning only the ids it marked failed:
// every running simulation whose writer's lease is free or has expired,
// and this Store's own. Runs another writer holds are left alone.
//
// Errors: as Recover.
func (s *Store) RecoverInterrupted(ctx context.Context) ([]string, error) {
	res, err := s.Recover(ctx)
	return res.Failed, err
}
