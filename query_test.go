package simdb_test

// Tests of the query surface: GetSimulationEvents (filters, paging, sort,
// keyset cursor), StreamEvents, GetEventSummary, GetSimulationSummary,
// ListSimulations, GetAgentStateRegisters, CompareSimulations, and SimCash's
// own SQL on a simdb file. Expected answers come from an independent
// reference: every stored line decoded with encoding/json and filtered here
// in Go, never from the store's own normalisation.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/testutil"
)

// sqlText looks like SQL; filters must match it literally.
const sqlText = "'; DROP TABLE simulations; --"

// --- The independent reference ---

// The keys under which the engine names the parties of an event and the
// transactions it involves (SIMCASH.md).
var (
	refAgentKeys     = []string{"sender_id", "receiver_id", "sender", "receiver", "agent_id", "agent_a", "agent_b", "max_net_outflow_agent"}
	refAgentListKeys = []string{"agents"}
	refTxKeys        = []string{"tx_id", "incoming_tx_id", "queued_tx_id"}
	refTxListKeys    = []string{"tx_ids", "child_ids", "source_transactions"}
	// Inside ScenarioEventExecuted's details_json (a string holding an
	// object), the scenario's own names for an agent, besides those above.
	refScenarioAgentKeys = []string{"from_agent", "to_agent", "agent", "counterparty"}
)

// refEvent is one input line as the reference sees it.
type refEvent struct {
	seq    int64
	tick   int64
	day    int64
	typ    string
	obj    map[string]any
	agents map[string]bool
	txs    map[string]bool
}

func decodeRef(t testing.TB, seq int64, line []byte, ticksPerDay int64) refEvent {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		t.Fatalf("reference decode of line %d: %v\n%s", seq, err, line)
	}
	tick, err := obj["tick"].(json.Number).Int64()
	if err != nil {
		t.Fatalf("line %d: tick: %v", seq, err)
	}
	typ, _ := obj["event_type"].(string)
	agents, txs := refParties(obj)
	return refEvent{seq: seq, tick: tick, day: tick / ticksPerDay, typ: typ, obj: obj, agents: agents, txs: txs}
}

// refParties returns the agents and transactions obj names: under the
// keys above, and inside details_json when that is a string holding a JSON
// object.
func refParties(obj map[string]any) (agents, txs map[string]bool) {
	agents = refNames(obj, refAgentKeys, refAgentListKeys)
	txs = refNames(obj, refTxKeys, refTxListKeys)
	if s, ok := obj["details_json"].(string); ok {
		var inner map[string]any
		if json.Unmarshal([]byte(s), &inner) == nil {
			maps.Copy(agents, refNames(inner, append(slices.Clone(refAgentKeys), refScenarioAgentKeys...), refAgentListKeys))
			maps.Copy(txs, refNames(inner, refTxKeys, refTxListKeys))
		}
	}
	return agents, txs
}

// refNames collects the strings under the scalar keys and inside the list
// keys of obj.
func refNames(obj map[string]any, scalar, lists []string) map[string]bool {
	out := map[string]bool{}
	for _, k := range scalar {
		if s, ok := obj[k].(string); ok {
			out[s] = true
		}
	}
	for _, k := range lists {
		if list, ok := obj[k].([]any); ok {
			for _, v := range list {
				if s, ok := v.(string); ok {
					out[s] = true
				}
			}
		}
	}
	return out
}

func decodeRefs(t testing.TB, lines [][]byte, ticksPerDay int64) []refEvent {
	t.Helper()
	out := make([]refEvent, len(lines))
	for i, l := range lines {
		out[i] = decodeRef(t, int64(i), l, ticksPerDay)
	}
	return out
}

// match applies f the way SIMCASH.md and the issue define it (After and
// paging aside).
func (r refEvent) match(f simdb.EventFilter) bool {
	switch {
	case f.Tick != nil && r.tick != *f.Tick,
		f.TickMin != nil && r.tick < *f.TickMin,
		f.TickMax != nil && r.tick > *f.TickMax,
		f.Day != nil && r.day != *f.Day,
		f.AgentID != "" && !r.agents[f.AgentID],
		f.TxID != "" && !r.txs[f.TxID],
		len(f.EventTypes) > 0 && !slices.Contains(f.EventTypes, r.typ):
		return false
	}
	return true
}

// refQuery returns the seqs of the matching events in f's order.
func refQuery(evs []refEvent, f simdb.EventFilter) []int64 {
	out := []int64{}
	for _, e := range evs {
		if e.match(f) {
			out = append(out, e.seq)
		}
	}
	if f.Sort == simdb.SortTickDesc {
		slices.Reverse(out)
	}
	return out
}

// --- Reading helpers ---

func seqsOf(evs []simdb.StoredEvent) []int64 {
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.Seq
	}
	return out
}

// offsetPages reads every match of f by offset paging with page size limit.
func offsetPages(t testing.TB, store *simdb.Store, id string, f simdb.EventFilter, limit int) ([]int64, int64) {
	t.Helper()
	ctx := context.Background()
	out := []int64{}
	total := int64(-1)
	for off := 0; ; off += limit {
		f.Limit, f.Offset, f.After = limit, off, nil
		page, err := store.GetSimulationEvents(ctx, id, f)
		if err != nil {
			t.Fatalf("offset %d: %v", off, err)
		}
		if total >= 0 && page.Total != total {
			t.Fatalf("total changed between pages: %d then %d", total, page.Total)
		}
		total = page.Total
		if len(page.Events) == 0 {
			return out, total
		}
		if len(page.Events) > limit {
			t.Fatalf("page of %d events with limit %d", len(page.Events), limit)
		}
		out = append(out, seqsOf(page.Events)...)
	}
}

// keysetPages reads every match of f by following EventPage.Next.
func keysetPages(t testing.TB, store *simdb.Store, id string, f simdb.EventFilter, limit int) []int64 {
	t.Helper()
	ctx := context.Background()
	out := []int64{}
	f.Limit, f.Offset, f.After = limit, 0, nil
	for pages := 0; ; pages++ {
		if pages > 1_000_000 {
			t.Fatal("keyset paging does not end")
		}
		page, err := store.GetSimulationEvents(ctx, id, f)
		if err != nil {
			t.Fatalf("after %+v: %v", f.After, err)
		}
		if len(page.Events) == 0 {
			if page.Next != nil {
				t.Fatalf("empty page with Next %+v", *page.Next)
			}
			return out
		}
		last := page.Events[len(page.Events)-1]
		if page.Next == nil || page.Next.Tick != last.Tick || page.Next.Seq != last.Seq {
			t.Fatalf("Next = %+v, last event (tick %d, seq %d)", page.Next, last.Tick, last.Seq)
		}
		out = append(out, seqsOf(page.Events)...)
		f.After = page.Next
	}
}

// streamAll reads every match of f through StreamEvents.
func streamAll(t testing.TB, store *simdb.Store, id string, f simdb.EventFilter) []simdb.StoredEvent {
	t.Helper()
	var out []simdb.StoredEvent
	for ev, err := range store.StreamEvents(context.Background(), id, f) {
		if err != nil {
			t.Fatalf("stream %+v: %v", f, err)
		}
		out = append(out, ev)
	}
	return out
}

// checkOrder fails unless evs are strictly increasing (or, desc, strictly
// decreasing) in (tick, seq).
func checkOrder(t testing.TB, evs []simdb.StoredEvent, desc bool) {
	t.Helper()
	for i := 1; i < len(evs); i++ {
		a, b := evs[i-1], evs[i]
		if desc {
			a, b = b, a
		}
		if !(a.Tick < b.Tick || a.Tick == b.Tick && a.Seq < b.Seq) {
			t.Fatalf("events %d,%d out of order: (tick %d, seq %d) then (tick %d, seq %d)", i-1, i, evs[i-1].Tick, evs[i-1].Seq, evs[i].Tick, evs[i].Seq)
		}
	}
}

