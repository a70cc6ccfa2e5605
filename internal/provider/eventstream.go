package provider

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"sync"
)

// streamWindow is how many consecutive seq values StreamEvents reads per
// query, and streamAhead how many windows it holds at once: the one being
// yielded and the ones read ahead of it, in parallel, on their own
// connections. Memory stays bounded by streamAhead × streamWindow events
// whatever the run's size.
const (
	streamWindow = 5_000
	streamAhead  = 3
)

// streamWindows calls fn with every event that matches f, in its sort order
// and from its cursor on; the pointer is valid until fn returns. Up to
// streamAhead-1 windows are read and decoded ahead of the one fn is
// consuming, each by its own goroutine, so DuckDB producing one window and
// Go turning another into StoredEvents use both cores (on 1M events: 440k events/s read one window at a time, 600k read
// ahead; BENCHMARKS.md). Windows are still handed to fn strictly in order.
func (s *Store) streamWindows(ctx context.Context, simulationID string, f EventFilter, fn func(*StoredEvent) error) error {
	r, err := s.seqBounds(ctx, simulationID, f)
	if err != nil {
		return err
	}
	q, args, lo, hi := s.windowQuery(f, simulationID, r)
	q += s.be.windowOrder()
	ctx, cancel := context.WithCancel(ctx)
	type window struct {
		events []StoredEvent
		err    error
		done   chan struct{}
	}
	slots := make(chan struct{}, streamAhead)
	order := make(chan *window, streamAhead)
	// Window buffers go back here once yielded, so a stream allocates
	// streamAhead of them, not one per window.
	spare := make(chan []StoredEvent, streamAhead)
	// Every goroutine started here — the dispatcher and each reader — is
	// counted before it starts; on return the reads still running are
	// cancelled first, then waited for, so stopping early costs no more
	// than the queries' cancellation.
	var running sync.WaitGroup
	defer func() {
		cancel()
		running.Wait()
	}()
	// The dispatcher starts a reader per window, in order, while a slot is
	// free; the consumer frees a window's slot once it has yielded it.
	running.Add(1)
	go func() {
		defer running.Done()
		defer close(order)
		desc := f.Sort == SortTickDesc
		for lo < hi {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			var from, to int64
			from, to, lo, hi = nextWindow(lo, hi, streamWindow, desc)
			w := &window{done: make(chan struct{})}
			select {
			case w.events = <-spare:
			default:
			}
			wargs := append(args[:len(args)-2:len(args)-2], from, to)
			running.Add(1)
			go func() {
				defer running.Done()
				defer close(w.done)
				w.events, w.err = s.queryEvents(ctx, simulationID, q, wargs, w.events)
				orderWindow(w.events, desc)
			}()
			order <- w
		}
	}()
	for w := range order {
		<-w.done
		if w.err != nil {
			return w.err
		}
		for i := range w.events {
			if err := fn(&w.events[i]); err != nil {
				return err
			}
		}
		clear(w.events) // fn has copied what it keeps; the buffer holds nothing
		spare <- w.events[:0]
		<-slots
	}
	return ctx.Err()
}

// orderWindow puts a window's events in seq order, descending when desc.
// On DuckDB the window query has no ORDER BY (backend.windowOrder): a sort
// cost DuckDB a third of its time per window, and a plain scan already
// returns a simulation's rows in the order they were stored, which is seq
// order (BENCHMARKS.md). That is DuckDB's default behaviour
// (preserve_insertion_order), not a promise, so the order is checked here
// and the window sorted when it is off.
func orderWindow(events []StoredEvent, desc bool) {
	for i := 1; i < len(events); i++ {
		if events[i-1].Seq > events[i].Seq {
			slices.SortFunc(events, func(a, b StoredEvent) int { return cmp.Compare(a.Seq, b.Seq) })
			break
		}
	}
	if desc {
		slices.Reverse(events)
	}
}

// StreamEvents yields every event of the simulation that matches the filter
// (Limit and Offset are ignored), in the filter's order, without any cap on
// how many events a tick or the run has. It reads in windows of seq, so
// memory stays bounded whatever the run's size, and stops with the
// context's error when ctx is cancelled. The error, if any, is the last
// pair yielded: ErrSimulationNotFound for an unknown simulation, the
// filter errors of GetSimulationEvents.
func (s *Store) StreamEvents(ctx context.Context, simulationID string, filter EventFilter) iter.Seq2[StoredEvent, error] {
	return func(yield func(StoredEvent, error) bool) {
		filter.Limit, filter.Offset = MaxEventLimit, 0
		f, err := filter.normalize()
		if err == nil {
			err = s.readBarrier(ctx, simulationID)
		}
		if err == nil {
			err = s.requireSimulation(ctx, simulationID)
		}
		if err != nil {
			yield(StoredEvent{}, err)
			return
		}
		err = s.streamWindows(ctx, simulationID, f, func(ev *StoredEvent) error {
			// database/sql notices a cancelled ctx asynchronously, and
			// not at all once a short last page is read: check here so
			// no event is yielded after cancellation.
			if err := ctx.Err(); err != nil {
				return err
			}
			if !yield(*ev, nil) {
				return errStop
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			yield(StoredEvent{}, fmt.Errorf("stream events of %q: %w", simulationID, err))
		}
	}
}

// errStop ends a query early when the consumer stops iterating.
var errStop = errors.New("stop")
