//go:build duckdb_arrow

package provider

import (
	"testing"
	"time"

	"github.com/simcash/simdb/internal/event"
	"github.com/simcash/simdb/internal/testutil"
)

// BenchmarkBuildEventBatch builds the Arrow record batches of the medium
// stream's 159,143 events (decoded in advance), as eventWriter.write does for a
// commit group, and releases them: the Arrow writer's Go work per event,
// without DuckDB. Reports ns/event and allocs/event:
//
//	SIMDB_CORPUS=../../../shared/data/simcash-events go test -tags duckdb_arrow -run '^$' -bench BuildEventBatch -benchmem ./internal/provider
func BenchmarkBuildEventBatch(b *testing.B) {
	lines := testutil.ReadLines(b, testutil.CorpusFile(b, "medium.jsonl.gz"))
	rows := make([]pendingEvent, len(lines))
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, line := range lines {
		ev, err := event.Decode(line)
		if err != nil {
			b.Fatal(err)
		}
		rows[i] = pendingEvent{ev: ev, seq: int64(i), tick: ev.Tick, day: ev.Tick / 100, at: at.Add(time.Duration(i) * time.Microsecond)}
	}
	alloc := newReuseAllocator()
	schema := eventSchema()
	report := testutil.PerEvent(b, len(rows))
	for range b.N {
		for start := 0; start < len(rows); start += arrowBatchRows {
			buildEventBatch(alloc, schema, "medium", rows[start:min(start+arrowBatchRows, len(rows))], at).Release()
		}
	}
	report()
	if n := alloc.inUse(); n != 0 {
		b.Fatalf("%d bytes of C memory left in use", n)
	}
	alloc.release()
}
