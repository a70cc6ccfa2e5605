package provider

// The event queries are built here by hand instead of by sqlc, for two
// reasons sqlc's PostgreSQL parser cannot get around on DuckDB:
//   - the filters are optional, and sqlc's only way to express that is
//     `($1 IS NULL OR tick = $1)`, which hides the predicate from DuckDB's
//     filter pushdown, so a tick filter would scan every row instead of
//     skipping row groups by their zone maps;
//   - list parameters (event types) are generated as pq.Array(…), which
//     DuckDB rejects.
// Only predicates the filter asks for are added, and each value is a bound
// parameter: text that looks like SQL is matched literally.

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/simcash/simdb/internal/event"
)

// Page size limits of GetSimulationEvents (SimCash's contract).
const (
	DefaultEventLimit = 100
	MaxEventLimit     = 1000
)

// Sort orders for EventFilter.Sort.
const (
	SortTickAsc  = "tick_asc"
	SortTickDesc = "tick_desc"
)

// EventFilter selects events of one simulation. Zero fields select
// everything; all given conditions must hold.
type EventFilter struct {
	Tick    *int64 `json:"tick,omitempty"`
	TickMin *int64 `json:"tick_min,omitempty"` // inclusive
	TickMax *int64 `json:"tick_max,omitempty"` // inclusive
	Day     *int64 `json:"day,omitempty"`
	// AgentID matches every event the agent takes part in, under any of
	// the engine's names for a party (sender, receiver_id, agent_a,
	// agents[], …).
	AgentID string `json:"agent_id,omitempty"`
	// TxID matches every event that involves the transaction (tx_id,
	// tx_ids[], child_ids[], incoming_tx_id, queued_tx_id,
	// source_transactions[]).
	TxID string `json:"tx_id,omitempty"`
	// EventTypes matches any of the listed types, each one element: a type
	// containing a comma is ErrInvalidFilter, not split. (SimCash's API
	// takes "A,B" as one string; engine event types never contain a
	// comma, so such an element is a ported comma-separated list that
	// would otherwise match nothing. The CLI's --type does split.)
	EventTypes []string `json:"event_types,omitempty"`
	// Limit is the page size: 0 means DefaultEventLimit, and it is clamped
	// to 1..MaxEventLimit. Ignored by StreamEvents.
	Limit int `json:"limit"`
	// Offset skips that many matching events (negative counts as 0).
	Offset int `json:"offset"`
	// Sort is SortTickAsc (default, "" too) or SortTickDesc, the exact
	// reverse: (tick, seq) both descending.
	Sort string `json:"sort"`
	// After continues from a cursor (a page's Next): only events after it
	// in the sort order match. Unlike Offset its cost does not grow with
	// the page number.
	After *Cursor `json:"after,omitempty"`
}

// Cursor is a position in a simulation's stream.
type Cursor struct {
	Tick int64 `json:"tick"`
	Seq  int64 `json:"seq"`
}

// Int64 returns a pointer to v, for EventFilter's optional fields.
func Int64(v int64) *int64 { return &v }

// StoredEvent is one row of simulation_events, with the fields most
// readers want lifted to the top whatever the engine called them.
// EventTimestamp is the wall clock when the event was persisted, at
// microsecond precision and strictly increasing in seq order within a run,
// so SimCash's ORDER BY tick, event_timestamp gives tick, seq order;
// CreatedAt is when its group was committed. Neither is part of a run's
// identity.
type StoredEvent struct {
	EventID        string          `json:"event_id"`
	SimulationID   string          `json:"simulation_id"`
	Seq            int64           `json:"seq"`
	Tick           int64           `json:"tick"`
	Day            int64           `json:"day"`
	EventTimestamp time.Time       `json:"event_timestamp"`
	CreatedAt      time.Time       `json:"created_at"`
	EventType      string          `json:"event_type"`
	AgentID        *string         `json:"agent_id"`
	TxID           *string         `json:"tx_id"`
	Details        json.RawMessage `json:"details"`
	Agents         []string        `json:"agents"`
	TxIDs          []string        `json:"tx_ids"`
	// Sender is sender_id or sender; Receiver is receiver_id or receiver.
	Sender   *string `json:"sender,omitempty"`
	Receiver *string `json:"receiver,omitempty"`
	Amount   *int64  `json:"amount,omitempty"`
	Deadline *int64  `json:"deadline,omitempty"`
	Priority *int64  `json:"priority,omitempty"`

	layout int32
}

