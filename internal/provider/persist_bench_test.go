package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/simcash/simdb/internal/event"
	"github.com/simcash/simdb/internal/testutil"
)

// mediumTicks is the medium SimCash stream grouped by tick, as raw lines.
func mediumTicks(b *testing.B) (ticks [][]json.RawMessage, n int) {
	lines := testutil.ReadLines(b, testutil.CorpusFile(b, "medium.jsonl.gz"))
	last := int64(-1)
	for _, line := range lines {
		ev, err := event.Decode(line)
		if err != nil {
			b.Fatal(err)
		}
		if ev.Tick != last {
			ticks = append(ticks, nil)
			last = ev.Tick
		}
		ticks[len(ticks)-1] = append(ticks[len(ticks)-1], line)
	}
	return ticks, len(lines)
}

// BenchmarkPersistTickEvents persists the medium stream (159,143 events)
// tick by tick into a fresh file, Buffered with the default groups, and
// completes it: the provider's whole write path, end to end. Reports
// ns/event and allocs/event:
//
//	SIMDB_CORPUS=../../../shared/data/simcash-events go test -tags duckdb_arrow -run '^$' -bench PersistTickEvents -benchmem ./internal/provider
func BenchmarkPersistTickEvents(b *testing.B) {
	ticks, n := mediumTicks(b)
	ctx := context.Background()
	dir := b.TempDir()
	report := testutil.PerEvent(b, n)
	for i := range b.N {
		persistRun(ctx, b, filepath.Join(dir, fmt.Sprintf("b%d.duckdb", i)), Options{}, ticks)
	}
	report()
}

// persistRun opens path, persists ticks as run "m" tick by tick, completes
// it and closes the Store: the provider's whole write path, end to end.
func persistRun(ctx context.Context, b *testing.B, path string, opts Options, ticks [][]json.RawMessage) {
	b.Helper()
	s, err := Open(ctx, path, opts)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.PersistSimulationStart(ctx, "m", json.RawMessage(`{"ticks_per_day":100}`), StartOptions{}); err != nil {
		b.Fatal(err)
	}
	for tick, evs := range ticks {
		if _, err := s.PersistTickEvents(ctx, "m", int64(tick), evs); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.PersistSimulationComplete(ctx, "m", Metrics{}); err != nil {
		b.Fatal(err)
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
}
