package provider

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"
	"unsafe"

	"github.com/simcash/simdb/internal/event"
)

// simState is the writer's view of one running simulation: where its
// stream stands (seq, last tick) and the ticks buffered but not committed.
type simState struct {
	mu sync.Mutex
	id string

	loaded bool
	gone   bool // removed from Store.sims; look it up again

	status      string
	ticksPerDay int64
	// next/last include pending ticks; durable* are what is committed.
	nextSeq, durableSeq   int64
	lastTick, durableTick int64 // -1: none
	// ackTick is the last tick a PersistTickEvents call was told was
	// stored (or the stored last tick, on load). Below it, lastTick means a
	// failed commit dropped acknowledged ticks: until the writer has sent
	// them again, a later tick would leave a gap and a Complete a short
	// run, so both are refused (checkLost).
	ackTick int64
	// lastStamp is the event_timestamp of the run's last event, the floor
	// of the next (eventclock.go); stampLoaded once read from the file.
	lastStamp   time.Time
	stampLoaded bool

	pending      []pendingEvent
	pendingSince time.Time
	// inflight is the group being committed in the background (Buffered
	// only; at most one per simulation, so groups commit in order).
	inflight *commitJob
	// err is a commit failure the simulation's writer has not been told
	// about yet (a background group, or a commit a reader triggered);
	// the writer's next call reports it, once.
	err error
	// spare is the buffer of the last committed group, emptied, which the
	// next group fills: regrowing a buffer to tens of thousands of events
	// for every group cost more than parsing them (measured in the second
	// round; BENCHMARKS.md keeps only its outcome).
	spare []pendingEvent
}

// recycle keeps a committed group's buffer for the next group.
func (st *simState) recycle(events []pendingEvent) {
	clear(events) // drop references to the committed events' strings
	st.spare = events[:0]
}

type pendingEvent struct {
	ev   event.Event
	seq  int64
	tick int64
	day  int64
	at   time.Time
	// created is the row's created_at when it is not the commit's clock:
	// a copied run keeps its source's (copy.go). Zero: the commit's.
	created time.Time
}

// lockSim returns the simulation's state, locked and loaded. The caller
// unlocks st.mu. Unknown ids give ErrSimulationNotFound.
func (s *Store) lockSim(ctx context.Context, id string) (*simState, error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, ErrClosed
		}
		st := s.sims[id]
		if st == nil {
			st = &simState{id: id}
			s.sims[id] = st
		}
		s.mu.Unlock()

		st.mu.Lock()
		if st.gone {
			st.mu.Unlock()
			continue
		}
		if st.loaded {
			return st, nil
		}
		row, err := s.q.GetWriteState(ctx, s.sqlDB(), id)
		if err != nil {
			s.forget(st)
			st.mu.Unlock()
			if errors.Is(err, sql.ErrNoRows) {
				return nil, fmt.Errorf("simulation %q: %w", id, ErrSimulationNotFound)
			}
			return nil, fmt.Errorf("load simulation %q: %w", id, err)
		}
		// A second writer of the run fails here, before it buffers a tick.
		// (A finished run takes no writes: claiming it would only hold a
		// lock.)
		if row.Status == "running" {
			err := s.claim(ctx, id)
			if err == nil {
				// The lease (lease.go): refused while another writer's
				// is live, taken over once it has expired.
				err = s.takeLease(ctx, id)
			}
			if err != nil {
				s.forget(st)
				st.mu.Unlock()
				return nil, err
			}
		}
		st.loaded = true
		st.status = row.Status
		st.ticksPerDay = row.TicksPerDay
		st.nextSeq, st.durableSeq = row.EventCount, row.EventCount
		st.lastTick, st.durableTick = -1, -1
		if row.LastTick.Valid {
			st.lastTick, st.durableTick = row.LastTick.Int64, row.LastTick.Int64
		}
		st.ackTick = st.lastTick
		return st, nil
	}
}

// forget removes st from the cache, and gives up the Store's claim on the
// run (see postgresBackend); later calls load the row afresh. The caller
// holds st.mu.
func (s *Store) forget(st *simState) {
	s.be.release(st.id)
	st.gone = true
	s.mu.Lock()
	if s.sims[st.id] == st {
		delete(s.sims, st.id)
	}
	s.mu.Unlock()
}

