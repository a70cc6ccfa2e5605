package simgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/simcash/simdb/internal/event"
)

// keyOrder is the README's "fields (in key order)" for every event type the
// engine emits, after event_type and tick.
var keyOrder = map[string]string{
	"AlgorithmExecution":        "algorithm result settlements settled_value",
	"Arrival":                   "tx_id sender_id receiver_id amount deadline priority is_divisible",
	"BankBudgetSet":             "agent_id max_value focus_counterparties max_per_counterparty",
	"BilateralLimitExceeded":    "sender receiver tx_id amount current_bilateral_outflow bilateral_limit",
	"CollateralPost":            "agent_id amount reason new_total",
	"CollateralTimerBlocked":    "agent_id requested_amount reason original_reason posted_at_tick",
	"CollateralTimerWithdrawn":  "agent_id amount original_reason posted_at_tick new_total",
	"CollateralWithdraw":        "agent_id amount reason new_total",
	"CostAccrual":               "agent_id costs",
	"DeferredCreditApplied":     "agent_id amount source_transactions",
	"EndOfDay":                  "day unsettled_count total_penalties",
	"EntryDispositionOffset":    "incoming_tx_id queued_tx_id agent_a agent_b offset_amount incoming_amount queued_amount",
	"LiquidityAllocation":       "day agent_id fraction amount balance_after",
	"LiquidityReturn":           "agent_id amount balance_after",
	"LsmBilateralOffset":        "agent_a agent_b tx_ids amount_a amount_b amount",
	"LsmCycleSettlement":        "agents tx_amounts total_value net_positions max_net_outflow max_net_outflow_agent tx_ids cycle_value",
	"MultilateralLimitExceeded": "sender tx_id amount current_total_outflow multilateral_limit",
	"OverdueTransactionSettled": "tx_id sender_id receiver_id amount settled_amount deadline_tick overdue_since_tick total_ticks_overdue deadline_penalty_cost estimated_delay_cost",
	"PolicyDrop":                "agent_id tx_id reason",
	"PolicyHold":                "agent_id tx_id reason",
	"PolicySplit":               "agent_id tx_id num_splits child_ids",
	"PolicySubmit":              "agent_id tx_id",
	"PriorityEscalated":         "tx_id sender_id original_priority escalated_priority ticks_until_deadline boost_applied",
	"Queue2LiquidityRelease":    "tx_id sender receiver amount queue_wait_ticks release_reason",
	"QueuedRtgs":                "tx_id sender_id",
	"RtgsImmediateSettlement":   "tx_id sender receiver amount sender_balance_before sender_balance_after",
	"RtgsResubmission":          "tx_id sender old_rtgs_priority new_rtgs_priority",
	"RtgsSubmission":            "tx_id sender receiver amount internal_priority rtgs_priority",
	"RtgsWithdrawal":            "tx_id sender original_rtgs_priority",
	"ScenarioEventExecuted":     "scenario_event_type details_json",
	"StateRegisterSet":          "agent_id register_key old_value new_value reason decision_path",
	"TransactionWentOverdue":    "tx_id sender_id receiver_id amount remaining_amount deadline_tick ticks_overdue deadline_penalty_cost",
}

// topKeys returns the top-level keys of a JSON object in order, and its
// members as raw values.
func topKeys(line []byte) ([]string, map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		return nil, nil, err
	}
	var keys []string
	vals := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		k := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, err
		}
		keys = append(keys, k)
		vals[k] = v
	}
	return keys, vals, nil
}

