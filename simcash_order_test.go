package simdb_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/testutil"
)

// SimCash's readers order events with ORDER BY tick, event_timestamp. On a
// real stream, stored by the real clock through every write path, that
// order must be exactly tick, seq: for the whole run and tick by tick.
func TestSimCashOrderIsSeqOrder(t *testing.T) {
	testutil.SkipUnderMakeRace(t, "the small stream stored through each write path, one call at a time")
	t.Parallel()
	lines := testutil.ReadLines(t, testutil.CorpusFile(t, "small.jsonl.gz"))
	for name, opts := range map[string]simdb.Options{
		"durable":  {Durability: simdb.Durable},
		"buffered": {},
		// Small groups: many background commits overlap the caller.
		"buffered-small-groups": {FlushEvents: 64},
	} {
		t.Run(name, func(t *testing.T) {
			b := setup(t, opts)
			b.start(t, "small")
			persistByTick(t, b, "small", lines)
			if err := b.store.Flush(b.ctx); err != nil {
				t.Fatal(err)
			}
			want := make([]string, len(lines))
			for i := range want {
				want[i] = fmt.Sprintf("small:%d", i)
			}
			// SimCash's event query over the whole run.
			got := testutil.QueryStrings(t, b.ctx, simdb.RawDB(b.store), `SELECT event_id FROM simulation_events WHERE simulation_id = ? ORDER BY tick, event_timestamp`, "small")
			if !slices.Equal(got, want) {
				t.Fatalf("ORDER BY tick, event_timestamp differs from seq order at %d of %d positions", differing(got, want), len(want))
			}
			// Its per-tick replay query, tick by tick.
			var all []string
			for tick := int64(0); len(all) < len(want); tick++ {
				rows := simcashRows(t, simdb.RawDB(b.store), simcashTickQuery, "small", tick)
				for _, r := range rows {
					all = append(all, r.eventID)
				}
				if tick > 10_000 {
					t.Fatalf("%d events read tick by tick, want %d", len(all), len(want))
				}
			}
			if !slices.Equal(all, want) {
				t.Fatalf("SimCash's tick query differs from seq order at %d of %d positions", differing(all, want), len(want))
			}
			// The order holds without ties to break.
			if n := b.count(t, `SELECT count(*) FROM (SELECT event_timestamp - lag(event_timestamp) OVER (ORDER BY seq) AS d
				FROM simulation_events WHERE simulation_id = 'small') WHERE d <= INTERVAL 0 MICROSECONDS`); n != 0 {
				t.Fatalf("%d events are not stamped after the event before them", n)
			}
		})
	}
}

// differing counts the positions where a and b differ, and the length
// difference.
func differing(a, b []string) int {
	n := max(len(a), len(b)) - min(len(a), len(b))
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}
