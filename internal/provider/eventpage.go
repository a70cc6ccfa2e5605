package provider

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/simcash/simdb/internal/dbgen"
)

// EventPage is one page of GetSimulationEvents.
type EventPage struct {
	Events []StoredEvent `json:"events"`
	// Total is the number of matching events before paging.
	Total  int64       `json:"total"`
	Limit  int         `json:"limit"`
	Offset int         `json:"offset"`
	Filter EventFilter `json:"filters"`
	// Next is the cursor after the last event of the page (nil when the
	// page is empty); pass it as Filter.After for the next page.
	Next *Cursor `json:"next,omitempty"`
}

// GetSimulationEvents returns one page of a simulation's events in (tick,
// seq) order (or its exact reverse), the total number of matches, and the
// limit, offset and filter used. Unknown simulation: ErrSimulationNotFound.
// ErrInvalidFilter for TickMin > TickMax, an unknown sort, a filter string
// that is not UTF-8 or an event type with a comma. A deep Offset costs what
// the first page costs when the filter has only tick and day conditions;
// with an agent, transaction or type it sorts every match, while paging
// with the cursor (Next → After) stays cheap at any depth. A Store opened
// ReadOnly on a DuckDB file keeps each filter's total and seq range
// (eventfigures.go) and the rows read past a page for the cursor after it
// (eventahead.go); other Stores read everything for every page.
func (s *Store) GetSimulationEvents(ctx context.Context, simulationID string, filter EventFilter) (EventPage, error) {
	f, err := filter.normalize()
	if err != nil {
		return EventPage{}, err
	}
	if err := s.readBarrier(ctx, simulationID); err != nil {
		return EventPage{}, err
	}
	page := EventPage{Limit: f.Limit, Offset: f.Offset, Filter: f, Events: []StoredEvent{}}
	// The filter's total and the seq range holding its matches: kept where
	// the database cannot change (eventfigures.go), else read for this
	// page — the count on a second connection beside the page query, each
	// too small for DuckDB to spread over the cores, so that a page costs
	// the longer of the two, not their sum.
	total := int64(-1) // not known until counted
	var bounds func() (seqRange, error)
	counted := func(pageErr error) error { return nil }
	if s.figures != nil {
		fig, err := s.figures.get(ctx, newFiguresKey(simulationID, f), func(ctx context.Context) (filterFigures, error) {
			return s.readFigures(ctx, simulationID, f)
		})
		if err != nil {
			return EventPage{}, fmt.Errorf("count events of %q: %w", simulationID, err)
		}
		total = fig.total
		bounds = func() (seqRange, error) { return fig.seqRange, nil }
	} else {
		bounds = sync.OnceValues(func() (seqRange, error) { return s.seqBounds(ctx, simulationID, f) })
		countCtx, cancelCount := context.WithCancel(ctx)
		defer cancelCount()
		done := make(chan error, 1)
		var n int64
		go func() {
			var err error
			n, err = s.countEvents(countCtx, simulationID, f, bounds)
			done <- err
		}()
		counted = func(pageErr error) error {
			if pageErr != nil {
				cancelCount() // the page failed: its count is not wanted
			}
			err := <-done
			total = n
			return err
		}
	}
	switch {
	case total == 0:
		// Kept figures say nothing matches: no query to run.
	case f.Offset == 0 && (total > 0 || !f.narrowed()) || f.seqContiguous():
		// A known total sizes the first window to the filter's density,
		// so that windows pay for narrowed filters too (a tick_min with an
		// agent: a top-N sort of the rest of the run otherwise).
		page.Events, err = s.pageAhead(ctx, simulationID, f, bounds, total, page.Events)
	default:
		where, args := f.where(s.be, simulationID)
		q := s.sql.selectEvents + " WHERE " + where + f.orderBy() + " LIMIT " + strconv.Itoa(f.Limit) + " OFFSET " + strconv.Itoa(f.Offset)
		page.Events, err = s.queryEvents(ctx, simulationID, q, args, page.Events)
	}
	cerr := counted(err)
	if err != nil {
		return EventPage{}, fmt.Errorf("read events of %q: %w", simulationID, err)
	}
	if cerr != nil {
		return EventPage{}, fmt.Errorf("count events of %q: %w", simulationID, cerr)
	}
	if total == 0 && len(page.Events) == 0 {
		if err := s.requireSimulation(ctx, simulationID); err != nil {
			return EventPage{}, err
		}
	}
	page.Total = total
	if n := len(page.Events); n > 0 {
		last := page.Events[n-1]
		page.Next = &Cursor{Tick: last.Tick, Seq: last.Seq}
	}
	return page, nil
}

