package event

import "unsafe"

// Parties derives again, from what a row stores of an event, the Agents
// and TxIDs that Decode gave it, so a reader has them without reading the
// agents and tx_ids list columns (which cost DuckDB about as much to
// produce as every other column together): the same keys (roleOf), the
// same order of first appearance — the lifted agent_id and tx_id counted at
// the positions the layout records — and no repeats. Decode applies the
// same rules (roleOf, addParty) to the members in order as it builds the
// row; FuzzDecode holds both to a reference built on encoding/json, and to
// each other.
//
// A Parties is reused from row to row, by one goroutine.
type Parties struct {
	agents, txIDs uniqueList
	members       []member
}

// Scan reads one stored row: its details object, its key layout, and its
// agent_id and tx_id columns (used only where the layout says they were
// lifted out of the object). each, when not nil, is called with every
// details member in order, as Members does, so a reader that wants
// other fields of details scans the object once.
//
// It returns false when details is not a JSON object, the layout does not
// fit it, or a party's string does not decode — a row Decode did not
// write; the lists then hold what could be read. After Scan, Agents and
// TxIDs return the lists; they are valid until the next Scan and their
// strings may be substrings of details, agentID and txID.
func (p *Parties) Scan(details string, layout int32, agentID, txID string, each func(key, raw string, kind Kind)) bool {
	p.agents.reset()
	p.txIDs.reset()
	// Read-only view of details' bytes: splitMembers never writes. The
	// row was validated when it was written; reading it need not repeat
	// that.
	members, ok := splitMembers(unsafe.Slice(unsafe.StringData(details), len(details)), p.members[:0])
	p.members = members
	if !ok {
		return false
	}
	var at [numLifted]int
	n := len(members)
	for k := range at {
		at[k] = int(layout>>(7*k)&0x7f) - 1
		if at[k] >= 0 {
			n++
		}
	}
	next := 0
	for pos := range n {
		switch liftedAt(at, pos) {
		case liftAgent:
			p.agents.add(agentID)
		case liftTx:
			p.txIDs.add(txID)
		case -1:
			if next == len(members) {
				return false
			}
			m := &members[next]
			next++
			raw := details[m.valStart:m.valEnd]
			if each != nil {
				each(m.key, raw, m.kind)
			}
			if !addParty(&p.agents, &p.txIDs, m.key, raw, m.kind) {
				return false
			}
		}
	}
	return next == len(members)
}

// addParty adds what one details member names, by Decode's rules.
func addParty(agents, txIDs *uniqueList, key, raw string, kind Kind) bool {
	switch r := roleOf(key); {
	case r == roleParty && kind == KindString:
		s, ok := StringText(raw)
		agents.add(s)
		return ok
	case r == roleTx && kind == KindString:
		s, ok := StringText(raw)
		txIDs.add(s)
		return ok
	case r == rolePartyList && kind == KindArray:
		return agents.addArray(raw)
	case r == roleTxList && kind == KindArray:
		return txIDs.addArray(raw)
	}
	return true
}

// Agents returns the agents the last scanned row names.
func (p *Parties) Agents() []string { return p.agents.list }

// TxIDs returns the transactions the last scanned row names.
func (p *Parties) TxIDs() []string { return p.txIDs.list }

// reset empties u for the next row, keeping its buffer.
func (u *uniqueList) reset() {
	clear(u.list)
	u.list = u.list[:0]
	u.set = nil
}

// addArray adds the string elements of a JSON array: elements that are not
// strings (null, numbers) name nobody.
func (u *uniqueList) addArray(arr string) bool {
	b := unsafe.Slice(unsafe.StringData(arr), len(arr))
	i := skipSpace(b, 1)
	if i < len(b) && b[i] == ']' {
		return true
	}
	for i < len(b) {
		end, kind := skipValue(b, i)
		if end < 0 {
			return false
		}
		if kind == KindString {
			s, ok := StringText(arr[i:end])
			if !ok {
				return false
			}
			u.add(s)
		}
		i = skipSpace(b, end)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
			continue
		}
		break
	}
	return true
}
