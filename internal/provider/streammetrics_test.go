package provider

import (
	"math/rand/v2"
	"testing"
)

// hashSet must answer exactly as a map would, through every merge of its
// tail, with repeats inside the tail and across tail and sorted part.
func TestHashSetMatchesMap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var s hashSet
	want := make(map[uint64]bool)
	for i := range 200_000 {
		// A small value space forces repeats; the large one keeps most
		// values distinct.
		h := r.Uint64N(50_000)
		if i%2 == 0 {
			h = r.Uint64()
		}
		s.add(h)
		want[h] = true
		if i%9973 == 0 {
			probe := r.Uint64N(50_000)
			if s.has(probe) != want[probe] {
				t.Fatalf("after %d adds: has(%d) = %v, want %v", i+1, probe, !want[probe], want[probe])
			}
		}
	}
	s.compact()
	if len(s.sorted) != len(want) {
		t.Fatalf("set holds %d hashes, want %d distinct", len(s.sorted), len(want))
	}
	for i, h := range s.sorted {
		if !want[h] || (i > 0 && s.sorted[i-1] >= h) {
			t.Fatalf("sorted[%d] = %d: not added, or not strictly increasing", i, h)
		}
	}
	for h := range want {
		if !s.has(h) {
			t.Fatalf("has(%d) = false for an added hash", h)
		}
	}
}
