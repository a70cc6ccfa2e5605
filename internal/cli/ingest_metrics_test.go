package cli

// Tests of the totals ingest records: arrivals, settlements and costs
// computed from a stream, and those of the corpus's meta file.

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simcash/simdb/internal/testutil"
)

// streamTotals computes a stream's totals by the rule of the README
// ("Metrics computed from a stream"), independently of the provider.
func streamTotals(src []srcEvent) (arrivals, settlements, cost int64) {
	children := map[string]bool{}
	parents := map[string][]string{}
	settled := map[string]bool{}
	strs := func(v any) []string {
		var out []string
		if l, ok := v.([]any); ok {
			for _, x := range l {
				out = append(out, x.(string))
			}
		}
		return out
	}
	for _, ev := range src {
		f := ev.fields
		switch ev.typ {
		case "Arrival":
			arrivals++
		case "PolicySplit":
			p := f["tx_id"].(string)
			for _, c := range strs(f["child_ids"]) {
				if c != p {
					children[c] = true
					parents[p] = append(parents[p], c)
				}
			}
		case "RtgsImmediateSettlement", "Queue2LiquidityRelease", "RtgsQueue2Settle":
			settled[f["tx_id"].(string)] = true
		case "LsmBilateralOffset", "LsmCycleSettlement":
			for _, id := range strs(f["tx_ids"]) {
				settled[id] = true
			}
		case "EntryDispositionOffset":
			settled[f["incoming_tx_id"].(string)] = true
			settled[f["queued_tx_id"].(string)] = true
		case "CostAccrual":
			n, err := f["costs"].(map[string]any)["total"].(json.Number).Int64()
			if err != nil {
				panic(err)
			}
			cost += n
		}
	}
	arrivals -= int64(len(children))
	for id := range settled {
		if !children[id] {
			settlements++
		}
	}
	for _, kids := range parents {
		all := true
		for _, k := range kids {
			all = all && settled[k]
		}
		if all {
			settlements++
		}
	}
	return arrivals, settlements, cost
}

func TestIngestMetrics(t *testing.T) {
	dir := t.TempDir()
	g := genSpec{agents: 6, days: 2, ticksPerDay: 15, eventsPerTick: 45, seed: 4} // has splits
	stream, config := genStream(t, dir, "m", g)
	src := readStream(t, stream)
	db := filepath.Join(dir, "db.duckdb")

	t.Run("computed", func(t *testing.T) {
		mustCLI(t, "--db", db, "ingest", "--sim", "computed", "--config", config, stream)
		s := showJSON(t, db, "computed").Simulation
		arr, set, cost := streamTotals(src)
		if deref64(s.TotalArrivals) != fmt.Sprint(arr) || deref64(s.TotalSettlements) != fmt.Sprint(set) || deref64(s.TotalCostCents) != fmt.Sprint(cost) {
			t.Errorf("computed totals %s/%s/%s, want %d/%d/%d", deref64(s.TotalArrivals), deref64(s.TotalSettlements), deref64(s.TotalCostCents), arr, set, cost)
		}
		if s.DurationSeconds == nil || *s.DurationSeconds != 0 || s.TicksPerSecond == nil || *s.TicksPerSecond != 0 {
			t.Errorf("duration of a computed run: %v %v, want 0 (not recorded)", s.DurationSeconds, s.TicksPerSecond)
		}
	})
	t.Run("plain-json", func(t *testing.T) {
		m := writeFile(t, filepath.Join(dir, "metrics.json"), []byte(`{"total_arrivals": 400, "total_settlements": 300, "total_cost_cents": 9007199254740993, "duration_seconds": 2.5}`))
		mustCLI(t, "--db", db, "ingest", "--sim", "plain", "--config", config, "--metrics", m, stream)
		s := showJSON(t, db, "plain")
		sum := s.Simulation
		if deref64(sum.TotalArrivals) != "400" || deref64(sum.TotalSettlements) != "300" || deref64(sum.TotalCostCents) != "9007199254740993" ||
			sum.DurationSeconds == nil || *sum.DurationSeconds != 2.5 || sum.TicksPerSecond == nil || *sum.TicksPerSecond != 30.0/2.5 {
			t.Errorf("totals from --metrics: %+v", sum)
		}
		if sum.SettlementRate != 0.75 || sum.AvgDailyCostCents != 9007199254740993/2 {
			t.Errorf("derived: rate %v, avg daily %d", sum.SettlementRate, sum.AvgDailyCostCents)
		}
	})
	t.Run("meta-json", func(t *testing.T) {
		m := writeFile(t, filepath.Join(dir, "m.meta.json"), []byte(`{"dataset":"m","event_count":1,"totals":{"total_arrivals":11,"total_settlements":7,`+
			`"total_cost_cents":123,"settlement_rate":0.636,"daily":[{"day":0,"total_cost_cents":123}]},"generation_wall_seconds":4}`))
		mustCLI(t, "--db", db, "ingest", "--sim", "meta", "--config", config, "--metrics", m, stream)
		s := showJSON(t, db, "meta").Simulation
		if deref64(s.TotalArrivals) != "11" || deref64(s.TotalSettlements) != "7" || deref64(s.TotalCostCents) != "123" ||
			s.DurationSeconds == nil || *s.DurationSeconds != 4 || s.TicksPerSecond == nil || *s.TicksPerSecond != 7.5 {
			t.Errorf("totals from a meta file: %+v", s)
		}
	})
	t.Run("bad", func(t *testing.T) {
		for name, body := range map[string]string{
			"fraction.json":     `{"total_arrivals":1,"total_settlements":1,"total_cost_cents":1.5}`,
			"missing.json":      `{"total_arrivals":1,"total_cost_cents":1}`,
			"negative.json":     `{"total_arrivals":1,"total_settlements":1,"total_cost_cents":1,"duration_seconds":-1}`,
			"notjson.json":      `total_arrivals=1`,
			"exponent.json":     `{"total_arrivals":1e3,"total_settlements":1,"total_cost_cents":1}`,
			"bad.meta.json":     `{"totals":{"total_arrivals":1,"total_settlements":"2","total_cost_cents":1}}`,
			"badwall.meta.json": `{"totals":{"total_arrivals":1,"total_settlements":2,"total_cost_cents":1},"generation_wall_seconds":"soon"}`,
		} {
			m := writeFile(t, filepath.Join(dir, name), []byte(body))
			sim := "bad-" + strings.TrimSuffix(name, ".json")
			r := cli(t, "--db", db, "ingest", "--sim", sim, "--config", config, "--metrics", m, stream)
			wantFailure(t, r, m)
			wantFailure(t, cli(t, "--db", db, "show", sim), "not found")
		}
		wantFailure(t, cli(t, "--db", db, "ingest", "--sim", "nometrics", "--config", config, "--metrics", filepath.Join(dir, "none.json"), stream), "none.json")
	})
}

