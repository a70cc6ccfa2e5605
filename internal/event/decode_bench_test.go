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
	report := testutil.PerEvent(b, len(lines))
	for range b.N {
		for _, line := range lines {
			if _, err := Decode(line); err != nil {
				b.Fatal(err)
			}
		}
	}
	report()
}

// BenchmarkDecodeIn is BenchmarkDecode with the events' memory from one
// Arena, as the provider decodes.
func BenchmarkDecodeIn(b *testing.B) {
	lines := testutil.ReadLines(b, testutil.CorpusFile(b, "medium.jsonl.gz"))
	report := testutil.PerEvent(b, len(lines))
	for range b.N {
		var a Arena
		for _, line := range lines {
			if _, err := DecodeIn(&a, line); err != nil {
				b.Fatal(err)
			}
		}
	}
	report()
}