func reversed(s []int64) []int64 {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

func startWith(t testing.TB, b *testBundle, id, config string, opts simdb.StartOptions) {
	t.Helper()
	if err := b.store.PersistSimulationStart(b.ctx, id, json.RawMessage(config), opts); err != nil {
		t.Fatalf("start %s: %v", id, err)
	}
}

func toBytes(lines []string) [][]byte {
	out := make([][]byte, len(lines))
	for i, l := range lines {
		out[i] = []byte(l)
	}
	return out
}

// --- The fixture: every party and transaction key, unknown types, traps ---

const fixtureConfig = `{"ticks_per_day":10,"num_days":3}`

// fixtureLines is a 30-tick stream (ticks_per_day 10) with four ticks
// without events, every way the engine names parties and transactions, two
// unknown event types, SQL-looking values, and traps for a substring match
// (BANK_AB), and parties named inside ScenarioEventExecuted.details_json.
func fixtureLines() [][]byte {
	banks := []string{"BANK_A", "BANK_B", "BANK_C", "BANK_D"}
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	arrival := func(tick int, tx, s, r string, amount, prio int) {
		add(`{"event_type":"Arrival","tick":%d,"tx_id":%q,"sender_id":%q,"receiver_id":%q,"amount":%d,"deadline":%d,"priority":%d,"is_divisible":false}`,
			tick, tx, s, r, amount, tick+20, prio)
	}
	for tick := 0; tick < 30; tick++ {
		if tick%7 == 6 {
			continue // ticks 6, 13, 20, 27 emit nothing
		}
		n := 3 + tick%4
		for i := 0; i < n; i++ {
			tx := fmt.Sprintf("tx-%d-%d", tick, i)
			s, r := banks[(tick+i)%4], banks[(tick+i+1)%4]
			amount := 1000 * (i + 1)
			arrival(tick, tx, s, r, amount, i%10)
			switch (tick + i) % 4 {
			case 0:
				add(`{"event_type":"RtgsImmediateSettlement","tick":%d,"tx_id":%q,"sender":%q,"receiver":%q,"amount":%d,"sender_balance_before":1000000,"sender_balance_after":%d}`,
					tick, tx, s, r, amount, 1000000-amount)
			case 1:
				add(`{"event_type":"PolicySubmit","tick":%d,"agent_id":%q,"tx_id":%q}`, tick, s, tx)
			case 2:
				add(`{"event_type":"PolicyHold","tick":%d,"agent_id":%q,"tx_id":%q,"reason":"InsufficientLiquidity"}`, tick, s, tx)
			case 3:
				add(`{"event_type":"QueuedRtgs","tick":%d,"tx_id":%q,"sender_id":%q}`, tick, tx, s)
			}
		}
		switch tick {
		case 3:
			add(`{"event_type":"LsmBilateralOffset","tick":3,"agent_a":"BANK_A","agent_b":"BANK_C","tx_ids":["tx-3-0","tx-1-1"],"amount_a":1000,"amount_b":2000,"amount":3000}`)
		case 5:
			add(`{"event_type":"ScenarioEventExecuted","tick":5,"scenario_event_type":"custom_transaction_arrival","details_json":"{\"from_agent\":\"BANK_A\",\"to_agent\":\"BANK_H\",\"tx_id\":\"tx-5-0\"}"}`)
			add(`{"event_type":"RtgsSubmission","tick":5,"tx_id":"tx-5-1","sender":"BANK_AB","receiver":"BANK_A","amount":7,"internal_priority":5,"rtgs_priority":"Normal"}`)
		case 9:
			add(`{"event_type":"LsmCycleSettlement","tick":9,"agents":["BANK_B","BANK_C","BANK_D","BANK_B"],"tx_amounts":[100,200,300],"total_value":600,"net_positions":[-100,50,50,-100],"max_net_outflow":100,"max_net_outflow_agent":"BANK_E","tx_ids":["tx-9-0","tx-8-1","tx-7-2"],"cycle_value":600}`)
		case 12:
			arrival(12, "child-1", "BANK_A", "BANK_B", 500, 5)
			arrival(12, "child-2", "BANK_A", "BANK_B", 500, 5)
			add(`{"event_type":"PolicySplit","tick":12,"agent_id":"BANK_A","tx_id":"tx-12-0","num_splits":2,"child_ids":["child-1","child-2"]}`)
		case 15:
			add(`{"event_type":"EntryDispositionOffset","tick":15,"incoming_tx_id":"tx-15-0","queued_tx_id":"tx-14-1","agent_a":"BANK_B","agent_b":"BANK_D","offset_amount":10,"incoming_amount":10,"queued_amount":20}`)
		case 18:
			add(`{"event_type":"DeferredCreditApplied","tick":18,"agent_id":"BANK_C","amount":500,"source_transactions":["tx-18-0","tx-17-2"]}`)
		case 21:
			add(`{"event_type":"MysteryEvent","tick":21,"agents":["BANK_F","BANK_A"],"child_ids":["mystery-child"],"incoming_tx_id":"mystery-in","note":"unknown to simdb"}`)
			add(`{"event_type":"FutureSettle","tick":21,"sender":"BANK_G","receiver":"BANK_A","tx_ids":["tx-21-0"],"amount":5}`)
		case 24:
			add(`{"event_type":%q,"tick":24,"agent_id":%q,"tx_id":%q}`, sqlText, sqlText, sqlText)
			arrival(24, "tx-sql", sqlText, "BANK_A", 42, 1)
		}
		if tick%5 == 0 {
			add(`{"event_type":"CostAccrual","tick":%d,"agent_id":%q,"costs":{"liquidity_cost":1,"delay_cost":2,"collateral_cost":0,"penalty_cost":0,"split_friction_cost":0,"total":3}}`, tick, banks[tick/5%4])
		}
		if tick%10 == 9 {
			add(`{"event_type":"EndOfDay","tick":%d,"day":%d,"unsettled_count":0,"total_penalties":0}`, tick, tick/10)
		}
	}
	return toBytes(out)
}

// otherLines belong to a second simulation sharing agent and tx names: none
// of them may show up in the fixture's answers.
func otherLines() [][]byte {
	return toBytes([]string{
		arrival(3, "tx-3-0"), settlement(3, "tx-3-0"),
		`{"event_type":"MysteryEvent","tick":21,"agents":["BANK_F"],"child_ids":["mystery-child"]}`,
		fmt.Sprintf(`{"event_type":%q,"tick":24,"agent_id":%q,"tx_id":%q}`, sqlText, sqlText, sqlText),
	})
}

// fixtureStore persists the fixture as "q" and otherLines as "other".
func fixtureStore(t *testing.T, opts simdb.Options) (*testBundle, []refEvent) {
	t.Helper()
	b := setup(t, opts)
	startWith(t, b, "q", fixtureConfig, simdb.StartOptions{})
	b.start(t, "other")
	lines := fixtureLines()
	persistByTick(t, b, "q", lines)
	persistByTick(t, b, "other", otherLines())
	return b, decodeRefs(t, lines, 10)
}

// --- GetSimulationEvents: every filter alone and combined ---

func TestQueryFilters(t *testing.T) {
	b, refs := fixtureStore(t, simdb.Options{})
	i64 := simdb.Int64
	desc := simdb.SortTickDesc
	cases := []struct {
		name  string
		f     simdb.EventFilter
		empty bool // the reference answer is empty (else it must not be)
	}{
		{name: "everything", f: simdb.EventFilter{}},
		{name: "everything desc", f: simdb.EventFilter{Sort: desc}},
		{name: "explicit asc", f: simdb.EventFilter{Sort: simdb.SortTickAsc}},
		{name: "tick 5", f: simdb.EventFilter{Tick: i64(5)}},
		{name: "tick 0", f: simdb.EventFilter{Tick: i64(0)}},
		{name: "tick without events", f: simdb.EventFilter{Tick: i64(6)}, empty: true},
		{name: "tick past the end", f: simdb.EventFilter{Tick: i64(99)}, empty: true},
		{name: "tick_min", f: simdb.EventFilter{TickMin: i64(22)}},
		{name: "tick_max", f: simdb.EventFilter{TickMax: i64(4)}},
		{name: "tick range", f: simdb.EventFilter{TickMin: i64(5), TickMax: i64(12)}},
		{name: "tick range of one tick", f: simdb.EventFilter{TickMin: i64(3), TickMax: i64(3)}},
		{name: "tick range desc", f: simdb.EventFilter{TickMin: i64(5), TickMax: i64(12), Sort: desc}},
		{name: "tick outside range", f: simdb.EventFilter{Tick: i64(5), TickMin: i64(6)}, empty: true},
		{name: "day 0", f: simdb.EventFilter{Day: i64(0)}},
		{name: "day 1", f: simdb.EventFilter{Day: i64(1)}},
		{name: "day 2", f: simdb.EventFilter{Day: i64(2)}},
		{name: "day 3", f: simdb.EventFilter{Day: i64(3)}, empty: true},
		{name: "agent via sender_id/sender/agent_id/agent_a/agents/details_json", f: simdb.EventFilter{AgentID: "BANK_A"}},
		{name: "agent desc", f: simdb.EventFilter{AgentID: "BANK_C", Sort: desc}},
		{name: "agent only as max_net_outflow_agent", f: simdb.EventFilter{AgentID: "BANK_E"}},
		{name: "agent only in agents[] of an unknown type", f: simdb.EventFilter{AgentID: "BANK_F"}},
		{name: "agent only as sender of an unknown type", f: simdb.EventFilter{AgentID: "BANK_G"}},
		{name: "agent whose name extends another", f: simdb.EventFilter{AgentID: "BANK_AB"}},
		{name: "agent prefix is not a match", f: simdb.EventFilter{AgentID: "BANK_"}, empty: true},
		{name: "agent LIKE wildcard is literal", f: simdb.EventFilter{AgentID: "BANK_%"}, empty: true},
		{name: "unknown agent", f: simdb.EventFilter{AgentID: "NOBODY"}, empty: true},
		{name: "tx via tx_id and tx_ids", f: simdb.EventFilter{TxID: "tx-3-0"}},
		{name: "tx via tx_ids of a cycle", f: simdb.EventFilter{TxID: "tx-7-2"}},
		{name: "tx via child_ids", f: simdb.EventFilter{TxID: "child-2"}},
		{name: "tx via incoming_tx_id", f: simdb.EventFilter{TxID: "tx-15-0"}},
		{name: "tx via queued_tx_id", f: simdb.EventFilter{TxID: "tx-14-1"}},
		{name: "tx via source_transactions", f: simdb.EventFilter{TxID: "tx-17-2"}},
		{name: "tx only in an unknown type's child_ids", f: simdb.EventFilter{TxID: "mystery-child"}},
		{name: "tx only in an unknown type's incoming_tx_id", f: simdb.EventFilter{TxID: "mystery-in"}},
		{name: "tx via an unknown type's tx_ids", f: simdb.EventFilter{TxID: "tx-21-0"}},
		{name: "tx LIKE wildcard is literal", f: simdb.EventFilter{TxID: "%"}, empty: true},
		{name: "tx also named inside details_json", f: simdb.EventFilter{TxID: "tx-5-0"}},
		{name: "agent only inside details_json", f: simdb.EventFilter{AgentID: "BANK_H"}},
		{name: "one type", f: simdb.EventFilter{EventTypes: []string{"Arrival"}}},
		{name: "two types", f: simdb.EventFilter{EventTypes: []string{"LsmBilateralOffset", "LsmCycleSettlement"}}},
		{name: "unknown type stored", f: simdb.EventFilter{EventTypes: []string{"MysteryEvent", "FutureSettle"}}},
		{name: "type nobody emitted", f: simdb.EventFilter{EventTypes: []string{"NoSuchType"}}, empty: true},
		{name: "type name is case sensitive", f: simdb.EventFilter{EventTypes: []string{"arrival"}}, empty: true},
		{name: "tick + agent", f: simdb.EventFilter{Tick: i64(9), AgentID: "BANK_C"}},
		{name: "tick + agent, no overlap", f: simdb.EventFilter{Tick: i64(9), AgentID: "BANK_F"}, empty: true},
		{name: "range + types", f: simdb.EventFilter{TickMin: i64(5), TickMax: i64(15), EventTypes: []string{"Arrival", "RtgsImmediateSettlement"}}},
		{name: "range + types desc", f: simdb.EventFilter{TickMin: i64(5), TickMax: i64(15), EventTypes: []string{"Arrival", "RtgsImmediateSettlement"}, Sort: desc}},
		{name: "day + agent", f: simdb.EventFilter{Day: i64(2), AgentID: "BANK_B"}},
		{name: "day + types + agent", f: simdb.EventFilter{Day: i64(1), AgentID: "BANK_D", EventTypes: []string{"Arrival", "QueuedRtgs", "EntryDispositionOffset"}}},
		{name: "day + tx", f: simdb.EventFilter{Day: i64(0), TxID: "tx-3-0"}},
		{name: "day + tx, other day", f: simdb.EventFilter{Day: i64(1), TxID: "tx-3-0"}, empty: true},
		{name: "agent + tx", f: simdb.EventFilter{AgentID: "BANK_C", TxID: "tx-3-0"}},
		{name: "everything at once", f: simdb.EventFilter{Day: i64(1), TickMin: i64(10), TickMax: i64(19), AgentID: "BANK_A", TxID: "child-1", EventTypes: []string{"Arrival", "PolicySplit"}, Sort: desc}},
		{name: "SQL text as agent", f: simdb.EventFilter{AgentID: sqlText}},
		{name: "SQL text as tx", f: simdb.EventFilter{TxID: sqlText}},
		{name: "SQL text as type", f: simdb.EventFilter{EventTypes: []string{sqlText}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := refQuery(refs, c.f)
			if (len(want) == 0) != c.empty {
				t.Fatalf("fixture: reference has %d matches, case expects empty=%v", len(want), c.empty)
			}
			f := c.f
			f.Limit = 1000
			page, err := b.store.GetSimulationEvents(b.ctx, "q", f)
			if err != nil {
				t.Fatal(err)
			}
			if page.Total != int64(len(want)) {
				t.Errorf("total = %d, want %d", page.Total, len(want))
			}
			if got := seqsOf(page.Events); !slices.Equal(got, want) {
				t.Errorf("seqs\n got %v\nwant %v", got, want)
			}
			for _, ev := range page.Events {
				if ev.SimulationID != "q" {
					t.Fatalf("event of simulation %q in the answer", ev.SimulationID)
				}
			}
			// Small pages, by offset and by cursor, add up to the same.
			if got, total := offsetPages(t, b.store, "q", c.f, 3); !slices.Equal(got, want) || total != int64(len(want)) {
				t.Errorf("offset pages of 3: total %d\n got %v\nwant %v", total, got, want)
			}
			if got := keysetPages(t, b.store, "q", c.f, 4); !slices.Equal(got, want) {
				t.Errorf("keyset pages of 4:\n got %v\nwant %v", got, want)
			}
			if got := seqsOf(streamAll(t, b.store, "q", c.f)); !slices.Equal(got, want) {
				t.Errorf("stream:\n got %v\nwant %v", got, want)
			}
		})
	}
	// None of the SQL-looking filters did anything but match.
	if n := b.count(t, `SELECT count(*) FROM simulations`); n != 2 {
		t.Fatalf("simulations has %d rows, want 2", n)
	}
}

// TestQuerySQLTextStoredLiterally checks that SQL-looking values are stored
// as values (the columns hold the text) and come back unchanged.
func TestQuerySQLTextStoredLiterally(t *testing.T) {
	b, _ := fixtureStore(t, simdb.Options{})
	for _, f := range []simdb.EventFilter{{AgentID: sqlText}, {TxID: sqlText}, {EventTypes: []string{sqlText}}} {
		page, err := b.store.GetSimulationEvents(b.ctx, "q", f)
		if err != nil {
			t.Fatal(err)
		}
		var found bool
		for _, ev := range page.Events {
			if ev.EventType == sqlText {
				found = true
				if ev.AgentID == nil || *ev.AgentID != sqlText || ev.TxID == nil || *ev.TxID != sqlText || ev.Tick != 24 {
					t.Fatalf("%+v: event = %+v", f, ev)
				}
			}
		}
		if !found {
			t.Fatalf("%+v: the SQL-text event is not in %d events", f, len(page.Events))
		}
	}
	if err := b.store.Flush(b.ctx); err != nil {
		t.Fatal(err)
	}
	if n := b.count(t, `SELECT count(*) FROM simulation_events WHERE event_type = $1 AND agent_id = $1 AND tx_id = $1`, sqlText); n != 2 {
		t.Fatalf("%d rows hold the SQL text in event_type, agent_id and tx_id; want 2 (one per simulation)", n)
	}
}

// --- Paging: limit, offset, echo, validation ---

func TestQueryPagingClampsAndEchoes(t *testing.T) {
	b, refs := fixtureStore(t, simdb.Options{})
	all := refQuery(refs, simdb.EventFilter{})
	if len(all) <= 100 {
		t.Fatalf("fixture has %d events; the default-limit case needs more than 100", len(all))
	}
	cases := []struct {
		name               string
		limit, offset      int
		wantLimit, wantOff int
	}{
		{"limit 0 is the default 100", 0, 0, 100, 0},
		{"limit -5 is 1", -5, 0, 1, 0},
		{"limit 1", 1, 0, 1, 0},
		{"limit 1000", 1000, 0, 1000, 0},
		{"limit 5000 is 1000", 5000, 0, 1000, 0},
		{"offset -3 is 0", 10, -3, 10, 0},
		{"offset 7", 10, 7, 10, 7},
		{"offset at the end", 10, len(all), 10, len(all)},
		{"offset past the end", 10, len(all) + 50, 10, len(all) + 50},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			page, err := b.store.GetSimulationEvents(b.ctx, "q", simdb.EventFilter{Limit: c.limit, Offset: c.offset})
			if err != nil {
				t.Fatal(err)
			}
			if page.Limit != c.wantLimit || page.Offset != c.wantOff {
				t.Fatalf("limit/offset used = %d/%d, want %d/%d", page.Limit, page.Offset, c.wantLimit, c.wantOff)
			}
			if page.Filter.Limit != c.wantLimit || page.Filter.Offset != c.wantOff {
				t.Fatalf("echoed filter limit/offset = %d/%d, want %d/%d", page.Filter.Limit, page.Filter.Offset, c.wantLimit, c.wantOff)
			}
			if page.Total != int64(len(all)) {
				t.Fatalf("total = %d, want %d", page.Total, len(all))
			}
			lo := min(c.wantOff, len(all))
			hi := min(lo+c.wantLimit, len(all))
			if got := seqsOf(page.Events); !slices.Equal(got, all[lo:hi]) {
				t.Fatalf("seqs\n got %v\nwant %v", got, all[lo:hi])
			}
			if page.Events == nil {
				t.Fatal("Events is nil; an empty page is an empty list")
			}
			if (page.Next == nil) != (lo == hi) {
				t.Fatalf("Next = %+v for a page of %d events", page.Next, hi-lo)
			}
		})
	}

	t.Run("filter echoed", func(t *testing.T) {
		in := simdb.EventFilter{TickMin: simdb.Int64(1), TickMax: simdb.Int64(25), Day: simdb.Int64(1), AgentID: "BANK_A",
			TxID: "child-1", EventTypes: []string{"Arrival", "PolicySplit"}, Limit: 5000, Offset: -3, Sort: simdb.SortTickDesc}
		page, err := b.store.GetSimulationEvents(b.ctx, "q", in)
		if err != nil {
			t.Fatal(err)
		}
		want := in
		want.Limit, want.Offset = 1000, 0
		if !reflect.DeepEqual(page.Filter, want) {
			t.Fatalf("filter echoed as %+v, want %+v", page.Filter, want)
		}
		js, err := json.Marshal(page)
		if err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{`"events":`, `"total":2`, `"limit":1000`, `"offset":0`, `"filters":{`, `"agent_id":"BANK_A"`, `"tx_id":"child-1"`, `"sort":"tick_desc"`} {
			if !strings.Contains(string(js), key) {
				t.Errorf("JSON answer lacks %s: %s", key, js)
			}
		}
	})

	t.Run("default sort", func(t *testing.T) {
		page, err := b.store.GetSimulationEvents(b.ctx, "q", simdb.EventFilter{Tick: simdb.Int64(5)})
		if err != nil {
			t.Fatal(err)
		}
		if page.Filter.Sort != simdb.SortTickAsc || page.Filter.Tick == nil || *page.Filter.Tick != 5 {
			t.Fatalf("echoed filter = %+v", page.Filter)
		}
		checkOrder(t, page.Events, false)
	})
}

