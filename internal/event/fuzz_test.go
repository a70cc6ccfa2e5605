package event_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/simcash/simdb/internal/event"
	"github.com/simcash/simdb/internal/testutil"
)

// fuzzSeeds are hand-written lines: engine-shaped events, the awkward
// corners of the format (escapes, lifted keys not first, whitespace,
// nested money, registers) and a few that must be rejected.
var fuzzSeeds = []string{
	`{"event_type":"Arrival","tick":3,"tx_id":"tx-1","sender_id":"BANK_A","receiver_id":"BANK_B","amount":100000,"deadline":13,"priority":5,"is_divisible":false}`,
	`{"event_type":"RtgsImmediateSettlement","tick":7,"tx_id":"tx-1","sender":"BANK_A","receiver":"BANK_B","amount":100000,"sender_balance_before":500000,"sender_balance_after":400000}`,
	`{"event_type":"LsmCycleSettlement","tick":9,"agents":["A","B","C","A"],"tx_amounts":[1,2,3],"total_value":6,"net_positions":[0,1,-1,0],"max_net_outflow":1,"max_net_outflow_agent":"B","tx_ids":["t1","t2","t3"],"cycle_value":6}`,
	`{"event_type":"CostAccrual","tick":4,"agent_id":"BANK_A","costs":{"liquidity_cost":1,"delay_cost":2,"collateral_cost":0,"penalty_cost":0,"split_friction_cost":0,"total":3}}`,
	`{"event_type":"StateRegisterSet","tick":12,"agent_id":"BANK_C","register_key":"stress","old_value":0.0,"new_value":1.5,"reason":"x","decision_path":"A → B"}`,
	`{"event_type":"BankBudgetSet","tick":0,"agent_id":"B","max_value":5,"focus_counterparties":null,"max_per_counterparty":null}`,
	`{"event_type":"ScenarioEventExecuted","tick":1,"scenario_event_type":"direct_transfer","details_json":"{\"a\":1,\"b\":\"\\u00e9\"}"}`,
	`{"event_type":"ScenarioEventExecuted","tick":20,"scenario_event_type":"custom_transaction_arrival","details_json":"{\"amount\":80000000,\"deadline\":50,\"from_agent\":\"ALPHA_BANK\",\"is_divisible\":false,\"priority\":8,\"to_agent\":\"BANK_11\",\"tx_id\":\"d5a2fccc\"}"}`,
	`{"event_type":"ScenarioEventExecuted","tick":2,"agent_id":"Z","details_json":"{\"agent\":\"A\",\"counterparty\":\"Z\",\"tx_ids\":[\"t1\",2,\"t\\u00e9\"],\"agents\":[\"B\"],\"details_json\":\"{\\\"agent\\\":\\\"no\\\"}\",\"sender\":\"S\\ud83d\\ude00\"}"}`,
	`{"event_type":"ScenarioEventExecuted","tick":2,"details_json":"{\"agent\":\"A\",\"x\":\"\\ud800\"}"}`,
	`{"event_type":"ScenarioEventExecuted","tick":2,"details_json":"{\"agent\":\"A\",\"agent\":\"B\"}"}`,
	`{"event_type":"ScenarioEventExecuted","tick":2,"details_json":"{\"agent\":\"A\",\"x\":{\"y\":1,\"y\":2}}"}`,
	`{"event_type":"ScenarioEventExecuted","tick":2,"details_json":" {\"from_agent\":\"A\"} "}`,
	`{"event_type":"ScenarioEventExecuted","tick":2,"details_json":"[{\"from_agent\":\"A\"}]"}`,
	`{"event_type":"ScenarioEventExecuted","tick":2,"details_json":"{\"from_agent\":\"A\"} x"}`,
	`{"event_type":"ScenarioEventExecuted","tick":2,"details_json":{"from_agent":"A"}}`,
	`{"event_type":"X","tick":2,"from_agent":"A","details_json":"{\"to_agent\":\"A\\\\ud800\"}"}`,
	`{"event_type":"PolicyHold","tick":2,"agent_id":"A\"q\\b","tx_id":"t\u0000\u001f","reason":"Custom(\"BufferProtection\")"}`,
	`{"tick":5,"x":{"event_type":"nested"},"tx_id":"t","event_type":"Odd","agent_id":"a"}`,
	` { "event_type" : "Spaced" , "tick" : 1 , "list" : [ 1 , { "k" : [ ] } ] } `,
	`{"event_type":"Big","tick":9223372036854775807,"n":9007199254740993,"f":-1.5e-300}`,
	`{"event_\u0074ype":"Esc","tick":1,"tx\u005fid":"t","agent_id":"\u00e9\ud83d\ude00"}`,
	`{"event_type":"Arrival","tick":1,"amount":1.5}`,
	`{"event_type":"X","tick":1,"a":1,"a":2}`,
	`{"event_type":"X","tick":1,"s":"\ud800"}`,
	`{"event_type":"X","tick":-0}`,
	`{"event_type":"","tick":1}`,
	`[1,2,3]`,
	`{"event_type":"X","tick":1,"o":{"a":1,"b":{"a":2},"a":3}}`,
	`{"event_type":"X","tick":1,"o":[{"a":1},{"a":2}],"p":{"a":{"b":1},"b":{"a":1}}}`,
	`{"event_type":"X","tick":1,"o":{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14,"k15":15,"k16":16,"k17":17,"k18":18,"k19":19,"k20":20,"k21":21,"k22":22,"k23":23,"k24":24,"k25":25,"k26":26,"k27":27,"k28":28,"k29":29,"k30":30,"k31":31,"k32":32,"k33":{"k0":1},"k\u0033":3},"q":{"k33":1}}`,
	`{"event_type":"LsmBilateralOffset","tick":1,"tx_ids":["a","b","a","c","b"],"agent_a":"A","agent_b":"A"}`,
	`{"event_type":"X","tick":1,"deep":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
}

// FuzzDecode: Decode never panics; whatever it accepts is valid JSON,
// rebuilds, and the rebuilt bytes decode to the same event. For compact
// input (the engine's format) the rebuilt bytes are the input itself.
func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	if os.Getenv("SIMDB_CORPUS") != "" {
		for _, line := range firstLines(f, testutil.CorpusFile(f, "small.jsonl.gz"), 200) {
			f.Add(line)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		ev, err := event.Decode(in)
		if err != nil {
			return
		}
		if !json.Valid(in) {
			t.Fatalf("Decode accepted input that encoding/json rejects: %q", in)
		}
		if dupKeys(in) {
			t.Fatalf("Decode accepted an object with a duplicate key: %q", in)
		}
		if !json.Valid(ev.Details) {
			t.Fatalf("details are not JSON: %q (input %q)", ev.Details, in)
		}
		rebuilt, err := event.Rebuild(nil, event.Stored{Type: ev.Type, Tick: ev.Tick, AgentID: ev.AgentID, TxID: ev.TxID, Details: ev.Details, Layout: ev.Layout})
		if err != nil {
			t.Fatalf("Rebuild of %q: %v", in, err)
		}
		again, err := event.Decode(rebuilt)
		if err != nil {
			t.Fatalf("rebuilt %q does not decode: %v (input %q)", rebuilt, err, in)
		}
		if again.Type != ev.Type || again.Tick != ev.Tick || again.HasTick != ev.HasTick ||
			again.AgentID != ev.AgentID || again.HasAgentID != ev.HasAgentID ||
			again.TxID != ev.TxID || again.HasTxID != ev.HasTxID ||
			!bytes.Equal(again.Details, ev.Details) || again.Layout != ev.Layout ||
			!slices.Equal(again.Agents, ev.Agents) || !slices.Equal(again.TxIDs, ev.TxIDs) {
			t.Fatalf("re-decoding changed the event:\ninput   %q\nrebuilt %q\nfirst  %+v\nsecond %+v", in, rebuilt, ev, again)
		}
		checkParties(t, in, ev)
		if (ev.Register == nil) != (again.Register == nil) || (ev.Register != nil && *ev.Register != *again.Register) {
			t.Fatalf("register changed: %+v vs %+v (input %q)", ev.Register, again.Register, in)
		}
		// Compact engine-style input that encoding/json accepts comes back
		// as valid JSON, byte for byte.
		var compact bytes.Buffer
		if err := json.Compact(&compact, in); err == nil && bytes.Equal(compact.Bytes(), in) {
			if !json.Valid(rebuilt) {
				t.Fatalf("rebuilt %q is not valid JSON", rebuilt)
			}
			if !bytes.Equal(rebuilt, in) {
				t.Fatalf("compact input not rebuilt byte for byte:\ninput   %q\nrebuilt %q", in, rebuilt)
			}
		}
	})
}

// checkParties: Decode's agents and transactions are the ones a reference
// reading of the whole event by encoding/json finds, and a reader derives
// the same from the stored row.
func checkParties(t *testing.T, in []byte, ev event.Event) {
	t.Helper()
	if agents, txIDs := refParties(t, in); !slices.Equal(ev.Agents, agents) || !slices.Equal(ev.TxIDs, txIDs) {
		t.Fatalf("Decode's parties differ from the reference:\ninput %q\nagents %q, want %q\ntx_ids %q, want %q",
			in, ev.Agents, agents, ev.TxIDs, txIDs)
	}
	var p event.Parties
	if !p.Scan(string(ev.Details), ev.Layout, ev.AgentID, ev.TxID, nil) {
		t.Fatalf("Parties.Scan refused the stored row of %q", in)
	}
	if !slices.Equal(p.Agents(), ev.Agents) || !slices.Equal(p.TxIDs(), ev.TxIDs) {
		t.Fatalf("parties of the stored row differ from Decode's:\ninput %q\nagents %q, want %q\ntx_ids %q, want %q",
			in, p.Agents(), ev.Agents, p.TxIDs(), ev.TxIDs)
	}
}

// refParties reads the event's top-level members in order with
// encoding/json and collects, in order of first appearance and without
// repeats, the agents (a string under a party key, the strings of an
// "agents" array) and the transactions (likewise) it names; and, where
// details_json is a string holding a well-formed JSON object (refNested),
// those its members name, in their place, by the same keys plus
// from_agent, to_agent, agent and counterparty.
func refParties(t *testing.T, in []byte) (agents, txIDs []string) {
	t.Helper()
	agents, txIDs = []string{}, []string{}
	add := func(list []string, s string) []string {
		if slices.Contains(list, s) {
			return list
		}
		return append(list, s)
	}
	var walk func(obj []byte, nested bool)
	walk = func(obj []byte, nested bool) {
		party := map[string]bool{"agent_id": true, "sender_id": true, "receiver_id": true, "sender": true,
			"receiver": true, "agent_a": true, "agent_b": true, "max_net_outflow_agent": true}
		if nested {
			for _, k := range []string{"from_agent", "to_agent", "agent", "counterparty"} {
				party[k] = true
			}
		}
		tx := map[string]bool{"tx_id": true, "incoming_tx_id": true, "queued_tx_id": true}
		txList := map[string]bool{"tx_ids": true, "child_ids": true, "source_transactions": true}
		dec := json.NewDecoder(bytes.NewReader(obj))
		dec.UseNumber()                        // 1e700 is valid JSON, and no float64
		if _, err := dec.Token(); err != nil { // {
			t.Fatalf("reference: %v", err)
		}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				t.Fatalf("reference: %v", err)
			}
			key := tok.(string)
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				t.Fatalf("reference: %v", err)
			}
			if !party[key] && !tx[key] && !txList[key] && key != "details_json" && key != "agents" {
				continue // names nothing: no need to decode it
			}
			v := decodeNumbers(t, raw)
			switch s, isString := v.(string); {
			case isString && party[key]:
				agents = add(agents, s)
			case isString && tx[key]:
				txIDs = add(txIDs, s)
			case isString && key == "details_json" && !nested:
				if inner, ok := refNested(raw, s); ok {
					walk(inner, true)
				}
			case key == "agents" || txList[key]:
				list, _ := v.([]any)
				for _, el := range list {
					if s, ok := el.(string); ok {
						if key == "agents" {
							agents = add(agents, s)
						} else {
							txIDs = add(txIDs, s)
						}
					}
				}
			}
		}
	}
	walk(in, false)
	return agents, txIDs
}

func decodeNumbers(t *testing.T, raw []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("reference: %v", err)
	}
	return v
}

// refNested returns the text of a details_json string (raw, decoded s)
// when it is a JSON object the decoder would take as one: valid, no
// duplicate key at any depth, containers nested at most event.MaxDepth
// levels inside it, and neither the string nor the object holding a lone
// UTF-16 surrogate escape (encoding/json would quietly replace it).
func refNested(raw json.RawMessage, s string) ([]byte, bool) {
	inner := []byte(s)
	if refLoneSurrogate(string(raw)) || refLoneSurrogate(s) || !json.Valid(inner) || dupKeys(inner) {
		return nil, false
	}
	if t := bytes.TrimLeft(inner, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(inner))
	depth, deepest := 0, 0
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			deepest = max(deepest, depth)
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	return inner, deepest <= event.MaxDepth+1
}

// jsonEscape matches one escape of a JSON text: \uXXXX or \ and a character.
var jsonEscape = regexp.MustCompile(`\\(u[0-9a-fA-F]{4}|.)`)

// refLoneSurrogate reports whether JSON text holds a \u escape of a UTF-16
// surrogate that is not the high half immediately followed by a low half.
func refLoneSurrogate(text string) bool {
	type esc struct {
		start, end int
		r          rune
	}
	var escs []esc
	for _, m := range jsonEscape.FindAllStringSubmatchIndex(text, -1) {
		e := esc{start: m[0], end: m[1], r: -1}
		if text[m[2]] == 'u' {
			v, _ := strconv.ParseUint(text[m[2]+1:m[3]], 16, 32)
			e.r = rune(v)
		}
		escs = append(escs, e)
	}
	for i := 0; i < len(escs); i++ {
		if !utf16.IsSurrogate(escs[i].r) {
			continue
		}
		if escs[i].r >= 0xdc00 || i+1 == len(escs) || escs[i+1].start != escs[i].end ||
			escs[i+1].r < 0xdc00 || escs[i+1].r > 0xdfff {
			return true
		}
		i++
	}
	return false
}

// firstLines reads up to n lines of a gzip JSONL file.
func firstLines(tb testing.TB, path string, n int) [][]byte {
	tb.Helper()
	sc := bufio.NewScanner(testutil.OpenGzip(tb, path))
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	var out [][]byte
	for len(out) < n && sc.Scan() {
		out = append(out, append([]byte(nil), sc.Bytes()...))
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	if len(out) == 0 {
		tb.Fatalf("%s: no lines", path)
	}
	return out
}

// dupKeys reports whether any object in the JSON text has a key twice, by
// encoding/json's tokenizer (a reference independent of the decoder).
func dupKeys(in []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(in))
	type frame struct {
		keys    map[string]bool // nil for an array
		wantKey bool
	}
	var stack []*frame
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].keys != nil {
			stack[n-1].wantKey = true
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		if n := len(stack); n > 0 && stack[n-1].keys != nil && stack[n-1].wantKey {
			if tok == json.Delim('}') {
				stack = stack[:n-1]
				valueDone()
				continue
			}
			k := tok.(string)
			if stack[n-1].keys[k] {
				return true
			}
			stack[n-1].keys[k] = true
			stack[n-1].wantKey = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{keys: map[string]bool{}, wantKey: true})
		case json.Delim('['):
			stack = append(stack, &frame{})
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
		default:
			valueDone()
		}
	}
}

// A party's id that does not decode (a lone UTF-16 surrogate escape) is the
// member's *FieldError, as any other unusable member is.
func TestDecodeRefusesUndecodablePartyStrings(t *testing.T) {
	for _, tc := range []struct{ line, field string }{
		{`{"event_type":"Arrival","tick":1,"sender_id":"\ud800","receiver_id":"B"}`, "sender_id"},
		{`{"event_type":"LsmCycleSettlement","tick":1,"agents":["A","\udc00x"]}`, "agents"},
		{`{"event_type":"LsmCycleSettlement","tick":1,"tx_ids":["t1",2,"\ud83d"]}`, "tx_ids"},
		{`{"event_type":"PolicyHold","tick":1,"agent_id":"\ud800"}`, "agent_id"},
	} {
		_, err := event.Decode([]byte(tc.line))
		var fe *event.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(fe.Msg, "surrogate") {
			t.Errorf("Decode(%s) = %v, want a *FieldError for %q about the surrogate", tc.line, err, tc.field)
		}
	}
}

// A lone UTF-16 surrogate escape is refused wherever it stands — a
// top-level value, a nested value, an array element — in its three
// shapes: a high surrogate at the end of the string, a high one followed
// by an escape that is not a low surrogate, a low one alone. The error is
// the top-level member's *FieldError and gives the byte offset. Whole
// pairs, and escaped backslashes before a "u", are accepted. (Until issue
// 12 a lone surrogate outside the party keys was stored, and DuckDB then
// refused every JSON query over the table.)
func TestDecodeRefusesLoneSurrogates(t *testing.T) {
	for _, tc := range []struct {
		line, field, esc string
		at               int
	}{
		{`{"event_type":"X","tick":1,"note":"x\ud800y"}`, "note", `\ud800`, 36},
		{`{"event_type":"X","tick":1,"note":"\ud800\u0041"}`, "note", `\ud800`, 35},
		{`{"event_type":"X","tick":1,"note":"\udc00"}`, "note", `\udc00`, 35},
		{`{"event_type":"X","tick":1,"o":{"a":[1,{"b":"\uDBFF"}]}}`, "o", `\uDBFF`, 45},
		{`{"event_type":"X","tick":1,"o":["\ud83d\ud83d"]}`, "o", `\ud83d`, 33},
		{`{"event_type":"X","tick":1,"costs":{"note":"\ud800"},"amount":1}`, "costs", `\ud800`, 44},
	} {
		_, err := event.Decode([]byte(tc.line))
		var fe *event.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(fe.Msg, "lone UTF-16 surrogate escape "+tc.esc) ||
			!strings.Contains(fe.Msg, fmt.Sprintf("at byte %d", tc.at)) {
			t.Errorf("Decode(%s) = %v, want a *FieldError for %q naming %s at byte %d", tc.line, err, tc.field, tc.esc, tc.at)
		}
		if err := event.CheckObject([]byte(tc.line)); !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("CheckObject(%s) = %v, want a *FieldError for %q", tc.line, err, tc.field)
		}
	}
	for _, ok := range []string{
		`{"event_type":"X","tick":1,"note":"\ud83d\ude00 \uDBFF\uDFFF"}`,
		`{"event_type":"X","tick":1,"note":"\\ud800","o":{"p":"\\\\udc00"}}`,
		`{"event_type":"X","tick":1,"note":"\u00e9\uffff"}`,
	} {
		if _, err := event.Decode([]byte(ok)); err != nil {
			t.Errorf("Decode(%s): %v", ok, err)
		}
		if err := event.CheckObject([]byte(ok)); err != nil {
			t.Errorf("CheckObject(%s): %v", ok, err)
		}
	}
}

// CheckObject holds configs and metrics files to the event rules:
// duplicate keys at any depth, trailing data, invalid UTF-8 and deep
// nesting are refused; the error names the member where there is one.
func TestCheckObject(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"ticks_per_day":100,"ticks_per_day":7}`, `field "ticks_per_day": duplicate key`},
		{`{"simulation":{"num_days":1,"num_days":2}}`, `field "simulation": duplicate key "num_days"`},
		{`{"a":1}}`, "trailing data after the object: unexpected '}'"},
		{"{\"a\":\"caf\xe9\"}", "invalid UTF-8"},
		{`[1]`, "want a JSON object"},
		{`{"a":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, "nested deeper than"},
	} {
		err := event.CheckObject([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CheckObject(%.60s) = %v, want %q", tc.in, err, tc.want)
		}
	}
	if err := event.CheckObject([]byte(" {\"a\":{\"b\":[1,{\"b\":2}]},\"b\":null}\n")); err != nil {
		t.Errorf("CheckObject: %v", err)
	}
}

// ScenarioEventExecuted names its parties inside details_json, a string
// holding an object: Decode and a reader of the stored row take them from
// there, in their place, and agree with the reference; a string that holds
// no well-formed object names nobody and is no error.
func TestScenarioDetailsJSONParties(t *testing.T) {
	deep := func(levels int) string { // an object with levels containers inside
		return `{\"from_agent\":\"A\",\"x\":` + strings.Repeat(`[`, levels) + strings.Repeat(`]`, levels) + `}`
	}
	for _, tc := range []struct {
		line          string
		agents, txIDs []string
	}{
		{`{"event_type":"ScenarioEventExecuted","tick":20,"scenario_event_type":"custom_transaction_arrival","details_json":"{\"amount\":8,\"from_agent\":\"ALPHA_BANK\",\"to_agent\":\"BANK_11\",\"tx_id\":\"d5a2\"}"}`,
			[]string{"ALPHA_BANK", "BANK_11"}, []string{"d5a2"}},
		{`{"event_type":"ScenarioEventExecuted","tick":2,"scenario_event_type":"collateral_adjustment","details_json":"{\"agent\":\"BANK_3\",\"delta\":5}"}`,
			[]string{"BANK_3"}, nil},
		{`{"event_type":"ScenarioEventExecuted","tick":2,"scenario_event_type":"counterparty_weight_change","details_json":"{\"agent\":\"A\",\"counterparty\":\"B\",\"new_weight\":0.5}"}`,
			[]string{"A", "B"}, nil},
		// In their place among the top-level parties, without repeats.
		{`{"event_type":"ScenarioEventExecuted","tick":2,"agent_id":"Z","details_json":"{\"to_agent\":\"A\",\"from_agent\":\"Z\",\"tx_ids\":[\"t1\",\"t2\"]}","tx_id":"t0","sender":"B"}`,
			[]string{"Z", "A", "B"}, []string{"t1", "t2", "t0"}},
		// One level only, and only a string holding an object.
		{`{"event_type":"ScenarioEventExecuted","tick":2,"details_json":"{\"details_json\":\"{\\\"agent\\\":\\\"no\\\"}\"}"}`, nil, nil},
		{`{"event_type":"ScenarioEventExecuted","tick":2,"details_json":{"from_agent":"A"}}`, nil, nil},
		{`{"event_type":"ScenarioEventExecuted","tick":2,"details_json":"not json {\"from_agent\":\"A\"}"}`, nil, nil},
		{`{"event_type":"ScenarioEventExecuted","tick":2,"details_json":"{\"from_agent\":\"A\",\"from_agent\":\"B\"}"}`, nil, nil},
		{`{"event_type":"ScenarioEventExecuted","tick":2,"details_json":"{\"from_agent\":\"A\",\"note\":\"\\ud800\"}"}`, nil, nil},
		// Top-level from_agent is nobody's name.
		{`{"event_type":"X","tick":2,"from_agent":"A"}`, nil, nil},
		{`{"event_type":"ScenarioEventExecuted","tick":2,"details_json":"` + deep(event.MaxDepth) + `"}`, []string{"A"}, nil},
		{`{"event_type":"ScenarioEventExecuted","tick":2,"details_json":"` + deep(event.MaxDepth+1) + `"}`, nil, nil},
	} {
		ev, err := event.Decode([]byte(tc.line))
		if err != nil {
			t.Fatalf("Decode(%s): %v", tc.line, err)
		}
		if !slices.Equal(ev.Agents, append([]string{}, tc.agents...)) || !slices.Equal(ev.TxIDs, append([]string{}, tc.txIDs...)) {
			t.Errorf("Decode(%.120s): agents %q tx_ids %q, want %q %q", tc.line, ev.Agents, ev.TxIDs, tc.agents, tc.txIDs)
		}
		checkParties(t, []byte(tc.line), ev)
	}
}