// countEvents returns how many events match f (its cursor aside). The
// summary tables the writer keeps answer the common cases — no filter, an
// agent alone, event types alone — without touching the events; anything
// else is counted. An unknown simulation has none.
func (s *Store) countEvents(ctx context.Context, simulationID string, f EventFilter, bounds func() (seqRange, error)) (int64, error) {
	narrowed := f.narrowed()
	var n int64
	var err error
	switch {
	case !narrowed && f.AgentID == "" && len(f.EventTypes) == 0:
		n, err = s.q.GetEventCount(ctx, s.sqlDB(), simulationID)
	case f.seqContiguous():
		// Only tick and day conditions: every seq of their range matches.
		var r seqRange
		r, err = bounds()
		n = r.hi - r.lo
	case !narrowed && len(f.EventTypes) == 0:
		n, err = s.q.CountAgentEvents(ctx, s.sqlDB(), dbgen.CountAgentEventsParams{SimulationID: simulationID, AgentID: f.AgentID})
	case !narrowed && f.AgentID == "":
		// A run has a few dozen types: summing the wanted ones here keeps
		// the query static (a list parameter is spelled differently on
		// each backend, and sqlc cannot bind one for DuckDB).
		var types []dbgen.CountEventsByTypeRow
		types, err = s.q.CountEventsByType(ctx, s.sqlDB(), simulationID)
		for _, t := range types {
			if slices.Contains(f.EventTypes, t.EventType) {
				n += t.EventCount
			}
		}
	default:
		f.After = nil
		where, args := f.where(s.be, simulationID)
		err = s.sqlDB().QueryRowContext(ctx, s.sql.count+" WHERE "+where, args...).Scan(&n)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return n, err
}

// pageByWindows appends to dst a first page (or a cursor's next page) of a
// broad filter: the events that match f, in its sort order and from its
// cursor on, at most limit of them (f.Limit, or more to read ahead). It
// reads seq windows that start at pageWindow values and double up to
// maxPageWindow, and stops as soon as the page is full. Within a simulation
// seq order is (tick, seq) order — ticks only grow from one
// PersistTickEvents call to the next — so a window is a range predicate
// DuckDB answers from a few row groups (zone maps), and a filter that
// matches often is answered from the first window instead of a top-N sort
// over every match in the run. total, when known (>= 0), is how many events
// of the range match: the first window is then sized to hold limit events at
// that density.
func (s *Store) pageByWindows(ctx context.Context, simulationID string, f EventFilter, bounds func() (seqRange, error), total int64, limit int, dst []StoredEvent) ([]StoredEvent, error) {
	r, err := bounds()
	if err != nil {
		return dst, err
	}
	q, args, lo, hi := s.windowQuery(f, simulationID, r)
	desc := f.Sort == SortTickDesc
	if desc {
		q += " ORDER BY seq DESC"
	} else {
		q += " ORDER BY seq"
	}
	want := len(dst) + limit
	first := int64(pageWindow)
	switch {
	case f.seqContiguous():
		first = int64(limit) // every seq matches: the page is one window
	case total > 0:
		first = densityWindow(limit, total, r.hi-r.lo)
	}
	for window := first; lo < hi && len(dst) < want; window = min(2*window, maxPageWindow) {
		var from, to int64
		from, to, lo, hi = nextWindow(lo, hi, window, desc)
		args[len(args)-2], args[len(args)-1] = from, to
		dst, err = s.queryEvents(ctx, simulationID, q+" LIMIT "+strconv.Itoa(want-len(dst)), args, dst)
		if err == nil {
			err = ctx.Err()
		}
		if err != nil {
			return dst, err
		}
	}
	return dst, nil
}

// densityWindow is the first window of a page of limit events when total
// of the span seq values match, spread evenly: a quarter more than a page
// needs at that density (matches cluster), at least minPageWindow — below
// that a query's fixed cost outweighs the rows it skips — and at most
// maxPageWindow.
func densityWindow(limit int, total, span int64) int64 {
	w := int64(limit) * span / total
	return min(max(w+w/4, minPageWindow), maxPageWindow)
}

// First (smallest with a known density) and largest seq windows of
// pageByWindows.
const (
	pageWindow    = 1 << 16
	minPageWindow = 1 << 11
	maxPageWindow = 1 << 22
)

// nextWindow takes the next window of at most size seq values from the
// range [lo, hi) still to read — its start when ascending, its end when
// descending — and returns the window [from, to) and the range left.
func nextWindow(lo, hi, size int64, desc bool) (from, to, restLo, restHi int64) {
	if desc {
		from = max(lo, hi-size)
		return from, hi, lo, from
	}
	to = min(hi, lo+size)
	return lo, to, to, hi
}

// windowQuery returns the event query of f over one seq window, in no
// particular order — its last two arguments are the window's bounds
// [from, to), for the caller to set —
// and the range [lo, hi) of seq the windows must cover: r, the filter's
// seq range (seqBounds), started at f's cursor and offset.
func (s *Store) windowQuery(f EventFilter, simulationID string, r seqRange) (q string, args []any, lo, hi int64) {
	lo, hi = r.lo, r.hi
	// The cursor only moves the start; the windows replace its predicate.
	if c := f.After; c != nil {
		if f.Sort == SortTickDesc {
			hi = min(hi, c.Seq)
		} else {
			lo = max(lo, c.Seq+1)
		}
		f.After = nil
	}
	// Where every seq in [lo, hi) matches, an offset is a move of the start:
	// a deep page costs what the first page costs, not a sort of every match.
	if f.Offset > 0 && f.seqContiguous() {
		if f.Sort == SortTickDesc {
			hi = max(lo, hi-int64(f.Offset))
		} else {
			lo = min(hi, lo+int64(f.Offset))
		}
	}
	if f.seqContiguous() && s.unchanging() {
		// [lo, hi) is exactly the seq of the tick and day conditions, and
		// it stays so: as predicates too they would only cost DuckDB a
		// column more to scan. (Where a run can be deleted and ingested
		// again between the two queries, they keep the page within the
		// filter.)
		f = EventFilter{Sort: f.Sort}
	}
	where, args := f.where(s.be, simulationID)
	args = append(args, int64(0), int64(0))
	q = s.sql.selectEvents + " WHERE " + where + " AND seq >= $" + strconv.Itoa(len(args)-1) + " AND seq < $" + strconv.Itoa(len(args))
	return q, args, lo, hi
}

// seqRange is a range [lo, hi) of seq.
type seqRange struct{ lo, hi int64 }

// seqBounds returns the range [lo, hi) of seq that can hold the filter's
// events: the whole committed stream (the run's event count), or the
// MIN/MAX seq of the events its tick and day conditions select — zone maps
// skip the row groups outside them, but a tick_min reads the tick column of
// the rest of the run.
func (s *Store) seqBounds(ctx context.Context, simulationID string, f EventFilter) (seqRange, error) {
	if f.Tick == nil && f.TickMin == nil && f.TickMax == nil && f.Day == nil {
		hi, err := s.q.GetEventCount(ctx, s.sqlDB(), simulationID)
		if errors.Is(err, sql.ErrNoRows) {
			return seqRange{}, nil
		}
		return seqRange{0, hi}, err
	}
	ticks := EventFilter{Tick: f.Tick, TickMin: f.TickMin, TickMax: f.TickMax, Day: f.Day}
	where, args := ticks.where(s.be, simulationID)
	var r seqRange
	err := s.sqlDB().QueryRowContext(ctx, s.sql.seqBounds+" WHERE "+where, args...).Scan(&r.lo, &r.hi)
	return r, err
}
