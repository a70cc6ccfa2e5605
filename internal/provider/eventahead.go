package provider

// A client paging with the cursor asks next for the page that starts where
// its last page ended. Where the database cannot change (unchanging), a
// page read through seq windows reads several pages' rows in the one query
// and keeps those after the page, keyed by the filter, the sort and the
// cursor the next page will carry: that request takes them instead of
// querying. One query of a few hundred rows costs DuckDB about what one of
// a hundred does (it decompresses whole vectors of a column either way), so
// a client paging through a run costs a query every few pages. Kept rows are
// handed out once (taking them removes them), so no two pages share them.

import (
	"container/list"
	"context"
	"sync"
)

const (
	// readAheadPages is how many pages of the request's limit one query
	// reads, at most maxReadAheadRows rows: the first is the page, the
	// others are kept for the cursor that follows it.
	readAheadPages   = 8
	maxReadAheadRows = 1000
	// maxKeptRows bounds the rows kept across every client (a few hundred
	// bytes each, so tens of MiB at most): room for several dozen clients
	// paging at once, and the least recently kept go first beyond it.
	maxKeptRows = 1 << 16
)

// aheadKey identifies kept rows: the filter's conditions, its sort, and
// the cursor of the page they follow.
type aheadKey struct {
	filter figuresKey
	desc   bool
	after  Cursor
}

// aheadEntry is the rows that follow a page, in the filter's sort order;
// complete says they run to the end of the filter's matches.
type aheadEntry struct {
	key      aheadKey
	rows     []StoredEvent
	complete bool
}

// readAhead holds kept rows, at most max of them, safe for concurrent use.
type readAhead struct {
	mu      sync.Mutex
	entries map[aheadKey]*list.Element // of *aheadEntry
	lru     list.List                  // front: most recently kept
	rows    int
	max     int
}

func newReadAhead(max int) *readAhead {
	return &readAhead{entries: make(map[aheadKey]*list.Element), max: max}
}

// take removes key's rows and returns them when they answer a page of
// limit events: at least limit of them, or every match that is left.
// Rows too few for the page are dropped all the same: the page reads them
// again with the rest.
func (c *readAhead) take(key aheadKey, limit int) (rows []StoredEvent, complete, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, found := c.entries[key]
	if !found {
		return nil, false, false
	}
	e := c.removeLocked(el)
	if len(e.rows) < limit && !e.complete {
		return nil, false, false
	}
	return e.rows, e.complete, true
}

// keep stores rows under key, making room by dropping the least recently
// kept entries; nothing is kept when rows alone exceed the bound.
func (c *readAhead) keep(key aheadKey, rows []StoredEvent, complete bool) {
	if len(rows) == 0 || len(rows) > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, found := c.entries[key]; found {
		c.removeLocked(el)
	}
	for c.rows+len(rows) > c.max {
		c.removeLocked(c.lru.Back())
	}
	c.entries[key] = c.lru.PushFront(&aheadEntry{key: key, rows: rows, complete: complete})
	c.rows += len(rows)
}

func (c *readAhead) removeLocked(el *list.Element) *aheadEntry {
	e := c.lru.Remove(el).(*aheadEntry)
	delete(c.entries, e.key)
	c.rows -= len(e.rows)
	return e
}

// kept is how many rows the cache holds (tests).
func (c *readAhead) kept() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rows
}

// pageAhead is pageByWindows for a page that starts at the cursor or at
// the first match (no offset): on a Store that keeps rows it answers from
// the rows kept after the previous page when there are enough, else reads
// readAheadPages pages at once and keeps what follows this one. Elsewhere it
// reads the page alone.
func (s *Store) pageAhead(ctx context.Context, simulationID string, f EventFilter, bounds func() (seqRange, error), total int64, dst []StoredEvent) ([]StoredEvent, error) {
	if s.ahead == nil || f.Offset > 0 {
		return s.pageByWindows(ctx, simulationID, f, bounds, total, f.Limit, dst)
	}
	key := aheadKey{filter: newFiguresKey(simulationID, f), desc: f.Sort == SortTickDesc}
	if f.After != nil {
		key.after = *f.After
	} else {
		key.after = Cursor{Tick: -1, Seq: -1} // the first page: no event has seq -1
	}
	rows, complete, ok := s.ahead.take(key, f.Limit)
	if !ok {
		want := max(min(readAheadPages*f.Limit, maxReadAheadRows), f.Limit)
		var err error
		if rows, err = s.pageByWindows(ctx, simulationID, f, bounds, total, want, nil); err != nil {
			return dst, err
		}
		complete = len(rows) < want
	}
	n := min(f.Limit, len(rows))
	dst = append(dst, rows[:n]...)
	if n > 0 {
		// The page's rows now live in dst: clearing them lets their
		// strings go while the rest of the array is kept.
		clear(rows[:n])
		last := dst[len(dst)-1]
		key.after = Cursor{Tick: last.Tick, Seq: last.Seq}
		s.ahead.keep(key, rows[n:], complete)
	}
	return dst, nil
}
