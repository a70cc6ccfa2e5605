package provider

// A page of GetSimulationEvents needs, besides its events, two figures of
// its filter that do not depend on the cursor, offset, limit or sort: the
// total number of matches and the seq range holding them. On a 1M-event
// run they cost more than the page itself (the seq range of a tick_min
// reads the tick column of the rest of the run; an agent's total within a
// tick range is a COUNT over that range), and a client paging with the
// cursor asks for the same ones on every page. A Store opened ReadOnly on a
// DuckDB file keeps them: while it holds the file open, DuckDB's file lock
// lets no process write it, so a figure read once stays true until Close.
// Other Stores (read-write, or PostgreSQL, where other processes write
// while this one reads) read them for every page.

import (
	"container/list"
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// maxCachedFigures bounds the figures a read-only Store keeps: a few
// hundred bytes each, so the cache stays under a few MiB however many
// different filters its clients send.
const maxCachedFigures = 8192

// filterFigures are a filter's total (its matches, cursor and offset
// aside) and the seq range that holds them.
type filterFigures struct {
	total int64
	seqRange
}

// figuresKey identifies a filter's figures: the simulation and the
// conditions that select events. Cursor, offset, limit and sort only pick
// a page among the matches, so they are not part of it.
type figuresKey struct {
	simulationID string
	// set has a bit per optional tick condition present (1 tick, 2
	// tick_min, 4 tick_max, 8 day).
	set                       uint8
	tick, tickMin, tickMax    int64
	day                       int64
	agentID, txID, eventTypes string
}

func newFiguresKey(simulationID string, f EventFilter) figuresKey {
	k := figuresKey{simulationID: simulationID, agentID: f.AgentID, txID: f.TxID}
	opt := func(bit uint8, p, dst *int64) {
		if p != nil {
			k.set |= bit
			*dst = *p
		}
	}
	opt(1, f.Tick, &k.tick)
	opt(2, f.TickMin, &k.tickMin)
	opt(4, f.TickMax, &k.tickMax)
	opt(8, f.Day, &k.day)
	if len(f.EventTypes) > 0 {
		// Order and repeats do not change what the types select; each is
		// length-prefixed so that no two lists share a key.
		types := slices.Clone(f.EventTypes)
		slices.Sort(types)
		types = slices.Compact(types)
		var b strings.Builder
		for _, t := range types {
			b.WriteString(strconv.Itoa(len(t)))
			b.WriteByte(':')
			b.WriteString(t)
		}
		k.eventTypes = b.String()
	}
	return k
}

// figuresCache is a bounded, least-recently-used map of filter figures,
// safe for concurrent use. Callers asking for figures being read wait for
// that read instead of starting their own.
type figuresCache struct {
	mu      sync.Mutex
	entries map[figuresKey]*list.Element // of *figuresEntry
	lru     list.List                    // front: most recently used
	max     int
}

type figuresEntry struct {
	key  figuresKey
	done chan struct{} // closed once fig and err are set
	fig  filterFigures
	err  error
}

func newFiguresCache(max int) *figuresCache {
	return &figuresCache{entries: make(map[figuresKey]*list.Element), max: max}
}

// get returns the figures of key, reading them with read when no other
// caller has or is reading them. A failed read is not kept: its callers
// get its error, except those whose own context is still live, which try
// again (the failure may have been the reader's own cancellation).
func (c *figuresCache) get(ctx context.Context, key figuresKey, read func(context.Context) (filterFigures, error)) (filterFigures, error) {
	for {
		c.mu.Lock()
		if el, ok := c.entries[key]; ok {
			c.lru.MoveToFront(el)
			e := el.Value.(*figuresEntry)
			c.mu.Unlock()
			select {
			case <-e.done:
			case <-ctx.Done():
				return filterFigures{}, ctx.Err()
			}
			if e.err == nil {
				return e.fig, nil
			}
			if err := ctx.Err(); err != nil {
				return filterFigures{}, err
			}
			continue // the reader failed and dropped the entry: read again
		}
		e := &figuresEntry{key: key, done: make(chan struct{})}
		c.entries[key] = c.lru.PushFront(e)
		for c.lru.Len() > c.max {
			c.removeLocked(c.lru.Back())
		}
		c.mu.Unlock()

		e.fig, e.err = read(ctx)
		if e.err != nil {
			c.mu.Lock()
			if el, ok := c.entries[key]; ok && el.Value.(*figuresEntry) == e {
				c.removeLocked(el)
			}
			c.mu.Unlock()
		}
		close(e.done)
		return e.fig, e.err
	}
}

func (c *figuresCache) removeLocked(el *list.Element) {
	delete(c.entries, el.Value.(*figuresEntry).key)
	c.lru.Remove(el)
}

// len is how many figures the cache holds (tests).
func (c *figuresCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// readFigures reads f's figures from the database: its seq range, then
// its total (which, for tick and day conditions alone, is the range's
// length).
func (s *Store) readFigures(ctx context.Context, simulationID string, f EventFilter) (filterFigures, error) {
	r, err := s.seqBounds(ctx, simulationID, f)
	if err != nil {
		return filterFigures{}, err
	}
	total, err := s.countEvents(ctx, simulationID, f, func() (seqRange, error) { return r, nil })
	return filterFigures{total, r}, err
}