// Layout is where the lifted keys stood in the event object (the
// key_layout column), which Raw needs to rebuild it.
func (e *StoredEvent) Layout() int32 { return e.layout }

// Raw rebuilds the event object exactly as it was persisted (byte for byte
// for the engine's compact JSON).
func (e *StoredEvent) Raw() (json.RawMessage, error) {
	st := event.Stored{Type: e.EventType, Tick: e.Tick, Details: e.Details, Layout: e.layout}
	if e.AgentID != nil {
		st.AgentID = *e.AgentID
	}
	if e.TxID != nil {
		st.TxID = *e.TxID
	}
	return event.Rebuild(nil, st)
}

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

// normalize applies the defaults and clamps, and rejects contradictions.
func (f EventFilter) normalize() (EventFilter, error) {
	switch f.Sort {
	case "":
		f.Sort = SortTickAsc
	case SortTickAsc, SortTickDesc:
	default:
		return f, fmt.Errorf("%w: unknown sort %q (want %s or %s)", ErrInvalidFilter, f.Sort, SortTickAsc, SortTickDesc)
	}
	// A string that is not UTF-8 can match nothing stored (every stored
	// string was validated) and DuckDB refuses to bind it: say so here.
	for _, v := range append([]string{f.AgentID, f.TxID}, f.EventTypes...) {
		if !utf8.ValidString(v) {
			return f, fmt.Errorf("%w: %q is not valid UTF-8", ErrInvalidFilter, v)
		}
	}
	for _, t := range f.EventTypes {
		if strings.Contains(t, ",") {
			return f, fmt.Errorf("%w: event type %q contains a comma; give each type as its own element of EventTypes", ErrInvalidFilter, t)
		}
	}
	if f.TickMin != nil && f.TickMax != nil && *f.TickMin > *f.TickMax {
		return f, fmt.Errorf("%w: tick_min %d is greater than tick_max %d", ErrInvalidFilter, *f.TickMin, *f.TickMax)
	}
	switch {
	case f.Limit == 0:
		f.Limit = DefaultEventLimit
	case f.Limit < 1:
		f.Limit = 1
	case f.Limit > MaxEventLimit:
		f.Limit = MaxEventLimit
	}
	if f.Offset < 0 {
		f.Offset = 0
	}
	return f, nil
}

// stringList binds a Go []string as a DuckDB list parameter.
type stringList []string

func (l stringList) Value() (driver.Value, error) { return []string(l), nil }

// where renders the filter as SQL predicates with positional parameters,
// including the keyset condition of f.After when it is set, in be's
// spelling of list predicates.
func (f EventFilter) where(be backend, simulationID string) (string, []any) {
	var b strings.Builder
	args := []any{simulationID}
	b.WriteString("simulation_id = $1")
	add := func(pred string, v any) {
		args = append(args, v)
		b.WriteString(" AND ")
		b.WriteString(strings.ReplaceAll(pred, "?", "$"+strconv.Itoa(len(args))))
	}
	if f.Tick != nil {
		add("tick = ?", *f.Tick)
	}
	if f.TickMin != nil {
		add("tick >= ?", *f.TickMin)
	}
	if f.TickMax != nil {
		add("tick <= ?", *f.TickMax)
	}
	if f.Day != nil {
		add("day = ?", *f.Day)
	}
	if f.AgentID != "" {
		add(be.contains("agents"), f.AgentID)
	}
	if f.TxID != "" {
		add(be.contains("tx_ids"), f.TxID)
	}
	if len(f.EventTypes) > 0 {
		add(be.oneOf("event_type"), be.list(f.EventTypes))
	}
	if c := f.After; c != nil {
		op := ">"
		if f.Sort == SortTickDesc {
			op = "<"
		}
		// Both forms are given so DuckDB can prune row groups by tick.
		args = append(args, c.Tick, c.Seq)
		t, s := "$"+strconv.Itoa(len(args)-1), "$"+strconv.Itoa(len(args))
		fmt.Fprintf(&b, " AND tick %s= %s AND (tick %s %s OR seq %s %s)", op, t, op, t, op, s)
	}
	return b.String(), args
}

