package simdb_test

// Tests of the event itself (every field of a StoredEvent) and of the
// queries on the real SimCash stream (every agent, 200 transactions).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/testutil"
	"github.com/simcash/simdb/internal/testutil/simdbtest"
)

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
	t.Parallel()
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
	if got := simdbtest.Seqs(streamAll(t, b.store, "medium", simdb.EventFilter{AgentID: fewest})); !slices.Equal(got, refQuery(refs, simdb.EventFilter{AgentID: fewest})) {
		t.Errorf("agent %s: streamed %d events, reference %d, or different ones", fewest, len(got), fewestN)
	}

	// 200 transactions, chosen deterministically: the first id of every
	// cycle, ids found only in lists (LSM tx_ids) evenly spaced, then ids in
	// order of first appearance evenly spaced.
	sample := txSample(refs, 200)
	if len(sample) != 200 {
		t.Fatalf("sample has %d transactions", len(sample))
	}
	// The events that name each sampled transaction, in one pass over the
	// reference (refQuery over them is refQuery over every event: the
	// others cannot match, and the order is kept).
	named := map[string][]refEvent{}
	for _, tx := range sample {
		named[tx] = []refEvent{}
	}
	for _, r := range refs {
		for tx := range r.txs {
			if evs, ok := named[tx]; ok {
				named[tx] = append(evs, r)
			}
		}
	}
	viaList := 0
	for _, tx := range sample {
		want := refQuery(named[tx], simdb.EventFilter{TxID: tx})
		page, err := b.store.GetSimulationEvents(b.ctx, "medium", simdb.EventFilter{TxID: tx, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != int64(len(want)) {
			t.Errorf("tx %s: total %d, reference counts %d", tx, page.Total, len(want))
			continue
		}
		got := simdbtest.Seqs(page.Events)
		if page.Total > 1000 {
			got = simdbtest.Seqs(streamAll(t, b.store, "medium", simdb.EventFilter{TxID: tx}))
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
		for _, k := range refKeys.Tx {
			if s, ok := r.obj[k].(string); ok && !seen[s] {
				seen[s] = true
				all = append(all, s)
			}
		}
		for _, k := range refKeys.TxLists {
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
