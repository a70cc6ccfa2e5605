package event

import (
	"testing"

	"github.com/simcash/simdb/internal/testutil"
)

// BenchmarkDecode decodes the medium SimCash stream's lines (159,143 events)
// and reports the cost per event: go test -run '^$' -bench Decode
// -benchmem ./internal/event (with SIMDB_CORPUS set).
func BenchmarkDecode(b *testing.B) {
	lines := testutil.ReadLines(b, testutil.CorpusFile(b, "medium.jsonl.gz"))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		for _, line := range lines {
			if _, err := Decode(line); err != nil {
				b.Fatal(err)
			}
		}
	}
	perEvent(b, len(lines))
}

// perEvent reports ns/event and allocs/event for n events per iteration.
func perEvent(b *testing.B, n int) {
	b.StopTimer()
	events := float64(b.N) * float64(n)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/events, "ns/event")
}
