package event

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// Events decoded in one Arena from one reused line buffer (as a stream is
// read) keep their own memory: each equals the event Decode gives for its
// line, after the buffer has been overwritten and blocks have filled.
func TestDecodeInKeepsEachEventsMemory(t *testing.T) {
	var lines []string
	for i := range 3000 { // several 64 KB blocks
		lines = append(lines, fmt.Sprintf(`{"event_type":"Arrival","tick":%d,"tx_id":"tx-%d","sender_id":"A%d","receiver_id":"B","amount":%d,"note":"%s"}`,
			i, i, i%7, i, strings.Repeat("n", i%50)))
		if i%10 == 0 {
			lines = append(lines, fmt.Sprintf(`{"event_type":"LsmCycleSettlement","tick":%d,"agents":["A","B\u0041","C"],"tx_ids":["x%d","y"],"agent_id":"Q\n"}`, i, i))
		}
	}
	var a Arena
	buf := make([]byte, 0, 4096)
	got := make([]Event, len(lines))
	for i, line := range lines {
		buf = append(buf[:0], line...)
		ev, err := DecodeIn(&a, buf)
		if err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		got[i] = ev
		if cap(ev.Details) != len(ev.Details) {
			t.Fatalf("line %d: details has room for %d more bytes: an append would reach the next event's", i, cap(ev.Details)-len(ev.Details))
		}
		for j := range buf {
			buf[j] = 'X' // the reader reuses its buffer
		}
	}
	for i, line := range lines {
		want, err := Decode([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got[i], want) {
			t.Fatalf("line %d decoded in the arena as\n%+v\nwant\n%+v", i, got[i], want)
		}
	}
}

// A PersistTickEvents call reserves its lines' total length; the events of
// the engine's lines fit in it, so the call allocates no further block.
func TestArenaReserveHoldsItsLines(t *testing.T) {
	lines := []string{
		`{"event_type":"Arrival","tick":3,"tx_id":"t-1","sender_id":"A","receiver_id":"B","amount":5,"deadline":9}`,
		`{"event_type":"PolicySubmit","tick":3,"agent_id":"A","tx_id":"t-1"}`,
		`{"event_type":"RtgsImmediateSettlement","tick":3,"tx_id":"t-1","sender":"A","receiver":"B","amount":5}`,
	}
	size := 0
	for _, l := range lines {
		size += len(l)
	}
	var a Arena
	a.Reserve(size, 2*len(lines))
	block := &a.bytes[:1][0]
	for _, l := range lines {
		if _, err := DecodeIn(&a, []byte(l)); err != nil {
			t.Fatal(err)
		}
	}
	if &a.bytes[:1][0] != block {
		t.Fatalf("the reserved %d bytes did not hold the events of %d bytes of lines: a new block was allocated", size, size)
	}
}
