package serve

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/simcash/simdb"
)

// paramError is a bad query parameter: a 400 naming it.
type paramError struct{ msg string }

func (e *paramError) Error() string { return e.msg }

func badParam(format string, args ...any) error {
	return &paramError{fmt.Sprintf(format, args...)}
}

// intParam reads an optional integer parameter; min bounds it (a tick or
// a day is never negative).
func intParam(q url.Values, name string, min int64) (*int64, error) {
	if !q.Has(name) {
		return nil, nil
	}
	s := q.Get(name)
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return nil, badParam("query parameter %s=%q is not an integer", name, s)
	}
	if v < min {
		return nil, badParam("query parameter %s=%d is below %d", name, v, min)
	}
	return &v, nil
}

// eventFilter reads SimCash's events parameters (tick, tick_min,
// tick_max, day, agent_id, tx_id, event_type, limit, offset, sort) and
// simdb's cursor (after=TICK:SEQ, a page's next_cursor).
//
// Clamping is SimCash's: limit defaults to 100 and is clamped to 1..1000,
// a negative offset counts as 0. A value that is not an integer, a
// negative tick or day, tick_min > tick_max, an unknown sort and a
// malformed cursor are errors. event_type is a comma-separated list (or
// the parameter repeated).
func eventFilter(q url.Values) (simdb.EventFilter, error) {
	var f simdb.EventFilter
	var err error
	for _, p := range []struct {
		name string
		dst  **int64
	}{{"tick", &f.Tick}, {"tick_min", &f.TickMin}, {"tick_max", &f.TickMax}, {"day", &f.Day}} {
		if *p.dst, err = intParam(q, p.name, 0); err != nil {
			return f, err
		}
	}
	if f.TickMin != nil && f.TickMax != nil && *f.TickMin > *f.TickMax {
		return f, badParam("tick_min (%d) must not exceed tick_max (%d)", *f.TickMin, *f.TickMax)
	}
	f.AgentID = q.Get("agent_id")
	f.TxID = q.Get("tx_id")
	for _, v := range q["event_type"] {
		for t := range strings.SplitSeq(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				f.EventTypes = append(f.EventTypes, t)
			}
		}
	}
	limit, err := clampedInt(q, "limit")
	if err != nil {
		return f, err
	}
	switch {
	case limit == nil:
	case *limit < 1:
		f.Limit = 1
	case *limit > simdb.MaxEventLimit:
		f.Limit = simdb.MaxEventLimit
	default:
		f.Limit = int(*limit)
	}
	offset, err := clampedInt(q, "offset")
	if err != nil {
		return f, err
	}
	if offset != nil && *offset > 0 {
		if *offset > maxOffset {
			return f, badParam("offset=%d is beyond %d: page deeper with the cursor (after=next_cursor)", *offset, maxOffset)
		}
		f.Offset = int(*offset)
	}
	switch s := q.Get("sort"); s {
	case "", simdb.SortTickAsc, simdb.SortTickDesc:
		f.Sort = s
	default:
		return f, badParam("sort=%q is not %s or %s", s, simdb.SortTickAsc, simdb.SortTickDesc)
	}
	if q.Has("after") {
		c, err := parseCursor(q.Get("after"))
		if err != nil {
			return f, err
		}
		f.After = &c
	}
	return f, nil
}

// maxOffset bounds offset paging: past it the cursor is the way on, and
// the bound keeps an int conversion safe everywhere.
const maxOffset = 1 << 40

// clampedInt reads an integer that is clamped rather than refused when out
// of range (limit, offset): only text that is no integer is an error.
// Values beyond int64 saturate.
func clampedInt(q url.Values, name string) (*int64, error) {
	if !q.Has(name) {
		return nil, nil
	}
	s := strings.TrimSpace(q.Get(name))
	v, err := strconv.ParseInt(s, 10, 64)
	if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
		err = nil // v is already the saturated bound
	}
	if err != nil {
		return nil, badParam("query parameter %s=%q is not an integer", name, q.Get(name))
	}
	return &v, nil
}

// parseCursor reads "TICK:SEQ".
func parseCursor(s string) (simdb.Cursor, error) {
	t, q, ok := strings.Cut(s, ":")
	tick, err1 := strconv.ParseInt(t, 10, 64)
	seq, err2 := strconv.ParseInt(q, 10, 64)
	if !ok || err1 != nil || err2 != nil || tick < 0 || seq < 0 {
		return simdb.Cursor{}, badParam("after=%q is not a cursor TICK:SEQ (a page's next_cursor)", s)
	}
	return simdb.Cursor{Tick: tick, Seq: seq}, nil
}

func formatCursor(c *simdb.Cursor) string {
	if c == nil {
		return ""
	}
	return strconv.FormatInt(c.Tick, 10) + ":" + strconv.FormatInt(c.Seq, 10)
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