// PersistTickEvents stores the events of one tick, in the order given, and
// returns how many it stored (0 for an empty list, which writes nothing).
//
// Every event is validated before anything is written: a JSON object with a
// non-empty string event_type; a tick member, if present, equal to tick;
// money fields integer cents; StateRegisterSet with agent_id, register_key
// and a finite new_value. A rejected event gives an *EventError (errors.Is
// ErrInvalidEvent) naming its index and field, and nothing of the call is
// stored. Other errors: ErrClosed, ErrReadOnly, ErrInvalidArgument (empty
// id, negative tick), ErrSimulationNotFound, ErrSimulationNotRunning,
// ErrTickAlreadyPersisted (tick not after the last persisted one, so a
// retried tick never duplicates), ErrWriteFailed (this call's commit failed
// (Durable); or an earlier commit of this simulation failed and dropped
// acknowledged ticks: the message names the tick the stored events end at,
// and until the ticks after it have been persisted again a later tick is
// refused too, so the run never gets a gap).
//
// Stored rows get the next seq values, day = tick / ticks_per_day, the
// agent_id and tx_id columns, details (every other member, byte for byte),
// and every StateRegisterSet also lands in agent_state_registers (last value
// of a key in a tick wins). With Durable the rows are committed on return;
// with Buffered (default) see Buffered for when. RELIABILITY.md states what
// a nil error promises in each mode.
func (s *Store) PersistTickEvents(ctx context.Context, simulationID string, tick int64, events []json.RawMessage) (int, error) {
	if err := s.writable(); err != nil {
		return 0, err
	}
	if err := checkTickArgs(simulationID, tick); err != nil {
		return 0, err
	}
	decoded := make([]event.Event, len(events))
	// One arena for the call: its events are buffered and committed
	// together, and the lines' length bounds what they keep.
	var arena event.Arena
	size := 0
	for _, raw := range events {
		size += len(raw)
	}
	arena.Reserve(size, 2*len(events))
	for i, raw := range events {
		ev, err := event.DecodeIn(&arena, raw)
		if err == nil && ev.HasTick && ev.Tick != tick {
			err = &event.FieldError{Field: "tick", Msg: fmt.Sprintf("is %d but the events are persisted as tick %d", ev.Tick, tick)}
		}
		if err != nil {
			return 0, &EventError{SimulationID: simulationID, Tick: tick, Index: i, EventType: ev.Type, Err: err}
		}
		decoded[i] = ev
	}
	return s.persistDecoded(ctx, simulationID, tick, decoded)
}

func checkTickArgs(simulationID string, tick int64) error {
	// An id PersistSimulationStart refuses can name no simulation: the same
	// ErrInvalidArgument, before any lookup (or a 10,000-byte id echoed in
	// a not-found message).
	if err := checkSimulationID(simulationID); err != nil {
		return err
	}
	if tick < 0 {
		return fmt.Errorf("%w: tick %d of simulation %q is negative", ErrInvalidArgument, tick, simulationID)
	}
	return nil
}

// writable is nil when the Store takes writes: ErrClosed after Close,
// ErrReadOnly on a read-only Store (whose buffered ticks could never be
// committed, so they must not be acknowledged).
func (s *Store) writable() error {
	if s.isClosed() {
		return ErrClosed
	}
	if s.opts.ReadOnly {
		return fmt.Errorf("%w: %s was opened with ReadOnly", ErrReadOnly, s.path)
	}
	return nil
}

// persistDecoded is PersistTickEvents after validation; stream ingestion
// enters here too, so every path writes the same rows.
func (s *Store) persistDecoded(ctx context.Context, id string, tick int64, events []event.Event) (int, error) {
	return s.persistTick(ctx, id, tick, events, nil)
}

// copiedStamp is the wall-clock columns of a copied event, kept as its
// source stored them.
type copiedStamp struct{ at, created time.Time }

