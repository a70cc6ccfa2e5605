package simdb_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/provider"
	"github.com/simcash/simdb/internal/testutil"
)

// Hostile input through the provider. Every case runs on a fresh durable
// database holding one running simulation (hostileSim, tick 0 committed
// with an Arrival and a StateRegisterSet). A case that must fail checks the
// sentinel (errors.Is), that the message names the place (event index, line,
// tick, field, byte offset) and that the database holds exactly what it held
// before the call. A case that must succeed checks what was stored.

const hostileSim = "sim-1"

// evil is SQL-looking text that must be stored and matched literally.
const evil = "'; DROP TABLE simulations; --"

type hostileCase struct {
	name string
	// durability overrides the default Durable store.
	durability *simdb.Durability
	// prepare builds the state the case needs, before the snapshot.
	prepare func(t *testing.T, b *testBundle)
	// call is the hostile call.
	call func(t *testing.T, b *testBundle) error
	// want is the sentinel the error must match; nil: the call must succeed.
	want error
	// alsoWant are further errors the error must match.
	alsoWant []error
	// where are substrings the error message must contain.
	where []string
	// check verifies the stored state after a successful call, or replaces
	// the unchanged-state check for a failing call that keeps earlier work
	// (a truncated stream).
	check func(t *testing.T, b *testBundle, before dbState)
}

func TestHostileInputs(t *testing.T) {
	var cases []hostileCase
	cases = append(cases, hostileEventCases()...)
	cases = append(cases, hostileValueCases()...)
	cases = append(cases, hostileLifecycleCases()...)
	cases = append(cases, hostileIngestCases()...)
	cases = append(cases, hostileFilterCases()...)
	if len(cases) < 30 {
		t.Fatalf("only %d cases", len(cases))
	}
	seen := map[string]bool{}
	for _, c := range cases {
		if seen[c.name] {
			t.Fatalf("duplicate case name %q", c.name)
		}
		seen[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			d := simdb.Durable
			if c.durability != nil {
				d = *c.durability
			}
			b := hostileSetup(t, d)
			if c.prepare != nil {
				c.prepare(t, b)
			}
			before := snapshot(t, b)
			err := c.call(t, b)
			if err != nil {
				t.Logf("error: %.400v", err)
			}
			if c.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
			} else {
				if !errors.Is(err, c.want) {
					t.Fatalf("err = %v, want %v", err, c.want)
				}
				var evErr *simdb.EventError
				if errors.Is(c.want, simdb.ErrInvalidEvent) && !errors.As(err, &evErr) {
					t.Fatalf("invalid event error is not an *EventError: %#v", err)
				}
				for _, w := range c.alsoWant {
					if !errors.Is(err, w) {
						t.Fatalf("err = %v, want it to match %v as well", err, w)
					}
				}
				for _, w := range c.where {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("message does not name %q: %v", w, err)
					}
				}
			}
			if c.check != nil {
				c.check(t, b, before)
			} else if c.want != nil {
				if err := b.store.Flush(b.ctx); err != nil {
					t.Fatalf("flush: %v", err)
				}
				if after := snapshot(t, b); after != before {
					t.Fatalf("database changed by a rejected call:\nbefore %+v\nafter  %+v", before, after)
				}
			}
			if n := b.count(t, `SELECT count(*) FROM simulations`); n < 1 {
				t.Fatalf("simulations table lost its rows: %d", n)
			}
		})
	}
}

// hostileSetup opens a store with hostileSim running and tick 0 committed.
func hostileSetup(t *testing.T, d simdb.Durability) *testBundle {
	t.Helper()
	b := setup(t, simdb.Options{Durability: d})
	b.start(t, hostileSim)
	if n, err := b.store.PersistTickEvents(b.ctx, hostileSim, 0, raws(arrival(0, "tx-0"), registerSet(0, "BANK_A", "stress", 1.5))); err != nil || n != 2 {
		t.Fatalf("baseline tick: n=%d err=%v", n, err)
	}
	if err := b.store.Flush(b.ctx); err != nil {
		t.Fatal(err)
	}
	if b.count(t, `SELECT count(*) FROM simulation_events`) != 2 || b.count(t, `SELECT count(*) FROM agent_state_registers`) != 1 {
		t.Fatal("baseline tick not committed")
	}
	return b
}

// dbState is a fingerprint of every table the provider writes (the three
// core tables and the two summary tables): row count and the sum
// of a hash of every whole row (all columns), per table.
type dbState struct {
	events, sims, regs, types, agents string
}

func snapshot(t *testing.T, b *testBundle) dbState {
	t.Helper()
	return dbState{
		events: tableState(t, b, "simulation_events", ""),
		sims:   tableState(t, b, "simulations", ""),
		regs:   tableState(t, b, "agent_state_registers", ""),
		types:  tableState(t, b, "simulation_event_types", ""),
		agents: tableState(t, b, "simulation_agents", ""),
	}
}

// tableState fingerprints a table, leaving out the rows of simulation skip.
func tableState(t *testing.T, b *testBundle, table, skip string) string {
	t.Helper()
	var n int64
	var h string
	q := `SELECT count(*), coalesce(sum(hash(x))::VARCHAR, '0') FROM ` + table + ` x WHERE simulation_id <> $1`
	if err := simdb.RawDB(b.store).QueryRowContext(b.ctx, q, skip).Scan(&n, &h); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return fmt.Sprintf("%d rows, hash %s", n, h)
}

