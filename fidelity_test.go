package simdb_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/testutil"
)

// What a caller porting SimCash code expects of the defaults, keys and
// sizes (issues 12 and 18).

// The seed's own example, as the README's library section shows it: a
// config with only num_days, the seed's metrics dict with total_costs.
func TestSeedExample(t *testing.T) {
	b := setup(t, simdb.Options{})
	if err := b.store.PersistSimulationStart(b.ctx, "seed", json.RawMessage(`{"num_days":3}`), simdb.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.PersistTickEvents(b.ctx, "seed", 0, raws(arrival(0, "t1"))); err != nil {
		t.Fatal(err)
	}
	var m simdb.Metrics
	if err := json.Unmarshal([]byte(`{"total_arrivals":50,"total_settlements":48,"total_costs":500000,"duration_seconds":1.5}`), &m); err != nil {
		t.Fatal(err)
	}
	if err := b.store.PersistSimulationComplete(b.ctx, "seed", m); err != nil {
		t.Fatal(err)
	}
	sum, err := b.store.GetSimulationSummary(b.ctx, "seed")
	if err != nil {
		t.Fatal(err)
	}
	if sum.TicksPerDay != 100 || sum.NumDays != 3 || sum.TotalTicks != 300 || *sum.TotalCostCents != 500000 ||
		*sum.TotalArrivals != 50 || *sum.TotalSettlements != 48 || sum.AvgDailyCostCents != 500000/3 || sum.SettlementRate != 0.96 {
		t.Fatalf("seed example: %+v", sum)
	}
}

// ticks_per_day defaults to 100 as SimCash's config.get does; a nil or
// empty config is {}; an integral number is an integer however it is
// spelled; the keys are found under "scenario" and "engine_config" too.
func TestConfigDefaultsAndSpellings(t *testing.T) {
	b := setup(t, simdb.Options{})
	cases := []struct {
		name, config, stored string
		opts                 simdb.StartOptions
		tpd, days, agents    int64
		seed                 string
	}{
		{name: "nil", config: "", stored: "{}", tpd: 100, days: 1},
		{name: "empty object", config: "{}", stored: "{}", tpd: 100, days: 1},
		{name: "only num_days", config: `{"num_days":3}`, tpd: 100, days: 3},
		{name: "only num_days, ticks given separately", config: `{"num_days":3}`, opts: simdb.StartOptions{TicksPerDay: 24}, tpd: 24, days: 3},
		{name: "100.0", config: `{"ticks_per_day":100.0}`, tpd: 100, days: 1},
		{name: "exponents", config: `{"ticks_per_day":1e2,"num_days":0.5e1,"rng_seed":-7.0}`, tpd: 100, days: 5, seed: "-7"},
		{name: "scenario (a SimCash meta file)", config: `{"dataset":"x","scenario":{"ticks_per_day":24,"num_days":2,"rng_seed":9,"agents":[{"id":"A"},{"id":"B"}]}}`,
			tpd: 24, days: 2, agents: 2, seed: "9"},
		{name: "engine_config", config: `{"engine_config":{"ticks_per_day":12,"num_days":4,"agent_configs":[{},{},{}]}}`, tpd: 12, days: 4, agents: 3},
		{name: "top level before scenario", config: `{"ticks_per_day":10,"scenario":{"ticks_per_day":24,"num_days":2}}`, tpd: 10, days: 2},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := fmt.Sprintf("c%d", i)
			var cfg json.RawMessage
			if c.config != "" {
				cfg = json.RawMessage(c.config)
			}
			if err := b.store.PersistSimulationStart(b.ctx, id, cfg, c.opts); err != nil {
				t.Fatal(err)
			}
			s, err := b.store.GetSimulationSummary(b.ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			stored := c.stored
			if stored == "" {
				stored = c.config
			}
			seed := "-"
			if s.RngSeed != nil {
				seed = fmt.Sprint(*s.RngSeed)
			}
			if c.seed == "" {
				c.seed = "-"
			}
			if s.TicksPerDay != c.tpd || s.NumDays != c.days || s.TotalTicks != c.tpd*c.days || s.NumAgents != c.agents ||
				seed != c.seed || string(s.ConfigJSON) != stored {
				t.Fatalf("got tpd %d, days %d, total %d, agents %d, seed %s, config %s; want %d, %d, %d, %d, %s, %s",
					s.TicksPerDay, s.NumDays, s.TotalTicks, s.NumAgents, seed, s.ConfigJSON, c.tpd, c.days, c.tpd*c.days, c.agents, c.seed, stored)
			}
		})
	}
	hNil, err := simdb.ConfigHash(nil)
	if err != nil {
		t.Fatal(err)
	}
	if hEmpty, _ := simdb.ConfigHash(json.RawMessage("{}")); hNil != hEmpty {
		t.Errorf("ConfigHash(nil) %s != ConfigHash({}) %s", hNil, hEmpty)
	}
	// A value that is present and wrong is still refused.
	for _, bad := range []string{`{"ticks_per_day":100.5}`, `{"ticks_per_day":-1}`, `{"ticks_per_day":1e-2}`, `{"num_days":1e30}`,
		`{"scenario":{"ticks_per_day":"100"}}`, `{"ticks_per_day":1e999999999999}`} {
		err := b.store.PersistSimulationStart(b.ctx, "bad", json.RawMessage(bad), simdb.StartOptions{})
		if !errors.Is(err, simdb.ErrInvalidConfig) {
			t.Errorf("%s: err = %v, want ErrInvalidConfig", bad, err)
		}
	}
}

