//go:build duckdb_arrow

package provider

import (
	"sync"

	"github.com/apache/arrow-go/v18/arrow/memory/mallocator"
)

// reuseAllocator is the Arrow writer's allocator: C memory, as DuckDB
// requires (eventwriter_arrow.go), of which what one commit group's
// batches free is kept for the next group's instead of being returned to
// the C library.
//
// Why: a commit group's columns take megabytes, and glibc serves blocks
// that large with fresh pages from the kernel each time, so every group
// paid a page fault per 4 KB it wrote (BENCHMARKS.md). Reused blocks are
// already resident. The cost: a Store holds its last group's columns
// until its next commit or Close.
//
// The rules that keep its memory bounded:
//   - A new block has a quarter more room than asked for, so that the
//     next group's slightly larger column still fits it.
//   - A kept block serves a request it fits without wasting more than
//     half of itself, and is cleared first: the column writers rely on
//     zeroed memory (validity bitmaps, the first offset), as calloc gives.
//   - sweep, after each group, returns to the C library every kept block
//     that group did not use, so what stays between groups is one group's
//     columns; never more than maxKeptBytes in any case.
//
// Safe for concurrent use.
type reuseAllocator struct {
	c    *mallocator.Mallocator
	mu   sync.Mutex
	free []keptBlock
	kept int // bytes in free
	// round counts sweeps: a block freed since the last sweep is kept
	// through the next one.
	round int
}

// keptBlock is a freed block at its full capacity, and the round in which
// it was freed.
type keptBlock struct {
	b     []byte
	round int
}

// maxKeptBytes bounds the memory a reuseAllocator keeps.
const maxKeptBytes = 64 << 20

func newReuseAllocator() *reuseAllocator {
	return &reuseAllocator{c: mallocator.NewMallocator()}
}

// Allocate returns size zeroed bytes of C memory.
func (a *reuseAllocator) Allocate(size int) []byte {
	if b := a.take(size); b != nil {
		clear(b)
		return b
	}
	return a.c.Allocate(size + size/4)[:size]
}

// take removes and returns the smallest kept block that fits size bytes
// and is at most about twice as large, cut to size; nil if none is.
func (a *reuseAllocator) take(size int) []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	best := -1
	for i, k := range a.free {
		if c := cap(k.b); c >= size && c <= 2*size+4096 && (best < 0 || c < cap(a.free[best].b)) {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	b := a.free[best].b
	last := len(a.free) - 1
	a.free[best], a.free[last] = a.free[last], keptBlock{}
	a.free = a.free[:last]
	a.kept -= cap(b)
	return b[:size]
}

// Free keeps b for reuse, or returns it to the C library when the
// allocator already keeps maxKeptBytes.
func (a *reuseAllocator) Free(b []byte) {
	b = b[:cap(b)]
	a.mu.Lock()
	if a.kept+len(b) <= maxKeptBytes {
		a.free = append(a.free, keptBlock{b: b, round: a.round})
		a.kept += len(b)
		b = nil
	}
	a.mu.Unlock()
	if b != nil {
		a.c.Free(b)
	}
}

// Reallocate returns b grown or shrunk to size bytes, its contents kept.
func (a *reuseAllocator) Reallocate(size int, b []byte) []byte {
	if size <= cap(b) {
		if size > len(b) {
			clear(b[len(b):size])
		}
		return b[:size]
	}
	grown := a.Allocate(size)
	copy(grown, b)
	a.Free(b)
	return grown
}

// sweep returns to the C library the kept blocks that were already kept
// at the previous sweep and were not used since: called after each commit
// group, it leaves kept only what that group's batches freed.
func (a *reuseAllocator) sweep() {
	a.mu.Lock()
	var stale [][]byte
	kept := a.free[:0]
	for _, k := range a.free {
		if k.round < a.round {
			stale = append(stale, k.b)
			a.kept -= cap(k.b)
		} else {
			kept = append(kept, k)
		}
	}
	clear(a.free[len(kept):])
	a.free = kept
	a.round++
	a.mu.Unlock()
	for _, b := range stale {
		a.c.Free(b)
	}
}

// release returns every kept block to the C library.
func (a *reuseAllocator) release() {
	a.mu.Lock()
	free := a.free
	a.free, a.kept = nil, 0
	a.mu.Unlock()
	for _, k := range free {
		a.c.Free(k.b)
	}
}
