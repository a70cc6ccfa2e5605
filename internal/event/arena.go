package event

import "unsafe"

// Arena hands Decode the memory an event keeps (its details, its strings,
// its agent and transaction lists) out of shared blocks, so that decoding a
// stream costs a few allocations per block instead of several per event.
// An event holds on to the block its memory came from until the event is
// dropped, so an Arena suits events that live and die together: a
// PersistTickEvents call, a commit group of a stream. The zero value is
// ready to use; an Arena is not safe for concurrent use.
type Arena struct {
	bytes []byte
	strs  []string
	// last is where the latest alloc began in bytes (see keepBytes).
	last int
	// agents and txIDs are where Decode collects an event's lists before
	// keeping a copy; reused from event to event.
	agents, txIDs uniqueList
}

// scratch returns two empty lists to collect an event's agents and
// transactions in: the arena's own, or new ones without an arena.
func (a *Arena) scratch() (agents, txIDs *uniqueList) {
	if a == nil {
		return &uniqueList{}, &uniqueList{}
	}
	a.agents = uniqueList{list: a.agents.list[:0]}
	a.txIDs = uniqueList{list: a.txIDs.list[:0]}
	return &a.agents, &a.txIDs
}

// arenaBlock is the size of an Arena's byte blocks (a block is larger when
// one event needs more): about 300 of the engine's events.
const arenaBlock = 64 << 10

// arenaLists is how many list entries an Arena's string blocks hold.
const arenaLists = 2048

// Reserve makes room for at least bytes bytes and lists list entries in
// fresh blocks of exactly that size, for a caller that knows what it will
// decode (the lines' total length bounds their events' memory) and would
// waste most of a default block.
func (a *Arena) Reserve(bytes, lists int) {
	if cap(a.bytes)-len(a.bytes) < bytes {
		a.bytes = make([]byte, 0, bytes)
	}
	if cap(a.strs)-len(a.strs) < lists {
		a.strs = make([]string, 0, lists)
	}
}

// alloc returns an empty slice with room for n bytes.
func (a *Arena) alloc(n int) []byte {
	if a == nil {
		return make([]byte, 0, n)
	}
	if cap(a.bytes)-len(a.bytes) < n {
		a.bytes = make([]byte, 0, max(arenaBlock, n))
	}
	l := len(a.bytes)
	a.last = l
	a.bytes = a.bytes[:l+n]
	return a.bytes[l : l : l+n]
}

// keepBytes gives back what the arena's last alloc reserved beyond b, the
// bytes written into it: alloc reserves an upper bound (details reserves
// room for every member, the lifted ones too), and holding on to the rest
// overflowed a PersistTickEvents call's exactly reserved block into a fresh
// 64 KB one. b comes back with its capacity cut to its length, so no append
// to it can reach the next event's bytes.
func (a *Arena) keepBytes(b []byte) []byte {
	b = b[:len(b):len(b)]
	if a != nil && len(b) > 0 && len(b) <= len(a.bytes)-a.last && &a.bytes[a.last] == &b[0] {
		a.bytes = a.bytes[:a.last+len(b)]
	}
	return b
}

// str returns b as a string kept in the arena (a copy: b may be the input
// line, which the caller reuses).
func (a *Arena) str(b []byte) string {
	if a == nil {
		return string(b)
	}
	if len(b) == 0 {
		return ""
	}
	out := append(a.alloc(len(b)), b...)
	return unsafe.String(unsafe.SliceData(out), len(out))
}

// keep returns a copy of l kept in the arena (l may be in a stack buffer);
// never nil.
func (a *Arena) keep(l []string) []string {
	if len(l) == 0 {
		return []string{}
	}
	if a == nil {
		return append([]string(nil), l...)
	}
	if cap(a.strs)-len(a.strs) < len(l) {
		a.strs = make([]string, 0, max(arenaLists, len(l)))
	}
	n := len(a.strs)
	a.strs = append(a.strs, l...)
	return a.strs[n : n+len(l) : n+len(l)]
}