// persist returns a call persisting lines as tick of hostileSim.
func persist(tick int64, lines ...string) func(*testing.T, *testBundle) error {
	return func(_ *testing.T, b *testBundle) error {
		n, err := b.store.PersistTickEvents(b.ctx, hostileSim, tick, raws(lines...))
		if err != nil && n != 0 {
			return fmt.Errorf("failed call reports %d events stored: %w", n, err)
		}
		return err
	}
}

// badAt persists a valid Arrival followed by bad as tick 1: the bad event is
// event 1 of the call.
func badAt(bad string) func(*testing.T, *testBundle) error {
	return persist(1, arrival(1, "tx-ok"), bad)
}

// offsetOf is the byte offset of sub in s, as the decoder reports it.
func offsetOf(s, sub string) string {
	i := strings.Index(s, sub)
	if i < 0 {
		panic("offsetOf: " + sub + " not in " + s)
	}
	return fmt.Sprintf("byte %d", i)
}

// storedOnly returns the only event of sim matching f and checks Raw() gives
// want back byte for byte.
func storedOnly(t *testing.T, b *testBundle, sim string, f simdb.EventFilter, want string) simdb.StoredEvent {
	t.Helper()
	page, err := b.store.GetSimulationEvents(b.ctx, sim, f)
	if err != nil {
		t.Fatalf("GetSimulationEvents(%+v): %v", f, err)
	}
	if page.Total != 1 || len(page.Events) != 1 {
		t.Fatalf("filter %+v: total %d, %d events, want exactly 1", f, page.Total, len(page.Events))
	}
	ev := page.Events[0]
	raw, err := ev.Raw()
	if err != nil {
		t.Fatalf("Raw: %v", err)
	}
	if string(raw) != want {
		t.Fatalf("Raw() differs from the event persisted:\n got %.300q\nwant %.300q", raw, want)
	}
	return ev
}

