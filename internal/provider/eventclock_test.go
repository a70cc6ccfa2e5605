package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/simcash/simdb/internal/testutil"
)

// A run's event_timestamps rise strictly in seq order across calls, commit
// groups and a reopen of the file, while the clock moves on, stands still
// and steps back; a clock well ahead of the floor is taken as it is.
func TestEventTimestampsRiseInSeqOrder(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "clock.duckdb")
	base := time.Date(2026, 3, 4, 5, 6, 7, 999_999_999, time.UTC)
	clock := testutil.NewClock(base)
	tick := int64(0)
	persist := func(s *Store, n int) {
		t.Helper()
		evs := make([]json.RawMessage, n)
		for i := range evs {
			evs[i] = json.RawMessage(fmt.Sprintf(`{"event_type":"Arrival","tick":%d,"tx_id":"t%d-%d","sender_id":"A","receiver_id":"B","amount":5}`, tick, tick, i))
		}
		if _, err := s.PersistTickEvents(ctx, "c", tick, evs); err != nil {
			t.Fatal(err)
		}
		tick++
	}
	// FlushEvents 7: the calls below span several background groups.
	s, err := Open(ctx, path, Options{FlushEvents: 7, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PersistSimulationStart(ctx, "c", json.RawMessage(`{"ticks_per_day":10,"num_days":5}`), StartOptions{}); err != nil {
		t.Fatal(err)
	}
	persist(s, 5) // from base, truncated to µs
	persist(s, 4) // the clock stood still
	clock.Set(base.Add(-time.Hour))
	persist(s, 6) // the clock stepped back an hour
	clock.Set(base.Add(time.Second))
	persist(s, 3) // the clock is ahead of the floor: taken as it is
	clock.Set(base.Add(time.Second + 100))
	persist(s, 2) // nanoseconds later, the same µs
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// A new Store knows nothing of the old one's floor but the file.
	clock.Set(base.Add(-24 * time.Hour))
	s, err = Open(ctx, path, Options{Durability: Durable, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	persist(s, 3)

	rows, err := s.sqlDB().QueryContext(ctx, `SELECT seq, event_timestamp FROM simulation_events WHERE simulation_id = 'c' ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []time.Time
	for rows.Next() {
		var seq int64
		var ts time.Time
		if err := rows.Scan(&seq, &ts); err != nil {
			t.Fatal(err)
		}
		if seq != int64(len(got)) {
			t.Fatalf("seq %d at row %d", seq, len(got))
		}
		got = append(got, ts.UTC())
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	first := base.Truncate(time.Microsecond)
	later := base.Add(time.Second).Truncate(time.Microsecond)
	want := make([]time.Time, 0, 23)
	for i := range 15 { // calls 1-3: the floor carries them on from base
		want = append(want, first.Add(time.Duration(i)*time.Microsecond))
	}
	for i := range 8 { // calls 4-6: from the clock, then the floor
		want = append(want, later.Add(time.Duration(i)*time.Microsecond))
	}
	if len(got) != len(want) {
		t.Fatalf("%d events stored, want %d", len(got), len(want))
	}
	for i := range want {
		if !got[i].Equal(want[i]) {
			t.Errorf("seq %d: event_timestamp %s, want %s", i, got[i].Format(time.RFC3339Nano), want[i].Format(time.RFC3339Nano))
		}
	}
}
