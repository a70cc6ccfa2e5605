package event

import (
	"fmt"
	"strconv"
)

// Stored is what a row keeps of an event: the lifted columns, the details
// object and the layout that says where the lifted members stood.
type Stored struct {
	Type    string
	Tick    int64
	AgentID string
	TxID    string
	Details []byte
	Layout  int32
}

var liftedKeys = [numLifted]string{`"event_type":`, `"tick":`, `"agent_id":`, `"tx_id":`}

// Rebuild appends the original event object to dst. For an event decoded
// from compact JSON (the engine's format) the result equals the input byte
// for byte. It fails only when details is not a JSON object or the layout
// does not fit it, which means the row was not written by Decode.
func Rebuild(dst []byte, s Stored) ([]byte, error) {
	var membersBuf [16]member
	members, err := scanObject(s.Details, membersBuf[:0])
	if err != nil {
		return dst, fmt.Errorf("rebuild event: details: %w", err)
	}
	var at [numLifted]int
	n := len(members)
	for k := range at {
		at[k] = int(s.Layout>>(7*k)&0x7f) - 1
		if at[k] >= 0 {
			n++
		}
	}
	dst = append(dst, '{')
	next := 0
	for pos := 0; pos < n; pos++ {
		if pos > 0 {
			dst = append(dst, ',')
		}
		k := liftedAt(at, pos)
		switch k {
		case -1:
			if next >= len(members) {
				return dst, fmt.Errorf("rebuild event: layout %#x does not fit %d details members", s.Layout, len(members))
			}
			m := &members[next]
			next++
			dst = append(dst, s.Details[m.keyStart:m.valEnd]...)
			continue
		case liftType:
			dst = append(dst, liftedKeys[k]...)
			dst = AppendString(dst, s.Type)
		case liftTick:
			dst = append(dst, liftedKeys[k]...)
			dst = strconv.AppendInt(dst, s.Tick, 10)
		case liftAgent:
			dst = append(dst, liftedKeys[k]...)
			dst = AppendString(dst, s.AgentID)
		case liftTx:
			dst = append(dst, liftedKeys[k]...)
			dst = AppendString(dst, s.TxID)
		}
	}
	if next != len(members) {
		return dst, fmt.Errorf("rebuild event: layout %#x does not fit %d details members", s.Layout, len(members))
	}
	return append(dst, '}'), nil
}

func liftedAt(at [numLifted]int, pos int) int {
	for k, p := range at {
		if p == pos {
			return k
		}
	}
	return -1
}
