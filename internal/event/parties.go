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
	case r == roleNested && kind == KindString:
		addNestedParties(agents, txIDs, raw)
	}
	return true
}

// addNestedParties adds the parties a details_json string names. The
// engine's ScenarioEventExecuted carries its scenario's own fields there, a
// JSON object encoded as a string: from_agent, to_agent, agent and
// counterparty name agents, and the top-level keys (tx_id, sender, tx_ids…)
// keep their roles, one level deep. A string that does not hold such an
// object — not JSON, not an object, a duplicate key, nested deeper than
// MaxDepth, or a lone UTF-16 surrogate escape anywhere — names nobody and
// is no error: details_json is free text to every other reader.
func addNestedParties(agents, txIDs *uniqueList, raw string) {
	text, ok := StringText(raw)
	if !ok {
		return
	}
	b := []byte(text)
	members, err := scanObject(b, nil)
	if err != nil || nestedLoneSurrogate(b) {
		return
	}
	for i := range members {
		m := &members[i]
		val := text[m.valStart:m.valEnd]
		// Every string decodes (no lone surrogate), so ok is always true.
		switch r := nestedRoleOf(m.key); {
		case r == roleParty && m.kind == KindString:
			s, _ := StringText(val)
			agents.add(s)
		case r == roleTx && m.kind == KindString:
			s, _ := StringText(val)
			txIDs.add(s)
		case r == rolePartyList && m.kind == KindArray:
			agents.addArray(val)
		case r == roleTxList && m.kind == KindArray:
			txIDs.addArray(val)
		}
	}
}

// nestedRoleOf is roleOf inside details_json, plus the scenario events'
// own names for an agent, and no further nesting.
func nestedRoleOf(key string) role {
	switch key {
	case "from_agent", "to_agent", "agent", "counterparty":
		return roleParty
	}
	if r := roleOf(key); r != roleNested {
		return r
	}
	return roleNone
}

// nestedLoneSurrogate reports whether the JSON text b (already validated)
// holds a \u escape of a UTF-16 surrogate that is not part of a pair.
func nestedLoneSurrogate(b []byte) bool {
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		i++
		if i >= len(b) || b[i] != 'u' || i+4 >= len(b) {
			continue
		}
		r := hex4(b[i+1 : i+5])
		i += 4
		switch {
		case r >= 0xdc00 && r <= 0xdfff:
			return true // a low half with no high half before it
		case r >= 0xd800 && r <= 0xdbff:
			if i+6 >= len(b) || b[i+1] != '\\' || b[i+2] != 'u' {
				return true
			}
			if lo := hex4(b[i+3 : i+7]); lo < 0xdc00 || lo > 0xdfff {
				return true
			}
			i += 6
		}
	}
	return false
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