func detailsText(t *testing.T, b *testBundle, sim string, tick int64) string {
	t.Helper()
	var s string
	if err := simdb.RawDB(b.store).QueryRowContext(b.ctx,
		`SELECT details FROM simulation_events WHERE simulation_id = $1 AND tick = $2`, sim, tick).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

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

// --- Lifecycle: unknown, finished, duplicate, retried, bad ids and configs ---

func hostileLifecycleCases() []hostileCase {
	start := func(id, config string, opts simdb.StartOptions) func(*testing.T, *testBundle) error {
		return func(_ *testing.T, b *testBundle) error {
			return b.store.PersistSimulationStart(b.ctx, id, json.RawMessage(config), opts)
		}
	}
	finished := func(status string) func(*testing.T, *testBundle) {
		return func(t *testing.T, b *testBundle) {
			b.start(t, "done")
			if _, err := b.store.PersistTickEvents(b.ctx, "done", 3, raws(arrival(3, "d-1"))); err != nil {
				t.Fatal(err)
			}
			var err error
			if status == "completed" {
				err = b.store.PersistSimulationComplete(b.ctx, "done", simdb.Metrics{TotalArrivals: 1, DurationSeconds: 1})
			} else {
				err = b.store.PersistSimulationFailed(b.ctx, "done", "boom")
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	toDone := func(_ *testing.T, b *testBundle) error {
		_, err := b.store.PersistTickEvents(b.ctx, "done", 4, raws(arrival(4, "d-2")))
		return err
	}
	longID := strings.Repeat("x", 10_000)
	badConfig := "{\"ticks_per_day\":10,\"name\":\"caf\xe9\"}"
	deepConfig := `{"ticks_per_day":10,"x":` + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + `}`
	return []hostileCase{
		{name: "persist to an unknown simulation", call: func(_ *testing.T, b *testBundle) error {
			_, err := b.store.PersistTickEvents(b.ctx, "nope", 1, raws(arrival(1, "x")))
			return err
		}, want: simdb.ErrSimulationNotFound, where: []string{`"nope"`}},
		{name: "persist to a completed simulation", prepare: finished("completed"), call: toDone,
			want: simdb.ErrSimulationNotRunning, where: []string{`"done"`, "tick 4", "completed"}},
		{name: "persist to a failed simulation", prepare: finished("failed"), call: toDone,
			want: simdb.ErrSimulationNotRunning, where: []string{`"done"`, "tick 4", "failed"}},
		{name: "complete a completed simulation", prepare: finished("completed"), call: func(_ *testing.T, b *testBundle) error {
			return b.store.PersistSimulationComplete(b.ctx, "done", simdb.Metrics{TotalArrivals: 99})
		}, want: simdb.ErrSimulationNotRunning, where: []string{`"done"`, "completed"}},
		{name: "fail a completed simulation", prepare: finished("completed"), call: func(_ *testing.T, b *testBundle) error {
			return b.store.PersistSimulationFailed(b.ctx, "done", "late")
		}, want: simdb.ErrSimulationNotRunning, where: []string{`"done"`, "completed"}},
		{name: "complete a failed simulation", prepare: finished("failed"), call: func(_ *testing.T, b *testBundle) error {
			return b.store.PersistSimulationComplete(b.ctx, "done", simdb.Metrics{})
		}, want: simdb.ErrSimulationNotRunning, where: []string{`"done"`, "failed"}},
		{name: "complete an unknown simulation", call: func(_ *testing.T, b *testBundle) error {
			return b.store.PersistSimulationComplete(b.ctx, "nope", simdb.Metrics{})
		}, want: simdb.ErrSimulationNotFound, where: []string{`"nope"`}},
		{name: "fail an unknown simulation", call: func(_ *testing.T, b *testBundle) error {
			return b.store.PersistSimulationFailed(b.ctx, "nope", "x")
		}, want: simdb.ErrSimulationNotFound, where: []string{`"nope"`}},
		{name: "duplicate simulation id", call: start(hostileSim, `{"ticks_per_day":7}`, simdb.StartOptions{}),
			want: simdb.ErrSimulationExists, where: []string{hostileSim}},
		{name: "retried tick", call: persist(0, arrival(0, "tx-0")), want: simdb.ErrTickAlreadyPersisted,
			where: []string{hostileSim, "tick 0"}},
		{name: "tick before the last persisted one", prepare: func(t *testing.T, b *testBundle) {
			if _, err := b.store.PersistTickEvents(b.ctx, hostileSim, 5, raws(arrival(5, "tx-5"))); err != nil {
				t.Fatal(err)
			}
		}, call: persist(3, arrival(3, "tx-3")), want: simdb.ErrTickAlreadyPersisted,
			where: []string{"tick 3", "last persisted tick is 5"}},
		{name: "ticks_per_day 0", call: start("s2", `{"ticks_per_day":0}`, simdb.StartOptions{}),
			want: simdb.ErrInvalidConfig, where: []string{`"s2"`, "ticks_per_day", "0"}},
		{name: "ticks_per_day negative", call: start("s2", `{"simulation":{"ticks_per_day":-100}}`, simdb.StartOptions{}),
			want: simdb.ErrInvalidConfig, where: []string{`"s2"`, "ticks_per_day", "-100"}},
		{name: "ticks_per_day beyond int64", call: start("s2", `{"ticks_per_day":9223372036854775808}`, simdb.StartOptions{}),
			want: simdb.ErrInvalidConfig, where: []string{"ticks_per_day", "9223372036854775808"}},
		{name: "ticks_per_day times num_days overflows", call: start("s2", `{"ticks_per_day":4611686018427387904,"num_days":2}`, simdb.StartOptions{}),
			want: simdb.ErrInvalidConfig, where: []string{"overflows"}},
		{name: "config with trailing data", call: start("s2", `{"ticks_per_day":10}}`, simdb.StartOptions{}),
			want: simdb.ErrInvalidConfig, where: []string{"trailing", "byte 20"}},
		{name: "config not valid UTF-8", call: start("s2", badConfig, simdb.StartOptions{}),
			want: simdb.ErrInvalidConfig, where: []string{`"s2"`, "UTF-8", offsetOf(badConfig, "\xe9")}},
		{name: "config nested 100000 deep", call: start("s2", deepConfig, simdb.StartOptions{}),
			want: simdb.ErrInvalidConfig, where: []string{`"s2"`}},
		{name: "config NaN", call: start("s2", `{"ticks_per_day":NaN}`, simdb.StartOptions{}),
			want: simdb.ErrInvalidConfig, where: []string{`"s2"`}},
		{name: "config with a duplicate key", call: start("s2", `{"ticks_per_day":100,"ticks_per_day":7}`, simdb.StartOptions{}),
			want: simdb.ErrInvalidConfig, where: []string{`"s2"`, `"ticks_per_day"`, "duplicate key"}},
		{name: "config with a duplicate key in a nested object", call: start("s2", `{"scenario":{"num_days":1,"num_days":5}}`, simdb.StartOptions{}),
			want: simdb.ErrInvalidConfig, where: []string{`"s2"`, `"scenario"`, `"num_days"`, "duplicate"}},
		{name: "config with a lone surrogate escape", call: start("s2", `{"ticks_per_day":10,"name":{"x":"\udc00"}}`, simdb.StartOptions{}),
			want: simdb.ErrInvalidConfig, where: []string{`"s2"`, `"name"`, `\udc00`}},
		{name: "ticks_per_day fractional", call: start("s2", `{"ticks_per_day":100.5}`, simdb.StartOptions{}),
			want: simdb.ErrInvalidConfig, where: []string{`"s2"`, "ticks_per_day", "100.5"}},
		{name: "empty experiment run id", call: start("s2", testConfig, simdb.StartOptions{Experiment: &simdb.Experiment{RunID: "", Iteration: 3}}),
			want: simdb.ErrInvalidArgument, where: []string{`"s2"`, "experiment run id is empty"}},
		{name: "empty simulation id", call: start("", testConfig, simdb.StartOptions{}),
			want: simdb.ErrInvalidArgument, where: []string{"empty simulation id"}},
		{name: "10000-character simulation id", call: start(longID, testConfig, simdb.StartOptions{}),
			want: simdb.ErrInvalidArgument, where: []string{"10000 bytes", fmt.Sprint(provider.MaxSimulationIDLen)}},
		{name: "simulation id one byte over the limit", call: start(strings.Repeat("é", provider.MaxSimulationIDLen/2)+"x", testConfig, simdb.StartOptions{}),
			want: simdb.ErrInvalidArgument, where: []string{fmt.Sprintf("%d bytes", provider.MaxSimulationIDLen+1)}},
		{name: "simulation id at the limit accepted", call: start(strings.Repeat("é", provider.MaxSimulationIDLen/2), testConfig, simdb.StartOptions{}),
			check: func(t *testing.T, b *testBundle, _ dbState) {
				id := strings.Repeat("é", provider.MaxSimulationIDLen/2)
				if _, err := b.store.PersistTickEvents(b.ctx, id, 1, raws(arrival(1, "t"))); err != nil {
					t.Fatal(err)
				}
				storedOnly(t, b, id, simdb.EventFilter{}, arrival(1, "t"))
			}},
		{name: "simulation id with a NUL", call: start("a\x00b", testConfig, simdb.StartOptions{}),
			want: simdb.ErrInvalidArgument, where: []string{"control characters"}},
		{name: "simulation id not UTF-8", call: start("a\xffb", testConfig, simdb.StartOptions{}),
			want: simdb.ErrInvalidArgument, where: []string{"UTF-8"}},
		{name: "persist with an empty simulation id", call: func(_ *testing.T, b *testBundle) error {
			_, err := b.store.PersistTickEvents(b.ctx, "", 1, raws(arrival(1, "x")))
			return err
		}, want: simdb.ErrInvalidArgument, where: []string{"empty simulation id"}},
		{name: "persist with a 10000-character simulation id", call: func(_ *testing.T, b *testBundle) error {
			_, err := b.store.PersistTickEvents(b.ctx, longID, 1, raws(arrival(1, "x")))
			return err
		}, want: simdb.ErrInvalidArgument, where: []string{"10000 bytes"}},
		{name: "complete with a 10000-character simulation id", call: func(_ *testing.T, b *testBundle) error {
			return b.store.PersistSimulationComplete(b.ctx, longID, simdb.Metrics{})
		}, want: simdb.ErrInvalidArgument, where: []string{"10000 bytes"}},
		{name: "fail with an empty simulation id", call: func(_ *testing.T, b *testBundle) error {
			return b.store.PersistSimulationFailed(b.ctx, "", "x")
		}, want: simdb.ErrInvalidArgument, where: []string{"empty simulation id"}},
		{name: "config file name not UTF-8", call: start("s2", testConfig, simdb.StartOptions{ConfigFile: "runs/\xff.yaml"}),
			want: simdb.ErrInvalidArgument, where: []string{`"s2"`, "config file", "UTF-8"}},
		{name: "experiment run id not UTF-8", call: start("s2", testConfig, simdb.StartOptions{Experiment: &simdb.Experiment{RunID: "exp-\xff", Iteration: 1}}),
			want: simdb.ErrInvalidArgument, where: []string{`"s2"`, "experiment", "UTF-8"}},
		{name: "failure reason not UTF-8", call: func(_ *testing.T, b *testBundle) error {
			return b.store.PersistSimulationFailed(b.ctx, hostileSim, "panic: \xff\xfe")
		}, want: simdb.ErrInvalidArgument, where: []string{hostileSim, "reason", "UTF-8"}},
		{name: "complete with an infinite duration", call: func(_ *testing.T, b *testBundle) error {
			return b.store.PersistSimulationComplete(b.ctx, hostileSim, simdb.Metrics{TotalArrivals: 1, DurationSeconds: math.Inf(1)})
		}, want: simdb.ErrInvalidArgument, where: []string{hostileSim, "duration"}},
		{name: "complete with a NaN duration", call: func(_ *testing.T, b *testBundle) error {
			return b.store.PersistSimulationComplete(b.ctx, hostileSim, simdb.Metrics{DurationSeconds: math.NaN()})
		}, want: simdb.ErrInvalidArgument, where: []string{hostileSim, "duration"}},
		{name: "complete with negative arrivals", call: func(_ *testing.T, b *testBundle) error {
			return b.store.PersistSimulationComplete(b.ctx, hostileSim, simdb.Metrics{TotalArrivals: -1})
		}, want: simdb.ErrInvalidArgument, where: []string{hostileSim}},
		{name: "complete with a negative total cost", call: func(_ *testing.T, b *testBundle) error {
			return b.store.PersistSimulationComplete(b.ctx, hostileSim, simdb.Metrics{TotalArrivals: 2, TotalSettlements: 1, TotalCostCents: -5})
		}, want: simdb.ErrInvalidArgument, where: []string{hostileSim, "total_cost_cents is -5"}},
		// Accepted on purpose: scheduled settlements have no Arrival
		// (checkMetrics), so the rate may exceed 1 and says so.
		{name: "complete with more settlements than arrivals", call: func(_ *testing.T, b *testBundle) error {
			return b.store.PersistSimulationComplete(b.ctx, hostileSim, simdb.Metrics{TotalArrivals: 1, TotalSettlements: 2})
		}, check: func(t *testing.T, b *testBundle, _ dbState) {
			sum, err := b.store.GetSimulationSummary(b.ctx, hostileSim)
			if err != nil || sum.Status != "completed" || sum.SettlementRate != 2 {
				t.Fatalf("status %s, settlement rate %v, err %v; want completed, 2", sum.Status, sum.SettlementRate, err)
			}
		}},
		{name: "SQL-looking text stored and matched literally", call: func(_ *testing.T, b *testBundle) error {
			if err := b.store.PersistSimulationStart(b.ctx, evil, json.RawMessage(testConfig), simdb.StartOptions{ConfigFile: evil,
				Experiment: &simdb.Experiment{RunID: evil}}); err != nil {
				return err
			}
			_, err := b.store.PersistTickEvents(b.ctx, evil, 0, raws(evilEvent(), arrival(0, "tx-other")))
			return err
		}, check: func(t *testing.T, b *testBundle, _ dbState) {
			want := evilEvent()
			storedOnly(t, b, evil, simdb.EventFilter{AgentID: evil}, want)
			storedOnly(t, b, evil, simdb.EventFilter{TxID: evil}, want)
			storedOnly(t, b, evil, simdb.EventFilter{EventTypes: []string{evil}}, want)
			storedOnly(t, b, evil, simdb.EventFilter{AgentID: evil, TxID: evil, EventTypes: []string{evil, "Arrival"}}, want)
			sum, err := b.store.GetSimulationSummary(b.ctx, evil)
			if err != nil || sum.SimulationID != evil || sum.ConfigFile == nil || *sum.ConfigFile != evil || sum.EventCount != 2 {
				t.Fatalf("summary %+v, %v", sum.Simulation, err)
			}
			runs, err := b.store.ListSimulations(b.ctx, simdb.ListFilter{ExperimentRunID: evil})
			if err != nil || len(runs) != 1 || runs[0].SimulationID != evil {
				t.Fatalf("experiment runs %v, %v", runs, err)
			}
			page, err := b.store.GetSimulationEvents(b.ctx, hostileSim, simdb.EventFilter{AgentID: evil})
			if err != nil || page.Total != 0 {
				t.Fatalf("evil filter on another simulation: total %d, %v", page.Total, err)
			}
			if n := b.count(t, `SELECT count(*) FROM simulations`); n != 2 {
				t.Fatalf("%d simulations", n)
			}
			if n := b.count(t, `SELECT count(*) FROM simulation_events WHERE event_id = $1`, evil+":0"); n != 1 {
				t.Fatalf("event id %q: %d rows", evil+":0", n)
			}
		}},
	}
}

func evilEvent() string {
	s, _ := json.Marshal(evil)
	return fmt.Sprintf(`{"event_type":%s,"tick":0,"agent_id":%s,"tx_id":%s,"note":%s}`, s, s, s, s)
}

// --- Streams through IngestJSONL ---

func hostileIngestCases() []hostileCase {
	ingest := func(id, stream string) func(*testing.T, *testBundle) error {
		return func(_ *testing.T, b *testBundle) error {
			_, err := b.store.IngestJSONL(b.ctx, id, bytes.NewReader([]byte(stream)), simdb.IngestOptions{})
			return err
		}
	}
	lines := func(ls ...string) string { return strings.Join(ls, "\n") + "\n" }
	return []hostileCase{
		{name: "stream: invalid JSON on line 3", call: ingest(hostileSim, lines(arrival(1, "a"), arrival(1, "b"), `{"event_type":"Arrival","tick":1,`)),
			want: simdb.ErrInvalidEvent, where: []string{"line 3", "invalid JSON"}},
		{name: "stream: a line that is not an object", call: ingest(hostileSim, lines(arrival(1, "a"), `42`)),
			want: simdb.ErrInvalidEvent, where: []string{"line 2", "byte 0"}},
		{name: "stream: tick missing", call: ingest(hostileSim, lines(arrival(1, "a"), `{"event_type":"PolicySubmit","agent_id":"A","tx_id":"a"}`)),
			want: simdb.ErrInvalidEvent, where: []string{"line 2", "PolicySubmit", `"tick"`, "missing"}},
		{name: "stream: tick a string", call: ingest(hostileSim, lines(arrival(1, "a"), `{"event_type":"PolicySubmit","tick":"1"}`)),
			want: simdb.ErrInvalidEvent, where: []string{"line 2", `"tick"`}},
		{name: "stream: ticks going backwards", call: ingest(hostileSim, lines(arrival(2, "a"), arrival(1, "b"))),
			want: simdb.ErrInvalidEvent, where: []string{"line 2", "tick 1", `"tick"`}},
		{name: "stream: bad money on line 2", call: ingest(hostileSim, lines(arrival(1, "a"), `{"event_type":"Arrival","tick":1,"tx_id":"b","amount":1.5}`, arrival(2, "c"))),
			want: simdb.ErrInvalidEvent, where: []string{"line 2", "tick 1", "Arrival", `"amount"`}},
		{name: "stream: nested 100000 deep", call: ingest(hostileSim, lines(arrival(1, "a"), `{"event_type":"X","tick":1,"d":`+strings.Repeat("[", 100_000)+strings.Repeat("]", 100_000)+`}`)),
			want: simdb.ErrInvalidEvent, where: []string{"line 2", "nested deeper"}},
		{name: "stream: lone surrogate escape on line 3", call: ingest(hostileSim, lines(arrival(1, "a"), arrival(1, "b"), `{"event_type":"PolicyHold","tick":1,"agent_id":"BANK_A","reason":"\ud800"}`)),
			want: simdb.ErrInvalidEvent, where: []string{"line 3", "tick 1", "PolicyHold", `"reason"`, "surrogate"}},
		{name: "stream: retried tick", call: ingest(hostileSim, lines(arrival(0, "again"))),
			want: simdb.ErrTickAlreadyPersisted, where: []string{"tick 0"}},
		{name: "stream: unknown simulation", call: ingest("nope", lines(arrival(1, "a"))),
			want: simdb.ErrSimulationNotFound, where: []string{`"nope"`}},
		{name: "stream: empty simulation id", call: ingest("", lines(arrival(1, "a"))),
			want: simdb.ErrInvalidArgument, where: []string{"empty simulation id"}},
		truncatedCase("stream: truncated gzip keeps the complete ticks", simdb.Durable, syntheticStream),
		// A bad line keeps every complete tick before it, whatever its
		// place in its tick (issue 19, point 4: a bad first line of a tick
		// used to lose the tick before it).
		keptCase("stream: bad first line of a tick keeps the tick before", simdb.Durable,
			lines(arrival(1, "a"), arrival(1, "b"), badMoney(2), arrival(2, "c")), 3, 2, 2),
		keptCase("stream: bad first line of a tick keeps the tick before, buffered", simdb.Buffered,
			lines(arrival(1, "a"), arrival(1, "b"), badMoney(2), arrival(2, "c")), 3, 2, 2),
		keptCase("stream: bad middle line of a tick", simdb.Durable,
			lines(arrival(1, "a"), arrival(2, "b"), badMoney(2), arrival(2, "c")), 3, 2, 1),
		keptCase("stream: bad last line of a tick", simdb.Durable,
			lines(arrival(1, "a"), arrival(2, "b"), badMoney(2), arrival(3, "c")), 3, 2, 1),
		keptCase("stream: bad first line of the stream", simdb.Durable,
			lines(badMoney(1), arrival(1, "a"), arrival(2, "b")), 1, 1, 0),
		// An unreadable tick may be the buffered tick's: that tick is
		// not stored (only the ticks before it).
		keptCase("stream: bad line of unknown tick after a tick", simdb.Durable,
			lines(arrival(1, "a"), arrival(2, "b"), `{"event_type":"Arrival","tick":`), 3, -1, 1),
		keptCase("stream: tick going backwards after a tick", simdb.Durable,
			lines(arrival(1, "a"), arrival(3, "b"), arrival(2, "c")), 3, 2, 1),
		// A line over the limit is named by its own number (it used to be
		// reported as the line before); its tick is unknown, so the tick
		// before it is not stored.
		{name: "stream: a line over the limit", call: func(_ *testing.T, b *testBundle) error {
			r := io.MultiReader(strings.NewReader(lines(arrival(1, "a"))+`{"event_type":"X","tick":2,"pad":"`),
				io.LimitReader(repeatByte('x'), provider.MaxLineBytes+1<<20), strings.NewReader("\"}\n"))
			_, err := b.store.IngestJSONL(b.ctx, hostileSim, r, simdb.IngestOptions{Source: "big.jsonl"})
			return err
		}, want: simdb.ErrInvalidEvent, where: []string{"big.jsonl:2: ", "longer than"}},
		// --resume checks the stored ticks against the stream (issue 19,
		// point 3): hostileSim holds tick 0, an Arrival and a register set.
		{name: "resume: another stream", call: resume(lines(arrival(0, "other"), registerSet(0, "BANK_A", "stress", 1.5), arrival(1, "a"))),
			want: simdb.ErrResumeMismatch, where: []string{"line 1", "tick 0, seq 0", `"other"`, `"tx-0"`}},
		{name: "resume: a stored event missing", call: resume(lines(arrival(0, "tx-0"), arrival(1, "a"))),
			want: simdb.ErrResumeMismatch, where: []string{"line 2", "1 events of the stored ticks", "stored run 2", "seq 1, tick 0"}},
		{name: "resume: an event more in a stored tick", call: resume(lines(arrival(0, "tx-0"), registerSet(0, "BANK_A", "stress", 1.5), arrival(0, "extra"), arrival(1, "a"))),
			want: simdb.ErrResumeMismatch, where: []string{"line 3", "tick 0", "the stored run has 2 events through tick 0"}},
		{name: "resume: a shorter stream", call: resume(lines(arrival(0, "tx-0"))),
			want: simdb.ErrResumeMismatch, where: []string{"line 1 (end of stream)", "seq 1"}},
		{name: "resume: an empty stream", call: resume(""),
			want: simdb.ErrResumeMismatch, where: []string{"empty stream", "seq 0"}},
		{name: "resume: the stored stream, other whitespace", call: resume(lines(
			strings.ReplaceAll(arrival(0, "tx-0"), ",", ", "), registerSet(0, "BANK_A", "stress", 1.5), arrival(1, "next"))),
			check: func(t *testing.T, b *testBundle, _ dbState) {
				storedOnly(t, b, hostileSim, simdb.EventFilter{Tick: simdb.Int64(1)}, arrival(1, "next"))
			}},
		truncatedCase("stream: truncated gzip, buffered, keeps the ticks handed over after Flush", simdb.Buffered, syntheticStream),
		truncatedCase("stream: truncated real stream keeps the complete ticks", simdb.Durable, func(t *testing.T) []byte {
			ls := testutil.ReadLines(t, testutil.CorpusFile(t, "small.jsonl.gz"))
			return append(bytes.Join(ls, []byte("\n")), '\n')
		}),
	}
}

// resume returns a call resuming hostileSim with stream.
func resume(stream string) func(*testing.T, *testBundle) error {
	return func(_ *testing.T, b *testBundle) error {
		_, err := b.store.IngestJSONL(b.ctx, hostileSim, strings.NewReader(stream), simdb.IngestOptions{Resume: true})
		return err
	}
}

// repeatByte reads as an endless run of c.
type repeatByte byte

func (c repeatByte) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(c)
	}
	return len(p), nil
}

// badMoney is an Arrival of tick whose amount is not integer cents.
func badMoney(tick int) string {
	return fmt.Sprintf(`{"event_type":"Arrival","tick":%d,"tx_id":"bad","amount":1e3}`, tick)
}

// keptCase ingests stream into hostileSim (tick 0 stored): the error must
// name line and tick (-1: none), and after Flush the run holds tick 0 plus
// exactly the stream's first keep lines, and nothing else changed.
func keptCase(name string, d simdb.Durability, stream string, line int, tick int64, keep int) hostileCase {
	where := []string{fmt.Sprintf("line %d", line)}
	if tick >= 0 {
		where = append(where, fmt.Sprintf("tick %d", tick))
	}
	return hostileCase{
		name: name, durability: &d, want: simdb.ErrInvalidEvent, where: where,
		call: func(_ *testing.T, b *testBundle) error {
			_, err := b.store.IngestJSONL(b.ctx, hostileSim, strings.NewReader(stream), simdb.IngestOptions{})
			return err
		},
		check: func(t *testing.T, b *testBundle, before dbState) {
			if err := b.store.Flush(b.ctx); err != nil {
				t.Fatal(err)
			}
			want := strings.Split(stream, "\n")[:keep]
			var got []string
			for ev, err := range b.store.StreamEvents(b.ctx, hostileSim, simdb.EventFilter{TickMin: simdb.Int64(1)}) {
				if err != nil {
					t.Fatal(err)
				}
				raw, err := ev.Raw()
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, string(raw))
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("stored after tick 0:\n%s\nwant the stream's first %d lines:\n%s", strings.Join(got, "\n"), keep, strings.Join(want, "\n"))
			}
			if keep == 0 {
				if after := snapshot(t, b); after != before {
					t.Fatalf("database changed: %+v -> %+v", before, after)
				}
				return
			}
			sum, err := b.store.GetSimulationSummary(b.ctx, hostileSim)
			if err != nil {
				t.Fatal(err)
			}
			var last struct{ Tick int64 }
			if err := json.Unmarshal([]byte(want[keep-1]), &last); err != nil {
				t.Fatal(err)
			}
			if sum.Status != "running" || sum.EventCount != int64(2+keep) || sum.LastTick == nil || *sum.LastTick != last.Tick {
				t.Fatalf("run: status %s, %d events through tick %s; want running, %d through %d", sum.Status, sum.EventCount, fmtTick(sum.LastTick), 2+keep, last.Tick)
			}
		},
	}
}

func fmtTick(p *int64) string {
	if p == nil {
		return "none"
	}
	return fmt.Sprint(*p)
}

// syntheticStream is 40 ticks of 60 Arrivals each (~400 KB).
func syntheticStream(*testing.T) []byte {
	var b bytes.Buffer
	for tick := 1; tick <= 40; tick++ {
		for i := 0; i < 60; i++ {
			b.WriteString(arrival(tick, fmt.Sprintf("tx-%d-%d", tick, i)))
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// truncatedCase gzips a stream into simulation "trunc", cuts the file at
// 60% (inside a line) and ingests it. The error must match ErrInvalidEvent
// and io.ErrUnexpectedEOF and name the cut line; after Flush, "trunc" holds
// exactly the ticks finished before the cut (each tick before the tick of
// the last complete line), and nothing else in the database changed.
func truncatedCase(name string, d simdb.Durability, stream func(t *testing.T) []byte) hostileCase {
	var (
		complete     [][]byte // the lines the gzip reader delivers whole
		othersBefore string   // simulations rows other than "trunc"
	)
	const id = "trunc"
	return hostileCase{
		name: name, durability: &d, want: simdb.ErrInvalidEvent, alsoWant: []error{io.ErrUnexpectedEOF},
		prepare: func(t *testing.T, b *testBundle) {
			b.start(t, id)
			othersBefore = tableState(t, b, "simulations", id)
		},
		call: func(t *testing.T, b *testBundle) error {
			var zbuf bytes.Buffer
			zw := gzip.NewWriter(&zbuf)
			if _, err := zw.Write(stream(t)); err != nil {
				t.Fatal(err)
			}
			if err := zw.Close(); err != nil {
				t.Fatal(err)
			}
			var prefix []byte
			cut := zbuf.Len() * 3 / 5
			for ; cut < zbuf.Len(); cut++ {
				zr, err := gzip.NewReader(bytes.NewReader(zbuf.Bytes()[:cut]))
				if err != nil {
					t.Fatal(err)
				}
				prefix, err = io.ReadAll(zr)
				if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("reading the cut file: %v", err)
				}
				if len(prefix) > 0 && prefix[len(prefix)-1] != '\n' {
					break // the delivered data ends inside a line
				}
			}
			complete = bytes.Split(prefix[:bytes.LastIndexByte(prefix, '\n')], []byte("\n"))
			if len(complete) < 100 {
				t.Fatalf("only %d complete lines before the cut", len(complete))
			}
			zr, err := gzip.NewReader(bytes.NewReader(zbuf.Bytes()[:cut]))
			if err != nil {
				t.Fatal(err)
			}
			_, err = b.store.IngestJSONL(b.ctx, id, zr, simdb.IngestOptions{Source: "cut.jsonl.gz"})
			if err != nil && !strings.Contains(err.Error(), fmt.Sprintf("cut.jsonl.gz:%d", len(complete)+1)) {
				t.Errorf("message does not name line %d: %v", len(complete)+1, err)
			}
			return err
		},
		check: func(t *testing.T, b *testBundle, before dbState) {
			if err := b.store.Flush(b.ctx); err != nil {
				t.Fatal(err)
			}
			tickOf := func(line []byte) int64 {
				var h struct{ Tick int64 }
				if err := json.Unmarshal(line, &h); err != nil {
					t.Fatal(err)
				}
				return h.Tick
			}
			openTick := tickOf(complete[len(complete)-1])
			var want [][]byte
			for _, l := range complete {
				if tickOf(l) < openTick {
					want = append(want, l)
				}
			}
			if len(want) == 0 {
				t.Fatal("the cut leaves no complete tick")
			}
			i := 0
			for ev, err := range b.store.StreamEvents(b.ctx, id, simdb.EventFilter{}) {
				if err != nil {
					t.Fatal(err)
				}
				if i >= len(want) {
					t.Fatalf("event %d (tick %d) stored beyond the finished ticks (< %d)", i, ev.Tick, openTick)
				}
				raw, err := ev.Raw()
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(raw, want[i]) {
					t.Fatalf("event %d:\n got %s\nwant %s", i, raw, want[i])
				}
				i++
			}
			if i != len(want) {
				t.Fatalf("stored %d events, want the %d events of ticks before %d", i, len(want), openTick)
			}
			sum, err := b.store.GetSimulationSummary(b.ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			lastTick := tickOf(want[len(want)-1])
			if sum.Status != "running" || sum.LastTick == nil || *sum.LastTick != lastTick || sum.EventCount != int64(len(want)) {
				t.Fatalf("row: status %s last_tick %v event_count %d, want running, %d, %d", sum.Status, sum.LastTick, sum.EventCount, lastTick, len(want))
			}
			if got := tableState(t, b, "simulation_events", id); got != before.events {
				t.Fatalf("other simulations' events changed: %s, was %s", got, before.events)
			}
			if got := tableState(t, b, "agent_state_registers", ""); got != before.regs {
				t.Fatalf("registers changed: %s, was %s", got, before.regs)
			}
			if got := tableState(t, b, "simulations", id); got != othersBefore {
				t.Fatalf("other simulations changed: %s, was %s", got, othersBefore)
			}
		},
	}
}

// --- Filters ---

func hostileFilterCases() []hostileCase {
	query := func(f simdb.EventFilter, check func(t *testing.T, page simdb.EventPage)) func(*testing.T, *testBundle) error {
		return func(t *testing.T, b *testBundle) error {
			page, err := b.store.GetSimulationEvents(b.ctx, hostileSim, f)
			if err == nil && check != nil {
				check(t, page)
			}
			return err
		}
	}
	expect := func(total int64, events, limit, offset int) func(t *testing.T, page simdb.EventPage) {
		return func(t *testing.T, page simdb.EventPage) {
			if page.Total != total || len(page.Events) != events || page.Limit != limit || page.Offset != offset {
				t.Fatalf("page: total %d, %d events, limit %d, offset %d; want %d, %d, %d, %d",
					page.Total, len(page.Events), page.Limit, page.Offset, total, events, limit, offset)
			}
		}
	}
	return []hostileCase{
		{name: "filter: SQL-looking agent, tx and type match nothing", call: query(simdb.EventFilter{AgentID: evil, TxID: evil, EventTypes: []string{evil}}, expect(0, 0, 100, 0)),
			check: func(t *testing.T, b *testBundle, before dbState) {
				if after := snapshot(t, b); after != before {
					t.Fatalf("a query changed the database: %+v -> %+v", before, after)
				}
			}},
		{name: "filter: limit MaxInt clamped", call: query(simdb.EventFilter{Limit: math.MaxInt}, expect(2, 2, simdb.MaxEventLimit, 0))},
		{name: "filter: limit MinInt clamped", call: query(simdb.EventFilter{Limit: math.MinInt}, expect(2, 1, 1, 0))},
		{name: "filter: offset MaxInt", call: query(simdb.EventFilter{Offset: math.MaxInt, Limit: math.MaxInt}, func(t *testing.T, page simdb.EventPage) {
			if page.Total != 2 || len(page.Events) != 0 || page.Limit != simdb.MaxEventLimit || page.Next != nil {
				t.Fatalf("page: total %d, %d events, limit %d", page.Total, len(page.Events), page.Limit)
			}
		})},
		{name: "filter: offset MinInt clamped", call: query(simdb.EventFilter{Offset: math.MinInt, Limit: 1, Sort: simdb.SortTickDesc}, expect(2, 1, 1, 0))},
		{name: "filter: extreme ticks", call: query(simdb.EventFilter{TickMin: simdb.Int64(math.MinInt64), TickMax: simdb.Int64(math.MaxInt64), Day: simdb.Int64(0)}, expect(2, 2, 100, 0))},
		{name: "filter: tick MinInt64", call: query(simdb.EventFilter{Tick: simdb.Int64(math.MinInt64)}, expect(0, 0, 100, 0))},
		{name: "filter: cursor at the extremes", call: query(simdb.EventFilter{After: &simdb.Cursor{Tick: math.MaxInt64, Seq: math.MaxInt64}, Sort: simdb.SortTickDesc}, expect(2, 2, 100, 0))},
		{name: "filter: tick_min > tick_max", call: query(simdb.EventFilter{TickMin: simdb.Int64(5), TickMax: simdb.Int64(3)}, nil),
			want: simdb.ErrInvalidFilter, where: []string{"tick_min 5", "tick_max 3"}},
		{name: "filter: tick_min MaxInt64 > tick_max MinInt64", call: query(simdb.EventFilter{TickMin: simdb.Int64(math.MaxInt64), TickMax: simdb.Int64(math.MinInt64)}, nil),
			want: simdb.ErrInvalidFilter, where: []string{"tick_min", "tick_max"}},
		{name: "filter: comma-separated event types in one element", call: query(simdb.EventFilter{EventTypes: []string{"Arrival", "Arrival,RtgsImmediateSettlement"}}, nil),
			want: simdb.ErrInvalidFilter, where: []string{`"Arrival,RtgsImmediateSettlement"`, "comma"}},
		{name: "filter: SQL-looking sort", call: query(simdb.EventFilter{Sort: "tick; DROP TABLE simulations"}, nil),
			want: simdb.ErrInvalidFilter, where: []string{"DROP TABLE"}},
		{name: "list: SQL-looking status", call: func(_ *testing.T, b *testBundle) error {
			_, err := b.store.ListSimulations(b.ctx, simdb.ListFilter{Status: evil})
			return err
		}, want: simdb.ErrInvalidFilter, where: []string{"DROP TABLE"}},
	}
}
