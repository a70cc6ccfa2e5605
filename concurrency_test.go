package simdb_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simcash/simdb"
)

// --- Many simulations through one Store ---

// The sizes are what still makes -race find an unguarded write (see the
// test's comment): every writer overlaps the others and, in buffered mode,
// the background commits. More ticks repeat the same interleavings at
// several times the cost under -race.
const (
	concurrentSims  = 8
	concurrentTicks = 20
)

// registerTicks: every registerTicks-th tick sets a register (each set is
// one upsert of a few ms, serialised with every other write).
const registerTicks = 10

// concurrentTick is the events of one tick of simulation sim: 40 to 60
// events; every registerTicks-th tick opens and closes with a set of the
// same register (the second must win).
func concurrentTick(sim, tick int) []json.RawMessage {
	n := 40 + (sim*7+tick*13)%21
	reg := tick%registerTicks == 0
	lines := make([]string, 0, n)
	if reg {
		lines = append(lines, registerSet(tick, "BANK_A", "stress", float64(tick)))
	}
	for len(lines) < n-1 {
		tx := fmt.Sprintf("s%d-t%d-%d", sim, tick, len(lines))
		if len(lines)%2 == 1 {
			lines = append(lines, arrival(tick, tx))
		} else {
			lines = append(lines, settlement(tick, tx))
		}
	}
	if reg {
		lines = append(lines, registerSet(tick, "BANK_A", "stress", float64(tick)+0.5))
	} else {
		lines = append(lines, arrival(tick, fmt.Sprintf("s%d-t%d-last", sim, tick)))
	}
	return raws(lines...)
}

