package simdb_test

// Hostile lifecycle calls: unknown, finished, duplicate and retried
// simulations, bad ids and configs (cases of TestHostileInputs).

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/provider"
)

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