func (f EventFilter) orderBy() string {
	if f.Sort == SortTickDesc {
		return " ORDER BY tick DESC, seq DESC"
	}
	return " ORDER BY tick, seq"
}

// eventSelect leaves out event_id and simulation_id: the one is
// '<simulation_id>:<seq>' and the other the query's own parameter, so
// queryEvents rebuilds both instead of copying them out of every row.
//
// It leaves out the agents and tx_ids lists too. They exist for the
// filters (list_contains), and the row holds everything they were derived
// from: event.Parties derives them again by the writer's own rules while
// the details are scanned for Sender, Amount and the rest anyway. Reading
// them cost DuckDB about as much as every other column together
// (BENCHMARKS.md).
const eventSelect = `SELECT seq, tick, day, event_timestamp, event_type,
 details, agent_id, tx_id, created_at, key_layout
 FROM simulation_events WHERE `

// GetSimulationEvents returns one page of a simulation's events in (tick,
// seq) order (or its exact reverse), the total number of matches, and the
// limit, offset and filter used. Unknown simulation: ErrSimulationNotFound.
// ErrInvalidFilter for TickMin > TickMax, an unknown sort, a filter string
// that is not UTF-8 or an event type with a comma. A deep Offset sorts every match; paging
// with the cursor (Next → After) stays cheap at any depth.
func (s *Store) GetSimulationEvents(ctx context.Context, simulationID string, filter EventFilter) (EventPage, error) {
	f, err := filter.normalize()
	if err != nil {
		return EventPage{}, err
	}
	if err := s.readBarrier(ctx, simulationID); err != nil {
		return EventPage{}, err
	}
	page := EventPage{Limit: f.Limit, Offset: f.Offset, Filter: f, Events: []StoredEvent{}}
	// The count and the page are independent queries, each too small for
	// DuckDB to spread over the cores: run side by side on two
	// connections, a page costs the longer of the two, not their sum.
	var total int64
	counted := make(chan error, 1)
	countCtx, cancelCount := context.WithCancel(ctx)
	defer cancelCount()
	go func() {
		var err error
		total, err = s.countEvents(countCtx, simulationID, f)
		counted <- err
	}()
	if f.Offset == 0 && !f.narrowed() {
		page.Events, err = s.pageByWindows(ctx, simulationID, f, page.Events)
	} else {
		where, args := f.where(s.be, simulationID)
		q := eventSelect + where + f.orderBy() + " LIMIT " + strconv.Itoa(f.Limit) + " OFFSET " + strconv.Itoa(f.Offset)
		page.Events, err = s.queryEvents(ctx, simulationID, q, args, page.Events)
	}
	if err != nil {
		cancelCount() // the page failed: its count is not wanted
	}
	cerr := <-counted
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

// narrowed reports whether f has a predicate DuckDB answers from a small
// part of the run: a tick or day range (zone maps) or one transaction
// (a handful of rows). Such pages are one top-N query; the windows of
// pageByWindows pay off for the broad filters (an agent, event types).
func (f EventFilter) narrowed() bool {
	return f.Tick != nil || f.TickMin != nil || f.TickMax != nil || f.Day != nil || f.TxID != ""
}

// countEvents returns how many events match f (its cursor aside). The
// summary tables the writer keeps answer the common cases — no filter, an
// agent alone, event types alone — without touching the events; anything
// else is counted.
func (s *Store) countEvents(ctx context.Context, simulationID string, f EventFilter) (int64, error) {
	narrowed := f.narrowed()
	var q string
	args := []any{simulationID}
	switch {
	case !narrowed && f.AgentID == "" && len(f.EventTypes) == 0:
		q = `SELECT coalesce(max(event_count), 0) FROM simulations WHERE simulation_id = $1`
	case !narrowed && len(f.EventTypes) == 0:
		q = `SELECT coalesce(max(event_count), 0) FROM simulation_agents WHERE simulation_id = $1 AND agent_id = $2`
		args = append(args, f.AgentID)
	case !narrowed && f.AgentID == "":
		q = `SELECT CAST(coalesce(sum(event_count), 0) AS BIGINT) FROM simulation_event_types
		     WHERE simulation_id = $1 AND ` + strings.ReplaceAll(s.be.oneOf("event_type"), "?", "$2")
		args = append(args, s.be.list(f.EventTypes))
	default:
		f.After = nil
		var where string
		where, args = f.where(s.be, simulationID)
		q = "SELECT count(*) FROM simulation_events WHERE " + where
	}
	var n int64
	err := s.sqlDB().QueryRowContext(ctx, q, args...).Scan(&n)
	return n, err
}

// pageByWindows appends to dst a first page (or a cursor's next page) of a
// broad filter: the events that match f, in its sort order and from its
// cursor on, at most f.Limit of them. It reads seq windows that start at
// pageWindow values and double up to maxPageWindow, and stops as soon as
// the page is full. Within a simulation seq order is (tick, seq) order —
// ticks only grow from one PersistTickEvents call to the next — so a window
// is a range predicate DuckDB answers from a few row groups (zone maps),
// and a filter that matches often is answered from the first window
// instead of a top-N sort over every match in the run.
func (s *Store) pageByWindows(ctx context.Context, simulationID string, f EventFilter, dst []StoredEvent) ([]StoredEvent, error) {
	q, args, lo, hi, err := s.windowQuery(ctx, simulationID, f)
	if err != nil {
		return dst, err
	}
	desc := f.Sort == SortTickDesc
	if desc {
		q += " ORDER BY seq DESC"
	} else {
		q += " ORDER BY seq"
	}
	want := len(dst) + f.Limit
	for window := int64(pageWindow); lo < hi && len(dst) < want; window = min(2*window, maxPageWindow) {
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

// First and largest seq windows of pageByWindows.
const (
	pageWindow    = 1 << 16
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
// and the range [lo, hi) of seq the windows must cover: the run's stream,
// narrowed by the tick and day conditions and started at f's cursor.
func (s *Store) windowQuery(ctx context.Context, simulationID string, f EventFilter) (q string, args []any, lo, hi int64, err error) {
	lo, hi, err = s.seqBounds(ctx, simulationID, f)
	if err != nil {
		return "", nil, 0, 0, err
	}
	// The cursor only moves the start; the windows replace its predicate.
	if c := f.After; c != nil {
		if f.Sort == SortTickDesc {
			hi = min(hi, c.Seq)
		} else {
			lo = max(lo, c.Seq+1)
		}
		f.After = nil
	}
	where, args := f.where(s.be, simulationID)
	args = append(args, int64(0), int64(0))
	q = eventSelect + where + " AND seq >= $" + strconv.Itoa(len(args)-1) + " AND seq < $" + strconv.Itoa(len(args))
	return q, args, lo, hi, nil
}

// streamWindow is how many consecutive seq values StreamEvents reads per
// query, and streamAhead how many windows it holds at once: the one being
// yielded and the ones read ahead of it, in parallel, on their own
// connections. Memory stays bounded by streamAhead × streamWindow events
// whatever the run's size.
const (
	streamWindow = 20_000
	streamAhead  = 3
)

// streamWindows calls fn with every event that matches f, in its sort order
// and from its cursor on; the pointer is valid until fn returns. Up to
// streamAhead-1 windows are read and decoded ahead of the one fn is
// consuming, each by its own goroutine, so DuckDB producing one window and
// Go turning another into StoredEvents use both cores (on 1M events: 440k events/s read one window at a time, 600k read
// ahead; BENCHMARKS.md). Windows are still handed to fn strictly in order.
func (s *Store) streamWindows(ctx context.Context, simulationID string, f EventFilter, fn func(*StoredEvent) error) error {
	q, args, lo, hi, err := s.windowQuery(ctx, simulationID, f)
	if err != nil {
		return err
	}
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
// The stream's window query has no ORDER BY: a sort cost DuckDB a third of
// its time per window, and a plain scan already returns a simulation's rows
// in the order they were stored, which is seq order (BENCHMARKS.md). That
// is DuckDB's default behaviour (preserve_insertion_order), not a promise,
// so the order is checked here and the window sorted when it is off.
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

// seqBounds returns the range [lo, hi) of seq that can hold the filter's
// events: the whole committed stream, narrowed by the tick and day
// conditions (answered from zone maps, so it costs little).
func (s *Store) seqBounds(ctx context.Context, simulationID string, f EventFilter) (lo, hi int64, err error) {
	if f.Tick == nil && f.TickMin == nil && f.TickMax == nil && f.Day == nil {
		err = s.sqlDB().QueryRowContext(ctx, `SELECT event_count FROM simulations WHERE simulation_id = $1`, simulationID).Scan(&hi)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, 0, nil
		}
		return 0, hi, err
	}
	ticks := EventFilter{Tick: f.Tick, TickMin: f.TickMin, TickMax: f.TickMax, Day: f.Day}
	where, args := ticks.where(s.be, simulationID)
	err = s.sqlDB().QueryRowContext(ctx, `SELECT coalesce(min(seq), 0), coalesce(max(seq) + 1, 0) FROM simulation_events WHERE `+where, args...).Scan(&lo, &hi)
	return lo, hi, err
}

// errStop ends a query early when the consumer stops iterating.
var errStop = errors.New("stop")

// eventRow turns the values of one eventSelect row into a StoredEvent.
// The row sources (eventread_sql.go, eventread_arrow.go) fill its fields
// and call appendEvent. The strings may point into memory the source
// reuses: appendEvent copies or interns what it keeps of them.
type eventRow struct {
	seq, tick, day  int64
	eventTimestamp  time.Time
	createdAt       time.Time
	eventType       string
	details         string
	agentID, txID   string
	hasAgent, hasTx bool
	layout          int32
	simulationID    string
	idPrefix        string
	// types and names intern event types and agent ids (a run has a few
	// dozen of each), so events share them and hold nothing of the text
	// they were read from.
	types, names map[string]string
	parties      event.Parties
	cur          *StoredEvent // the event liftMember fills
	arena        rowArena
}

func newEventRow(simulationID string) *eventRow {
	return &eventRow{simulationID: simulationID, idPrefix: simulationID + ":",
		types: make(map[string]string), names: make(map[string]string)}
}

// intern returns the shared copy of s from m, adding a copy when new.
func intern(m map[string]string, s string) string {
	v, ok := m[s]
	if !ok {
		v = strings.Clone(s)
		m[v] = v
	}
	return v
}

// appendEvent appends the row's StoredEvent to dst, built in place: a
// StoredEvent is some 250 bytes, mostly pointers, and copying it from
// slice to slice cost a full stream read a tenth of its time. It fails
// only for a row whose details and key layout do not fit together or whose
// details name a party by a string that does not decode — rows simdb never
// writes — and then returns dst without it; the page or stream fails.
func (r *eventRow) appendEvent(dst []StoredEvent) ([]StoredEvent, error) {
	dst = append(dst, StoredEvent{})
	ev := &dst[len(dst)-1]
	a := &r.arena
	ev.SimulationID, ev.Seq, ev.Tick, ev.Day = r.simulationID, r.seq, r.tick, r.day
	ev.EventTimestamp, ev.CreatedAt = r.eventTimestamp.UTC(), r.createdAt.UTC()
	ev.EventID = a.eventID(r.idPrefix, r.seq)
	ev.Details = json.RawMessage(r.details)
	ev.layout = r.layout
	ev.EventType = intern(r.types, r.eventType)
	if r.hasAgent {
		ev.AgentID = a.str(intern(r.names, r.agentID))
	}
	var txCopy string // the lifted tx_id, copied once for TxID and TxIDs
	if r.hasTx {
		txCopy = a.text(r.txID)
		ev.TxID = a.str(txCopy)
	}
	// One scan of details fills the lifted fields (liftMember) and derives
	// the agent and transaction lists.
	r.cur = ev
	ok := r.parties.Scan(r.details, r.layout, r.agentID, r.txID, r.liftMember)
	r.cur = nil
	if !ok {
		err := fmt.Errorf("event %s: details and key layout %#x do not fit together, or a party's id does not decode (not a row simdb wrote)", ev.EventID, r.layout)
		*ev = StoredEvent{}
		return dst[:len(dst)-1], err
	}
	agents, txIDs := r.parties.Agents(), r.parties.TxIDs()
	ev.Agents = a.list(len(agents))
	for i, s := range agents {
		ev.Agents[i] = intern(r.names, s)
	}
	ev.TxIDs = a.list(len(txIDs))
	for i, s := range txIDs {
		if r.hasTx && s == r.txID {
			ev.TxIDs[i] = txCopy
			continue
		}
		ev.TxIDs[i] = a.text(s)
	}
	return dst, nil
}

// liftMember fills the event's Sender, Receiver, Amount, Deadline and
// Priority from one member of its details, whatever the engine named them.
func (r *eventRow) liftMember(key, raw string, kind event.Kind) {
	ev, a := r.cur, &r.arena
	switch key {
	case "sender_id", "sender":
		if s, ok := event.StringText(raw); ok && ev.Sender == nil {
			ev.Sender = a.str(intern(r.names, s))
		}
	case "receiver_id", "receiver":
		if s, ok := event.StringText(raw); ok && ev.Receiver == nil {
			ev.Receiver = a.str(intern(r.names, s))
		}
	case "amount":
		ev.Amount = a.intOf(raw, kind)
	case "deadline":
		ev.Deadline = a.intOf(raw, kind)
	case "priority":
		ev.Priority = a.intOf(raw, kind)
	}
}

// rowArena hands out the small values StoredEvents point to (the optional
// strings and integers, the agent and transaction lists, the transaction
// ids' text) from blocks shared by many events: allocating each separately
// made a full stream read spend most of its time in the allocator and the
// GC. The cost: an event the caller keeps keeps its blocks alive, and with
// them the transaction ids of up to a few hundred neighbouring events
// (tens of KB); agent ids and types are interned, and no block holds any
// event's details, so a consumer that keeps a sparse subset of a long
// stream does not keep the stream's details.
type rowArena struct {
	strs  []string
	ints  []int64
	lists []string
	bytes []byte
}

const (
	arenaBlock = 1024     // values per block of strs, ints and lists
	textBlock  = 16 << 10 // bytes per block of text
)

func (a *rowArena) str(s string) *string {
	if len(a.strs) == cap(a.strs) {
		a.strs = make([]string, 0, arenaBlock)
	}
	a.strs = append(a.strs, s)
	return &a.strs[len(a.strs)-1]
}

func (a *rowArena) int(v int64) *int64 {
	if len(a.ints) == cap(a.ints) {
		a.ints = make([]int64, 0, arenaBlock)
	}
	a.ints = append(a.ints, v)
	return &a.ints[len(a.ints)-1]
}

// list returns a slice of n strings for the caller to fill, never nil. Its
// capacity is its length, so a caller's append cannot reach its
// neighbours.
func (a *rowArena) list(n int) []string {
	switch {
	case n == 0:
		return []string{} // empty, not nil: JSON says [], not null
	case n > arenaBlock/8:
		return make([]string, n)
	}
	if cap(a.lists)-len(a.lists) < n {
		a.lists = make([]string, 0, arenaBlock)
	}
	start := len(a.lists)
	a.lists = a.lists[:start+n]
	return a.lists[start : start+n : start+n]
}

// text returns a copy of s that owes nothing to the memory s is in.
func (a *rowArena) text(s string) string {
	switch {
	case s == "":
		return ""
	case len(s) > textBlock/16:
		return strings.Clone(s)
	}
	start := a.reserve(len(s))
	a.bytes = append(a.bytes, s...)
	return a.since(start)
}

// eventID returns prefix followed by seq in decimal: an event_id.
func (a *rowArena) eventID(prefix string, seq int64) string {
	if len(prefix) > textBlock/16 {
		return prefix + strconv.FormatInt(seq, 10)
	}
	start := a.reserve(len(prefix) + 20)
	a.bytes = strconv.AppendInt(append(a.bytes, prefix...), seq, 10)
	return a.since(start)
}

// reserve makes room for n more bytes of text and returns where they
// start.
func (a *rowArena) reserve(n int) int {
	if cap(a.bytes)-len(a.bytes) < n {
		a.bytes = make([]byte, 0, textBlock)
	}
	return len(a.bytes)
}

// since returns the text appended from start on. The block's bytes are
// never written again once handed out.
func (a *rowArena) since(start int) string {
	return unsafe.String(&a.bytes[start], len(a.bytes)-start)
}

func (a *rowArena) intOf(raw string, kind event.Kind) *int64 {
	if v, ok := event.IntOf(raw, kind); ok {
		return a.int(v)
	}
	return nil
}