func TestQueryInvalidFilters(t *testing.T) {
	b, _ := fixtureStore(t, simdb.Options{})
	cases := []struct {
		name string
		f    simdb.EventFilter
	}{
		{"tick_min > tick_max", simdb.EventFilter{TickMin: simdb.Int64(5), TickMax: simdb.Int64(4)}},
		{"tick_min > tick_max with other filters", simdb.EventFilter{TickMin: simdb.Int64(20), TickMax: simdb.Int64(0), AgentID: "BANK_A", Limit: 10}},
		{"unknown sort", simdb.EventFilter{Sort: "random"}},
		{"sort in capitals", simdb.EventFilter{Sort: "TICK_ASC"}},
		{"SQL as sort", simdb.EventFilter{Sort: "tick; DROP TABLE simulations"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			page, err := b.store.GetSimulationEvents(b.ctx, "q", c.f)
			if !errors.Is(err, simdb.ErrInvalidFilter) {
				t.Fatalf("GetSimulationEvents: err = %v, want ErrInvalidFilter", err)
			}
			if len(page.Events) != 0 || page.Total != 0 {
				t.Fatalf("a rejected filter returned %d events, total %d", len(page.Events), page.Total)
			}
			n := 0
			var serr error
			for _, err := range b.store.StreamEvents(b.ctx, "q", c.f) {
				n++
				serr = err
			}
			if n != 1 || !errors.Is(serr, simdb.ErrInvalidFilter) {
				t.Fatalf("StreamEvents: %d items, last err %v; want one ErrInvalidFilter", n, serr)
			}
		})
	}
	// The boundary is allowed.
	if _, err := b.store.GetSimulationEvents(b.ctx, "q", simdb.EventFilter{TickMin: simdb.Int64(4), TickMax: simdb.Int64(4)}); err != nil {
		t.Fatalf("tick_min == tick_max: %v", err)
	}
}

