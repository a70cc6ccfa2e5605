package provider

// The commit side of the writer: a simulation's buffered ticks, taken as a
// batch, committed in the background (Buffered) or before the call returns
// (Durable), and what a failed commit leaves.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime/trace"

	"github.com/simcash/simdb/internal/dbgen"
)

// batch is a group of whole ticks and the progress they bring the run to.
type batch struct {
	events   []pendingEvent
	nextSeq  int64 // event_count after the batch
	lastTick int64 // last_tick after the batch
}

// commitJob is a batch committing in the background.
type commitJob struct {
	b    batch
	done chan struct{}
	err  error // valid once done is closed
}

// takeBatch moves st's pending ticks into a batch.
func (st *simState) takeBatch() batch {
	b := batch{events: st.pending, nextSeq: st.nextSeq, lastTick: st.lastTick}
	st.pending = nil
	return b
}

// reap collects the background commit, waiting for it when wait is set. A
// finished commit advances the durable state; a failed one drops every
// later buffered tick (storing them would leave a gap), returns the run to
// its last committed tick and records the error for the writer's next call.
// The caller holds st.mu.
func (s *Store) reap(st *simState, wait bool) {
	job := st.inflight
	if job == nil {
		return
	}
	if !wait {
		select {
		case <-job.done:
		default:
			return
		}
	}
	<-job.done
	st.inflight = nil
	if job.err != nil {
		st.pending = nil
		st.nextSeq, st.lastTick = st.durableSeq, st.durableTick
		st.err = fmt.Errorf("%w: the buffered group of ticks %d..%d of %q failed to commit in the background, so it and every later tick through %d are not stored (stored events end at tick %d): persist them again from the tick after it: %w",
			ErrWriteFailed, job.b.events[0].tick, job.b.lastTick, st.id, max(st.ackTick, job.b.lastTick), st.durableTick, job.err)
		return
	}
	st.durableSeq, st.durableTick = job.b.nextSeq, job.b.lastTick
	st.recycle(job.b.events)
}

// settle collects the background commit (waiting for it when wait is set)
// and returns, once, the failure the simulation's writer has not been told
// about. Only the writer's own calls settle; a reader leaves the failure
// for them. The caller holds st.mu.
func (s *Store) settle(st *simState, wait bool) error {
	s.reap(st, wait)
	err := st.err
	st.err = nil
	return err
}

// flushAsync starts committing st's pending ticks in the background, after
// waiting for the previous group. The caller holds st.mu.
func (s *Store) flushAsync(st *simState) error {
	wait := trace.StartRegion(context.Background(), "simdb: wait for the previous commit group")
	err := s.settle(st, true)
	wait.End()
	if err != nil {
		return err
	}
	if len(st.pending) == 0 {
		return nil
	}
	job := &commitJob{b: st.takeBatch(), done: make(chan struct{})}
	st.inflight = job
	go func() {
		defer close(job.done)
		// Not the caller's context: the call that filled the batch has
		// returned, and the commit must not die with it.
		job.err = s.writeTx(context.Background(), func(conn *sql.Conn, tx *sql.Tx) error {
			return s.commitBatch(context.Background(), conn, tx, st.id, job.b)
		})
	}()
	return nil
}

// flushLocked is the writer's flush: it reports (once) a failure not yet
// reported, else commits everything st has buffered — the group in
// flight, then the pending ticks — and returns once it is durable. The
// caller holds st.mu.
func (s *Store) flushLocked(ctx context.Context, st *simState) error {
	if err := s.settle(st, true); err != nil {
		return err
	}
	return s.commitPending(ctx, st)
}

// barrierLocked is a reader's flush: it commits st's buffer so the read
// sees it, with a context the reader's cancellation cannot reach (the
// ticks are acknowledged; a commit cut short would drop them). A failure
// is recorded for the writer, whose next call reports it; the reader gets
// only a failure of the commit it triggered. The caller holds st.mu.
func (s *Store) barrierLocked(ctx context.Context, st *simState) error {
	s.reap(st, true)
	if err := s.commitPending(context.WithoutCancel(ctx), st); err != nil {
		st.err = err
		return err
	}
	return nil
}