// The corpus meta files keep the run's settings under "scenario": as a
// config they give the run its real size at start.
func TestConfigFromCorpusMetaFile(t *testing.T) {
	meta, err := os.ReadFile(testutil.CorpusFile(t, "medium.meta.json"))
	if err != nil {
		t.Fatal(err)
	}
	b := setup(t, simdb.Options{})
	if err := b.store.PersistSimulationStart(b.ctx, "m", meta, simdb.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	s, err := b.store.GetSimulationSummary(b.ctx, "m")
	if err != nil {
		t.Fatal(err)
	}
	if s.TicksPerDay != 100 || s.NumDays != 5 || s.TotalTicks != 500 || s.NumAgents != 10 || s.RngSeed == nil || *s.RngSeed != 20240601 {
		t.Fatalf("medium.meta.json as config: %+v", s.Simulation)
	}
}

// Metrics decode the seed's metrics dict: total_costs or total_cost_cents,
// never both, nothing unknown, no duplicates, integers for counts and money.
func TestMetricsUnmarshalJSON(t *testing.T) {
	good := []struct {
		in   string
		want simdb.Metrics
	}{
		{`{"total_arrivals":50,"total_settlements":48,"total_costs":500000,"duration_seconds":1.5}`, simdb.Metrics{TotalArrivals: 50, TotalSettlements: 48, TotalCostCents: 500000, DurationSeconds: 1.5}},
		{`{"total_arrivals":50,"total_settlements":48,"total_cost_cents":500000,"duration_seconds":2}`, simdb.Metrics{TotalArrivals: 50, TotalSettlements: 48, TotalCostCents: 500000, DurationSeconds: 2}},
		{`{"total_arrivals":1,"total_costs":null}`, simdb.Metrics{TotalArrivals: 1}},
		{`{}`, simdb.Metrics{}},
	}
	for _, c := range good {
		m := simdb.Metrics{TotalArrivals: 99, TotalCostCents: 99}
		if err := json.Unmarshal([]byte(c.in), &m); err != nil || m != c.want {
			t.Errorf("%s: %+v, %v; want %+v", c.in, m, err, c.want)
		}
	}
	bad := []struct{ in, want string }{
		{`{"total_costs":1,"total_cost_cents":1}`, "both total_costs and total_cost_cents"},
		{`{"total_arrivals":1,"total_cost":5}`, `unknown key "total_cost"`},
		{`{"total_arrivals":1,"total_arrivals":2}`, `"total_arrivals": duplicate key`},
		{`{"total_costs":500000.5}`, "total_costs must be an integer"},
		{`{"total_cost_cents":5e5}`, "total_cost_cents must be an integer"},
		{`{"total_settlements":"48"}`, "total_settlements must be an integer"},
		{`{"duration_seconds":"1.5"}`, "duration_seconds must be a number"},
		{`{"total_arrivals":1,"note":"\udc00"}`, "surrogate"},
		{`[1]`, "object"},
	}
	for _, c := range bad {
		var m simdb.Metrics
		err := json.Unmarshal([]byte(c.in), &m)
		if !errors.Is(err, simdb.ErrInvalidArgument) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want ErrInvalidArgument with %q", c.in, err, c.want)
		}
	}
	// encoding/json writes the field names; they decode back.
	in := simdb.Metrics{TotalArrivals: 3, TotalSettlements: 2, TotalCostCents: 7, DurationSeconds: 0.5}
	js, _ := json.Marshal(in)
	var out simdb.Metrics
	if err := json.Unmarshal(js, &out); err != nil || out != in {
		t.Fatalf("round trip %s: %+v, %v", js, out, err)
	}
}

