package provider

import (
	"strconv"
	"strings"
	"unsafe"

	"github.com/simcash/simdb/internal/event"
)

// rowArena hands out the small values StoredEvents point to (the optional
// strings and integers, the agent and transaction lists, the transaction
// ids' text) from blocks shared by many events: allocating each separately
// made a full stream read spend most of its time in the allocator and the
// GC. The cost: an event the caller keeps keeps its blocks alive, and with
// them the transaction ids of up to a few hundred neighbouring events
// (tens of KB); agent ids and types are interned, and no block holds any
// event's details, so a consumer that keeps a sparse subset of a long
// stream does not keep the stream's details.
type rowArena struct {
	strs  []string
	ints  []int64
	lists []string
	bytes []byte
}

const (
	arenaBlock = 1024     // values per block of strs, ints and lists
	textBlock  = 16 << 10 // bytes per block of text
)

func (a *rowArena) str(s string) *string {
	if len(a.strs) == cap(a.strs) {
		a.strs = make([]string, 0, arenaBlock)
	}
	a.strs = append(a.strs, s)
	return &a.strs[len(a.strs)-1]
}

func (a *rowArena) int(v int64) *int64 {
	if len(a.ints) == cap(a.ints) {
		a.ints = make([]int64, 0, arenaBlock)
	}
	a.ints = append(a.ints, v)
	return &a.ints[len(a.ints)-1]
}

// list returns a slice of n strings for the caller to fill, never nil. Its
// capacity is its length, so a caller's append cannot reach its
// neighbours.
func (a *rowArena) list(n int) []string {
	switch {
	case n == 0:
		return []string{} // empty, not nil: JSON says [], not null
	case n > arenaBlock/8:
		return make([]string, n)
	}
	if cap(a.lists)-len(a.lists) < n {
		a.lists = make([]string, 0, arenaBlock)
	}
	start := len(a.lists)
	a.lists = a.lists[:start+n]
	return a.lists[start : start+n : start+n]
}

// text returns a copy of s that owes nothing to the memory s is in.
func (a *rowArena) text(s string) string {
	switch {
	case s == "":
		return ""
	case len(s) > textBlock/16:
		return strings.Clone(s)
	}
	start := a.reserve(len(s))
	a.bytes = append(a.bytes, s...)
	return a.since(start)
}

// eventID returns prefix followed by seq in decimal: an event_id.
func (a *rowArena) eventID(prefix string, seq int64) string {
	if len(prefix) > textBlock/16 {
		return prefix + strconv.FormatInt(seq, 10)
	}
	start := a.reserve(len(prefix) + 20)
	a.bytes = strconv.AppendInt(append(a.bytes, prefix...), seq, 10)
	return a.since(start)
}

// reserve makes room for n more bytes of text and returns where they
// start.
func (a *rowArena) reserve(n int) int {
	if cap(a.bytes)-len(a.bytes) < n {
		a.bytes = make([]byte, 0, textBlock)
	}
	return len(a.bytes)
}

// since returns the text appended from start on. The block's bytes are
// never written again once handed out.
func (a *rowArena) since(start int) string {
	return unsafe.String(&a.bytes[start], len(a.bytes)-start)
}

func (a *rowArena) intOf(raw string, kind event.Kind) *int64 {
	if v, ok := event.IntOf(raw, kind); ok {
		return a.int(v)
	}
	return nil
}