// TestStream checks every line of several runs: the event package accepts
// it and rebuilds it byte for byte, keys are in the engine's order, ticks
// behave, and the run-level numbers (EndOfDay per day, Stats, events per
// tick, variety of types) hold.
func TestStream(t *testing.T) {
	for _, tc := range []struct {
		o        Options
		minTypes int
	}{
		{Options{Agents: 8, Days: 2, Seed: 1}, 15},
		{Options{Agents: 8, Days: 2, Seed: 2}, 15},
		{Options{Agents: 8, Days: 10, Seed: 3}, 25},
		{Options{Agents: 40, Days: 2, TicksPerDay: 50, Seed: 4, EventsPerTick: 600}, 20},
		{Options{Agents: 3, Days: 4, TicksPerDay: 10, Seed: 5, EventsPerTick: 12}, 8},
		{Options{Agents: 120, Days: 1, TicksPerDay: 30, Seed: 6, EventsPerTick: 300}, 15},
	} {
		t.Run(fmt.Sprintf("%+v", tc.o), func(t *testing.T) {
			o := tc.o.withDefaults()
			out, st := generate(t, o)
			if !utf8.Valid(out) {
				t.Fatal("output is not valid UTF-8")
			}
			lines := splitLines(t, out)
			total := int64(o.Days) * int64(o.TicksPerDay)
			if st.Events != int64(len(lines)) || st.Bytes != int64(len(out)) || st.Ticks != total {
				t.Fatalf("stats %+v, want %d events, %d bytes, %d ticks", st, len(lines), len(out), total)
			}
			types := map[string]int{}
			var prevTick int64
			var endOfDays int64
			for i, line := range lines {
				ev, err := event.Decode(line)
				if err != nil {
					t.Fatalf("line %d: %v\n%s", i+1, err, line)
				}
				got, err := event.Rebuild(nil, event.Stored{Type: ev.Type, Tick: ev.Tick, AgentID: ev.AgentID, TxID: ev.TxID, Details: ev.Details, Layout: ev.Layout})
				if err != nil || !bytes.Equal(got, line) {
					t.Fatalf("line %d: rebuilt %s (err %v)\nwant %s", i+1, got, err, line)
				}
				prefix := `{"event_type":"` + ev.Type + `","tick":` + fmt.Sprint(ev.Tick) + `,`
				if !bytes.HasPrefix(line, []byte(prefix)) {
					t.Fatalf("line %d does not start with %s: %s", i+1, prefix, line)
				}
				if ev.Tick < prevTick || ev.Tick >= total {
					t.Fatalf("line %d: tick %d after %d, run has %d ticks", i+1, ev.Tick, prevTick, total)
				}
				prevTick = ev.Tick
				types[ev.Type]++
				keys, vals, err := topKeys(line)
				if err != nil {
					t.Fatalf("line %d: %v", i+1, err)
				}
				want, ok := keyOrder[ev.Type]
				if !ok {
					t.Fatalf("line %d: unexpected event type %q", i+1, ev.Type)
				}
				if got := strings.Join(keys[2:], " "); got != want {
					t.Fatalf("line %d: %s keys\n got %s\nwant %s", i+1, ev.Type, got, want)
				}
				if ev.Type == "EndOfDay" {
					endOfDays++
					var day int64
					if err := json.Unmarshal(vals["day"], &day); err != nil || day != ev.Tick/int64(o.TicksPerDay) || ev.Tick%int64(o.TicksPerDay) != int64(o.TicksPerDay)-1 {
						t.Fatalf("line %d: EndOfDay day %s at tick %d", i+1, vals["day"], ev.Tick)
					}
				}
			}
			if endOfDays != int64(o.Days) {
				t.Fatalf("%d EndOfDay events, want %d", endOfDays, o.Days)
			}
			if lines := bytes.Count(out, []byte(`"event_type":"EndOfDay"`)); lines != o.Days {
				t.Fatalf("%d EndOfDay lines, want %d", lines, o.Days)
			}
			avg := float64(st.Events) / float64(total)
			if target := float64(o.EventsPerTick); avg < 0.5*target || avg > 1.5*target {
				t.Fatalf("%.1f events per tick, target %.0f", avg, target)
			}
			if len(types) < tc.minTypes {
				t.Fatalf("%d event types, want at least %d: %v", len(types), tc.minTypes, types)
			}
			t.Logf("%d events, %.1f per tick, %d types", st.Events, avg, len(types))
		})
	}
}

