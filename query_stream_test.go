package simdb_test

// Tests of StreamEvents (busy and huge ticks, cancellation) and of the
// keyset cursor of GetSimulationEvents.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/testutil"
	"github.com/simcash/simdb/internal/testutil/simdbtest"
)

// --- StreamEvents ---

// busyLines is a 5-tick stream with 2,500 events in tick 1 and 1,200 in
// tick 3, so every tick above GetSimulationEvents' 1,000 cap sits between
// smaller ticks.
func busyLines() [][]byte {
	sizes := []int{5, 2500, 3, 1200, 7}
	banks := []string{"BANK_A", "BANK_B", "BANK_C", "BANK_D", "BANK_E"}
	var out []string
	for tick, n := range sizes {
		for i := 0; i < n; i++ {
			tx := fmt.Sprintf("b-%d-%d", tick, i)
			s, r := banks[i%5], banks[(i+1+i/5)%5]
			if s == r {
				r = banks[(i+2)%5]
			}
			if i%3 == 2 {
				out = append(out, fmt.Sprintf(`{"event_type":"RtgsImmediateSettlement","tick":%d,"tx_id":%q,"sender":%q,"receiver":%q,"amount":%d,"sender_balance_before":100000000,"sender_balance_after":1}`, tick, tx, s, r, 100+i))
			} else {
				out = append(out, fmt.Sprintf(`{"event_type":"Arrival","tick":%d,"tx_id":%q,"sender_id":%q,"receiver_id":%q,"amount":%d,"deadline":%d,"priority":%d,"is_divisible":false}`, tick, tx, s, r, 100+i, tick+9, i%10))
			}
		}
	}
	return toBytes(out)
}

func TestQueryStreamBusyTicks(t *testing.T) {
	b := setup(t, simdb.Options{})
	b.start(t, "busy")
	lines := busyLines()
	persistByTick(t, b, "busy", lines)
	refs := decodeRefs(t, lines, 100)

	cases := []simdb.EventFilter{
		{},
		{Sort: simdb.SortTickDesc},
		{TickMin: simdb.Int64(1), TickMax: simdb.Int64(3)},
		{TickMin: simdb.Int64(1), TickMax: simdb.Int64(3), Sort: simdb.SortTickDesc},
		{Tick: simdb.Int64(1)},
		{Tick: simdb.Int64(1), Sort: simdb.SortTickDesc},
		{AgentID: "BANK_C"},
		{AgentID: "BANK_C", Sort: simdb.SortTickDesc},
		{TickMin: simdb.Int64(1), EventTypes: []string{"RtgsImmediateSettlement"}},
		{Day: simdb.Int64(0), AgentID: "BANK_A", EventTypes: []string{"Arrival"}, Sort: simdb.SortTickDesc},
		{TxID: "b-1-2499"},
		// Limit and Offset are ignored by the stream.
		{Limit: 10, Offset: 2000},
	}
	for _, f := range cases {
		want := refQuery(refs, simdb.EventFilter{Tick: f.Tick, TickMin: f.TickMin, TickMax: f.TickMax, Day: f.Day,
			AgentID: f.AgentID, TxID: f.TxID, EventTypes: f.EventTypes, Sort: f.Sort})
		if len(want) == 0 {
			t.Fatalf("%+v: reference is empty", f)
		}
		evs := streamAll(t, b.store, "busy", f)
		checkOrder(t, evs, f.Sort == simdb.SortTickDesc)
		if got := simdbtest.Seqs(evs); !slices.Equal(got, want) {
			t.Errorf("%+v: streamed %d events, want %d (first diff somewhere in %v...)", f, len(got), len(want), got[:min(5, len(got))])
		}
	}
	asc := simdbtest.Seqs(streamAll(t, b.store, "busy", simdb.EventFilter{}))
	desc := simdbtest.Seqs(streamAll(t, b.store, "busy", simdb.EventFilter{Sort: simdb.SortTickDesc}))
	if len(asc) != len(lines) || !slices.Equal(desc, reversed(asc)) {
		t.Fatalf("asc %d events, desc %d; desc must be the exact reverse", len(asc), len(desc))
	}
	for i, s := range asc {
		if s != int64(i) {
			t.Fatalf("asc[%d] = seq %d", i, s)
		}
	}

	// A page never holds more than 1,000, but the total counts everything,
	// and paging reaches every event of the busy tick.
	page, err := b.store.GetSimulationEvents(b.ctx, "busy", simdb.EventFilter{Tick: simdb.Int64(1), Limit: 5000})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 1000 || page.Total != 2500 || page.Limit != 1000 {
		t.Fatalf("tick 1 page: %d events, total %d, limit %d", len(page.Events), page.Total, page.Limit)
	}
	for _, order := range []string{simdb.SortTickAsc, simdb.SortTickDesc} {
		f := simdb.EventFilter{TickMin: simdb.Int64(0), TickMax: simdb.Int64(3), Sort: order}
		want := refQuery(refs, f)
		byKey := keysetPages(t, b.store, "busy", f, 1000)
		byOffset, total := offsetPages(t, b.store, "busy", f, 1000)
		if !slices.Equal(byKey, want) || !slices.Equal(byOffset, want) || total != int64(len(want)) {
			t.Fatalf("%s: keyset %d, offset %d (total %d), want %d", order, len(byKey), len(byOffset), total, len(want))
		}
	}
}

