package provider

import (
	"context"
	"database/sql"
	"encoding/json"
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
// started_at, config_json (config exactly as given), config_hash, rng_seed,
// ticks_per_day, num_days, num_agents, total_ticks (see parseConfig for
// where each comes from) and the optional config file and experiment.
//
// Errors: ErrInvalidArgument (empty, over-long, non-UTF-8 or control
// characters in the id; a non-UTF-8 config file name or experiment run
// id), ErrInvalidConfig, ErrSimulationExists (the existing row is left
// untouched).
func (s *Store) PersistSimulationStart(ctx context.Context, simulationID string, config json.RawMessage, opts StartOptions) error {
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
	if opts.Experiment != nil && !utf8.ValidString(opts.Experiment.RunID) {
		return fmt.Errorf("%w: start simulation %q: experiment run id is not valid UTF-8", ErrInvalidArgument, simulationID)
	}
	params := dbgen.InsertSimulationParams{
		SimulationID: simulationID,
		ConfigFile:   sql.NullString{String: opts.ConfigFile, Valid: opts.ConfigFile != ""},
		ConfigHash:   rc.hash,
		TicksPerDay:  rc.ticksPerDay,
		NumDays:      rc.numDays,
		NumAgents:    rc.numAgents,
		TotalTicks:   rc.ticksPerDay * rc.numDays,
		ConfigJson:   string(config),
		StartedAt:    s.opts.Now().UTC(),
	}
	if rc.rngSeed != nil {
		params.RngSeed = sql.NullInt64{Int64: *rc.rngSeed, Valid: true}
	}
	if e := opts.Experiment; e != nil {
		params.ExperimentRunID = sql.NullString{String: e.RunID, Valid: true}
		params.ExperimentIteration = sql.NullInt32{Int32: e.Iteration, Valid: true}
	}
	if s.isClosed() {
		return ErrClosed
	}
	err = s.writeTx(ctx, func(_ *sql.Conn, tx *sql.Tx) error {
		// Checked inside the transaction so the answer is not a driver
		// message about a primary key.
		if _, err := s.q.GetWriteState(ctx, tx, simulationID); err == nil {
			return ErrSimulationExists
		} else if err != sql.ErrNoRows {
			return err
		}
		return s.q.InsertSimulation(ctx, tx, params)
	})
	if err != nil {
		return fmt.Errorf("start simulation %q: %w", simulationID, err)
	}
	// The new run is this Store's to write (a no-op on DuckDB): on
	// PostgreSQL, RecoverInterrupted elsewhere now leaves it alone.
	if err := s.be.claim(ctx, simulationID); err != nil {
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
// Errors: ErrSimulationNotFound, ErrSimulationNotRunning, ErrInvalidArgument
// (negative totals, a negative or non-finite duration), ErrWriteFailed (an
// earlier buffered group failed: the run stays running so the caller can
// resume or fail it).
func (s *Store) PersistSimulationComplete(ctx context.Context, simulationID string, m Metrics) error {
	// An infinite duration would be stored, and then no summary of the run
	// could be encoded as JSON.
	if m.TotalArrivals < 0 || m.TotalSettlements < 0 || !(m.DurationSeconds >= 0) || math.IsInf(m.DurationSeconds, 0) {
		return fmt.Errorf("%w: complete simulation %q: totals and duration must be non-negative (duration finite), got %+v", ErrInvalidArgument, simulationID, m)
	}
	return s.finish(ctx, simulationID, "complete", func(tx *sql.Tx, st *simState) (int64, error) {
		row, err := s.q.GetWriteState(ctx, tx, simulationID)
		if err != nil {
			return 0, err
		}
		var tps float64
		if m.DurationSeconds > 0 {
			tps = float64(row.TotalTicks) / m.DurationSeconds
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

// PersistSimulationFailed commits any buffered ticks (they happened, and
// help explain the failure) and records status "failed", completed_at and
// the reason in error_message. Errors: ErrSimulationNotFound,
// ErrSimulationNotRunning, ErrInvalidArgument (a reason that is not valid
// UTF-8, which DuckDB cannot store).
func (s *Store) PersistSimulationFailed(ctx context.Context, simulationID string, reason string) error {
	if !utf8.ValidString(reason) {
		return fmt.Errorf("%w: fail simulation %q: reason is not valid UTF-8", ErrInvalidArgument, simulationID)
	}
	return s.finish(ctx, simulationID, "fail", func(tx *sql.Tx, _ *simState) (int64, error) {
		return s.q.FailSimulation(ctx, tx, dbgen.FailSimulationParams{
			SimulationID: simulationID,
			CompletedAt:  sql.NullTime{Time: s.opts.Now().UTC(), Valid: true},
			ErrorMessage: sql.NullString{String: reason, Valid: true},
		})
	})
}

// finish commits st's pending ticks and a status change in one transaction.
func (s *Store) finish(ctx context.Context, id, verb string, update func(*sql.Tx, *simState) (int64, error)) error {
	if err := checkSimulationID(id); err != nil {
		return err
	}
	st, err := s.lockSim(ctx, id)
	if err != nil {
		return fmt.Errorf("%s simulation: %w", verb, err)
	}
	defer st.mu.Unlock()
	// A failed group means ticks are missing: completing would record a
	// run that never happened. Failing it is what the caller wants anyway.
	if err := s.settle(st, true); err != nil && verb == "complete" {
		return fmt.Errorf("complete simulation %q: %w", id, err)
	}
	if st.status != "running" {
		return fmt.Errorf("%s simulation %q (status %s): %w", verb, id, st.status, ErrSimulationNotRunning)
	}
	b := st.takeBatch()
	err = s.writeTx(ctx, func(conn *sql.Conn, tx *sql.Tx) error {
		if err := s.commitBatch(ctx, conn, tx, id, b); err != nil {
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
	if err != nil {
		// Nothing committed: the pending ticks are gone with the
		// transaction, so the state must be reloaded from the row.
		s.forget(st)
		return fmt.Errorf("%s simulation %q: %w", verb, id, err)
	}
	st.status = map[string]string{"complete": "completed", "fail": "failed"}[verb]
	s.forget(st)
	return nil
}

// RecoverInterrupted marks every simulation still "running" as failed with
// reason "interrupted" and returns their ids. Only the process that holds
// the file can run it, so a running row it finds was orphaned by a crash
// (or belongs to this Store: call it before starting runs). On PostgreSQL,
// where other processes write too, it leaves alone the runs another Store
// is writing (failUnclaimed).
func (s *Store) RecoverInterrupted(ctx context.Context) ([]string, error) {
	if err := s.Flush(ctx); err != nil {
		return nil, err
	}
	var ids []string
	err := s.writeTx(ctx, func(_ *sql.Conn, tx *sql.Tx) error {
		var err error
		if pg, ok := s.be.(*postgresBackend); ok {
			ids, err = s.failUnclaimed(ctx, tx, pg) // claims them: released below
			return err
		}
		ids, err = s.q.FailRunningSimulations(ctx, tx, dbgen.FailRunningSimulationsParams{
			CompletedAt:  sql.NullTime{Time: s.opts.Now().UTC(), Valid: true},
			ErrorMessage: sql.NullString{String: "interrupted", Valid: true},
		})
		return err
	})
	for _, id := range ids {
		s.be.release(id)
	}
	if err != nil {
		return nil, fmt.Errorf("recover interrupted simulations: %w", err)
	}
	for _, st := range s.snapshot() {
		st.mu.Lock()
		s.forget(st)
		st.mu.Unlock()
	}
	return ids, nil
}
