// Package event takes SimCash engine events apart for storage and puts them
// back together byte for byte.
//
// An event is a flat JSON object: event_type, tick and the event's own fields
// at the top level. Decode validates it (syntax, UTF-8, money fields are
// integer cents, register values finite), lifts event_type, tick, agent_id and
// tx_id into columns, collects every agent and transaction the event involves
// whatever the engine named the field, and keeps every other member, byte for
// byte, as the details object. Rebuild reverses this exactly for compact
// input (the engine's own format); insignificant whitespace is not kept.
package event

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unsafe"
)

// FieldError reports a member of an event that is present but unusable.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return fmt.Sprintf("field %q: %s", e.Field, e.Msg) }

// Lifted member indexes within Layout.
const (
	liftType = iota
	liftTick
	liftAgent
	liftTx
	numLifted
)

// maxLiftPos is the highest member position Layout can record: 4 positions of
// 7 bits keep the packed value a non-negative int32.
const maxLiftPos = 126

// Event is one decoded engine event.
type Event struct {
	Type    string
	Tick    int64
	HasTick bool
	// AgentID and TxID are the values of the top-level agent_id and tx_id
	// members when they are strings ("" and false otherwise).
	AgentID    string
	HasAgentID bool
	TxID       string
	HasTxID    bool
	// Details is the JSON object of every member not lifted into a column,
	// in input order, values byte for byte (whitespace removed).
	Details []byte
	// Layout records where the lifted members stood (see Rebuild).
	Layout int32
	// Agents and TxIDs are every agent and transaction the event names, in
	// order of first appearance, without repeats. Their strings may share
	// Details' memory: Details must not be modified.
	Agents []string
	TxIDs  []string
	// Register is set for StateRegisterSet events.
	Register *Register
}

// Register is the register write a StateRegisterSet event carries.
type Register struct {
	AgentID string
	Key     string
	Value   float64
}

// role is what a member names, by its key: a party (one agent), a list of
// parties, a transaction or a list of transactions. The engine has several
// names for each; Decode and Parties read them by this one table.
type role uint8

const (
	roleNone role = iota
	roleParty
	rolePartyList
	roleTx
	roleTxList
	// roleNested is ScenarioEventExecuted's details_json: a JSON string
	// holding an object whose members name parties (addNestedParties).
	roleNested
)

func roleOf(key string) role {
	switch key {
	case "agent_id", "sender_id", "receiver_id", "sender", "receiver", "agent_a", "agent_b", "max_net_outflow_agent":
		return roleParty
	case "agents":
		return rolePartyList
	case "tx_id", "incoming_tx_id", "queued_tx_id":
		return roleTx
	case "tx_ids", "child_ids", "source_transactions":
		return roleTxList
	case "details_json":
		return roleNested
	}
	return roleNone
}

// Decode validates one event object and takes it apart. Errors are
// *SyntaxError for malformed JSON and *FieldError for a member that is
// present but wrong; the event is unusable either way, but on a
// *FieldError its Type and Tick are set when they were readable, so the
// error can say which event it was. The event shares no memory with line.
func Decode(line []byte) (Event, error) {
	// Room for details and the lifted strings, each shorter than line.
	var a Arena
	a.Reserve(2*len(line)+16, 8)
	return DecodeIn(&a, line)
}