// TestQueryStreamHugeTick crosses StreamEvents' internal read size inside
// one tick: 22,500 events in tick 2, four and a half of the provider's
// 5,000-seq windows (more than the three it reads ahead).
func TestQueryStreamHugeTick(t *testing.T) {
	t.Parallel()
	b := setup(t, simdb.Options{})
	b.start(t, "huge")
	var lines []string
	for tick, n := range []int{3, 1, 22_500, 2} {
		for i := 0; i < n; i++ {
			lines = append(lines, arrival(tick, fmt.Sprintf("h-%d-%d", tick, i)))
		}
	}
	persistByTick(t, b, "huge", toBytes(lines))
	asc := streamAll(t, b.store, "huge", simdb.EventFilter{})
	checkOrder(t, asc, false)
	if len(asc) != len(lines) {
		t.Fatalf("asc: %d events, want %d", len(asc), len(lines))
	}
	for i, ev := range asc {
		if ev.Seq != int64(i) {
			t.Fatalf("asc[%d] has seq %d", i, ev.Seq)
		}
	}
	desc := streamAll(t, b.store, "huge", simdb.EventFilter{Sort: simdb.SortTickDesc})
	checkOrder(t, desc, true)
	if !slices.Equal(simdbtest.Seqs(desc), reversed(simdbtest.Seqs(asc))) {
		t.Fatalf("desc (%d events) is not the exact reverse of asc", len(desc))
	}
	one := streamAll(t, b.store, "huge", simdb.EventFilter{Tick: simdb.Int64(2), Sort: simdb.SortTickDesc})
	if len(one) != 22_500 || one[0].Seq != 22_503 || one[len(one)-1].Seq != 4 {
		t.Fatalf("tick 2 desc: %d events", len(one))
	}
	// A cursor handed to the stream continues from there.
	from := streamAll(t, b.store, "huge", simdb.EventFilter{After: &simdb.Cursor{Tick: 2, Seq: 10_000}})
	if len(from) != len(lines)-10_001 || from[0].Seq != 10_001 {
		t.Fatalf("stream after seq 10000: %d events, first %+v", len(from), from[0])
	}
}

// TestQueryStreamCancellation cancels a stream of 20,000 events at its
// start, inside and at the edge of the provider's 5,000-seq windows and at
// its last event: four windows, one more than it reads ahead, so an early
// cancel also meets the reader waiting for a free slot.
func TestQueryStreamCancellation(t *testing.T) {
	b := setup(t, simdb.Options{})
	b.start(t, "c")
	var lines []string
	for tick := 0; tick < 4; tick++ {
		for i := 0; i < 5_000; i++ {
			lines = append(lines, arrival(tick, fmt.Sprintf("c-%d-%d", tick, i)))
		}
	}
	persistByTick(t, b, "c", toBytes(lines))

	for _, cancelAt := range []int{1, 100, 9_999, 10_000, 19_999} {
		t.Run(fmt.Sprint(cancelAt), func(t *testing.T) {
			ctx, cancel := context.WithCancel(b.ctx)
			defer cancel()
			var before, afterCancel, afterErr, errs int
			var gotErr error
			for _, err := range b.store.StreamEvents(ctx, "c", simdb.EventFilter{}) {
				if err != nil {
					errs++
					gotErr = err
					continue
				}
				if errs > 0 {
					afterErr++
				}
				if ctx.Err() != nil {
					afterCancel++
					continue
				}
				before++
				if before == cancelAt {
					cancel()
				}
			}
			if before != cancelAt {
				t.Fatalf("%d events before the cancel, want %d", before, cancelAt)
			}
			if afterCancel != 0 || afterErr != 0 {
				t.Fatalf("%d events yielded after cancel (%d after the error)", afterCancel, afterErr)
			}
			if errs != 1 || !errors.Is(gotErr, context.Canceled) {
				t.Fatalf("%d errors, last %v; want one context.Canceled", errs, gotErr)
			}
		})
	}

	t.Run("cancelled before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(b.ctx)
		cancel()
		n, errs := 0, 0
		var gotErr error
		for _, err := range b.store.StreamEvents(ctx, "c", simdb.EventFilter{}) {
			if err != nil {
				errs++
				gotErr = err
				continue
			}
			n++
		}
		if n != 0 || errs != 1 || !errors.Is(gotErr, context.Canceled) {
			t.Fatalf("%d events, %d errors (%v)", n, errs, gotErr)
		}
	})

	t.Run("consumer stops", func(t *testing.T) {
		n := 0
		for ev, err := range b.store.StreamEvents(b.ctx, "c", simdb.EventFilter{Sort: simdb.SortTickDesc}) {
			if err != nil {
				t.Fatal(err)
			}
			if ev.Seq != int64(len(lines)-1-n) {
				t.Fatalf("event %d has seq %d", n, ev.Seq)
			}
			n++
			if n == 15_000 {
				break
			}
		}
		if n != 15_000 {
			t.Fatalf("%d events", n)
		}
	})
}

