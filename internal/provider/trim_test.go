package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// With TrimCHeap the store trims the C heap once a row group's worth of
// events has committed since the last trim, and the events are stored as
// without it; without the option it never trims.
func TestTrimCHeapEveryRowGroupOfEvents(t *testing.T) {
	for _, trim := range []bool{true, false} {
		t.Run(fmt.Sprint("trim=", trim), func(t *testing.T) {
			ctx := context.Background()
			s, err := Open(ctx, filepath.Join(t.TempDir(), "trim.duckdb"), Options{TrimCHeap: trim, FlushEvents: 5_000, FlushInterval: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.PersistSimulationStart(ctx, "t", json.RawMessage(`{"ticks_per_day":100}`), StartOptions{}); err != nil {
				t.Fatal(err)
			}
			const ticks, perTick = 80, 500 // 40,000 events in groups of 5,000
			for tick := range ticks {
				evs := make([]json.RawMessage, perTick)
				for i := range evs {
					evs[i] = json.RawMessage(fmt.Sprintf(`{"event_type":"Arrival","tick":%d,"tx_id":"tx-%d-%d","sender_id":"A","receiver_id":"B","amount":1}`, tick, tick, i))
				}
				if _, err := s.PersistTickEvents(ctx, "t", int64(tick), evs); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			s.writeMu.Lock()
			untrimmed := s.untrimmed
			s.writeMu.Unlock()
			want := ticks * perTick // never trimmed
			if trim {
				// Groups of 5,000: the first trim follows the 7th group
				// (35,000 events ≥ 32,768), and 5,000 have come since.
				want = ticks*perTick - 35_000
			}
			if untrimmed != want {
				t.Fatalf("%d events committed since the last trim, want %d", untrimmed, want)
			}
			var n int64
			if err := s.sqlDB().QueryRowContext(ctx, `SELECT count(*) FROM simulation_events WHERE simulation_id = 't'`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != ticks*perTick {
				t.Fatalf("%d events stored, want %d", n, ticks*perTick)
			}
		})
	}
}
