package simdb_test

// Tests of the query surface: GetSimulationEvents (filters, paging, sort,
// keyset cursor), StreamEvents, GetEventSummary, GetSimulationSummary,
// ListSimulations, GetAgentStateRegisters, CompareSimulations, and SimCash's
// own SQL on a simdb file. Expected answers come from an independent
// reference: every stored line decoded with encoding/json and filtered here
// in Go, never from the store's own normalisation (query_ref_test.go).
//
// This file: the filters and paging of GetSimulationEvents. The rest, by
// section: query_event_test.go, query_stream_test.go,
// query_summary_test.go, query_simcash_test.go.

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/testutil"
	"github.com/simcash/simdb/internal/testutil/simdbtest"
)

// sqlText looks like SQL; filters must match it literally.
const sqlText = "'; DROP TABLE simulations; --"

// --- GetSimulationEvents: every filter alone and combined ---

func TestQueryFilters(t *testing.T) {
	testutil.SkipUnderMakeRace(t, "every filter over one stored run, one query at a time")
	t.Parallel()
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
			if got := simdbtest.Seqs(page.Events); !slices.Equal(got, want) {
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
			if got := simdbtest.Seqs(streamAll(t, b.store, "q", c.f)); !slices.Equal(got, want) {
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
			if got := simdbtest.Seqs(page.Events); !slices.Equal(got, all[lo:hi]) {
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
