package simdb_test

// Tests of the summaries: GetEventSummary, ListSimulations,
// GetSimulationSummary, GetAgentStateRegisters, CompareSimulations.

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/testutil"
)

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

func TestQueryListSimulations(t *testing.T) {
	base := time.Date(2025, 1, 2, 3, 0, 0, 0, time.UTC)
	clock := testutil.NewClock(base)
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
