package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
)

// TestGrowPendingJumpsToTheGroup: a buffer past pendingJump events that
// must grow grows to the whole commit group at once, instead of doubling
// (the copies cost 6% of an ingest); a small buffer, a Durable one (group
// 0) and one whose group is over maxGroupJump grow as append does.
func TestGrowPendingJumpsToTheGroup(t *testing.T) {
	cases := []struct {
		name           string
		have, n        int
		group          int
		wantCapAtLeast int
		wantCapBelow   int // 0: no bound
	}{
		{"past the jump", pendingJump, 300, 50_000, 62_500, 0},
		{"a full group growing again", 50_100, 700, 50_000, 62_500, 0},
		{"small", 100, 300, 50_000, 400, 50_000},
		{"durable", pendingJump, 300, 0, pendingJump + 300, 50_000},
		{"huge group", pendingJump, 300, maxGroupJump + 1, pendingJump + 300, maxGroupJump},
		{"a tick larger than the group", pendingJump, 60_000, 50_000, pendingJump + 60_000, 0},
	}
	for _, c := range cases {
		p := make([]pendingEvent, c.have)
		p[c.have-1].seq = 7
		got := growPending(p, c.n, c.group)
		if len(got) != c.have || got[c.have-1].seq != 7 {
			t.Errorf("%s: the buffered events were not kept (len %d)", c.name, len(got))
		}
		if cap(got) < c.wantCapAtLeast || (c.wantCapBelow > 0 && cap(got) >= c.wantCapBelow) {
			t.Errorf("%s: cap %d, want at least %d and below %d", c.name, cap(got), c.wantCapAtLeast, c.wantCapBelow)
		}
	}
	if p := make([]pendingEvent, 10, 100); &growPending(p, 5, 50_000)[0] != &p[0] {
		t.Error("a buffer with room was reallocated")
	}
}

// TestPersistTickEventsBuffersAWholeGroupInOneStep persists ticks of a
// Buffered run past pendingJump events: the buffer then has room for the
// whole group, and the events are stored as given.
func TestPersistTickEventsBuffersAWholeGroupInOneStep(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "g.duckdb"), Options{FlushEvents: 20_000})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.PersistSimulationStart(ctx, "g", json.RawMessage(`{"ticks_per_day":10}`), StartOptions{}); err != nil {
		t.Fatal(err)
	}
	const perTick = 1000
	for tick := range 6 {
		evs := make([]json.RawMessage, perTick)
		for i := range evs {
			evs[i] = json.RawMessage(fmt.Sprintf(`{"event_type":"Arrival","tick":%d,"tx_id":"t%d-%d"}`, tick, tick, i))
		}
		if _, err := s.PersistTickEvents(ctx, "g", int64(tick), evs); err != nil {
			t.Fatal(err)
		}
	}
	st, err := s.lockSim(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	pending, c := len(st.pending), cap(st.pending)
	st.mu.Unlock()
	if pending != 6*perTick || c < 20_000 {
		t.Fatalf("%d events pending in a buffer of %d, want %d in at least 20,000", pending, c, 6*perTick)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var n, last int64
	if err := s.DB().QueryRowContext(ctx, "SELECT count(*), max(seq) FROM simulation_events WHERE tx_id = 't5-999'").Scan(&n, &last); err != nil {
		t.Fatal(err)
	}
	if n != 1 || last != 6*perTick-1 {
		t.Fatalf("the last event: %d rows, seq %d; want 1 row, seq %d", n, last, 6*perTick-1)
	}
}