// DecodeIn is Decode with the event's memory taken from a, shared with the
// other events decoded in it (nil: allocated for this event alone).
func DecodeIn(a *Arena, line []byte) (Event, error) {
	var membersBuf [16]member
	members, err := scanObject(line, membersBuf[:0])
	if err != nil {
		return Event{}, err
	}
	var ev Event
	var positions [numLifted]int
	for i := range positions {
		positions[i] = -1
	}
	lifted := 0
	var moneyRules map[string]moneyRule
	// event_type and tick first: money rules depend on the type, and an
	// error about any other member can then say which event it was.
	for i := range members {
		m := &members[i]
		switch m.key {
		case "event_type":
			if m.kind != KindString {
				return ev, &FieldError{Field: "event_type", Msg: "must be a string, got " + m.kind.String()}
			}
			if ev.Type, err = stringValue(a, line, m); err != nil {
				return ev, err
			}
			if ev.Type == "" {
				return ev, &FieldError{Field: "event_type", Msg: "must not be empty"}
			}
			moneyRules = moneyFields[ev.Type]
			if liftable(line, m, i) {
				positions[liftType] = i
				lifted++
			}
		case "tick":
			raw := line[m.valStart:m.valEnd]
			if m.kind != KindNumber {
				return ev, &FieldError{Field: "tick", Msg: "must be a non-negative integer, got " + m.kind.String()}
			}
			t, err := parseInt(raw)
			if err != nil || t < 0 {
				return ev, &FieldError{Field: "tick", Msg: "must be a non-negative integer (int64), got " + clip(raw)}
			}
			ev.Tick, ev.HasTick = t, true
			if liftable(line, m, i) && string(raw) == strconv.FormatInt(t, 10) {
				positions[liftTick] = i
				lifted++
			}
		}
	}
	if ev.Type == "" {
		return ev, &FieldError{Field: "event_type", Msg: "missing"}
	}
	// A lone surrogate escape anywhere in a value would make every DuckDB
	// JSON query over the stored table fail (see loneSurrogate).
	if err := checkSurrogates(line, members); err != nil {
		return ev, err
	}
	for i := range members {
		m := &members[i]
		if m.key == "event_type" || m.key == "tick" {
			continue
		}
		if rule, ok := moneyRules[m.key]; ok {
			if err := checkMoney(line, m, rule); err != nil {
				return ev, err
			}
		}
		// The agents and transactions the event names are collected once
		// details is built, below: their strings then share its memory.
		switch {
		case m.key == "agent_id" && m.kind == KindString:
			if ev.AgentID, err = stringValue(a, line, m); err != nil {
				return ev, err
			}
			ev.HasAgentID = true
			if liftable(line, m, i) {
				positions[liftAgent] = i
				lifted++
			}
		case m.key == "tx_id" && m.kind == KindString:
			if ev.TxID, err = stringValue(a, line, m); err != nil {
				return ev, err
			}
			ev.HasTxID = true
			if liftable(line, m, i) {
				positions[liftTx] = i
				lifted++
			}
		}
	}
	if ev.Type == "StateRegisterSet" {
		if ev.Register, err = registerOf(line, members, ev.AgentID, ev.HasAgentID); err != nil {
			return ev, err
		}
	}
	ev.Details = a.keepBytes(details(a, line, members, positions, lifted))
	for k, p := range positions {
		if p >= 0 {
			ev.Layout |= int32(p+1) << (7 * k)
		}
	}
	// The agents and transactions, by the rules a reader applies to the
	// stored row (Parties: roleOf, addParty, in member order with the lifted
	// agent_id and tx_id in their places), taken from the values' copies in
	// details so the strings share its memory. scanObject validated every
	// value's syntax and checkSurrogates every escape, so addParty refuses
	// nothing here; partyError stays for a rule added to one but not the
	// other.
	agents, txIDs := a.scratch()
	view := unsafe.String(unsafe.SliceData(ev.Details), len(ev.Details))
	for i := range members {
		m := &members[i]
		switch {
		case i == positions[liftAgent]:
			agents.add(ev.AgentID)
		case i == positions[liftTx]:
			txIDs.add(ev.TxID)
		case i == positions[liftType] || i == positions[liftTick]:
		default:
			if raw := view[m.detStart:m.detEnd]; !addParty(agents, txIDs, m.key, raw, m.kind) {
				return ev, partyError(m.key, raw)
			}
		}
	}
	// The lists were built in scratch space; keep a copy of what they hold.
	ev.Agents, ev.TxIDs = a.keep(agents.list), a.keep(txIDs.list)
	return ev, nil
}

// partyError says why addParty refused a member's value: the first string
// in it that does not decode.
func partyError(key, raw string) error {
	msg := "holds a string that does not decode"
	check := func(el []byte) error {
		_, err := unquote(el)
		return err
	}
	var err error
	if strings.HasPrefix(raw, "[") {
		err = forEachElement([]byte(raw), func(el []byte, kind Kind) error {
			if kind != KindString {
				return nil
			}
			return check(el)
		})
	} else {
		err = check([]byte(raw))
	}
	if err != nil {
		msg = err.Error()
	}
	return &FieldError{Field: key, Msg: msg}
}

// liftable reports whether member m (at position pos) can leave details and
// be rebuilt exactly from its column: its key is written plainly, it stands
// where Layout can record it, and its string value re-encodes to the same
// bytes.
func liftable(line []byte, m *member, pos int) bool {
	if m.keyEscaped || pos > maxLiftPos {
		return false
	}
	if m.kind != KindString {
		return m.kind == KindNumber
	}
	raw := line[m.valStart:m.valEnd]
	for _, c := range raw {
		if c == '\\' {
			s, err := unquote(raw)
			return err == nil && string(AppendString(nil, s)) == string(raw)
		}
	}
	return true
}

func stringValue(a *Arena, line []byte, m *member) (string, error) {
	raw := line[m.valStart:m.valEnd]
	for _, c := range raw {
		if c == '\\' {
			s, err := unquote(raw)
			if err != nil {
				return "", &FieldError{Field: m.key, Msg: err.Error()}
			}
			return s, nil
		}
	}
	return a.str(raw[1 : len(raw)-1]), nil
}