// commitPending commits st's pending ticks (no group is in flight). On
// failure the uncommitted ticks are dropped and st returns to its last
// committed state, so the stored run never holds part of a tick; the error
// says which ticks are missing. The caller holds st.mu.
func (s *Store) commitPending(ctx context.Context, st *simState) error {
	if len(st.pending) == 0 {
		return nil
	}
	b := st.takeBatch()
	err := s.writeTx(ctx, func(conn *sql.Conn, tx *sql.Tx) error {
		return s.commitBatch(ctx, conn, tx, st.id, b)
	})
	if err != nil {
		st.nextSeq, st.lastTick = st.durableSeq, st.durableTick
		if s.opts.Durability == Durable {
			// The batch is the failing call's own tick: not acknowledged.
			return fmt.Errorf("%w: tick %d of %q was not stored (stored events end at tick %d): %w",
				ErrWriteFailed, b.lastTick, st.id, st.durableTick, err)
		}
		return fmt.Errorf("%w: the buffered ticks %d..%d of %q failed to commit and are not stored (stored events end at tick %d): persist them again from the tick after it: %w",
			ErrWriteFailed, b.events[0].tick, b.lastTick, st.id, st.durableTick, err)
	}
	st.durableSeq, st.durableTick = b.nextSeq, b.lastTick
	st.recycle(b.events)
	return nil
}

// commitBatch writes a batch inside tx (on conn): the events, the run's
// summary counts and their register writes, and its new progress.
func (s *Store) commitBatch(ctx context.Context, conn *sql.Conn, tx *sql.Tx, id string, b batch) error {
	if len(b.events) == 0 {
		return nil
	}
	region := trace.StartRegion(ctx, "simdb: store events")
	err := s.be.writeEvents(ctx, conn, id, b.events, s.opts.Now())
	region.End()
	if err != nil {
		return err
	}
	// Under writeMu (commitBatch runs in writeTx). A batch that rolls back
	// still counts: its C memory was allocated and freed all the same.
	s.untrimmed += len(b.events)
	region = trace.StartRegion(ctx, "simdb: store summary counts")
	err = s.be.writeSummary(ctx, conn, tx, id, b.events)
	region.End()
	if err != nil {
		return err
	}
	p := dbgen.RecordProgressParams{
		SimulationID:    id,
		EventCount:      b.nextSeq,
		LastTick:        sql.NullInt64{Int64: b.lastTick, Valid: true},
		PriorEventCount: b.events[0].seq,
	}
	now := leaseClock()
	p.WriterID, p.WriterHost, p.WriterPid, p.Now, p.LeaseExpiresAt = s.lease.terms(now) // renews the lease
	n, err := s.q.RecordProgress(ctx, tx, p)
	if err == nil && n != 1 {
		var le *LeaseError
		if lerr := s.leaseRefusal(ctx, tx, id, now); errors.As(lerr, &le) {
			return lerr // another writer took the run over
		}
		err = fmt.Errorf("simulation %q: %w: it no longer has the %d stored events this writer started from", id, ErrConcurrentWriter, b.events[0].seq)
	}
	return err
}

// lastRegisterWrites returns one row per (tick, agent, key), holding the
// last value set, in order of first appearance.
func lastRegisterWrites(id string, pending []pendingEvent) []registerRow {
	type key struct {
		tick       int64
		agent, reg string
	}
	var out []registerRow
	var index map[key]int
	for i := range pending {
		r := pending[i].ev.Register
		if r == nil {
			continue
		}
		if index == nil {
			index = make(map[key]int)
		}
		k := key{pending[i].tick, r.AgentID, r.Key}
		if j, ok := index[k]; ok {
			out[j].RegisterValue = r.Value
			continue
		}
		index[k] = len(out)
		out = append(out, registerRow{
			SimulationID: id, Tick: pending[i].tick, AgentID: r.AgentID, RegisterKey: r.Key, RegisterValue: r.Value,
		})
	}
	return out
}
