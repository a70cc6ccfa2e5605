package provider

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"

	"github.com/simcash/simdb/internal/dbgen"
	"github.com/simcash/simdb/internal/event"
)

// ErrCopyConflict: CopyRuns found the run at the target already, holding
// something the source's run does not (another config, status, total or
// event). Nothing of that run is changed at the target; the message names
// the run and the first difference.
var ErrCopyConflict = errors.New("simulation differs at the target")

// CopyOptions tune CopyRuns. The zero value copies finished runs only.
type CopyOptions struct {
	// AllowRunning copies a run still running at the source: the whole
	// ticks it has committed when the copy reads it. The copy stays
	// running at the target, and a later CopyRuns continues it. Without
	// it such a run is refused (ErrSimulationRunning): its writer may be
	// live, and the copy would be a snapshot of a run that goes on.
	AllowRunning bool
	// Progress, when set, is called as each run's events are checked or
	// written (at least once per tick), from the calling goroutine.
	Progress func(CopyProgress)
}

// CopyProgress is how far CopyRuns has come.
type CopyProgress struct {
	SimulationID string
	Run, Runs    int   // the run (1-based) of how many
	Events       int64 // events of the run checked against the target or written to it
	TotalEvents  int64 // the run's events at the source
}

// CopyOutcome is what CopyRuns did with one run.
type CopyOutcome string

const (
	// CopyCopied: the run was written to the target (or, when the target
	// held the first ticks of it still running, completed there).
	CopyCopied CopyOutcome = "copied"
	// CopySkipped: the target holds the run identical already.
	CopySkipped CopyOutcome = "skipped"
	// CopyRefused: the run differs at the target (ErrCopyConflict) or is
	// still running at the source (ErrSimulationRunning); nothing of it
	// was written.
	CopyRefused CopyOutcome = "refused"
	// CopyFailed: anything else (not at the source, a read or a write
	// failed). Whole ticks already written stay, the run running at the
	// target, and copying again continues it.
	CopyFailed CopyOutcome = "failed"
)

// CopyResult is one run's outcome.
type CopyResult struct {
	SimulationID string
	Outcome      CopyOutcome
	// Events is how many events this call wrote to the target.
	Events int64
	// Err says why, for CopyRefused and CopyFailed.
	Err error
}

// CopyRuns copies the runs ids names (duplicates once) from one Store to
// another, either backend to either, each through the target's own write
// path: the run row column for column (config, sizes, status, totals,
// error text, experiment, started_at and completed_at), every event with
// its seq, bytes and both timestamps, and the register values and event
// summaries the writer derives from them. Events are read with
// StreamEvents and committed in the target's groups, so memory stays flat
// whatever a run's size.
//
// A run the target already has is compared first, on everything but the
// wall-clock columns (the identity `simdb diff` checks, plus config text,
// config file, experiment, duration and error text): identical, it is
// skipped; different, it is refused with ErrCopyConflict and left as it
// is. A target run still running whose events are the source's first ones
// (a copy cut short) is continued and finished. The other runs are copied
// whatever happens to one; the results say what happened to each, in
// order.
//
// The error joins every refused and failed run's error (each naming its
// run); it is nil when every run was copied or skipped. Before any run:
// ErrInvalidArgument when from and to are the same Store, ErrReadOnly or
// ErrClosed for the target. A done ctx stops the copy: the run in hand is
// left as a failed one is, the remaining runs are not tried.
func CopyRuns(ctx context.Context, from, to *Store, ids []string, opts CopyOptions) ([]CopyResult, error) {
	if from == to {
		return nil, fmt.Errorf("%w: copy: the source and the target are the same Store", ErrInvalidArgument)
	}
	if err := to.writable(); err != nil {
		return nil, fmt.Errorf("copy to %s: %w", to.Path(), err)
	}
	seen := make(map[string]bool, len(ids))
	var unique []string
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			unique = append(unique, id)
		}
	}
	var results []CopyResult
	var errs []error
	for i, id := range unique {
		if err := ctx.Err(); err != nil {
			errs = append(errs, fmt.Errorf("copy: stopped before %q: %w", id, err))
			break
		}
		c := &runCopy{from: from, to: to, id: id, run: i + 1, runs: len(unique), opts: opts}
		res := c.do(ctx)
		results = append(results, res)
		if res.Err != nil {
			errs = append(errs, res.Err)
		}
	}
	return results, errors.Join(errs...)
}

// runCopy is the copy of one run.
type runCopy struct {
	from, to  *Store
	id        string
	run, runs int
	opts      CopyOptions
	src       Simulation
	done      int64 // events checked or written, for Progress
	written   int64
}

func (c *runCopy) do(ctx context.Context) CopyResult {
	outcome, err := c.copy(ctx)
	res := CopyResult{SimulationID: c.id, Outcome: outcome, Events: c.written}
	if err != nil {
		res.Err = fmt.Errorf("copy %q: %w", c.id, err)
	}
	return res
}

