package simdb_test

// Hostile events and values through PersistTickEvents: malformed events,
// money, big integers, NUL escapes, sizes (cases of TestHostileInputs).

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/simcash/simdb"
)

// --- Malformed events through PersistTickEvents ---

func hostileEventCases() []hostileCase {
	truncated := `{"event_type":"Arrival","tick":1,"tx_id":"t"`
	badUTF8 := "{\"event_type\":\"Arrival\",\"tick\":1,\"tx_id\":\"t\",\"sender_id\":\"BANK_\xff\",\"amount\":5}"
	rawNUL := "{\"event_type\":\"PolicyHold\",\"tick\":1,\"agent_id\":\"A\",\"reason\":\"a\x00b\"}"
	nan := `{"event_type":"StateRegisterSet","tick":1,"agent_id":"BANK_A","register_key":"k","old_value":0.0,"new_value":NaN,"reason":"r","decision_path":null}`
	inf := `{"event_type":"StateRegisterSet","tick":1,"agent_id":"BANK_A","register_key":"k","old_value":0.0,"new_value":Infinity,"reason":"r","decision_path":null}`
	negInf := `{"event_type":"StateRegisterSet","tick":1,"agent_id":"BANK_A","register_key":"k","old_value":-Infinity,"new_value":1.0,"reason":"r","decision_path":null}`
	loneHigh := `{"event_type":"PolicyHold","tick":1,"note":"x\ud800y"}`
	highThenOther := `{"event_type":"PolicyHold","tick":1,"note":"\ud800\u0041"}`
	loneLow := `{"event_type":"PolicyHold","tick":1,"note":"\udc00"}`
	deepArray := `{"event_type":"X","tick":1,"d":` + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + `}`
	deepObject := `{"event_type":"X","tick":1,"d":` + strings.Repeat(`{"d":`, 100_000) + `1` + strings.Repeat("}", 100_000) + `}`
	return []hostileCase{
		{name: "invalid JSON", call: badAt(truncated), want: simdb.ErrInvalidEvent,
			where: []string{"event 1", "tick 1", "invalid JSON", fmt.Sprintf("byte %d", len(truncated))}},
		{name: "not an object", call: badAt(`[1,2,3]`), want: simdb.ErrInvalidEvent,
			where: []string{"event 1", "tick 1", "byte 0", "object"}},
		{name: "a JSON string, not an object", call: badAt(`"Arrival"`), want: simdb.ErrInvalidEvent,
			where: []string{"event 1", "byte 0"}},
		{name: "empty event", call: badAt(``), want: simdb.ErrInvalidEvent,
			where: []string{"event 1", "empty input"}},
		{name: "trailing data after the object", call: badAt(`{"event_type":"X","tick":1}{}`), want: simdb.ErrInvalidEvent,
			where: []string{"event 1", "byte 27"}},
		{name: "event_type missing", call: badAt(`{"tick":1,"amount":5}`), want: simdb.ErrInvalidEvent,
			where: []string{"event 1", "tick 1", `"event_type"`, "missing"}},
		{name: "event_type empty", call: badAt(`{"event_type":"","tick":1}`), want: simdb.ErrInvalidEvent,
			where: []string{"event 1", `"event_type"`, "empty"}},
		{name: "event_type a number", call: badAt(`{"event_type":7,"tick":1}`), want: simdb.ErrInvalidEvent,
			where: []string{"event 1", `"event_type"`, "a number"}},
		{name: "event_type null", call: badAt(`{"event_type":null,"tick":1}`), want: simdb.ErrInvalidEvent,
			where: []string{"event 1", `"event_type"`, "null"}},
		{name: "tick negative", call: badAt(`{"event_type":"Arrival","tick":-1}`), want: simdb.ErrInvalidEvent,
			where: []string{"event 1", `"tick"`, "-1"}},
		{name: "tick fractional", call: badAt(`{"event_type":"Arrival","tick":1.5}`), want: simdb.ErrInvalidEvent,
			where: []string{"event 1", `"tick"`, "1.5"}},
		{name: "tick exponent", call: badAt(`{"event_type":"Arrival","tick":1e0}`), want: simdb.ErrInvalidEvent,
			where: []string{"event 1", `"tick"`, "1e0"}},
		{name: "tick a string", call: badAt(`{"event_type":"Arrival","tick":"1"}`), want: simdb.ErrInvalidEvent,
			where: []string{"event 1", `"tick"`, "a string"}},
		{name: "tick beyond int64", call: badAt(`{"event_type":"Arrival","tick":9223372036854775808}`), want: simdb.ErrInvalidEvent,
			where: []string{"event 1", `"tick"`, "9223372036854775808"}},
		{name: "event tick differs from call tick", call: badAt(arrival(2, "tx-2")), want: simdb.ErrInvalidEvent,
			where: []string{"event 1", "tick 1", `"tick"`, "is 2"}},
		{name: "call tick negative", call: persist(-1, arrival(0, "tx-n")), want: simdb.ErrInvalidArgument,
			where: []string{"tick -1", hostileSim}},
		{name: "invalid UTF-8 in a string", call: badAt(badUTF8), want: simdb.ErrInvalidEvent,
			where: []string{"event 1", "UTF-8", offsetOf(badUTF8, "\xff")}},
		{name: "raw NUL byte in a string", call: badAt(rawNUL), want: simdb.ErrInvalidEvent,
			where: []string{"event 1", "0x00", offsetOf(rawNUL, "\x00")}},
		{name: "unpaired surrogate escape in agent_id", call: badAt(`{"event_type":"PolicySubmit","tick":1,"agent_id":"\ud800","tx_id":"t"}`),
			want: simdb.ErrInvalidEvent, where: []string{"event 1", `"agent_id"`, "surrogate"}},
		// Lone UTF-16 surrogate escapes, in their three shapes, wherever they
		// stand: DuckDB's JSON functions refuse a whole query over a table
		// that stores one (issue 12).
		{name: "lone high surrogate escape in a string", call: badAt(loneHigh),
			want: simdb.ErrInvalidEvent, where: []string{"event 1", "tick 1", `"note"`, `lone UTF-16 surrogate escape \ud800`, offsetOf(loneHigh, `\`)}},
		{name: "high surrogate escape followed by a non-low escape", call: badAt(highThenOther),
			want: simdb.ErrInvalidEvent, where: []string{"event 1", `"note"`, `\ud800`, offsetOf(highThenOther, `\`)}},
		{name: "lone low surrogate escape", call: badAt(loneLow),
			want: simdb.ErrInvalidEvent, where: []string{"event 1", `"note"`, `\udc00`, offsetOf(loneLow, `\`)}},
		{name: "lone surrogate escape in a nested value", call: badAt(`{"event_type":"ScenarioEventExecuted","tick":1,"extra":{"a":["ok",{"b":"\uDBFF"}]}}`),
			want: simdb.ErrInvalidEvent, where: []string{"event 1", `"extra"`, `\uDBFF`}},
		{name: "NaN token", call: badAt(nan), want: simdb.ErrInvalidEvent,
			where: []string{"event 1", "tick 1", offsetOf(nan, "NaN")}},
		{name: "Infinity token", call: badAt(inf), want: simdb.ErrInvalidEvent,
			where: []string{"event 1", offsetOf(inf, "Infinity")}},
		{name: "-Infinity token", call: badAt(negInf), want: simdb.ErrInvalidEvent,
			where: []string{"event 1", offsetOf(negInf, "-Infinity")}},
		{name: "new_value 1e999", call: badAt(`{"event_type":"StateRegisterSet","tick":1,"agent_id":"BANK_A","register_key":"k","old_value":0.0,"new_value":1e999,"reason":"r","decision_path":null}`),
			want: simdb.ErrInvalidEvent, where: []string{"event 1", "StateRegisterSet", `"new_value"`, "1e999"}},
		{name: "StateRegisterSet without agent_id", call: badAt(`{"event_type":"StateRegisterSet","tick":1,"register_key":"k","old_value":0.0,"new_value":1.0}`),
			want: simdb.ErrInvalidEvent, where: []string{"event 1", `"agent_id"`}},
		{name: "duplicate key", call: badAt(`{"event_type":"Arrival","tick":1,"tx_id":"t","amount":5,"amount":500}`),
			want: simdb.ErrInvalidEvent, where: []string{"event 1", `"amount"`, "duplicate"}},
		{name: "duplicate key written with an escape", call: badAt(`{"event_type":"Arrival","tick":1,"tx_id":"t","amount":5,"\u0061mount":500}`),
			want: simdb.ErrInvalidEvent, where: []string{"event 1", `"amount"`, "duplicate"}},
		{name: "duplicate event_type", call: badAt(`{"event_type":"Arrival","tick":1,"event_type":"PolicySubmit"}`),
			want: simdb.ErrInvalidEvent, where: []string{"event 1", `"event_type"`, "duplicate"}},
		{name: "duplicate key in a nested object", call: badAt(`{"event_type":"ScenarioEventExecuted","tick":1,"extra":{"a":{"k":1,"j":2,"k":3}}}`),
			want: simdb.ErrInvalidEvent, where: []string{"event 1", `"extra"`, `"k"`, "duplicate"}},
		{name: "duplicate key in an object inside an array", call: badAt(`{"event_type":"X","tick":1,"list":[{"k":1},{"k":1,"k":2}]}`),
			want: simdb.ErrInvalidEvent, where: []string{"event 1", `"list"`, `"k"`, "duplicate"}},
		{name: "array nested 100000 deep", call: badAt(deepArray), want: simdb.ErrInvalidEvent,
			where: []string{"event 1", "nested deeper than 64", "byte"}},
		{name: "object nested 100000 deep", call: badAt(deepObject), want: simdb.ErrInvalidEvent,
			where: []string{"event 1", "nested deeper than 64", "byte"}},
		{name: "top-level value nested 100000 deep", call: badAt(strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000)),
			want: simdb.ErrInvalidEvent, where: []string{"event 1", "byte 0"}},
		{name: "bad event after 200 good ones stores nothing", call: func(_ *testing.T, b *testBundle) error {
			lines := make([]string, 0, 201)
			for i := 0; i < 200; i++ {
				lines = append(lines, arrival(1, fmt.Sprintf("tx-%d", i)))
			}
			lines = append(lines, registerSet(1, "BANK_A", "stress", 2))
			lines[150] = `{"event_type":"Arrival","tick":1,"tx_id":"bad","amount":"100"}`
			n, err := b.store.PersistTickEvents(b.ctx, hostileSim, 1, raws(lines...))
			if err != nil && n != 0 {
				return fmt.Errorf("failed call reports %d events: %w", n, err)
			}
			return err
		}, want: simdb.ErrInvalidEvent, where: []string{"event 150", "tick 1", "Arrival", `"amount"`}},
	}
}

// --- Money, big integers, NUL escapes, sizes ---

func hostileValueCases() []hostileCase {
	bigInts := `{"event_type":"Arrival","tick":1,"tx_id":"tx-big","sender_id":"BANK_A","receiver_id":"BANK_B","amount":9007199254740993,"deadline":9007199254740993,"priority":-9223372036854775808,"is_divisible":false}`
	nulEsc := `{"event_type":"Po\u0000licyHold","tick":1,"agent_id":"BANK\u0000A","tx_id":"tx\u0000","reason":"a\u0000b","sender":"S\u0000"}`
	var huge strings.Builder
	huge.WriteString(`{"event_type":"ScenarioEventExecuted","tick":1,"scenario_event_type":"custom","details_json":"`)
	for huge.Len() < 1<<20+100 {
		huge.WriteString(`{\"k\":\"0123456789abcdef\"},`)
	}
	huge.WriteString(`","n":9007199254740993}`)
	var manyKeys strings.Builder
	manyKeys.WriteString(`{"event_type":"Custom","tick":1,"agent_id":"BANK_A"`)
	nKeys := 0
	for ; manyKeys.Len() < 1<<20; nKeys++ {
		fmt.Fprintf(&manyKeys, `,"k%d":%d`, nKeys, nKeys)
	}
	manyKeys.WriteString(`}`)
	var manyTx strings.Builder
	manyTx.WriteString(`{"event_type":"LsmBilateralOffset","tick":1,"agent_a":"BANK_A","agent_b":"BANK_B","tx_ids":[`)
	nTx := 0
	for ; manyTx.Len() < 1<<20; nTx++ {
		if nTx > 0 {
			manyTx.WriteString(",")
		}
		fmt.Fprintf(&manyTx, `"tx-%d"`, nTx)
	}
	manyTx.WriteString(`],"amount_a":1,"amount_b":2,"amount":3}`)
	return []hostileCase{
		{name: "money 1.5", call: badAt(`{"event_type":"Arrival","tick":1,"tx_id":"t","amount":1.5}`), want: simdb.ErrInvalidEvent,
			where: []string{"event 1", "Arrival", `"amount"`, "1.5"}},
		{name: "money as a string", call: badAt(`{"event_type":"Arrival","tick":1,"tx_id":"t","amount":"100"}`), want: simdb.ErrInvalidEvent,
			where: []string{"event 1", `"amount"`, "a string"}},
		{name: "money 1e3", call: badAt(`{"event_type":"Arrival","tick":1,"tx_id":"t","amount":1e3}`), want: simdb.ErrInvalidEvent,
			where: []string{"event 1", `"amount"`, "1e3"}},
		{name: "money 100.0", call: badAt(`{"event_type":"RtgsImmediateSettlement","tick":1,"tx_id":"t","amount":100,"sender_balance_before":100.0}`), want: simdb.ErrInvalidEvent,
			where: []string{"event 1", `"sender_balance_before"`, "100.0"}},
		{name: "money beyond int64", call: badAt(`{"event_type":"Arrival","tick":1,"tx_id":"t","amount":9223372036854775808}`), want: simdb.ErrInvalidEvent,
			where: []string{"event 1", `"amount"`, "9223372036854775808"}},
		{name: "money null where not nullable", call: badAt(`{"event_type":"CollateralPost","tick":1,"agent_id":"A","amount":null,"new_total":5}`), want: simdb.ErrInvalidEvent,
			where: []string{"event 1", `"amount"`, "null"}},
		{name: "nested money CostAccrual.costs.total 1.5", call: badAt(`{"event_type":"CostAccrual","tick":1,"agent_id":"BANK_A","costs":{"liquidity_cost":1,"delay_cost":0,"collateral_cost":0,"penalty_cost":0,"split_friction_cost":0,"total":1.5}}`),
			want: simdb.ErrInvalidEvent, where: []string{"event 1", "CostAccrual", `"costs.total"`, "1.5"}},
		{name: "money array LsmCycleSettlement.tx_amounts[1] 1e3", call: badAt(`{"event_type":"LsmCycleSettlement","tick":1,"agents":["A","B","A"],"tx_amounts":[100,1e3],"total_value":1100,"net_positions":[0,0,0],"max_net_outflow":0,"max_net_outflow_agent":"A","tx_ids":["t1","t2"],"cycle_value":1100}`),
			want: simdb.ErrInvalidEvent, where: []string{"event 1", "LsmCycleSettlement", `"tx_amounts[1]"`, "1e3"}},
		{name: "integers above 2^53 kept exact", call: persist(1, bigInts), check: func(t *testing.T, b *testBundle, _ dbState) {
			ev := storedOnly(t, b, hostileSim, simdb.EventFilter{TxID: "tx-big"}, bigInts)
			if ev.Amount == nil || *ev.Amount != 9007199254740993 || ev.Deadline == nil || *ev.Deadline != 9007199254740993 ||
				ev.Priority == nil || *ev.Priority != math.MinInt64 {
				t.Fatalf("lifted fields: amount %v deadline %v priority %v", ev.Amount, ev.Deadline, ev.Priority)
			}
			d := detailsText(t, b, hostileSim, 1)
			if !strings.Contains(d, `"amount":9007199254740993`) || !strings.Contains(d, `"deadline":9007199254740993`) ||
				!strings.Contains(d, `"priority":-9223372036854775808`) {
				t.Fatalf("details text lost precision: %s", d)
			}
			var amount int64
			if err := simdb.RawDB(b.store).QueryRowContext(b.ctx, `SELECT CAST(details->>'amount' AS BIGINT) FROM simulation_events WHERE tick = 1`).Scan(&amount); err != nil || amount != 9007199254740993 {
				t.Fatalf("details->>'amount' = %d, %v", amount, err)
			}
		}},
		{name: "NUL escapes round-trip exactly", call: persist(1, nulEsc), check: func(t *testing.T, b *testBundle, _ dbState) {
			ev := storedOnly(t, b, hostileSim, simdb.EventFilter{AgentID: "BANK\x00A"}, nulEsc)
			if ev.EventType != "Po\x00licyHold" || ev.AgentID == nil || *ev.AgentID != "BANK\x00A" || ev.TxID == nil || *ev.TxID != "tx\x00" ||
				ev.Sender == nil || *ev.Sender != "S\x00" {
				t.Fatalf("columns: type %q agent %v tx %v sender %v", ev.EventType, ev.AgentID, ev.TxID, ev.Sender)
			}
			storedOnly(t, b, hostileSim, simdb.EventFilter{TxID: "tx\x00"}, nulEsc)
			storedOnly(t, b, hostileSim, simdb.EventFilter{EventTypes: []string{"Po\x00licyHold"}}, nulEsc)
			storedOnly(t, b, hostileSim, simdb.EventFilter{AgentID: "S\x00"}, nulEsc)
			for _, f := range []simdb.EventFilter{{AgentID: "BANK"}, {TxID: "tx"}, {EventTypes: []string{"Po"}}} {
				page, err := b.store.GetSimulationEvents(b.ctx, hostileSim, f)
				if err != nil || page.Total != 0 {
					t.Fatalf("prefix before the NUL matched: %+v total %d err %v", f, page.Total, err)
				}
			}
			if d := detailsText(t, b, hostileSim, 1); d != `{"reason":"a\u0000b","sender":"S\u0000"}` {
				t.Fatalf("details = %q", d)
			}
		}},
		{name: "1 MB string value stored and round-trips", call: persist(1, huge.String()), check: func(t *testing.T, b *testBundle, _ dbState) {
			storedOnly(t, b, hostileSim, simdb.EventFilter{Tick: simdb.Int64(1)}, huge.String())
			if n := b.count(t, `SELECT length(details) FROM simulation_events WHERE tick = 1`); n < 1<<20 {
				t.Fatalf("details is %d bytes", n)
			}
		}},
		{name: fmt.Sprintf("1 MB object of %d keys stored and round-trips", nKeys), call: persist(1, manyKeys.String()), check: func(t *testing.T, b *testBundle, _ dbState) {
			storedOnly(t, b, hostileSim, simdb.EventFilter{AgentID: "BANK_A", Tick: simdb.Int64(1)}, manyKeys.String())
			if n := b.count(t, `SELECT len(json_keys(details)) FROM simulation_events WHERE tick = 1`); n != int64(nKeys) {
				t.Fatalf("details has %d keys, want %d", n, nKeys)
			}
		}},
		{name: fmt.Sprintf("1 MB list of %d transaction ids stored and matched", nTx), call: persist(1, manyTx.String()), check: func(t *testing.T, b *testBundle, _ dbState) {
			ev := storedOnly(t, b, hostileSim, simdb.EventFilter{TxID: "tx-77777"}, manyTx.String())
			if len(ev.TxIDs) != nTx || ev.TxIDs[0] != "tx-0" || ev.TxIDs[77777] != "tx-77777" {
				t.Fatalf("%d tx ids, want %d", len(ev.TxIDs), nTx)
			}
		}},
	}
}