// TestConcurrentSimulations persists 8 simulations at once through one
// Store, one goroutine each (start, 20 ticks, complete), in both durability
// modes: no call fails, and every simulation is stored whole (its exact
// event count per tick, seq gap-free, one register row per register tick
// holding that tick's last value, status completed). Under -race it is the
// package's check that the Store's locks guard what they claim to: with
// the lock of the Store's simulation map, of its write transactions or of
// a simulation's buffer removed, this test fails.
func TestConcurrentSimulations(t *testing.T) {
	t.Parallel()
	for name, opts := range map[string]simdb.Options{
		"durable": {Durability: simdb.Durable},
		// Small groups (three or four per simulation) and a short
		// interval: background commits of many simulations overlap each
		// other and the callers.
		"buffered": {FlushEvents: 300, FlushInterval: 20 * time.Millisecond},
	} {
		t.Run(name, func(t *testing.T) {
			b := setup(t, opts)
			var wg sync.WaitGroup
			for i := range concurrentSims {
				wg.Add(1)
				go func() {
					defer wg.Done()
					id := fmt.Sprintf("sim-%02d", i)
					if err := b.store.PersistSimulationStart(b.ctx, id, json.RawMessage(testConfig), simdb.StartOptions{}); err != nil {
						t.Errorf("start %s: %v", id, err)
						return
					}
					for tick := range concurrentTicks {
						events := concurrentTick(i, tick)
						n, err := b.store.PersistTickEvents(b.ctx, id, int64(tick), events)
						if err != nil || n != len(events) {
							t.Errorf("%s tick %d: n=%d err=%v", id, tick, n, err)
							return
						}
					}
					if err := b.store.PersistSimulationComplete(b.ctx, id, simdb.Metrics{DurationSeconds: 1}); err != nil {
						t.Errorf("complete %s: %v", id, err)
					}
				}()
			}
			wg.Wait()
			if t.Failed() {
				t.FailNow()
			}
			for i := range concurrentSims {
				id := fmt.Sprintf("sim-%02d", i)
				var want int64
				for tick := range concurrentTicks {
					want += int64(len(concurrentTick(i, tick)))
				}
				sum, err := b.store.GetSimulationSummary(b.ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if sum.Status != "completed" || sum.EventCount != want || sum.LastTick == nil || *sum.LastTick != concurrentTicks-1 {
					t.Errorf("%s: status %s, event_count %d, last_tick %v; want completed, %d, %d", id, sum.Status, sum.EventCount, sum.LastTick, want, concurrentTicks-1)
				}
				if got := b.count(t, `SELECT count(*) FROM simulation_events WHERE simulation_id = $1`, id); got != want {
					t.Errorf("%s: %d rows, want %d", id, got, want)
				}
				if got := b.count(t, `SELECT count(DISTINCT seq) FROM simulation_events WHERE simulation_id = $1 AND seq BETWEEN 0 AND $2`, id, want-1); got != want {
					t.Errorf("%s: seq is not 0..%d without gaps (%d distinct in range)", id, want-1, got)
				}
				rows, err := simdb.RawDB(b.store).QueryContext(b.ctx, `SELECT tick, count(*) FROM simulation_events WHERE simulation_id = $1 GROUP BY tick ORDER BY tick`, id)
				if err != nil {
					t.Fatal(err)
				}
				ticks := 0
				for rows.Next() {
					var tick, n int64
					if err := rows.Scan(&tick, &n); err != nil {
						t.Fatal(err)
					}
					if tick != int64(ticks) || n != int64(len(concurrentTick(i, ticks))) {
						t.Errorf("%s: tick %d has %d events; want tick %d with %d", id, tick, n, ticks, len(concurrentTick(i, ticks)))
					}
					ticks++
				}
				if err := rows.Close(); err != nil {
					t.Fatal(err)
				}
				if ticks != concurrentTicks {
					t.Errorf("%s: %d ticks stored, want %d", id, ticks, concurrentTicks)
				}
				if got := b.count(t, `SELECT count(*) FROM agent_state_registers WHERE simulation_id = $1 AND register_value = tick + 0.5`, id); got != concurrentTicks/registerTicks {
					t.Errorf("%s: %d register rows hold their tick's last value, want %d", id, got, concurrentTicks/registerTicks)
				}
			}
			if got := b.count(t, `SELECT count(*) FROM agent_state_registers`); got != concurrentSims*concurrentTicks/registerTicks {
				t.Errorf("%d register rows, want %d", got, concurrentSims*concurrentTicks/registerTicks)
			}
		})
	}
}

// --- Readers during ingest ---

// wholeTickStream is a run with known, uneven tick sizes: ticks 0..199
// except multiples of 7 (so a reader cannot guess a missing tick), 1 to 97
// events each, and every 50th tick 900 events (more than a buffered group).
func wholeTickStream() (ticks []int64, count map[int64]int64) {
	count = map[int64]int64{}
	for tick := int64(0); tick < 200; tick++ {
		if tick%7 == 0 {
			continue
		}
		n := 1 + (tick*37)%97
		if tick%50 == 1 {
			n = 900
		}
		ticks = append(ticks, tick)
		count[tick] = n
	}
	return ticks, count
}

// TestReadersSeeWholeTicks ingests a run (Buffered, groups of 500 events,
// so many group commits) while readers query it through the same Store and
// through raw SQL on simdb.RawDB(store). Every view must hold whole ticks, the run's
// first ones, and (raw SQL, one statement) a progress row that agrees with
// the rows: event_count = the events stored, last_tick = their last tick.
// Reads through the Store also commit the run's buffer first (documented);
// raw SQL sees only committed groups.
func TestReadersSeeWholeTicks(t *testing.T) {
	t.Parallel()
	b := setup(t, simdb.Options{FlushEvents: 500})
	const id = "sim-1"
	b.start(t, id)
	ticks, count := wholeTickStream()
	index := map[int64]int{}
	prefix := make([]int64, len(ticks)+1) // prefix[i]: events of the first i ticks
	for i, tick := range ticks {
		index[tick] = i
		prefix[i+1] = prefix[i] + count[tick]
	}
	// checkTicks checks a view's per-tick counts, in tick order, and
	// returns the events it holds.
	checkTicks := func(who string, seen [][2]int64) (int64, bool) {
		var total int64
		for i, tc := range seen {
			if i >= len(ticks) || tc[0] != ticks[i] {
				t.Errorf("%s: tick %d is the %d-th tick seen; the run's ticks are %v…", who, tc[0], i, ticks[:min(i+1, len(ticks))])
				return 0, false
			}
			if tc[1] != count[tc[0]] {
				t.Errorf("%s: tick %d has %d of its %d events", who, tc[0], tc[1], count[tc[0]])
				return 0, false
			}
			total += tc[1]
		}
		return total, true
	}

	var writing atomic.Bool
	writing.Store(true)
	var states sync.Map // distinct event totals seen, for the log
	var wg sync.WaitGroup
	reader := func(name string, read func() bool) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				last := !writing.Load()
				if !read() {
					return
				}
				if last {
					t.Logf("%s: %d reads", name, n+1)
					return
				}
			}
		}()
	}
	db := simdb.RawDB(b.store)
	ctx := context.Background()
	for r := range 2 {
		reader(fmt.Sprintf("sql-%d", r), func() bool {
			rows, err := db.QueryContext(ctx, `SELECT tick, count(*) FROM simulation_events WHERE simulation_id = $1 GROUP BY tick ORDER BY tick`, id)
			if err != nil {
				t.Errorf("sql: %v", err)
				return false
			}
			var seen [][2]int64
			for rows.Next() {
				var tc [2]int64
				if err := rows.Scan(&tc[0], &tc[1]); err != nil {
					t.Errorf("sql: %v", err)
					return false
				}
				seen = append(seen, tc)
			}
			if err := rows.Close(); err != nil {
				t.Errorf("sql: %v", err)
				return false
			}
			total, ok := checkTicks("sql", seen)
			states.Store(total, true)
			if !ok {
				return false
			}
			// One statement, one snapshot: the progress row and the rows.
			var eventCount, stored int64
			var lastTick, maxTick *int64
			err = db.QueryRowContext(ctx, `SELECT s.event_count, s.last_tick,
				(SELECT count(*) FROM simulation_events e WHERE e.simulation_id = s.simulation_id),
				(SELECT max(tick) FROM simulation_events e WHERE e.simulation_id = s.simulation_id)
				FROM simulations s WHERE s.simulation_id = $1`, id).Scan(&eventCount, &lastTick, &stored, &maxTick)
			if err != nil {
				t.Errorf("sql: %v", err)
				return false
			}
			if eventCount != stored || (lastTick == nil) != (maxTick == nil) || (lastTick != nil && *lastTick != *maxTick) {
				t.Errorf("sql: event_count %d, last_tick %v, but %d events stored up to tick %v", eventCount, lastTick, stored, maxTick)
				return false
			}
			return true
		})
	}
	reader("store-summary", func() bool {
		sum, err := b.store.GetEventSummary(ctx, id)
		if err != nil {
			t.Errorf("store: %v", err)
			return false
		}
		if sum.TotalEvents == 0 {
			return true
		}
		i, ok := index[*sum.MaxTick]
		if !ok || sum.TotalEvents != prefix[i+1] {
			t.Errorf("store: %d events up to tick %d; whole ticks would make %d", sum.TotalEvents, *sum.MaxTick, prefix[i+1])
			return false
		}
		page, err := b.store.GetSimulationEvents(ctx, id, simdb.EventFilter{Tick: sum.MaxTick, Limit: simdb.MaxEventLimit})
		if err != nil {
			t.Errorf("store: %v", err)
			return false
		}
		if page.Total != count[*sum.MaxTick] || int64(len(page.Events)) != count[*sum.MaxTick] {
			t.Errorf("store: tick %d has %d (page %d) of its %d events", *sum.MaxTick, page.Total, len(page.Events), count[*sum.MaxTick])
			return false
		}
		run, err := b.store.GetSimulationSummary(ctx, id)
		if err != nil {
			t.Errorf("store: %v", err)
			return false
		}
		if run.LastTick == nil || run.EventCount != prefix[index[*run.LastTick]+1] {
			t.Errorf("store: event_count %d at last_tick %v is not whole ticks", run.EventCount, run.LastTick)
			return false
		}
		return true
	})
	reader("store-stream", func() bool {
		var seen [][2]int64
		seq := int64(0)
		for ev, err := range b.store.StreamEvents(ctx, id, simdb.EventFilter{}) {
			if err != nil {
				t.Errorf("stream: %v", err)
				return false
			}
			if ev.Seq != seq {
				t.Errorf("stream: seq %d where %d was due", ev.Seq, seq)
				return false
			}
			seq++
			if n := len(seen); n > 0 && seen[n-1][0] == ev.Tick {
				seen[n-1][1]++
			} else {
				seen = append(seen, [2]int64{ev.Tick, 1})
			}
		}
		_, ok := checkTicks("stream", seen)
		return ok
	})

	for _, tick := range ticks {
		lines := make([]string, count[tick])
		for j := range lines {
			if j%10 == 9 {
				lines[j] = registerSet(int(tick), "BANK_A", "stress", float64(j))
			} else {
				lines[j] = arrival(int(tick), fmt.Sprintf("t%d-%d", tick, j))
			}
		}
		if n, err := b.store.PersistTickEvents(ctx, id, tick, raws(lines...)); err != nil || int64(n) != count[tick] {
			t.Errorf("tick %d: n=%d err=%v", tick, n, err)
			break
		}
	}
	if err := b.store.PersistSimulationComplete(ctx, id, simdb.Metrics{}); err != nil {
		t.Error(err)
	}
	writing.Store(false)
	wg.Wait()
	n := 0
	states.Range(func(any, any) bool { n++; return true })
	t.Logf("raw SQL readers saw %d distinct stored states", n)
	if got := b.count(t, `SELECT count(*) FROM simulation_events`); got != prefix[len(ticks)] {
		t.Fatalf("%d events stored, want %d", got, prefix[len(ticks)])
	}
}