// A run whose config does not state its size records, when it ends, what
// its events show: total_ticks = last tick + 1, the days those ticks span,
// the distinct agents taking part. What the config states is kept.
func TestRunSizeRecordedFromEvents(t *testing.T) {
	for _, d := range []simdb.Durability{simdb.Buffered, simdb.Durable} {
		t.Run(d.String(), func(t *testing.T) {
			b := setup(t, simdb.Options{Durability: d})
			persistTicks := func(id string, last int) {
				t.Helper()
				for tick := 0; tick <= last; tick += 10 {
					evs := []string{arrival(tick, fmt.Sprintf("tx-%d", tick))}
					if tick == 50 {
						evs = append(evs, `{"event_type":"PolicyHold","tick":50,"agent_id":"BANK_C","tx_id":"tx-50","reason":"x"}`)
					}
					if _, err := b.store.PersistTickEvents(b.ctx, id, int64(tick), raws(evs...)); err != nil {
						t.Fatal(err)
					}
				}
			}
			start := func(id, config string) {
				t.Helper()
				if err := b.store.PersistSimulationStart(b.ctx, id, json.RawMessage(config), simdb.StartOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			check := func(id string, days, total, agents int64) simdb.SimulationSummary {
				t.Helper()
				s, err := b.store.GetSimulationSummary(b.ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if s.NumDays != days || s.TotalTicks != total || s.NumAgents != agents {
					t.Fatalf("%s: days %d, total_ticks %d, agents %d; want %d, %d, %d", id, s.NumDays, s.TotalTicks, s.NumAgents, days, total, agents)
				}
				return s
			}
			// No size in the config: ticks 0..250, three agents.
			start("bare", `{}`)
			persistTicks("bare", 250)
			if err := b.store.PersistSimulationComplete(b.ctx, "bare", simdb.Metrics{TotalCostCents: 900, DurationSeconds: 2}); err != nil {
				t.Fatal(err)
			}
			s := check("bare", 3, 251, 3)
			if s.AvgDailyCostCents != 300 || *s.TicksPerSecond != 125.5 {
				t.Fatalf("bare: avg/day %d, ticks/s %v; want 300, 125.5", s.AvgDailyCostCents, *s.TicksPerSecond)
			}
			// The config states the days and agents: kept.
			start("stated", `{"ticks_per_day":100,"num_days":5,"num_agents":7}`)
			persistTicks("stated", 250)
			if err := b.store.PersistSimulationComplete(b.ctx, "stated", simdb.Metrics{DurationSeconds: 5}); err != nil {
				t.Fatal(err)
			}
			if s := check("stated", 5, 500, 7); *s.TicksPerSecond != 100 {
				t.Fatalf("stated: ticks/s %v", *s.TicksPerSecond)
			}
			// Agents stated, days not.
			start("half", `{"agents":[{"id":"BANK_A"}]}`)
			persistTicks("half", 100)
			if err := b.store.PersistSimulationComplete(b.ctx, "half", simdb.Metrics{}); err != nil {
				t.Fatal(err)
			}
			check("half", 2, 101, 1)
			// A failed run records what it stored too.
			start("failed", `{"ticks_per_day":50}`)
			persistTicks("failed", 120)
			if err := b.store.PersistSimulationFailed(b.ctx, "failed", "boom"); err != nil {
				t.Fatal(err)
			}
			check("failed", 3, 121, 3)
			// No events: the start defaults stay.
			start("empty", `{}`)
			if err := b.store.PersistSimulationComplete(b.ctx, "empty", simdb.Metrics{}); err != nil {
				t.Fatal(err)
			}
			check("empty", 1, 100, 0)
			// The stored row and the summary agree (one SQL over the table).
			if n := b.count(t, `SELECT count(*) FROM simulations s WHERE last_tick >= total_ticks AND NOT (config_json LIKE '%num_days%')`); n != 0 {
				t.Fatalf("%d runs state fewer ticks than their events", n)
			}
		})
	}
}

// The medium stream ingested without its config states the size its
// events show: 500 ticks, 5 days, 10 agents (issue 12.2's done-when).
func TestCorpusWithoutConfigStatesItsSize(t *testing.T) {
	path := testutil.CorpusFile(t, "medium.jsonl.gz")
	b := setup(t, simdb.Options{})
	if err := b.store.PersistSimulationStart(b.ctx, "medium", nil, simdb.StartOptions{TicksPerDay: 100}); err != nil {
		t.Fatal(err)
	}
	res, err := b.store.IngestJSONL(b.ctx, "medium", testutil.OpenGzip(t, path), simdb.IngestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.store.PersistSimulationComplete(b.ctx, "medium", res.Metrics); err != nil {
		t.Fatal(err)
	}
	s, err := b.store.GetSimulationSummary(b.ctx, "medium")
	if err != nil {
		t.Fatal(err)
	}
	if s.TotalTicks != 500 || s.NumDays != 5 || s.NumAgents != 10 || *s.LastTick != 499 {
		t.Fatalf("medium without config: total_ticks %d, num_days %d, num_agents %d, last_tick %d", s.TotalTicks, s.NumDays, s.NumAgents, *s.LastTick)
	}
	if s.AvgDailyCostCents != *s.TotalCostCents/5 {
		t.Fatalf("avg/day %d, want total/5", s.AvgDailyCostCents)
	}
}

// A UTF-8 byte-order mark at the very start of a stream is skipped and the
// events come back byte for byte; anywhere else it is an invalid line.
func TestIngestSkipsLeadingBOM(t *testing.T) {
	b := setup(t, simdb.Options{})
	b.start(t, "bom")
	lines := []string{arrival(0, "a"), arrival(0, "b"), settlement(1, "a")}
	stream := "\xef\xbb\xbf" + strings.Join(lines, "\r\n") + "\r\n"
	res, err := b.store.IngestJSONL(b.ctx, "bom", strings.NewReader(stream), simdb.IngestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Events != 3 || res.Lines != 3 {
		t.Fatalf("result %+v", res)
	}
	var got []string
	for ev, err := range b.store.StreamEvents(b.ctx, "bom", simdb.EventFilter{}) {
		if err != nil {
			t.Fatal(err)
		}
		raw, err := ev.Raw()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(raw))
	}
	if strings.Join(got, "\n") != strings.Join(lines, "\n") {
		t.Fatalf("events after a BOM:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(lines, "\n"))
	}

	b.start(t, "bom2")
	_, err = b.store.IngestJSONL(b.ctx, "bom2", strings.NewReader(arrival(0, "a")+"\n\xef\xbb\xbf"+arrival(1, "b")+"\n"),
		simdb.IngestOptions{Source: "two.jsonl"})
	var evErr *simdb.EventError
	if !errors.As(err, &evErr) || !strings.Contains(err.Error(), "two.jsonl:2:") || !strings.Contains(err.Error(), "0xef") {
		t.Fatalf("a BOM on line 2: %v, want an *EventError at two.jsonl:2", err)
	}
	// Only a whole BOM is skipped: a stream that starts with part of one
	// is refused at line 1.
	b.start(t, "bom3")
	if _, err := b.store.IngestJSONL(b.ctx, "bom3", bytes.NewReader([]byte("\xef\xbb"+arrival(0, "a"))), simdb.IngestOptions{}); !errors.Is(err, simdb.ErrInvalidEvent) ||
		!strings.Contains(err.Error(), "line 1") {
		t.Fatalf("half a BOM: %v", err)
	}
}