// TestIngestCorpusMetrics checks the totals of the real small stream:
// computed from the stream (README: arrivals and cost equal the engine's,
// settlements 298 against 281) and taken from its meta file.
func TestIngestCorpusMetrics(t *testing.T) {
	stream := testutil.CorpusFile(t, "small.jsonl.gz")
	metaPath := testutil.CorpusFile(t, "small.meta.json")
	var meta struct {
		Totals struct {
			TotalArrivals    int64 `json:"total_arrivals"`
			TotalSettlements int64 `json:"total_settlements"`
			TotalCostCents   int64 `json:"total_cost_cents"`
		} `json:"totals"`
		Wall float64 `json:"generation_wall_seconds"`
	}
	if err := json.Unmarshal(readFile(t, metaPath), &meta); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "db.duckdb")
	mustCLI(t, "--db", db, "ingest", "--ticks-per-day", "100", stream)
	s := showJSON(t, db, "small").Simulation
	if deref64(s.TotalArrivals) != fmt.Sprint(meta.Totals.TotalArrivals) || deref64(s.TotalCostCents) != fmt.Sprint(meta.Totals.TotalCostCents) ||
		deref64(s.TotalSettlements) != "298" {
		t.Errorf("computed totals of small: %s/%s/%s", deref64(s.TotalArrivals), deref64(s.TotalSettlements), deref64(s.TotalCostCents))
	}
	arr, set, cost := streamTotals(readStream(t, stream))
	if deref64(s.TotalArrivals) != fmt.Sprint(arr) || deref64(s.TotalSettlements) != fmt.Sprint(set) || deref64(s.TotalCostCents) != fmt.Sprint(cost) {
		t.Errorf("computed totals of small %s/%s/%s, the README rule gives %d/%d/%d", deref64(s.TotalArrivals), deref64(s.TotalSettlements), deref64(s.TotalCostCents), arr, set, cost)
	}

	mustCLI(t, "--db", db, "ingest", "--sim", "small-meta", "--ticks-per-day", "100", "--metrics", metaPath, stream)
	s = showJSON(t, db, "small-meta").Simulation
	if deref64(s.TotalArrivals) != fmt.Sprint(meta.Totals.TotalArrivals) || deref64(s.TotalSettlements) != fmt.Sprint(meta.Totals.TotalSettlements) ||
		deref64(s.TotalCostCents) != fmt.Sprint(meta.Totals.TotalCostCents) || s.DurationSeconds == nil || *s.DurationSeconds != meta.Wall ||
		s.TicksPerSecond == nil || math.Abs(*s.TicksPerSecond-100/meta.Wall) > 1e-9 {
		t.Errorf("totals from small.meta.json: %+v", s)
	}
}