// Every read of an unknown simulation says ErrSimulationNotFound, as
// SimCash's API answers 404 (issue 18.3; the page, stream, summary and
// registers returned empty results before); a known run with nothing to
// show still gives an empty answer.
func TestQueryUnknownSimulation(t *testing.T) {
	b, _ := fixtureStore(t, simdb.Options{})
	notFound := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, simdb.ErrSimulationNotFound) || !strings.Contains(err.Error(), `"nope"`) {
			t.Errorf("%s: err = %v, want ErrSimulationNotFound naming \"nope\"", what, err)
		}
	}
	_, err := b.store.GetSimulationEvents(b.ctx, "nope", simdb.EventFilter{AgentID: "BANK_A", Offset: -1})
	notFound("GetSimulationEvents", err)
	_, err = b.store.GetSimulationEvents(b.ctx, "nope", simdb.EventFilter{Tick: simdb.Int64(3)})
	notFound("GetSimulationEvents by tick", err)
	n := 0
	for ev, err := range b.store.StreamEvents(b.ctx, "nope", simdb.EventFilter{}) {
		n++
		if ev.EventID != "" {
			t.Fatalf("stream of an unknown simulation yielded %+v", ev)
		}
		notFound("StreamEvents", err)
	}
	if n != 1 {
		t.Fatalf("StreamEvents of an unknown simulation yielded %d items, want one error", n)
	}
	_, err = b.store.GetEventSummary(b.ctx, "nope")
	notFound("GetEventSummary", err)
	_, err = b.store.GetAgentStateRegisters(b.ctx, "nope", "BANK_A", 10)
	notFound("GetAgentStateRegisters", err)

	// A known run: empty answers, no error.
	page, err := b.store.GetSimulationEvents(b.ctx, "q", simdb.EventFilter{AgentID: "NOBODY"})
	if err != nil || page.Total != 0 || page.Events == nil || len(page.Events) != 0 || page.Next != nil {
		t.Fatalf("page of a known run matching nothing: %+v, %v", page, err)
	}
	for ev, err := range b.store.StreamEvents(b.ctx, "q", simdb.EventFilter{AgentID: "NOBODY"}) {
		t.Fatalf("stream matching nothing yielded %+v, %v", ev, err)
	}
	regs, err := b.store.GetAgentStateRegisters(b.ctx, "q", "NOBODY", 10)
	if err != nil || regs == nil || len(regs) != 0 {
		t.Fatalf("registers of an agent without any: %v, %v", regs, err)
	}
	startWith(t, b, "empty", fixtureConfig, simdb.StartOptions{})
	sum, err := b.store.GetEventSummary(b.ctx, "empty")
	if err != nil || sum.TotalEvents != 0 || sum.MaxTick != nil || sum.Agents == nil || len(sum.ByType) != 0 {
		t.Fatalf("summary of a run without events: %+v, %v", sum, err)
	}
	page, err = b.store.GetSimulationEvents(b.ctx, "empty", simdb.EventFilter{})
	if err != nil || page.Total != 0 || len(page.Events) != 0 {
		t.Fatalf("page of a run without events: %+v, %v", page, err)
	}
}

// --- The event itself ---