// --- Keyset cursor ---

func TestQueryKeysetMatchesOffset(t *testing.T) {
	testutil.SkipUnderMakeRace(t, "every filter paged both ways, one query at a time")
	t.Parallel()
	b, refs := fixtureStore(t, simdb.Options{})
	filters := []simdb.EventFilter{
		{},
		{AgentID: "BANK_B"},
		{TickMin: simdb.Int64(3), TickMax: simdb.Int64(24), EventTypes: []string{"Arrival", "PolicyHold", "LsmCycleSettlement"}},
		{Day: simdb.Int64(1)},
		{TickMin: simdb.Int64(5), TickMax: simdb.Int64(17)}, // offsets move the seq range
		{Tick: simdb.Int64(9)},
		{Day: simdb.Int64(2), AgentID: "BANK_D"}, // small enough for pages of 1
	}
	for _, base := range filters {
		for _, order := range []string{simdb.SortTickAsc, simdb.SortTickDesc} {
			f := base
			f.Sort = order
			want := refQuery(refs, f)
			limits := []int{7, 1000}
			if len(refQuery(refs, f)) <= 60 {
				limits = append(limits, 1)
			}
			for _, limit := range limits {
				byKey := keysetPages(t, b.store, "q", f, limit)
				byOffset, _ := offsetPages(t, b.store, "q", f, limit)
				if !slices.Equal(byKey, want) || !slices.Equal(byOffset, want) {
					t.Fatalf("%+v limit %d:\n keyset %v\n offset %v\n  want %v", f, limit, byKey, byOffset, want)
				}
				seen := map[int64]bool{}
				for _, s := range byKey {
					if seen[s] {
						t.Fatalf("%+v limit %d: seq %d twice", f, limit, s)
					}
					seen[s] = true
				}
			}
			// Offset and cursor combine: skip within what follows the cursor.
			if len(want) > 6 {
				ev := seekSeq(t, b, f, want[2])
				f2 := f
				f2.After, f2.Offset, f2.Limit = &simdb.Cursor{Tick: ev.Tick, Seq: ev.Seq}, 2, 3
				page, err := b.store.GetSimulationEvents(b.ctx, "q", f2)
				if err != nil {
					t.Fatal(err)
				}
				if got := simdbtest.Seqs(page.Events); !slices.Equal(got, want[5:min(8, len(want))]) || page.Total != int64(len(want)) {
					t.Fatalf("%+v after seq %d, offset 2: %v (total %d), want %v", f, want[2], got, page.Total, want[5:min(8, len(want))])
				}
			}
		}
	}
	asc := keysetPages(t, b.store, "q", simdb.EventFilter{}, 5)
	desc := keysetPages(t, b.store, "q", simdb.EventFilter{Sort: simdb.SortTickDesc}, 5)
	if !slices.Equal(desc, reversed(asc)) || len(asc) != len(refs) {
		t.Fatal("desc keyset paging is not the exact reverse of asc")
	}
}

func seekSeq(t *testing.T, b *testBundle, f simdb.EventFilter, seq int64) simdb.StoredEvent {
	t.Helper()
	for _, ev := range streamAll(t, b.store, "q", f) {
		if ev.Seq == seq {
			return ev
		}
	}
	t.Fatalf("seq %d not found", seq)
	return simdb.StoredEvent{}
}