func (c *runCopy) progress() {
	if c.opts.Progress != nil {
		c.opts.Progress(CopyProgress{SimulationID: c.id, Run: c.run, Runs: c.runs, Events: c.done, TotalEvents: c.src.EventCount})
	}
}

// copy does the work and says which outcome it had.
func (c *runCopy) copy(ctx context.Context) (CopyOutcome, error) {
	if err := checkSimulationID(c.id); err != nil {
		return CopyFailed, err
	}
	src, err := c.from.GetSimulationSummary(ctx, c.id)
	if errors.Is(err, ErrSimulationNotFound) {
		return CopyFailed, fmt.Errorf("not in %s: %w", c.from.Path(), ErrSimulationNotFound)
	}
	if err != nil {
		return CopyFailed, err
	}
	c.src = src.Simulation
	if c.src.Status == "running" && !c.opts.AllowRunning {
		return CopyRefused, fmt.Errorf("%w at the source (its writer may still be at work): copy it once it has ended, or allow running runs to copy the ticks it has committed", ErrSimulationRunning)
	}
	c.progress()
	dst, err := c.to.GetSimulationSummary(ctx, c.id)
	fresh := errors.Is(err, ErrSimulationNotFound)
	if err != nil && !fresh {
		return CopyFailed, fmt.Errorf("read it at the target: %w", err)
	}
	next, stop := iter.Pull2(c.from.StreamEvents(ctx, c.id, EventFilter{}))
	defer stop()
	if fresh {
		if err := c.to.startCopied(ctx, c.src); err != nil {
			return CopyFailed, err
		}
	} else {
		if field, va, vb := runDiff(c.src, dst.Simulation); field != "" {
			return CopyRefused, fmt.Errorf("%w: %s is %s at the source, %s at the target", ErrCopyConflict, field, va, vb)
		}
		if err := c.checkPrefix(ctx, next, dst.EventCount); err != nil {
			return CopyRefused, err
		}
		if dst.Status != "running" || (c.src.Status == "running" && dst.EventCount == c.src.EventCount) {
			return CopySkipped, nil
		}
	}
	if err := c.writeEvents(ctx, next); err != nil {
		return CopyFailed, err
	}
	if err := c.to.endCopied(ctx, c.src); err != nil {
		return CopyFailed, err
	}
	return CopyCopied, nil
}

// checkPrefix compares the target's n events with the source's first n,
// reading both streams; next is left after the source's n-th event.
func (c *runCopy) checkPrefix(ctx context.Context, next func() (StoredEvent, error, bool), n int64) error {
	if n == 0 {
		return nil
	}
	nextDst, stopDst := iter.Pull2(c.to.StreamEvents(ctx, c.id, EventFilter{}))
	defer stopDst() // before anything is written to the run
	for i := int64(0); i < n; i++ {
		a, errA, okA := next()
		b, errB, okB := nextDst()
		switch {
		case errA != nil:
			return fmt.Errorf("read the source: %w", errA)
		case errB != nil:
			return fmt.Errorf("read the target: %w", errB)
		case !okA || !okB:
			return fmt.Errorf("%w: the target's events end at seq %d, the source's at %d while being compared (is a writer at work?)", ErrCopyConflict, i, c.src.EventCount)
		}
		if field, va, vb := eventDiff(&a, &b); field != "" {
			return fmt.Errorf("%w: tick %d seq %d: %s is %.80s at the source, %.80s at the target", ErrCopyConflict, a.Tick, a.Seq, field, va, vb)
		}
		c.done++
		if c.done%16384 == 0 {
			c.progress()
		}
	}
	c.progress()
	return nil
}

// writeEvents persists the source's events from where next stands through
// its event_count, a tick at a time: rebuilt from the stored row and
// decoded as an ingest decodes a line, so the target derives its columns,
// registers and summaries as the source's writer did.
func (c *runCopy) writeEvents(ctx context.Context, next func() (StoredEvent, error, bool)) error {
	var tick []StoredEvent
	var raw []byte
	flush := func() error {
		if len(tick) == 0 {
			return nil
		}
		var arena event.Arena
		size := 0
		for i := range tick {
			size += 2*len(tick[i].Details) + 64
		}
		arena.Reserve(size, 2*len(tick))
		events := make([]event.Event, len(tick))
		stamps := make([]copiedStamp, len(tick))
		for i := range tick {
			se := &tick[i]
			var err error
			if raw, err = se.rebuild(raw[:0]); err == nil {
				events[i], err = event.DecodeIn(&arena, raw)
			}
			if err == nil && (!bytes.Equal(events[i].Details, se.Details) || events[i].Layout != se.layout) {
				err = errors.New("does not decode back to its stored details")
			}
			if err != nil {
				return fmt.Errorf("source event seq %d (tick %d, %s): %w", se.Seq, se.Tick, se.EventType, err)
			}
			stamps[i] = copiedStamp{at: se.EventTimestamp, created: se.CreatedAt}
		}
		if _, err := c.to.persistTick(ctx, c.id, tick[0].Tick, events, stamps); err != nil {
			return fmt.Errorf("write tick %d: %w", tick[0].Tick, err)
		}
		c.written += int64(len(tick))
		c.done += int64(len(tick))
		c.progress()
		clear(tick)
		tick = tick[:0]
		return nil
	}
	expect := c.done
	for expect < c.src.EventCount {
		ev, err, ok := next()
		if err != nil {
			return fmt.Errorf("read the source: %w", err)
		}
		if !ok {
			break
		}
		if ev.Seq != expect {
			return fmt.Errorf("source event at seq %d where %d was due (not a run simdb wrote)", ev.Seq, expect)
		}
		expect++
		if len(tick) > 0 && ev.Tick != tick[0].Tick {
			if err := flush(); err != nil {
				return err
			}
		}
		tick = append(tick, ev)
	}
	if err := flush(); err != nil {
		return err
	}
	if expect != c.src.EventCount {
		return fmt.Errorf("the source's events end at seq %d, its record says %d", expect, c.src.EventCount)
	}
	return nil
}

