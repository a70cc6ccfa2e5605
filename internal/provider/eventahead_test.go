package provider

import (
	"context"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/simcash/simdb/internal/simgen"
)

// openReadOnlyRun ingests a generated run into a fresh file, checks that
// the read-write Store that wrote it kept no figures or rows, and opens the
// file again ReadOnly, as simdb serve does.
func openReadOnlyRun(t *testing.T) *Store {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ahead.duckdb")
	w, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ingestGenerated(t, w, "run", simgen.Options{Agents: 5, Days: 2, TicksPerDay: 10, Seed: 3, EventsPerTick: 30})
	if w.figures != nil || w.ahead != nil {
		t.Fatal("a read-write Store keeps filter figures or rows read ahead")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// pageWalk pages through f with the cursor, the limit cycling through
// limits, and returns every page.
func pageWalk(t *testing.T, s *Store, f EventFilter, limits []int) []EventPage {
	t.Helper()
	var pages []EventPage
	for i := 0; i < 400; i++ {
		f.Limit = limits[i%len(limits)]
		p, err := s.GetSimulationEvents(context.Background(), "run", f)
		if err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		pages = append(pages, p)
		if len(p.Events) == 0 {
			return pages
		}
		f.After = p.Next
	}
	t.Fatalf("%+v: no end after 400 pages", f)
	return nil
}

// A read-only Store answers a cursor's next page from the rows it read
// past the previous one, and every page — whatever the limits, filters and
// sorts, and whatever a caller does to the pages it got — is the page the
// database gives.
func TestReadOnlyStorePagesAhead(t *testing.T) {
	s := openReadOnlyRun(t)
	ctx := context.Background()
	figures, ahead := s.figures, s.ahead
	limits := []int{7, 3, 20, 1, 7, 100}

	// Rows are kept past the first page and taken by the next one: what is
	// kept shrinks by a page instead of being read again.
	p, err := s.GetSimulationEvents(ctx, "run", EventFilter{Limit: 7})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ahead.kept(), readAheadPages*7-7; got != want {
		t.Fatalf("%d rows kept after the first page, want %d", got, want)
	}
	if _, err := s.GetSimulationEvents(ctx, "run", EventFilter{Limit: 7, After: p.Next}); err != nil {
		t.Fatal(err)
	}
	if got, want := ahead.kept(), readAheadPages*7-14; got != want {
		t.Fatalf("%d rows kept after the second page, want %d (taken, not read again)", got, want)
	}

	for _, f := range append(figureFilters(), EventFilter{Sort: SortTickDesc}, EventFilter{AgentID: "BANK_04", Sort: SortTickDesc}) {
		s.figures, s.ahead = nil, nil
		want := pageWalk(t, s, f, limits)
		s.figures, s.ahead = figures, ahead
		got := pageWalk(t, s, f, limits)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%+v: pages read ahead differ from the database's (%d pages, want %d)", f, len(got), len(want))
		}
	}

	// A caller that appends to its page or changes its events changes
	// neither the next page nor what is kept.
	s.figures, s.ahead = nil, nil
	want := pageWalk(t, s, EventFilter{AgentID: "BANK_02"}, []int{5})
	s.figures, s.ahead = figures, ahead
	f := EventFilter{AgentID: "BANK_02", Limit: 5}
	for i := range want {
		p, err := s.GetSimulationEvents(ctx, "run", f)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(p, want[i]) {
			t.Fatalf("page %d after the caller changed the one before: %+v, want %+v", i, p, want[i])
		}
		f.After = p.Next
		if len(p.Events) > 0 {
			p.Events[0].EventType = "changed"
			p.Events[len(p.Events)-1].Details[0] = 'X'
			_ = append(p.Events[:1], StoredEvent{EventType: "appended"})
		}
	}
	if ahead.kept() > ahead.max {
		t.Fatalf("%d rows kept, bound %d", ahead.kept(), ahead.max)
	}
}

// Clients paging the same filter at once each get the database's pages.
func TestReadAheadUnderConcurrentClients(t *testing.T) {
	s := openReadOnlyRun(t)
	figures, ahead := s.figures, s.ahead
	filters := []EventFilter{{}, {AgentID: "BANK_01"}, {TickMin: i64(5), Sort: SortTickDesc}}
	s.figures, s.ahead = nil, nil
	var want [][]EventPage
	for _, f := range filters {
		want = append(want, pageWalk(t, s, f, []int{9}))
	}
	s.figures, s.ahead = figures, ahead
	var wg sync.WaitGroup
	for c := range 12 {
		wg.Go(func() {
			f := filters[c%len(filters)]
			f.Limit = 9
			for i, w := range want[c%len(filters)] {
				p, err := s.GetSimulationEvents(context.Background(), "run", f)
				if err != nil {
					t.Error(err)
					return
				}
				if !reflect.DeepEqual(p, w) {
					t.Errorf("client %d, page %d differs from the database's", c, i)
					return
				}
				f.After = p.Next
			}
		})
	}
	wg.Wait()
}

// readAhead hands kept rows out once, only when they fill the page asked
// for or end the matches, and keeps at most its bound, dropping the least
// recently kept first.
func TestReadAheadTakesOnceAndStaysBounded(t *testing.T) {
	c := newReadAhead(10)
	key := func(seq int64) aheadKey { return aheadKey{after: Cursor{Seq: seq}} }
	rows := func(n int) []StoredEvent { return make([]StoredEvent, n) }
	c.keep(key(1), rows(4), false)
	if got, _, ok := c.take(key(1), 4); !ok || len(got) != 4 {
		t.Fatalf("take: %d rows, %v; want the 4 kept", len(got), ok)
	}
	if _, _, ok := c.take(key(1), 4); ok {
		t.Fatal("rows taken twice")
	}
	c.keep(key(2), rows(3), false)
	if _, _, ok := c.take(key(2), 4); ok {
		t.Fatal("3 rows answered a page of 4 that does not end the matches")
	}
	c.keep(key(3), rows(3), true)
	if got, complete, ok := c.take(key(3), 4); !ok || !complete || len(got) != 3 {
		t.Fatalf("the last 3 matches for a page of 4: %d, %v, %v", len(got), complete, ok)
	}
	for i := range 5 {
		c.keep(key(int64(10+i)), rows(4), false)
	}
	if c.kept() > 10 {
		t.Fatalf("%d rows kept, bound 10", c.kept())
	}
	if _, _, ok := c.take(key(10), 1); ok {
		t.Fatal("the least recently kept rows were not dropped")
	}
	if _, _, ok := c.take(key(14), 4); !ok {
		t.Fatal("the most recently kept rows were dropped")
	}
	c.keep(key(20), rows(11), true)
	if c.kept() > 10 {
		t.Fatalf("rows beyond the bound kept: %d", c.kept())
	}
}