func TestQueryEventFields(t *testing.T) {
	now := time.Date(2025, 3, 4, 5, 6, 7, 891234000, time.UTC)
	b := setup(t, simdb.Options{Now: func() time.Time { return now }})
	b.start(t, "f") // ticks_per_day 100

	big := int64(9_007_199_254_740_993) // 2^53 + 1
	lines := []string{
		fmt.Sprintf(`{"event_type":"Arrival","tick":150,"tx_id":"tx-1","sender_id":"BANK_A","receiver_id":"BANK_B","amount":%d,"deadline":170,"priority":7,"is_divisible":false}`, big),
		`{"event_type":"RtgsImmediateSettlement","tick":150,"tx_id":"tx-1","sender":"BANK_A","receiver":"BANK_B","amount":1234,"sender_balance_before":5000,"sender_balance_after":3766}`,
		`{"event_type":"PolicySubmit","tick":150,"agent_id":"BANK_A","tx_id":"tx-1"}`,
		`{"event_type":"LsmBilateralOffset","tick":150,"agent_a":"BANK_A","agent_b":"BANK_B","tx_ids":["tx-1","tx-2"],"amount_a":10,"amount_b":20,"amount":30}`,
		`{"event_type":"EndOfDay","tick":150,"day":1,"unsettled_count":0,"total_penalties":0}`,
	}
	if _, err := b.store.PersistTickEvents(b.ctx, "f", 150, raws(lines...)); err != nil {
		t.Fatal(err)
	}
	page, err := b.store.GetSimulationEvents(b.ctx, "f", simdb.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != len(lines) {
		t.Fatalf("%d events", len(page.Events))
	}
	str := func(p *string) string {
		if p == nil {
			return "<nil>"
		}
		return *p
	}
	num := func(p *int64) string {
		if p == nil {
			return "<nil>"
		}
		return fmt.Sprint(*p)
	}
	wantTime := now.Truncate(time.Microsecond)
	type lifted struct{ agent, tx, sender, receiver, amount, deadline, priority string }
	want := []lifted{
		{"<nil>", "tx-1", "BANK_A", "BANK_B", fmt.Sprint(big), "170", "7"},
		{"<nil>", "tx-1", "BANK_A", "BANK_B", "1234", "<nil>", "<nil>"},
		{"BANK_A", "tx-1", "<nil>", "<nil>", "<nil>", "<nil>", "<nil>"},
		{"<nil>", "<nil>", "<nil>", "<nil>", "30", "<nil>", "<nil>"},
		{"<nil>", "<nil>", "<nil>", "<nil>", "<nil>", "<nil>", "<nil>"},
	}
	for i, ev := range page.Events {
		if ev.EventID != fmt.Sprintf("f:%d", i) || ev.SimulationID != "f" || ev.Seq != int64(i) || ev.Tick != 150 || ev.Day != 1 {
			t.Errorf("event %d: id %q sim %q seq %d tick %d day %d", i, ev.EventID, ev.SimulationID, ev.Seq, ev.Tick, ev.Day)
		}
		// The clock stands still: event i is stamped i µs after it, in seq
		// order, so that ORDER BY tick, event_timestamp is seq order.
		if wantTS := wantTime.Add(time.Duration(i) * time.Microsecond); !ev.EventTimestamp.Equal(wantTS) || !ev.CreatedAt.Equal(wantTime) || ev.EventTimestamp.Location() != time.UTC {
			t.Errorf("event %d: timestamps %v / %v, want %v / %v", i, ev.EventTimestamp, ev.CreatedAt, wantTS, wantTime)
		}
		got := lifted{str(ev.AgentID), str(ev.TxID), str(ev.Sender), str(ev.Receiver), num(ev.Amount), num(ev.Deadline), num(ev.Priority)}
		if got != want[i] {
			t.Errorf("event %d (%s): lifted %+v, want %+v", i, ev.EventType, got, want[i])
		}
		// details holds every member but event_type, tick, agent_id, tx_id.
		var in, details map[string]json.RawMessage
		if err := json.Unmarshal([]byte(lines[i]), &in); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(ev.Details, &details); err != nil {
			t.Fatalf("event %d: details %s: %v", i, ev.Details, err)
		}
		if ev.EventType != string(bytes.Trim(in["event_type"], `"`)) {
			t.Errorf("event %d: type %q", i, ev.EventType)
		}
		for _, k := range []string{"event_type", "tick", "agent_id", "tx_id"} {
			delete(in, k)
		}
		if !reflect.DeepEqual(in, details) {
			t.Errorf("event %d: details %s, want the members %v", i, ev.Details, in)
		}
		raw, err := ev.Raw()
		if err != nil || string(raw) != lines[i] {
			t.Errorf("event %d: Raw() = %s, %v", i, raw, err)
		}
	}
	if !slices.Equal(page.Events[3].Agents, []string{"BANK_A", "BANK_B"}) || !slices.Equal(page.Events[3].TxIDs, []string{"tx-1", "tx-2"}) {
		t.Errorf("offset participants: %v %v", page.Events[3].Agents, page.Events[3].TxIDs)
	}
}

// --- The real stream: every agent, 200 transactions ---

func TestQueryRealStreamParticipants(t *testing.T) {
	path := testutil.CorpusFile(t, "medium.jsonl.gz")
	lines := testutil.ReadLines(t, path)
	refs := decodeRefs(t, lines, 100)

	b := setup(t, simdb.Options{})
	startWith(t, b, "medium", `{"ticks_per_day":100,"num_days":5}`, simdb.StartOptions{})
	res, err := b.store.IngestJSONL(b.ctx, "medium", testutil.OpenGzip(t, path), simdb.IngestOptions{Source: path})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.store.Flush(b.ctx); err != nil {
		t.Fatal(err)
	}
	if res.Events != int64(len(lines)) {
		t.Fatalf("ingested %d events, the file has %d lines", res.Events, len(lines))
	}

	// The summary against the reference.
	sum, err := b.store.GetEventSummary(b.ctx, "medium")
	if err != nil {
		t.Fatal(err)
	}
	agentSet := map[string]bool{}
	typeCounts := map[string]int64{}
	for _, r := range refs {
		for a := range r.agents {
			agentSet[a] = true
		}
		typeCounts[r.typ]++
	}
	agents := sortedKeys(agentSet)
	last := refs[len(refs)-1]
	if sum.TotalEvents != int64(len(refs)) || sum.MaxTick == nil || *sum.MaxTick != last.tick || sum.MaxDay == nil || *sum.MaxDay != last.day {
		t.Fatalf("summary totals: %d events, max tick %v, max day %v", sum.TotalEvents, sum.MaxTick, sum.MaxDay)
	}
	if !slices.Equal(sum.Agents, agents) {
		t.Fatalf("summary agents %v, reference %v", sum.Agents, agents)
	}
	checkTypeCounts(t, sum.ByType, typeCounts)

	// Every agent.
	if len(agents) != 10 {
		t.Fatalf("reference finds %d agents in medium, want its 10 banks: %v", len(agents), agents)
	}
	fewest, fewestN := "", math.MaxInt
	for _, a := range agents {
		want := refQuery(refs, simdb.EventFilter{AgentID: a})
		page, err := b.store.GetSimulationEvents(b.ctx, "medium", simdb.EventFilter{AgentID: a, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != int64(len(want)) {
			t.Errorf("agent %s: total %d, reference counts %d", a, page.Total, len(want))
		}
		if len(want) < fewestN {
			fewest, fewestN = a, len(want)
		}
	}
	// For one agent, the exact set too (seq is the line index of this stream).
	if got := seqsOf(streamAll(t, b.store, "medium", simdb.EventFilter{AgentID: fewest})); !slices.Equal(got, refQuery(refs, simdb.EventFilter{AgentID: fewest})) {
		t.Errorf("agent %s: streamed %d events, reference %d, or different ones", fewest, len(got), fewestN)
	}

	// 200 transactions, chosen deterministically: the first id of every
	// cycle, ids found only in lists (LSM tx_ids) evenly spaced, then ids in
	// order of first appearance evenly spaced.
	sample := txSample(refs, 200)
	if len(sample) != 200 {
		t.Fatalf("sample has %d transactions", len(sample))
	}
	viaList := 0
	for _, tx := range sample {
		want := refQuery(refs, simdb.EventFilter{TxID: tx})
		page, err := b.store.GetSimulationEvents(b.ctx, "medium", simdb.EventFilter{TxID: tx, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != int64(len(want)) {
			t.Errorf("tx %s: total %d, reference counts %d", tx, page.Total, len(want))
			continue
		}
		got := seqsOf(page.Events)
		if page.Total > 1000 {
			got = seqsOf(streamAll(t, b.store, "medium", simdb.EventFilter{TxID: tx}))
		}
		if !slices.Equal(got, want) {
			t.Errorf("tx %s: seqs %v, reference %v", tx, got, want)
		}
		for _, s := range want {
			if refs[s].typ == "LsmBilateralOffset" || refs[s].typ == "LsmCycleSettlement" {
				viaList++
			}
		}
	}
	if viaList < 20 {
		t.Fatalf("only %d sampled matches come from LSM tx_ids lists; the sample is too weak", viaList)
	}

	// Readers derive Agents and TxIDs from the details again instead of
	// reading the list columns: event for event, they are the columns.
	checkListsMatchColumns(t, b.store, "medium", streamAll(t, b.store, "medium", simdb.EventFilter{}))
}

// checkListsMatchColumns fails unless every event's Agents and TxIDs equal
// its row's agents and tx_ids columns, read by plain SQL.
func checkListsMatchColumns(t *testing.T, store *simdb.Store, id string, evs []simdb.StoredEvent) {
	t.Helper()
	rows, err := simdb.RawDB(store).QueryContext(context.Background(),
		`SELECT seq, CAST(to_json(agents) AS VARCHAR), CAST(to_json(tx_ids) AS VARCHAR) FROM simulation_events WHERE simulation_id = $1 ORDER BY seq`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for ; rows.Next(); n++ {
		var seq int64
		var agentsJSON, txJSON string
		if err := rows.Scan(&seq, &agentsJSON, &txJSON); err != nil {
			t.Fatal(err)
		}
		var agents, txIDs []string
		if err := json.Unmarshal([]byte(agentsJSON), &agents); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(txJSON), &txIDs); err != nil {
			t.Fatal(err)
		}
		if n >= len(evs) || evs[n].Seq != seq {
			t.Fatalf("row %d (seq %d) has no streamed event", n, seq)
		}
		if evs[n].Agents == nil || evs[n].TxIDs == nil {
			t.Fatalf("seq %d: nil lists (JSON would say null, not []): agents %v tx_ids %v", seq, evs[n].Agents == nil, evs[n].TxIDs == nil)
		}
		if !slices.Equal(evs[n].Agents, agents) || !slices.Equal(evs[n].TxIDs, txIDs) {
			t.Fatalf("seq %d: read agents %q tx_ids %q, columns hold %q and %q", seq, evs[n].Agents, evs[n].TxIDs, agents, txIDs)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != len(evs) || n == 0 {
		t.Fatalf("%d rows, %d streamed events", n, len(evs))
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// txSample picks n transaction ids deterministically.
func txSample(refs []refEvent, n int) []string {
	var all, inLists, cycles []string
	seen := map[string]bool{}
	listSeen := map[string]bool{}
	for _, r := range refs {
		for _, k := range refTxKeys {
			if s, ok := r.obj[k].(string); ok && !seen[s] {
				seen[s] = true
				all = append(all, s)
			}
		}
		for _, k := range refTxListKeys {
			list, _ := r.obj[k].([]any)
			for i, v := range list {
				s, ok := v.(string)
				if !ok {
					continue
				}
				if i == 0 && r.typ == "LsmCycleSettlement" {
					cycles = append(cycles, s)
				}
				if !listSeen[s] {
					listSeen[s] = true
					inLists = append(inLists, s)
				}
				if !seen[s] {
					seen[s] = true
					all = append(all, s)
				}
			}
		}
	}
	picked := map[string]bool{}
	var out []string
	take := func(s string) {
		if len(out) < n && !picked[s] {
			picked[s] = true
			out = append(out, s)
		}
	}
	for _, s := range cycles {
		take(s)
	}
	spaced := func(src []string, upTo int) {
		if len(src) == 0 {
			return
		}
		need := upTo - len(out)
		for i := 0; i < need; i++ {
			take(src[i*len(src)/need])
		}
		for i := 0; i < len(src) && len(out) < upTo; i++ { // fill after collisions
			take(src[i])
		}
	}
	spaced(inLists, 50)
	spaced(all, n)
	return out
}

// checkTypeCounts: the per-type counts equal the reference's, most frequent
// first (ties by name).
func checkTypeCounts(t testing.TB, got []simdb.TypeCount, want map[string]int64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d types, want %d: %+v", len(got), len(want), got)
	}
	for i, c := range got {
		if want[c.EventType] != c.Count {
			t.Errorf("%s: %d, want %d", c.EventType, c.Count, want[c.EventType])
		}
		if i > 0 {
			p := got[i-1]
			if p.Count < c.Count || p.Count == c.Count && p.EventType > c.EventType {
				t.Errorf("by_type out of order at %d: %+v then %+v", i, p, c)
			}
		}
	}
}

// --- StreamEvents ---

// busyLines is a 5-tick stream with 2,500 events in tick 1 and 1,200 in
// tick 3, so every tick above GetSimulationEvents' 1,000 cap sits between
// smaller ticks.
func busyLines() [][]byte {
	sizes := []int{5, 2500, 3, 1200, 7}
	banks := []string{"BANK_A", "BANK_B", "BANK_C", "BANK_D", "BANK_E"}
	var out []string
	for tick, n := range sizes {
		for i := 0; i < n; i++ {
			tx := fmt.Sprintf("b-%d-%d", tick, i)
			s, r := banks[i%5], banks[(i+1+i/5)%5]
			if s == r {
				r = banks[(i+2)%5]
			}
			if i%3 == 2 {
				out = append(out, fmt.Sprintf(`{"event_type":"RtgsImmediateSettlement","tick":%d,"tx_id":%q,"sender":%q,"receiver":%q,"amount":%d,"sender_balance_before":100000000,"sender_balance_after":1}`, tick, tx, s, r, 100+i))
			} else {
				out = append(out, fmt.Sprintf(`{"event_type":"Arrival","tick":%d,"tx_id":%q,"sender_id":%q,"receiver_id":%q,"amount":%d,"deadline":%d,"priority":%d,"is_divisible":false}`, tick, tx, s, r, 100+i, tick+9, i%10))
			}
		}
	}
	return toBytes(out)
}

func TestQueryStreamBusyTicks(t *testing.T) {
	b := setup(t, simdb.Options{})
	b.start(t, "busy")
	lines := busyLines()
	persistByTick(t, b, "busy", lines)
	refs := decodeRefs(t, lines, 100)

	cases := []simdb.EventFilter{
		{},
		{Sort: simdb.SortTickDesc},
		{TickMin: simdb.Int64(1), TickMax: simdb.Int64(3)},
		{TickMin: simdb.Int64(1), TickMax: simdb.Int64(3), Sort: simdb.SortTickDesc},
		{Tick: simdb.Int64(1)},
		{Tick: simdb.Int64(1), Sort: simdb.SortTickDesc},
		{AgentID: "BANK_C"},
		{AgentID: "BANK_C", Sort: simdb.SortTickDesc},
		{TickMin: simdb.Int64(1), EventTypes: []string{"RtgsImmediateSettlement"}},
		{Day: simdb.Int64(0), AgentID: "BANK_A", EventTypes: []string{"Arrival"}, Sort: simdb.SortTickDesc},
		{TxID: "b-1-2499"},
		// Limit and Offset are ignored by the stream.
		{Limit: 10, Offset: 2000},
	}
	for _, f := range cases {
		want := refQuery(refs, simdb.EventFilter{Tick: f.Tick, TickMin: f.TickMin, TickMax: f.TickMax, Day: f.Day,
			AgentID: f.AgentID, TxID: f.TxID, EventTypes: f.EventTypes, Sort: f.Sort})
		if len(want) == 0 {
			t.Fatalf("%+v: reference is empty", f)
		}
		evs := streamAll(t, b.store, "busy", f)
		checkOrder(t, evs, f.Sort == simdb.SortTickDesc)
		if got := seqsOf(evs); !slices.Equal(got, want) {
			t.Errorf("%+v: streamed %d events, want %d (first diff somewhere in %v...)", f, len(got), len(want), got[:min(5, len(got))])
		}
	}
	asc := seqsOf(streamAll(t, b.store, "busy", simdb.EventFilter{}))
	desc := seqsOf(streamAll(t, b.store, "busy", simdb.EventFilter{Sort: simdb.SortTickDesc}))
	if len(asc) != len(lines) || !slices.Equal(desc, reversed(asc)) {
		t.Fatalf("asc %d events, desc %d; desc must be the exact reverse", len(asc), len(desc))
	}
	for i, s := range asc {
		if s != int64(i) {
			t.Fatalf("asc[%d] = seq %d", i, s)
		}
	}

	// A page never holds more than 1,000, but the total counts everything,
	// and paging reaches every event of the busy tick.
	page, err := b.store.GetSimulationEvents(b.ctx, "busy", simdb.EventFilter{Tick: simdb.Int64(1), Limit: 5000})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 1000 || page.Total != 2500 || page.Limit != 1000 {
		t.Fatalf("tick 1 page: %d events, total %d, limit %d", len(page.Events), page.Total, page.Limit)
	}
	for _, order := range []string{simdb.SortTickAsc, simdb.SortTickDesc} {
		f := simdb.EventFilter{TickMin: simdb.Int64(0), TickMax: simdb.Int64(3), Sort: order}
		want := refQuery(refs, f)
		byKey := keysetPages(t, b.store, "busy", f, 1000)
		byOffset, total := offsetPages(t, b.store, "busy", f, 1000)
		if !slices.Equal(byKey, want) || !slices.Equal(byOffset, want) || total != int64(len(want)) {
			t.Fatalf("%s: keyset %d, offset %d (total %d), want %d", order, len(byKey), len(byOffset), total, len(want))
		}
	}
}

// TestQueryStreamHugeTick crosses StreamEvents' internal read size inside
// one tick: 45,000 events in tick 2.
func TestQueryStreamHugeTick(t *testing.T) {
	b := setup(t, simdb.Options{})
	b.start(t, "huge")
	var lines []string
	for tick, n := range []int{3, 1, 45_000, 2} {
		for i := 0; i < n; i++ {
			lines = append(lines, arrival(tick, fmt.Sprintf("h-%d-%d", tick, i)))
		}
	}
	persistByTick(t, b, "huge", toBytes(lines))
	asc := streamAll(t, b.store, "huge", simdb.EventFilter{})
	checkOrder(t, asc, false)
	if len(asc) != len(lines) {
		t.Fatalf("asc: %d events, want %d", len(asc), len(lines))
	}
	for i, ev := range asc {
		if ev.Seq != int64(i) {
			t.Fatalf("asc[%d] has seq %d", i, ev.Seq)
		}
	}
	desc := streamAll(t, b.store, "huge", simdb.EventFilter{Sort: simdb.SortTickDesc})
	checkOrder(t, desc, true)
	if !slices.Equal(seqsOf(desc), reversed(seqsOf(asc))) {
		t.Fatalf("desc (%d events) is not the exact reverse of asc", len(desc))
	}
	one := streamAll(t, b.store, "huge", simdb.EventFilter{Tick: simdb.Int64(2), Sort: simdb.SortTickDesc})
	if len(one) != 45_000 || one[0].Seq != 45_003 || one[len(one)-1].Seq != 4 {
		t.Fatalf("tick 2 desc: %d events", len(one))
	}
	// A cursor handed to the stream continues from there.
	from := streamAll(t, b.store, "huge", simdb.EventFilter{After: &simdb.Cursor{Tick: 2, Seq: 20_000}})
	if len(from) != len(lines)-20_001 || from[0].Seq != 20_001 {
		t.Fatalf("stream after seq 20000: %d events, first %+v", len(from), from[0])
	}
}

func TestQueryStreamCancellation(t *testing.T) {
	b := setup(t, simdb.Options{})
	b.start(t, "c")
	var lines []string
	for tick := 0; tick < 3; tick++ {
		for i := 0; i < 10_000; i++ {
			lines = append(lines, arrival(tick, fmt.Sprintf("c-%d-%d", tick, i)))
		}
	}
	persistByTick(t, b, "c", toBytes(lines))

	for _, cancelAt := range []int{1, 100, 19_999, 20_000, 29_999} {
		t.Run(fmt.Sprint(cancelAt), func(t *testing.T) {
			ctx, cancel := context.WithCancel(b.ctx)
			defer cancel()
			var before, afterCancel, afterErr, errs int
			var gotErr error
			for _, err := range b.store.StreamEvents(ctx, "c", simdb.EventFilter{}) {
				if err != nil {
					errs++
					gotErr = err
					continue
				}
				if errs > 0 {
					afterErr++
				}
				if ctx.Err() != nil {
					afterCancel++
					continue
				}
				before++
				if before == cancelAt {
					cancel()
				}
			}
			if before != cancelAt {
				t.Fatalf("%d events before the cancel, want %d", before, cancelAt)
			}
			if afterCancel != 0 || afterErr != 0 {
				t.Fatalf("%d events yielded after cancel (%d after the error)", afterCancel, afterErr)
			}
			if errs != 1 || !errors.Is(gotErr, context.Canceled) {
				t.Fatalf("%d errors, last %v; want one context.Canceled", errs, gotErr)
			}
		})
	}

	t.Run("cancelled before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(b.ctx)
		cancel()
		n, errs := 0, 0
		var gotErr error
		for _, err := range b.store.StreamEvents(ctx, "c", simdb.EventFilter{}) {
			if err != nil {
				errs++
				gotErr = err
				continue
			}
			n++
		}
		if n != 0 || errs != 1 || !errors.Is(gotErr, context.Canceled) {
			t.Fatalf("%d events, %d errors (%v)", n, errs, gotErr)
		}
	})

	t.Run("consumer stops", func(t *testing.T) {
		n := 0
		for ev, err := range b.store.StreamEvents(b.ctx, "c", simdb.EventFilter{Sort: simdb.SortTickDesc}) {
			if err != nil {
				t.Fatal(err)
			}
			if ev.Seq != int64(len(lines)-1-n) {
				t.Fatalf("event %d has seq %d", n, ev.Seq)
			}
			n++
			if n == 25_000 {
				break
			}
		}
		if n != 25_000 {
			t.Fatalf("%d events", n)
		}
	})
}

// --- Keyset cursor ---

func TestQueryKeysetMatchesOffset(t *testing.T) {
	b, refs := fixtureStore(t, simdb.Options{})
	filters := []simdb.EventFilter{
		{},
		{AgentID: "BANK_B"},
		{TickMin: simdb.Int64(3), TickMax: simdb.Int64(24), EventTypes: []string{"Arrival", "PolicyHold", "LsmCycleSettlement"}},
		{Day: simdb.Int64(1)},
		{Day: simdb.Int64(2), AgentID: "BANK_D"}, // small enough for pages of 1
	}
	for _, base := range filters {
		for _, order := range []string{simdb.SortTickAsc, simdb.SortTickDesc} {
			f := base
			f.Sort = order
			want := refQuery(refs, f)
			limits := []int{7, 1000}
			if len(refQuery(refs, f)) <= 60 {
				limits = append(limits, 1)
			}
			for _, limit := range limits {
				byKey := keysetPages(t, b.store, "q", f, limit)
				byOffset, _ := offsetPages(t, b.store, "q", f, limit)
				if !slices.Equal(byKey, want) || !slices.Equal(byOffset, want) {
					t.Fatalf("%+v limit %d:\n keyset %v\n offset %v\n  want %v", f, limit, byKey, byOffset, want)
				}
				seen := map[int64]bool{}
				for _, s := range byKey {
					if seen[s] {
						t.Fatalf("%+v limit %d: seq %d twice", f, limit, s)
					}
					seen[s] = true
				}
			}
			// Offset and cursor combine: skip within what follows the cursor.
			if len(want) > 6 {
				ev := seekSeq(t, b, f, want[2])
				f2 := f
				f2.After, f2.Offset, f2.Limit = &simdb.Cursor{Tick: ev.Tick, Seq: ev.Seq}, 2, 3
				page, err := b.store.GetSimulationEvents(b.ctx, "q", f2)
				if err != nil {
					t.Fatal(err)
				}
				if got := seqsOf(page.Events); !slices.Equal(got, want[5:min(8, len(want))]) || page.Total != int64(len(want)) {
					t.Fatalf("%+v after seq %d, offset 2: %v (total %d), want %v", f, want[2], got, page.Total, want[5:min(8, len(want))])
				}
			}
		}
	}
	asc := keysetPages(t, b.store, "q", simdb.EventFilter{}, 5)
	desc := keysetPages(t, b.store, "q", simdb.EventFilter{Sort: simdb.SortTickDesc}, 5)
	if !slices.Equal(desc, reversed(asc)) || len(asc) != len(refs) {
		t.Fatal("desc keyset paging is not the exact reverse of asc")
	}
}

func seekSeq(t *testing.T, b *testBundle, f simdb.EventFilter, seq int64) simdb.StoredEvent {
	t.Helper()
	for _, ev := range streamAll(t, b.store, "q", f) {
		if ev.Seq == seq {
			return ev
		}
	}
	t.Fatalf("seq %d not found", seq)
	return simdb.StoredEvent{}
}

// --- Summaries ---

func TestQueryEventSummary(t *testing.T) {
	b, refs := fixtureStore(t, simdb.Options{})
	sum, err := b.store.GetEventSummary(b.ctx, "q")
	if err != nil {
		t.Fatal(err)
	}
	agents := map[string]bool{}
	types := map[string]int64{}
	var maxTick, maxDay int64
	for _, r := range refs {
		for a := range r.agents {
			agents[a] = true
		}
		types[r.typ]++
		maxTick, maxDay = max(maxTick, r.tick), max(maxDay, r.day)
	}
	if sum.TotalEvents != int64(len(refs)) || sum.MaxTick == nil || *sum.MaxTick != maxTick || sum.MaxDay == nil || *sum.MaxDay != maxDay {
		t.Fatalf("total %d max tick %v max day %v; want %d, %d, %d", sum.TotalEvents, sum.MaxTick, sum.MaxDay, len(refs), maxTick, maxDay)
	}
	checkTypeCounts(t, sum.ByType, types)
	if want := sortedKeys(agents); !slices.Equal(sum.Agents, want) {
		t.Fatalf("agents %q, want %q", sum.Agents, want)
	}
	for _, a := range []string{"BANK_E", "BANK_F", "BANK_G", "BANK_AB", sqlText} {
		if !slices.Contains(sum.Agents, a) {
			t.Errorf("agents lack %q", a)
		}
	}
	if slices.Contains(sum.Agents, "") {
		t.Error("an empty agent name")
	}
}

// testClock is a settable wall clock for Options.Now.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func TestQueryListSimulations(t *testing.T) {
	base := time.Date(2025, 1, 2, 3, 0, 0, 0, time.UTC)
	clock := &testClock{t: base}
	b := setup(t, simdb.Options{Now: clock.Now})
	at := func(h int) { clock.Set(base.Add(time.Duration(h) * time.Hour)) }
	startAt := func(h int, id string, exp *simdb.Experiment) {
		at(h)
		startWith(t, b, id, testConfig, simdb.StartOptions{Experiment: exp})
	}
	startAt(0, "s1", nil)
	startAt(1, "s2", nil)
	startAt(2, "s3", nil)
	startAt(3, "s4", nil)
	// Iterations started out of order: newest first differs from iteration order.
	startAt(4, "e-it2", &simdb.Experiment{RunID: "exp", Iteration: 2})
	startAt(5, "e-it0", &simdb.Experiment{RunID: "exp", Iteration: 0})
	startAt(6, "e-it1", &simdb.Experiment{RunID: "exp", Iteration: 1})
	startAt(7, "x-it0", &simdb.Experiment{RunID: "exp-other", Iteration: 0})
	at(8)
	for _, id := range []string{"s1", "s3", "e-it0"} {
		if err := b.store.PersistSimulationComplete(b.ctx, id, simdb.Metrics{TotalArrivals: 10, TotalSettlements: 5}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.store.PersistSimulationFailed(b.ctx, "s2", "boom"); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		f    simdb.ListFilter
		want []string
	}{
		{simdb.ListFilter{}, []string{"x-it0", "e-it1", "e-it0", "e-it2", "s4", "s3", "s2", "s1"}},
		{simdb.ListFilter{Status: "completed"}, []string{"e-it0", "s3", "s1"}},
		{simdb.ListFilter{Status: "running"}, []string{"x-it0", "e-it1", "e-it2", "s4"}},
		{simdb.ListFilter{Status: "failed"}, []string{"s2"}},
		{simdb.ListFilter{ExperimentRunID: "exp"}, []string{"e-it0", "e-it1", "e-it2"}},
		{simdb.ListFilter{ExperimentRunID: "exp", Status: "running"}, []string{"e-it1", "e-it2"}},
		{simdb.ListFilter{ExperimentRunID: "exp", Status: "failed"}, []string{}},
		{simdb.ListFilter{ExperimentRunID: "nope"}, []string{}},
		{simdb.ListFilter{ExperimentRunID: sqlText}, []string{}},
	}
	for _, c := range cases {
		got, err := b.store.ListSimulations(b.ctx, c.f)
		if err != nil {
			t.Fatalf("%+v: %v", c.f, err)
		}
		ids := []string{}
		for _, s := range got {
			ids = append(ids, s.SimulationID)
		}
		if !slices.Equal(ids, c.want) {
			t.Errorf("%+v: %v, want %v", c.f, ids, c.want)
		}
	}
	all, err := b.store.ListSimulations(b.ctx, simdb.ListFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if s.SimulationID == "s4" && !s.StartedAt.Equal(base.Add(3*time.Hour)) {
			t.Errorf("s4 started_at = %v", s.StartedAt)
		}
		if s.SimulationID == "s1" && s.SettlementRate != 0.5 {
			t.Errorf("s1 settlement_rate = %v", s.SettlementRate)
		}
	}
	for _, bad := range []string{"done", "RUNNING", "running ", sqlText} {
		if _, err := b.store.ListSimulations(b.ctx, simdb.ListFilter{Status: bad}); !errors.Is(err, simdb.ErrInvalidFilter) {
			t.Errorf("status %q: err = %v, want ErrInvalidFilter", bad, err)
		}
	}
}

func TestQuerySimulationSummary(t *testing.T) {
	b := setup(t, simdb.Options{})
	b.start(t, "done") // num_days 2
	b.start(t, "running")
	if err := b.store.PersistSimulationComplete(b.ctx, "done", simdb.Metrics{TotalArrivals: 3, TotalSettlements: 2, TotalCostCents: 1001, DurationSeconds: 2}); err != nil {
		t.Fatal(err)
	}
	sum, err := b.store.GetSimulationSummary(b.ctx, "done")
	if err != nil {
		t.Fatal(err)
	}
	if sum.Status != "completed" || sum.SettlementRate != 2.0/3.0 || sum.AvgDailyCostCents != 500 {
		t.Fatalf("rate %v avg daily cost %d status %s", sum.SettlementRate, sum.AvgDailyCostCents, sum.Status)
	}
	js, err := json.Marshal(sum)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	if string(m["avg_daily_cost_cents"]) != "500" || string(m["total_cost_cents"]) != "1001" {
		t.Fatalf("money in JSON: avg %s total %s", m["avg_daily_cost_cents"], m["total_cost_cents"])
	}
	if _, ok := m["settlement_rate"]; !ok {
		t.Fatal("no settlement_rate in JSON")
	}
	run, err := b.store.GetSimulationSummary(b.ctx, "running")
	if err != nil {
		t.Fatal(err)
	}
	if run.SettlementRate != 0 || run.AvgDailyCostCents != 0 || run.TotalArrivals != nil {
		t.Fatalf("running summary: %+v", run)
	}
	if _, err := b.store.GetSimulationSummary(b.ctx, sqlText); !errors.Is(err, simdb.ErrSimulationNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
}

func TestQueryAgentStateRegisters(t *testing.T) {
	b := setup(t, simdb.Options{})
	b.start(t, "r")
	ticks := []struct {
		tick   int
		events []string
	}{
		{5, []string{registerSet(5, "BANK_A", "stress", 1.5), registerSet(5, "BANK_A", "mode", 1)}},
		{7, []string{arrival(7, "tx-7")}},
		{10, []string{registerSet(10, "BANK_A", "stress", 2.5), registerSet(10, "BANK_B", "stress", 9)}},
		{15, []string{registerSet(15, "BANK_B", "stress", 4), registerSet(15, "BANK_B", "stress", -4.25)}},
	}
	for _, tk := range ticks {
		if _, err := b.store.PersistTickEvents(b.ctx, "r", int64(tk.tick), raws(tk.events...)); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		agent string
		tick  int64
		want  map[string]float64
	}{
		{"BANK_A", 0, map[string]float64{}},
		{"BANK_A", 4, map[string]float64{}},
		{"BANK_A", 5, map[string]float64{"stress": 1.5, "mode": 1}},
		{"BANK_A", 8, map[string]float64{"stress": 1.5, "mode": 1}},
		{"BANK_A", 10, map[string]float64{"stress": 2.5, "mode": 1}},
		{"BANK_A", 12, map[string]float64{"stress": 2.5, "mode": 1}},
		{"BANK_A", 1000, map[string]float64{"stress": 2.5, "mode": 1}},
		{"BANK_B", 8, map[string]float64{}},
		{"BANK_B", 12, map[string]float64{"stress": 9}},
		{"BANK_B", 15, map[string]float64{"stress": -4.25}},
		{"BANK_C", 12, map[string]float64{}},
		{sqlText, 12, map[string]float64{}},
	}
	for _, c := range cases {
		got, err := b.store.GetAgentStateRegisters(b.ctx, "r", c.agent, c.tick)
		if err != nil {
			t.Fatal(err)
		}
		if got == nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s at tick %d: %v, want %v", c.agent, c.tick, got, c.want)
		}
	}
	// An unknown simulation is ErrSimulationNotFound (issue 18.3; it was
	// an empty map before), an agent without registers an empty map.
	got, err := b.store.GetAgentStateRegisters(b.ctx, "nope", "BANK_A", 12)
	if !errors.Is(err, simdb.ErrSimulationNotFound) || got != nil {
		t.Fatalf("unknown simulation: %v, %v", got, err)
	}
}

func TestQueryCompareSimulations(t *testing.T) {
	b := setup(t, simdb.Options{})
	for _, id := range []string{"a", "b", "zero", "running"} {
		b.start(t, id)
	}
	complete := func(id string, m simdb.Metrics) {
		if err := b.store.PersistSimulationComplete(b.ctx, id, m); err != nil {
			t.Fatal(err)
		}
	}
	complete("a", simdb.Metrics{TotalArrivals: 100, TotalSettlements: 80, TotalCostCents: 5_000})
	complete("b", simdb.Metrics{TotalArrivals: 50, TotalSettlements: 45, TotalCostCents: 7_250})
	complete("zero", simdb.Metrics{TotalArrivals: 0, TotalSettlements: 0, TotalCostCents: 0})

	c, err := b.store.CompareSimulations(b.ctx, "a", "b")
	if err != nil {
		t.Fatal(err)
	}
	if c.A.SimulationID != "a" || c.B.SimulationID != "b" || c.A.SettlementRate != 0.8 || c.B.SettlementRate != 0.9 {
		t.Fatalf("summaries: %+v / %+v", c.A, c.B)
	}
	if math.Abs(c.SettlementRateDelta-0.1) > 1e-12 || c.TotalCostDeltaCents != 2_250 {
		t.Fatalf("deltas: rate %v cost %d", c.SettlementRateDelta, c.TotalCostDeltaCents)
	}
	for _, pair := range [][2]string{{"a", "zero"}, {"zero", "a"}, {"zero", "zero"}, {"running", "zero"}} {
		c, err := b.store.CompareSimulations(b.ctx, pair[0], pair[1])
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []float64{c.A.SettlementRate, c.B.SettlementRate, c.SettlementRateDelta} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("%v: NaN/Inf in %+v", pair, c)
			}
		}
		if _, err := json.Marshal(c); err != nil {
			t.Fatalf("%v: %v", pair, err)
		}
	}
	c, _ = b.store.CompareSimulations(b.ctx, "zero", "a")
	if c.SettlementRateDelta != 0.8 || c.TotalCostDeltaCents != 5_000 {
		t.Fatalf("zero vs a: %+v", c)
	}
	for _, pair := range [][2]string{{"a", "missing"}, {"missing", "a"}, {"missing", "missing"}} {
		if _, err := b.store.CompareSimulations(b.ctx, pair[0], pair[1]); !errors.Is(err, simdb.ErrSimulationNotFound) {
			t.Errorf("%v: err = %v, want ErrSimulationNotFound", pair, err)
		}
	}
}

// --- SimCash's own SQL on a simdb file ---

const simcashTickQuery = `SELECT event_id, simulation_id, tick, day, event_timestamp, event_type, details, agent_id, tx_id, created_at FROM simulation_events WHERE simulation_id = ? AND tick = ? ORDER BY tick, event_timestamp`

const simcashSenderQuery = `SELECT event_id, simulation_id, tick, day, event_timestamp, event_type, details, agent_id, tx_id, created_at FROM simulation_events WHERE simulation_id = ? AND tick = ? AND json_extract_string(details, '$.sender_id') = ? ORDER BY tick, event_timestamp`

// simcashRow is a row as SimCash's reader scans it.
type simcashRow struct {
	eventID, simulationID string
	tick, day             int64
	ts, createdAt         time.Time
	eventType, details    string
	agentID, txID         sql.NullString
}

func simcashRows(t *testing.T, db *sql.DB, q string, args ...any) []simcashRow {
	t.Helper()
	rows, err := db.Query(q, args...)
	if err != nil {
		t.Fatalf("SimCash query: %v", err)
	}
	defer rows.Close()
	var out []simcashRow
	for rows.Next() {
		var r simcashRow
		if err := rows.Scan(&r.eventID, &r.simulationID, &r.tick, &r.day, &r.ts, &r.eventType, &r.details, &r.agentID, &r.txID, &r.createdAt); err != nil {
			t.Fatalf("scan: %v", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestQuerySimCashCompatibility(t *testing.T) {
	b, refs := fixtureStore(t, simdb.Options{})
	if err := b.store.Flush(b.ctx); err != nil {
		t.Fatal(err)
	}
	db := simdb.RawDB(b.store)
	checked := 0
	for tick := int64(0); tick < 31; tick++ {
		page, err := b.store.GetSimulationEvents(b.ctx, "q", simdb.EventFilter{Tick: &tick, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		byID := map[string]simdb.StoredEvent{}
		for _, ev := range page.Events {
			byID[ev.EventID] = ev
		}
		rows := simcashRows(t, db, simcashTickQuery, "q", tick)
		if len(rows) != len(page.Events) {
			t.Fatalf("tick %d: SimCash's query finds %d rows, simdb %d", tick, len(rows), len(page.Events))
		}
		for _, r := range rows {
			ev, ok := byID[r.eventID]
			if !ok || r.simulationID != "q" || r.tick != tick || r.day != ev.Day || r.eventType != ev.EventType || r.details != string(ev.Details) {
				t.Fatalf("tick %d: row %+v vs event %+v", tick, r, ev)
			}
			if r.agentID.Valid != (ev.AgentID != nil) || r.agentID.Valid && r.agentID.String != *ev.AgentID ||
				r.txID.Valid != (ev.TxID != nil) || r.txID.Valid && r.txID.String != *ev.TxID {
				t.Fatalf("tick %d: agent/tx columns %v %v vs %v %v", tick, r.agentID, r.txID, ev.AgentID, ev.TxID)
			}
			if r.ts.IsZero() || r.createdAt.IsZero() {
				t.Fatalf("tick %d: timestamps %v %v", tick, r.ts, r.createdAt)
			}
			if !json.Valid([]byte(r.details)) {
				t.Fatalf("details is not JSON: %s", r.details)
			}
		}
		for _, agent := range []string{"BANK_A", "BANK_B", "BANK_C", "BANK_D", sqlText} {
			want := 0
			for _, r := range refs {
				if s, _ := r.obj["sender_id"].(string); r.tick == tick && s == agent {
					want++
				}
			}
			got := simcashRows(t, db, simcashSenderQuery, "q", tick, agent)
			if len(got) != want {
				t.Fatalf("tick %d sender_id %q: %d rows, want %d", tick, agent, len(got), want)
			}
			checked += want
		}
	}
	if checked == 0 {
		t.Fatal("the sender_id variant never matched anything")
	}
}

// StreamEvents reads its windows without ORDER BY, relying on DuckDB to
// return a simulation's rows in the order they were stored (seq order)
// and sorting when they are not. Here the rows are stored in reverse: the
// stream must still come out in seq order, both ways, across windows.
func TestStreamOrderDoesNotDependOnStorageOrder(t *testing.T) {
	b := setup(t, simdb.Options{})
	b.start(t, "rev")
	var lines [][]byte
	for i := range 45_000 {
		lines = append(lines, []byte(arrival(i/100, fmt.Sprintf("tx-%d", i))))
	}
	persistByTick(t, b, "rev", lines)
	if err := b.store.Flush(b.ctx); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE rev_rows AS SELECT * EXCLUDE (event_id) FROM simulation_events ORDER BY seq DESC`,
		`DELETE FROM simulation_events`,
		`INSERT INTO simulation_events BY NAME SELECT * FROM rev_rows ORDER BY seq DESC`,
		`DROP TABLE rev_rows`,
	} {
		if _, err := simdb.RawDB(b.store).ExecContext(b.ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// The precondition: a plain scan now meets the last events first.
	var first int64
	if err := simdb.RawDB(b.store).QueryRowContext(b.ctx, `SELECT seq FROM simulation_events WHERE simulation_id = 'rev' AND seq >= 20000 AND seq < 40000 LIMIT 1`).Scan(&first); err != nil {
		t.Fatal(err)
	}
	if first != 39_999 {
		t.Fatalf("rows are not stored in reverse (a scan starts at seq %d), the test proves nothing", first)
	}
	want := make([]int64, len(lines))
	for i := range want {
		want[i] = int64(i)
	}
	if got := seqsOf(streamAll(t, b.store, "rev", simdb.EventFilter{})); !slices.Equal(got, want) {
		t.Fatalf("ascending stream out of order: %d events, first %v", len(got), got[:min(5, len(got))])
	}
	if got := seqsOf(streamAll(t, b.store, "rev", simdb.EventFilter{Sort: simdb.SortTickDesc})); !slices.Equal(got, reversed(want)) {
		t.Fatalf("descending stream out of order: %d events, first %v", len(got), got[:min(5, len(got))])
	}
	page, err := b.store.GetSimulationEvents(b.ctx, "rev", simdb.EventFilter{Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if got := seqsOf(page.Events); !slices.Equal(got, want[:5]) {
		t.Fatalf("first page %v, want %v", got, want[:5])
	}
}