// rebuild is Raw appending to dst.
func (e *StoredEvent) rebuild(dst []byte) ([]byte, error) {
	st := event.Stored{Type: e.EventType, Tick: e.Tick, Details: e.Details, Layout: e.layout}
	if e.AgentID != nil {
		st.AgentID = *e.AgentID
	}
	if e.TxID != nil {
		st.TxID = *e.TxID
	}
	return event.Rebuild(dst, st)
}

// startCopied records src's start as a new running run, its columns as
// the source has them (the sizes are replaced by endCopied when the run
// has ended). ErrSimulationExists if the id appeared meanwhile.
func (s *Store) startCopied(ctx context.Context, src Simulation) error {
	params := dbgen.InsertSimulationParams{
		SimulationID: src.SimulationID,
		ConfigFile:   optString(src.ConfigFile),
		ConfigHash:   src.ConfigHash,
		RngSeed:      optInt(src.RngSeed),
		TicksPerDay:  src.TicksPerDay,
		NumDays:      src.NumDays,
		NumAgents:    src.NumAgents,
		TotalTicks:   src.TotalTicks,
		ConfigJson:   string(src.ConfigJSON),
		StartedAt:    src.StartedAt.UTC(),
	}
	if src.ExperimentRunID != nil {
		params.ExperimentRunID = sql.NullString{String: *src.ExperimentRunID, Valid: true}
		if src.ExperimentIteration != nil {
			params.ExperimentIteration = sql.NullInt32{Int32: *src.ExperimentIteration, Valid: true}
		}
	}
	err := s.writeTx(ctx, func(_ *sql.Conn, tx *sql.Tx) error {
		if _, err := s.q.GetWriteState(ctx, tx, src.SimulationID); err == nil {
			return ErrSimulationExists
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if err := s.q.InsertSimulation(ctx, tx, params); err != nil {
			return err
		}
		// Leased from its first row, as PersistSimulationStart does, so a
		// recover elsewhere leaves the copy being written alone.
		return s.acquireLease(ctx, tx, src.SimulationID)
	})
	if err != nil {
		return fmt.Errorf("start the run at the target: %w", err)
	}
	if err := s.claim(ctx, src.SimulationID); err != nil {
		return fmt.Errorf("start the run at the target: %w", err)
	}
	return nil
}

// endCopied commits the copied ticks still buffered and, for a source run
// that has ended, gives the run the source's end columns in the same
// transaction. A source still running leaves the copy running, committed
// and no longer claimed by this Store.
func (s *Store) endCopied(ctx context.Context, src Simulation) error {
	if src.Status == "running" {
		st, err := s.lockSim(ctx, src.SimulationID)
		if err != nil {
			return err
		}
		defer st.mu.Unlock()
		err = s.flushLocked(ctx, st)
		s.forget(st)
		return err
	}
	return s.finish(ctx, src.SimulationID, "copy", func(tx *sql.Tx, _ *simState) (int64, error) {
		p := dbgen.FinishCopiedSimulationParams{
			SimulationID:     src.SimulationID,
			Status:           src.Status,
			TotalArrivals:    optInt(src.TotalArrivals),
			TotalSettlements: optInt(src.TotalSettlements),
			TotalCostCents:   optInt(src.TotalCostCents),
			DurationSeconds:  optFloat(src.DurationSeconds),
			TicksPerSecond:   optFloat(src.TicksPerSecond),
			ErrorMessage:     optString(src.ErrorMessage),
			NumDays:          src.NumDays,
			NumAgents:        src.NumAgents,
			TotalTicks:       src.TotalTicks,
		}
		if src.CompletedAt != nil {
			p.CompletedAt = sql.NullTime{Time: src.CompletedAt.UTC(), Valid: true}
		}
		return s.q.FinishCopiedSimulation(ctx, tx, p)
	})
}