// persistTick is persistDecoded with, when stamps is not nil, each event's
// event_timestamp and created_at given (stamps[i] for events[i]) instead
// of taken from the clock: a copied run keeps its source's (copy.go).
func (s *Store) persistTick(ctx context.Context, id string, tick int64, events []event.Event, stamps []copiedStamp) (int, error) {
	if err := s.writable(); err != nil {
		return 0, err
	}
	if err := s.be.checkEvents(id, tick, events); err != nil {
		return 0, err
	}
	st, err := s.lockSim(ctx, id)
	if err != nil {
		return 0, err
	}
	defer st.mu.Unlock()
	if err := s.settle(st, false); err != nil {
		return 0, err
	}
	if st.status != "running" {
		return 0, fmt.Errorf("persist tick %d of %q (status %s): %w", tick, id, st.status, ErrSimulationNotRunning)
	}
	if len(events) == 0 {
		return 0, nil
	}
	if tick <= st.lastTick {
		return 0, fmt.Errorf("persist tick %d of %q: last persisted tick is %d: %w", tick, id, st.lastTick, ErrTickAlreadyPersisted)
	}
	if tick > st.ackTick {
		if err := st.checkLost(fmt.Sprintf("persist tick %d of %q", tick, id)); err != nil {
			return 0, err
		}
	}
	var at time.Time
	if stamps == nil {
		if at, err = s.eventStamps(ctx, st, len(events)); err != nil {
			return 0, err
		}
	} else {
		// The source's stamps already follow seq; the floor moves past
		// them, for whatever this Store writes into the run next.
		st.lastStamp, st.stampLoaded = stamps[len(stamps)-1].at, true
	}
	if len(st.pending) == 0 {
		st.pendingSince = time.Now()
	}
	day := tick / st.ticksPerDay
	if len(st.pending) == 0 && st.spare != nil {
		st.pending, st.spare = st.spare, nil
	}
	st.pending = growPending(st.pending, len(events), s.groupCap())
	base := len(st.pending)
	st.pending = st.pending[:base+len(events)]
	for i := range events {
		// Filled in place: a pendingEvent is a quarter of a KB, and
		// building one to append it copied it twice.
		pe := &st.pending[base+i]
		*pe = pendingEvent{ev: events[i], seq: st.nextSeq, tick: tick, day: day,
			at: at.Add(time.Duration(i) * time.Microsecond)}
		if stamps != nil {
			pe.at, pe.created = stamps[i].at, stamps[i].created
		}
		st.nextSeq++
	}
	st.lastTick = tick
	switch {
	case s.opts.Durability == Durable:
		if err := s.flushLocked(ctx, st); err != nil {
			return 0, err
		}
	case len(st.pending) >= s.opts.FlushEvents:
		// Commit in the background while the caller goes on; the call's
		// events are validated and buffered, so the call has succeeded.
		if err := s.flushAsync(st); err != nil {
			return 0, err
		}
	}
	st.ackTick = tick
	return len(events), nil
}

// pendingJump is the buffered events past which a pending buffer that
// must grow grows to a whole commit group at once (groupCap) instead of
// doubling: a run with that many events pending will most likely fill the
// group, and regrowing a buffer of quarter-KB entries with pointers by
// doubling (copying, zeroing and write barriers) cost about 6% of an
// ingest's CPU on the medium stream (BENCHMARKS.md).
const pendingJump = 4096

// maxGroupJump bounds that step: with a larger FlushEvents the buffer
// doubles as append grows it, so a run smaller than its group never holds
// memory for the whole group.
const maxGroupJump = 1 << 17

// groupCap is the commit group a buffer fills: a group closes at the tick
// that brings it to FlushEvents, so it holds FlushEvents plus part of a
// tick. 0 in Durable mode, where a buffer holds one tick.
func (s *Store) groupCap() int {
	if s.opts.Durability == Durable {
		return 0
	}
	return s.opts.FlushEvents
}

// growPending returns pending with room for n more events. Past
// pendingJump buffered events it grows to group (plus the n) in one step;
// below that, or when group is 0 or over maxGroupJump, as append would.
// The buffer is recycled for the run's later groups (simState.spare).
func growPending(pending []pendingEvent, n, group int) []pendingEvent {
	need := len(pending) + n
	if need <= cap(pending) {
		return pending
	}
	if group > 0 && group <= maxGroupJump && need > pendingJump {
		// A quarter of a group to spare: the tick that closes a group
		// takes it past FlushEvents, and growing a full buffer again
		// would copy all of it.
		grown := make([]pendingEvent, len(pending), max(need, group)+group/4)
		touchPages(grown[len(pending):cap(grown)])
		copy(grown, pending)
		return grown
	}
	return slices.Grow(pending, n)
}

// touchPages writes to every memory page of a newly allocated buffer once.
// Go does not clear memory fresh from the operating system, and the
// collector scans the whole buffer (its entries hold pointers) while the
// ticks fill it: a page read before it is written maps the kernel's shared
// zero page, and the write that follows faults a second time and flushes
// the page from every core's TLB. Writing first spares that for the pages
// the collector has not reached yet; an allocation this large often starts
// a collection whose workers scan the buffer while it is being touched, so
// some pages still fault twice (BENCHMARKS.md has what it saved, and how
// many).
func touchPages(buf []pendingEvent) {
	step := max(1, os.Getpagesize()/int(unsafe.Sizeof(pendingEvent{})))
	for i := 0; i < len(buf); i += step {
		buf[i].seq = 0
	}
}

// checkLost refuses what would build on acknowledged ticks that a failed
// commit dropped (a later tick, a Complete) until they have been persisted
// again. The caller holds st.mu.
func (st *simState) checkLost(what string) error {
	if st.lastTick >= st.ackTick {
		return nil
	}
	return fmt.Errorf("%w: %s: a commit failed after ticks through %d were acknowledged, and the ticks after %d are not stored: persist them again first (or mark the run failed)",
		ErrWriteFailed, what, st.ackTick, st.lastTick)
}
