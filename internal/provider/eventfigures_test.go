package provider

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simcash/simdb/internal/simgen"
	"github.com/simcash/simdb/internal/testutil"
)

// ingestGenerated starts simulationID on s and ingests simgen's stream of o
// into it, committed.
func ingestGenerated(t *testing.T, s *Store, simulationID string, o simgen.Options) {
	t.Helper()
	ctx := context.Background()
	var stream bytes.Buffer
	if _, err := simgen.Write(&stream, o); err != nil {
		t.Fatal(err)
	}
	if err := s.PersistSimulationStart(ctx, simulationID, simgen.Config(o), StartOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.IngestJSONL(ctx, simulationID, &stream, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.PersistSimulationComplete(ctx, simulationID, Metrics{DurationSeconds: 1}); err != nil {
		t.Fatal(err)
	}
}

// storedCount counts simulationID's rows in simulation_events.
func storedCount(t *testing.T, s *Store, simulationID string) int64 {
	t.Helper()
	var n int64
	q := "SELECT count(*) FROM simulation_events WHERE simulation_id = $1"
	if err := s.sqlDB().QueryRowContext(context.Background(), q, simulationID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func i64(v int64) *int64 { return &v }

// figureFilters are filters of every shape GetSimulationEvents answers
// differently: no condition, tick and day conditions, agents, types,
// transactions, their mixes, and ones matching nothing.
func figureFilters() []EventFilter {
	return []EventFilter{
		{},
		{TickMin: i64(7)},
		{TickMin: i64(3), TickMax: i64(12), Sort: SortTickDesc},
		{Tick: i64(5)},
		{Day: i64(1)},
		{AgentID: "BANK_02"},
		{AgentID: "BANK_02", TickMin: i64(9)},
		{AgentID: "BANK_03", TickMax: i64(4), Sort: SortTickDesc},
		{EventTypes: []string{"Arrival"}},
		{EventTypes: []string{"Arrival", "RtgsImmediateSettlement"}, TickMin: i64(11)},
		{AgentID: "BANK_01", EventTypes: []string{"Arrival"}},
		{TxID: "tx-does-not-exist"},
		{AgentID: "NOBODY", TickMin: i64(2)},
		{TickMin: i64(1 << 40)},
	}
}

// readPages pages through f with the cursor (limit 7) and answers every
// page; then one page at offset 11.
func readPages(t *testing.T, s *Store, simulationID string, f EventFilter) []EventPage {
	t.Helper()
	ctx := context.Background()
	var pages []EventPage
	f.Limit = 7
	for range 200 {
		p, err := s.GetSimulationEvents(ctx, simulationID, f)
		if err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		pages = append(pages, p)
		if len(p.Events) < f.Limit {
			break
		}
		f.After = p.Next
	}
	f.After, f.Offset = nil, 11
	p, err := s.GetSimulationEvents(ctx, simulationID, f)
	if err != nil {
		t.Fatalf("%+v: %v", f, err)
	}
	return append(pages, p)
}

// A Store opened ReadOnly on a DuckDB file keeps each filter's total and
// seq range, and its pages, totals and cursors are the ones it gives
// without them, for filters of every shape, sorts, cursors and offsets.
func TestReadOnlyStoreKeepsFilterFigures(t *testing.T) {
	ctx := context.Background()
	s := openReadOnlyRun(t) // and checks that the writer kept nothing
	kept, ahead := s.figures, s.ahead
	if kept == nil || ahead == nil {
		t.Fatalf("a read-only DuckDB Store keeps no filter figures (%v) or rows read ahead (%v)", kept != nil, ahead != nil)
	}
	stream := func(f EventFilter) []StoredEvent {
		var out []StoredEvent
		for e, err := range s.StreamEvents(ctx, "run", f) {
			if err != nil {
				t.Fatalf("%+v: %v", f, err)
			}
			out = append(out, e)
		}
		return out
	}
	for _, f := range figureFilters() {
		s.figures, s.ahead = nil, nil
		want := readPages(t, s, "run", f)
		wantStream := stream(f)
		s.figures, s.ahead = kept, ahead
		if got := stream(f); !reflect.DeepEqual(got, wantStream) {
			t.Fatalf("%+v: the stream of a read-only Store differs: %d events, want %d", f, len(got), len(wantStream))
		}
		for round := range 2 { // reading the figures, then kept
			got := readPages(t, s, "run", f)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%+v, round %d: kept figures give other pages than the database:\n got %+v\nwant %+v", f, round, got, want)
			}
		}
	}
	if want := len(figureFilters()); kept.len() != want {
		t.Fatalf("%d figures kept, want one per filter (%d)", kept.len(), want)
	}
	if got, want := readPages(t, s, "run", EventFilter{})[0].Total, storedCount(t, s, "run"); got != want || want < 500 {
		t.Fatalf("the run's total is %d, want the %d stored", got, want)
	}
	// An unknown run is still told apart from an empty page.
	if _, err := s.GetSimulationEvents(ctx, "nope", EventFilter{TickMin: i64(1)}); !errors.Is(err, ErrSimulationNotFound) {
		t.Fatalf("unknown run: %v, want ErrSimulationNotFound", err)
	}
}

// Where another writer can change a run while the Store reads it — a
// read-write Store, PostgreSQL even when opened ReadOnly — a run deleted
// and ingested again under the same id with other events gives the new
// totals, never the ones read before.
func TestFiguresFollowARunIngestedAgain(t *testing.T) {
	for _, be := range testutil.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			if why := be.Skip(); why != "" {
				t.Skip(why)
			}
			ctx := context.Background()
			dsn := be.Database(t, filepath.Join(t.TempDir(), "again.duckdb"))
			w, err := Open(ctx, dsn, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			readers := []*Store{w}
			if be.Name == "postgres" {
				r, err := Open(ctx, dsn, Options{ReadOnly: true})
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				readers = append(readers, r)
			}
			totals := func() []int64 {
				var out []int64
				for _, r := range readers {
					for _, f := range figureFilters()[:11] {
						p, err := r.GetSimulationEvents(ctx, "run", f)
						if err != nil {
							t.Fatal(err)
						}
						out = append(out, p.Total)
					}
				}
				return out
			}
			ingestGenerated(t, w, "run", simgen.Options{Agents: 5, Days: 2, TicksPerDay: 10, Seed: 3, EventsPerTick: 30})
			before := totals()
			if _, err := w.DeleteSimulation(ctx, "run"); err != nil {
				t.Fatal(err)
			}
			ingestGenerated(t, w, "run", simgen.Options{Agents: 5, Days: 2, TicksPerDay: 10, Seed: 4, EventsPerTick: 50})
			after := totals()
			if want := storedCount(t, w, "run"); after[0] != want || after[0] == before[0] || reflect.DeepEqual(before, after) {
				t.Fatalf("totals after the run was ingested again: %v (before: %v); want the new run's, %d events in all", after, before, want)
			}
			if len(readers) > 1 && !reflect.DeepEqual(after[:len(after)/2], after[len(after)/2:]) {
				t.Fatalf("the read-only reader's totals %v differ from the writer's %v", after[len(after)/2:], after[:len(after)/2])
			}
			for i, r := range readers {
				if r.figures != nil || r.ahead != nil {
					t.Fatalf("reader %d on %s keeps filter figures or rows read ahead", i, be.Name)
				}
			}
		})
	}
}

// figuresCache reads a figure once however many callers ask for it at
// once, keeps no failed read, and keeps at most its bound.
func TestFiguresCacheReadsOnceAndStaysBounded(t *testing.T) {
	ctx := context.Background()
	c := newFiguresCache(3)
	key := func(i int) figuresKey { return newFiguresKey(fmt.Sprint("sim", i), EventFilter{}) }
	var reads atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			fig, err := c.get(ctx, key(0), func(context.Context) (filterFigures, error) {
				reads.Add(1)
				<-release
				return filterFigures{42, seqRange{1, 43}}, nil
			})
			if err != nil || fig.total != 42 || fig.hi != 43 {
				t.Errorf("figures %+v, %v", fig, err)
			}
		})
	}
	// The callers pile up on the one read, which finishes only now.
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	if n := reads.Load(); n != 1 {
		t.Fatalf("20 callers of one figure read it %d times, want once", n)
	}

	boom := errors.New("boom")
	if _, err := c.get(ctx, key(1), func(context.Context) (filterFigures, error) { return filterFigures{}, boom }); !errors.Is(err, boom) {
		t.Fatalf("failed read: %v", err)
	}
	fig, err := c.get(ctx, key(1), func(context.Context) (filterFigures, error) { return filterFigures{total: 7}, nil })
	if err != nil || fig.total != 7 {
		t.Fatalf("after a failed read: %+v, %v; want it read again", fig, err)
	}
	for i := range 10 {
		if _, err := c.get(ctx, key(i), func(context.Context) (filterFigures, error) { return filterFigures{total: int64(i)}, nil }); err != nil {
			t.Fatal(err)
		}
	}
	if c.len() != 3 {
		t.Fatalf("%d figures kept, bound 3", c.len())
	}
	// The most recent ones stay; the oldest was dropped and is read again.
	again := false
	if _, err := c.get(ctx, key(0), func(context.Context) (filterFigures, error) { again = true; return filterFigures{}, nil }); err != nil || !again {
		t.Fatalf("the least recently used figure was kept (read again: %v, %v)", again, err)
	}
}

// Event types in any order, repeated or not, are one key; different
// conditions are different keys.
func TestFiguresKey(t *testing.T) {
	a := newFiguresKey("s", EventFilter{EventTypes: []string{"B", "A", "B"}, TickMin: i64(3), Limit: 5, After: &Cursor{1, 2}})
	b := newFiguresKey("s", EventFilter{EventTypes: []string{"A", "B"}, TickMin: i64(3), Offset: 9, Sort: SortTickDesc})
	if a != b {
		t.Fatalf("%+v != %+v", a, b)
	}
	for _, f := range []EventFilter{{TickMax: i64(3), EventTypes: []string{"A", "B"}}, {TickMin: i64(3), EventTypes: []string{"A,B"}}, {TickMin: i64(3), EventTypes: []string{"A", "B"}, AgentID: "x"}} {
		if newFiguresKey("s", f) == a {
			t.Fatalf("%+v has the key of another filter", f)
		}
	}
	if newFiguresKey("t", EventFilter{EventTypes: []string{"A", "B"}, TickMin: i64(3)}) == a {
		t.Fatal("two runs share a key")
	}
}
