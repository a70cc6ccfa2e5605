package provider

// The event queries' WHERE clauses are built here by hand instead of by
// sqlc (their bases stand in db/dynamic, the static counts in
// db/queries/events.sql), for two reasons sqlc's PostgreSQL parser cannot
// get around on DuckDB:
//   - the filters are optional, and sqlc's only way to express that is
//     `($1 IS NULL OR tick = $1)`, which hides the predicate from DuckDB's
//     filter pushdown, so a tick filter would scan every row instead of
//     skipping row groups by their zone maps;
//   - list parameters (event types) are generated as pq.Array(…), which
//     DuckDB rejects.
// Only predicates the filter asks for are added, and each value is a bound
// parameter: text that looks like SQL is matched literally.

import (
	"database/sql/driver"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/simcash/simdb/db"
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

// eventSQL holds the bases of the event queries, read from db/dynamic when
// the Store opens so that they stand as SQL a DBA can read; Go appends only
// the filter's WHERE (where), an ORDER BY and a LIMIT.
type eventSQL struct {
	// selectEvents reads eventReadColumns, in their order, which is the
	// order the row decoders (eventread_*.go) take them in.
	selectEvents string
	// count counts the matching events; seqBounds returns the range
	// [lo, hi) of seq that holds them.
	count, seqBounds string
}

func loadEventSQL() (eventSQL, error) {
	var q eventSQL
	for _, f := range []struct {
		name string
		dst  *string
	}{{"events_select", &q.selectEvents}, {"events_count", &q.count}, {"events_seq_bounds", &q.seqBounds}} {
		var err error
		if *f.dst, err = db.DynamicQuery(f.name); err != nil {
			return eventSQL{}, err
		}
	}
	return q, nil
}

// narrowed reports whether f has a predicate DuckDB answers from a small
// part of the run: a tick or day range (zone maps) or one transaction
// (a handful of rows). Such pages are one top-N query; the windows of
// pageByWindows pay off for the broad filters (an agent, event types).
// seqContiguous says every event in the filter's seq range matches it: the
// filter has at most tick and day conditions, and seq is gap-free and in
// tick order within a run, so those select one contiguous range of seq.
func (f EventFilter) seqContiguous() bool {
	return f.AgentID == "" && f.TxID == "" && len(f.EventTypes) == 0
}

func (f EventFilter) narrowed() bool {
	return f.Tick != nil || f.TickMin != nil || f.TickMax != nil || f.Day != nil || f.TxID != ""
}