// uniqueList collects strings in order of first appearance, without
// repeats: compared one by one while the list is short, through a set once
// it is long, so a hostile list of 100,000 ids costs linear time.
type uniqueList struct {
	list []string
	set  map[string]struct{}
}

func (u *uniqueList) add(s string) {
	if u.set == nil {
		for _, v := range u.list {
			if v == s {
				return
			}
		}
		u.list = append(u.list, s)
		if len(u.list) > linearKeys {
			u.set = make(map[string]struct{}, 2*len(u.list))
			for _, v := range u.list {
				u.set[v] = struct{}{}
			}
		}
		return
	}
	if _, dup := u.set[s]; dup {
		return
	}
	u.set[s] = struct{}{}
	u.list = append(u.list, s)
}

// forEachElement calls fn with each element of a validated JSON array.
func forEachElement(arr []byte, fn func(raw []byte, kind Kind) error) error {
	i := skipSpace(arr, 1)
	if i < len(arr) && arr[i] == ']' {
		return nil
	}
	for i < len(arr) {
		end, kind, _, err := scanValue(arr, i)
		if err != nil {
			return err
		}
		if err := fn(arr[i:end], kind); err != nil {
			return err
		}
		i = skipSpace(arr, end)
		if i < len(arr) && arr[i] == ',' {
			i = skipSpace(arr, i+1)
			continue
		}
		break
	}
	return nil
}

// parseInt parses a JSON integer literal (no fraction, no exponent) that fits
// int64.
func parseInt(raw []byte) (int64, error) {
	for _, c := range raw {
		if c == '.' || c == 'e' || c == 'E' {
			return 0, fmt.Errorf("not an integer")
		}
	}
	return strconv.ParseInt(string(raw), 10, 64)
}

func registerOf(line []byte, members []member, agentID string, hasAgent bool) (*Register, error) {
	if !hasAgent {
		return nil, &FieldError{Field: "agent_id", Msg: "StateRegisterSet needs a string agent_id"}
	}
	reg := &Register{AgentID: agentID}
	var haveKey, haveValue bool
	for i := range members {
		m := &members[i]
		switch m.key {
		case "register_key":
			if m.kind != KindString {
				return nil, &FieldError{Field: "register_key", Msg: "must be a string, got " + m.kind.String()}
			}
			s, err := stringValue(nil, line, m)
			if err != nil {
				return nil, err
			}
			reg.Key, haveKey = s, true
		case "new_value", "old_value":
			if m.key == "old_value" && m.kind == KindNull {
				continue
			}
			if m.kind != KindNumber {
				return nil, &FieldError{Field: m.key, Msg: "must be a finite number, got " + m.kind.String()}
			}
			raw := line[m.valStart:m.valEnd]
			v, err := strconv.ParseFloat(string(raw), 64)
			if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
				return nil, &FieldError{Field: m.key, Msg: "must be a finite number, got " + string(raw)}
			}
			if m.key == "new_value" {
				reg.Value, haveValue = v, true
			}
		}
	}
	if !haveKey {
		return nil, &FieldError{Field: "register_key", Msg: "missing from StateRegisterSet"}
	}
	if !haveValue {
		return nil, &FieldError{Field: "new_value", Msg: "missing from StateRegisterSet"}
	}
	return reg, nil
}

// details writes the members that were not lifted as a compact JSON object,
// and records where each one's value landed in it (detStart, detEnd).
func details(a *Arena, line []byte, members []member, positions [numLifted]int, lifted int) []byte {
	size := 2
	for i := range members {
		size += members[i].valEnd - members[i].keyStart + 1
	}
	out := a.alloc(size)
	out = append(out, '{')
	first := true
	for i := range members {
		if lifted > 0 && isLifted(positions, i) {
			continue
		}
		m := &members[i]
		if !first {
			out = append(out, ',')
		}
		first = false
		out = append(out, line[m.keyStart:m.keyEnd]...)
		out = append(out, ':')
		val := line[m.valStart:m.valEnd]
		m.detStart = len(out)
		if m.compact {
			out = append(out, val...)
		} else {
			out = appendCompact(out, val)
		}
		m.detEnd = len(out)
	}
	return append(out, '}')
}

func isLifted(positions [numLifted]int, i int) bool {
	for _, p := range positions {
		if p == i {
			return true
		}
	}
	return false
}

// appendCompact appends a validated JSON value without insignificant
// whitespace.
func appendCompact(dst, val []byte) []byte {
	inString := false
	for i := 0; i < len(val); i++ {
		c := val[i]
		if inString {
			dst = append(dst, c)
			if c == '\\' {
				i++
				dst = append(dst, val[i])
			} else if c == '"' {
				inString = false
			}
			continue
		}
		if isSpace(c) {
			continue
		}
		if c == '"' {
			inString = true
		}
		dst = append(dst, c)
	}
	return dst
}
