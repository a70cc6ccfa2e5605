package simdb_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/simcash/simdb"
)

// IngestJSONL with Resume matches the stream against the run as this Store
// knows it, ticks it has buffered but not committed included: they are
// committed first, skipped like any stored tick, and the stream continues
// after them. A stream that differs from the buffered ticks is refused, and
// a finished run cannot be resumed.
func TestResumeAfterBufferedTicks(t *testing.T) {
	// A group size and interval that never commit on their own here.
	b := setup(t, simdb.Options{FlushEvents: 1 << 20, FlushInterval: time.Hour})
	b.start(t, "run")
	for tick := range 2 {
		if _, err := b.store.PersistTickEvents(b.ctx, "run", int64(tick), raws(arrival(tick, "tx-a"), settlement(tick, "tx-a"))); err != nil {
			t.Fatal(err)
		}
	}
	stream := func(last int) string {
		var s strings.Builder
		for tick := range last + 1 {
			s.WriteString(arrival(tick, "tx-a") + "\n" + settlement(tick, "tx-a") + "\n")
		}
		return s.String()
	}

	other := strings.Replace(stream(2), `"tx-a"`, `"tx-other"`, 1)
	if _, err := b.store.IngestJSONL(b.ctx, "run", strings.NewReader(other), simdb.IngestOptions{Resume: true}); !errors.Is(err, simdb.ErrResumeMismatch) {
		t.Fatalf("resume with a different first event: err = %v, want ErrResumeMismatch", err)
	}

	res, err := b.store.IngestJSONL(b.ctx, "run", strings.NewReader(stream(2)), simdb.IngestOptions{Resume: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped != 4 || res.Events != 2 || res.Ticks != 1 {
		t.Fatalf("resume: skipped %d, persisted %d events in %d ticks; want 4 skipped, 2 events in 1 tick", res.Skipped, res.Events, res.Ticks)
	}
	page, err := b.store.GetSimulationEvents(b.ctx, "run", simdb.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 6 || len(page.Events) != 6 {
		t.Fatalf("after the resume: total %d, %d events; want 6", page.Total, len(page.Events))
	}
	for i, ev := range page.Events {
		if ev.Seq != int64(i) || ev.Tick != int64(i/2) {
			t.Fatalf("event %d: seq %d tick %d, want seq %d tick %d", i, ev.Seq, ev.Tick, i, i/2)
		}
	}

	if err := b.store.PersistSimulationFailed(b.ctx, "run", "stopped"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.IngestJSONL(b.ctx, "run", strings.NewReader(stream(3)), simdb.IngestOptions{Resume: true}); !errors.Is(err, simdb.ErrSimulationNotRunning) {
		t.Fatalf("resume of a failed run: err = %v, want ErrSimulationNotRunning", err)
	}
}

// A page's total for event types alone comes from the per-type counts; a
// type listed twice is still one type, counted once, as the events are.
func TestEventTypeTotalCountsEachTypeOnce(t *testing.T) {
	b := setup(t, simdb.Options{})
	b.start(t, "types")
	for tick := range 3 {
		if _, err := b.store.PersistTickEvents(b.ctx, "types", int64(tick), raws(arrival(tick, "tx-a"), arrival(tick, "tx-b"), settlement(tick, "tx-a"))); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		types []string
		want  int64
	}{
		{[]string{"Arrival"}, 6},
		{[]string{"Arrival", "Arrival"}, 6},
		{[]string{"Arrival", "RtgsImmediateSettlement", "Arrival"}, 9},
		{[]string{"RtgsImmediateSettlement", "NoSuchType"}, 3},
		{[]string{"NoSuchType"}, 0},
	} {
		page, err := b.store.GetSimulationEvents(b.ctx, "types", simdb.EventFilter{EventTypes: tc.types})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != tc.want || int64(len(page.Events)) != tc.want {
			t.Errorf("types %v: total %d, %d events; want %d", tc.types, page.Total, len(page.Events), tc.want)
		}
	}
}