// TestCausality follows every transaction through a long run: it arrives
// once before anything else names it, settles at most once and never after
// a drop or split, is released or offset only after it was queued, and the
// composite events are internally consistent.
func TestCausality(t *testing.T) {
	o := Options{Agents: 8, Days: 20, Seed: 7}
	out, _ := generate(t, o)
	arrived := map[string]bool{}
	queued := map[string]bool{}
	closed := map[string]string{} // tx → event that settled, dropped or split it
	overdue := map[string]bool{}
	counts := map[string]int{}
	var sawArrow bool
	for i, line := range splitLines(t, out) {
		var e map[string]any
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.UseNumber()
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		typ := e["event_type"].(string)
		counts[typ]++
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("line %d: %s\n%s", i+1, fmt.Sprintf(format, args...), line)
		}
		num := func(k string) int64 {
			n, err := e[k].(json.Number).Int64()
			if err != nil {
				fail("%s: %v", k, err)
			}
			return n
		}
		strs := func(k string) []string {
			var s []string
			for _, v := range e[k].([]any) {
				s = append(s, v.(string))
			}
			return s
		}
		close := func(tx string) {
			if prev, ok := closed[tx]; ok {
				fail("%s already closed by %s", tx, prev)
			}
			closed[tx] = typ
		}
		if tx, ok := e["tx_id"].(string); ok && typ != "Arrival" && !strings.HasPrefix(tx, "scheduled_settlement_") && !arrived[tx] {
			fail("%s before Arrival", tx)
		}
		switch typ {
		case "Arrival":
			tx := e["tx_id"].(string)
			if arrived[tx] {
				fail("second Arrival")
			}
			arrived[tx] = true
			if len(tx) != 36 || tx[14] != '4' || !strings.ContainsRune("89ab", rune(tx[19])) {
				fail("tx_id %q is not a UUIDv4", tx)
			}
			if num("deadline") <= num("tick") {
				fail("deadline not after arrival")
			}
		case "RtgsImmediateSettlement":
			close(e["tx_id"].(string))
			if num("sender_balance_before")-num("amount") != num("sender_balance_after") {
				fail("balances do not add up")
			}
		case "QueuedRtgs":
			queued[e["tx_id"].(string)] = true
		case "Queue2LiquidityRelease":
			if !queued[e["tx_id"].(string)] {
				fail("released but never queued")
			}
			close(e["tx_id"].(string))
		case "LsmBilateralOffset":
			for _, tx := range strs("tx_ids") {
				if !queued[tx] {
					fail("offset %s never queued", tx)
				}
				close(tx)
			}
			if num("amount") != num("amount_a")+num("amount_b") {
				fail("amount is not amount_a + amount_b")
			}
		case "EntryDispositionOffset":
			if !queued[e["queued_tx_id"].(string)] || !arrived[e["incoming_tx_id"].(string)] {
				fail("offset of unknown payments")
			}
			close(e["queued_tx_id"].(string))
			close(e["incoming_tx_id"].(string))
		case "LsmCycleSettlement":
			agents, ids := strs("agents"), strs("tx_ids")
			amounts := e["tx_amounts"].([]any)
			nets := e["net_positions"].([]any)
			if agents[0] != agents[len(agents)-1] || len(nets) != len(agents) || len(amounts) != len(ids) {
				fail("cycle shape")
			}
			var sum int64
			for _, a := range amounts {
				n, _ := a.(json.Number).Int64()
				sum += n
			}
			if sum != num("total_value") || num("cycle_value") != num("total_value") {
				fail("cycle totals")
			}
			for _, tx := range ids {
				if !queued[tx] {
					fail("cycle payment %s never queued", tx)
				}
				close(tx)
			}
		case "PolicyDrop", "PolicySplit":
			close(e["tx_id"].(string))
			if typ == "PolicySplit" {
				kids := strs("child_ids")
				if int64(len(kids)) != num("num_splits") {
					fail("num_splits")
				}
				for _, c := range kids {
					if !arrived[c] {
						fail("child %s has no Arrival before the split", c)
					}
				}
			}
		case "DeferredCreditApplied":
			for _, tx := range strs("source_transactions") {
				if _, ok := closed[tx]; !ok {
					fail("credit for unsettled %s", tx)
				}
			}
		case "TransactionWentOverdue":
			tx := e["tx_id"].(string)
			if overdue[tx] || closed[tx] != "" {
				fail("overdue twice or after settlement")
			}
			overdue[tx] = true
		case "OverdueTransactionSettled":
			if !overdue[e["tx_id"].(string)] {
				fail("settled overdue payment that never went overdue")
			}
		case "CostAccrual":
			c := map[string]int64{}
			for k, v := range e["costs"].(map[string]any) {
				c[k], _ = v.(json.Number).Int64()
			}
			parts := c["liquidity_cost"] + c["delay_cost"] + c["collateral_cost"] + c["penalty_cost"] + c["split_friction_cost"]
			if len(c) != 6 || c["total"] < parts || c["total"] <= 0 {
				fail("costs %v", c)
			}
		case "StateRegisterSet", "LiquidityAllocation":
			keys := []string{"fraction"}
			if typ == "StateRegisterSet" {
				keys = []string{"old_value", "new_value"}
				if p, ok := e["decision_path"].(string); ok && strings.Contains(p, "\u2192") {
					sawArrow = true
				}
			}
			for _, k := range keys {
				if s := e[k].(json.Number).String(); !strings.ContainsAny(s, ".eE") {
					fail("%s %s is not written as a float", k, s)
				}
			}
		case "ScenarioEventExecuted":
			raw, ok := e["details_json"].(string)
			if !ok {
				fail("details_json is not a string")
			}
			keys, _, err := topKeys([]byte(raw))
			if err != nil || len(keys) == 0 {
				fail("details_json %q is not a JSON object: %v", raw, err)
			}
			for k := 1; k < len(keys); k++ {
				if keys[k-1] >= keys[k] {
					fail("details_json keys not sorted: %v", keys)
				}
			}
		}
	}
	if !sawArrow || !bytes.Contains(out, []byte("B_UpdateState(true) → B_IncStress")) {
		t.Error("no decision_path with a raw U+2192 arrow")
	}
	if bytes.Contains(out, []byte(`\u2192`)) {
		t.Error("the arrow is escaped; the engine writes it raw")
	}
	if !bytes.Contains(out, []byte(`"reason":"Custom(\"BufferProtection\")"`)) {
		t.Error("no reason with embedded quotes")
	}
	// Proportions roughly like the real streams: every payment is
	// submitted, most settle immediately, some queue, few are exotic.
	arr, imm := counts["Arrival"], counts["RtgsImmediateSettlement"]
	if counts["RtgsSubmission"] < arr*9/10 || imm < arr*7/10 || imm > arr ||
		counts["QueuedRtgs"] < arr/50 || counts["QueuedRtgs"] > arr/3 ||
		counts["PolicyHold"] == 0 || counts["Queue2LiquidityRelease"] == 0 {
		t.Errorf("implausible proportions: %v", counts)
	}
	t.Logf("counts: %v", counts)
}
