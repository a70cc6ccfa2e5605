package simdb_test

// The independent reference the query tests compare against (every stored
// line decoded with encoding/json and filtered in Go), the helpers that read
// a store every way it can be read, and the fixture stream.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/testutil"
	"github.com/simcash/simdb/internal/testutil/simdbtest"
)

// --- The independent reference ---

// refKeys are the keys under which the engine names the parties of an
// event and the transactions it involves (SIMCASH.md).
var refKeys = testutil.SimCashPartyKeys()

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
func refParties(obj map[string]any) (agents, txs map[string]bool) { return refPartiesAt(obj, nil) }

// refPartiesAt is refParties that also calls at, when not nil, with each
// transaction and a place that names it: the event type and the key
// ("details_json." before a key of the object details_json holds, "[]"
// after a list's key).
func refPartiesAt(obj map[string]any, at func(tx, where string)) (agents, txs map[string]bool) {
	typ, _ := obj["event_type"].(string)
	placed := func(prefix string) func(string, string) {
		if at == nil {
			return nil
		}
		return func(tx, key string) { at(tx, prefix+key) }
	}
	agents = refNames(obj, refKeys.Agent, refKeys.AgentLists, nil)
	txs = refNames(obj, refKeys.Tx, refKeys.TxLists, placed(typ+"."))
	if s, ok := obj["details_json"].(string); ok {
		var inner map[string]any
		if json.Unmarshal([]byte(s), &inner) == nil {
			maps.Copy(agents, refNames(inner, append(slices.Clone(refKeys.Agent), refKeys.ScenarioAgent...), refKeys.AgentLists, nil))
			maps.Copy(txs, refNames(inner, refKeys.Tx, refKeys.TxLists, placed(typ+".details_json.")))
		}
	}
	return agents, txs
}

// refNames collects the strings under the scalar keys and inside the list
// keys of obj, calling at (when not nil) with each and its key.
func refNames(obj map[string]any, scalar, lists []string, at func(name, key string)) map[string]bool {
	out := map[string]bool{}
	for _, k := range scalar {
		if s, ok := obj[k].(string); ok {
			out[s] = true
			if at != nil {
				at(s, k)
			}
		}
	}
	for _, k := range lists {
		if list, ok := obj[k].([]any); ok {
			for _, v := range list {
				if s, ok := v.(string); ok {
					out[s] = true
					if at != nil {
						at(s, k+"[]")
					}
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
		out = append(out, simdbtest.Seqs(page.Events)...)
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
		out = append(out, simdbtest.Seqs(page.Events)...)
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
