//go:build duckdb_arrow

package provider

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"unsafe"
)

// TestReuseAllocatorKeepsAndClearsBlocks checks the Arrow writer's
// allocator: a freed block serves the next request it fits, cleared, even
// one a little larger than the block was first asked for; a request it
// would waste over half of gets new memory; no more than maxKeptBytes are
// kept; and release hands everything back to the C library.
func TestReuseAllocatorKeepsAndClearsBlocks(t *testing.T) {
	a := newReuseAllocator()
	b := a.Allocate(1 << 20)
	if len(b) != 1<<20 {
		t.Fatalf("Allocate(1 MiB) gave %d bytes", len(b))
	}
	for i := range b {
		b[i] = 0xff
	}
	first, room := unsafe.SliceData(b), cap(b)
	a.Free(b)
	if a.inUse() != 0 || a.kept != room {
		t.Fatalf("after Free: in use %d, kept %d, want 0 and %d", a.inUse(), a.kept, room)
	}

	c := a.Allocate(1<<20 + 1000) // the next group's slightly larger column
	if unsafe.SliceData(c) != first || len(c) != 1<<20+1000 {
		t.Fatalf("a fitting request got new memory (or length %d)", len(c))
	}
	for i, v := range c {
		if v != 0 {
			t.Fatalf("reused byte %d is %#x, want 0", i, v)
		}
	}
	if a.inUse() != int64(room) || a.kept != 0 {
		t.Fatalf("after reuse: in use %d, kept %d", a.inUse(), a.kept)
	}
	c[len(c)-1] = 0xff
	grown := a.Reallocate(len(c)+100, c)
	if unsafe.SliceData(grown) != first || grown[len(c)-1] != 0xff || grown[len(grown)-1] != 0 {
		t.Fatal("Reallocate within the block's room moved it, lost a byte or left stale bytes")
	}
	a.Free(grown)

	small := a.Allocate(1000)
	if unsafe.SliceData(small) == first {
		t.Error("a 1,000-byte request took the kept 1 MiB block")
	}
	a.Free(small)

	var big [][]byte
	for range 2 * maxKeptBytes / (16 << 20) {
		big = append(big, a.Allocate(16<<20))
	}
	for _, b := range big {
		a.Free(b)
	}
	if a.kept > maxKeptBytes {
		t.Errorf("kept %d bytes, more than maxKeptBytes %d", a.kept, maxKeptBytes)
	}
	if a.inUse() != 0 {
		t.Errorf("in use after every block was freed: %d", a.inUse())
	}
	a.release()
	if n := a.c.AllocatedBytes(); n != 0 || a.kept != 0 {
		t.Errorf("after release the C library still holds %d bytes (kept %d)", n, a.kept)
	}
}

// TestReuseAllocatorSweepKeepsOneGroup checks that what stays between
// commit groups is what the last group used: a block kept at one sweep and
// not used before the next is returned to the C library.
func TestReuseAllocatorSweepKeepsOneGroup(t *testing.T) {
	a := newReuseAllocator()
	// Group 1 uses a large and a small column.
	large, small := a.Allocate(4<<20), a.Allocate(64<<10)
	a.Free(large)
	a.Free(small)
	a.sweep()
	if a.kept != cap(large)+cap(small) {
		t.Fatalf("after group 1: kept %d, want both blocks (%d)", a.kept, cap(large)+cap(small))
	}
	// Group 2 uses only a large column: the small block goes back.
	again := a.Allocate(4 << 20)
	if unsafe.SliceData(again) != unsafe.SliceData(large) {
		t.Fatal("group 2's large column did not reuse group 1's block")
	}
	a.Free(again)
	a.sweep()
	if a.kept != cap(large) || len(a.free) != 1 {
		t.Fatalf("after group 2: kept %d in %d blocks, want only the large block (%d)", a.kept, len(a.free), cap(large))
	}
	if n := a.c.AllocatedBytes(); n != int64(cap(large)) {
		t.Errorf("the C library holds %d bytes, want the large block's %d", n, cap(large))
	}
	a.release()
	if n := a.c.AllocatedBytes(); n != 0 {
		t.Errorf("after release the C library still holds %d bytes", n)
	}
}

// inUse is the C memory a allocated and neither kept nor freed.
func (a *reuseAllocator) inUse() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.c.AllocatedBytes() - int64(a.kept)
}

// BenchmarkArrowWriterKeptMemory persists the medium stream tick by tick,
// Buffered with the default groups, and reports the most C memory the
// Arrow writer kept between commit groups (kept-MB, capacity, of which
// what a group wrote is resident): what a Store holds until its next
// commit or Close.
//
//	SIMDB_CORPUS=../../../shared/data/simcash-events go test -tags duckdb_arrow -run '^$' -bench ArrowWriterKeptMemory -benchtime 1x ./internal/provider
func BenchmarkArrowWriterKeptMemory(b *testing.B) {
	ticks, _ := mediumTicks(b)
	ctx := context.Background()
	most := 0
	for range b.N {
		s, err := Open(ctx, filepath.Join(b.TempDir(), "kept.duckdb"), Options{})
		if err != nil {
			b.Fatal(err)
		}
		const id = "m"
		if err := s.PersistSimulationStart(ctx, id, json.RawMessage(`{"ticks_per_day":100}`), StartOptions{}); err != nil {
			b.Fatal(err)
		}
		a := s.be.(duckdbBackend).events.alloc
		for tick, evs := range ticks {
			if _, err := s.PersistTickEvents(ctx, id, int64(tick), evs); err != nil {
				b.Fatal(err)
			}
			a.mu.Lock()
			most = max(most, a.kept)
			a.mu.Unlock()
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(most)/(1<<20), "kept-MB")
}
