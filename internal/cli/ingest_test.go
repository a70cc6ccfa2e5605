package cli

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/testutil"
)

// smallGen is a quick generated stream: 3 banks, 2 days of 5 ticks.
var smallGen = genSpec{agents: 3, days: 2, ticksPerDay: 5, eventsPerTick: 6, seed: 3}

func TestIngestConfigJSON(t *testing.T) {
	dir := t.TempDir()
	stream, config := genStream(t, dir, "cfg", smallGen)
	db := filepath.Join(dir, "db.duckdb")
	src := readStream(t, stream)
	r := mustCLI(t, "--db", db, "ingest", "--sim", "j", "--config", config, stream)
	if !ingestLineRE(len(src), smallGen.days*smallGen.ticksPerDay, "j").MatchString(r.stdout) || strings.Count(r.stdout, "\n") != 1 {
		t.Errorf("ingest stdout %q", r.stdout)
	}
	if r.stderr != "" {
		t.Errorf("ingest stderr %q (no progress bar when stderr is not a terminal)", r.stderr)
	}
	s := showJSON(t, db, "j").Simulation
	if derefS(s.ConfigFile) != config || s.TicksPerDay != 5 || s.NumDays != 2 || s.TotalTicks != 10 || deref64(s.RngSeed) != "3" || s.NumAgents != 3 {
		t.Errorf("run from the JSON config: %+v", s)
	}
	if s.Status != "completed" || s.EventCount != int64(len(src)) || deref64(s.LastTick) != "9" || !s.StartedAt.Equal(fixedNow) ||
		s.CompletedAt == nil || !s.CompletedAt.Equal(fixedNow) {
		t.Errorf("run state: %+v", s)
	}
	// config_json is the file's object (show re-indents it).
	var a, b bytes.Buffer
	if err := json.Compact(&a, readFile(t, config)); err != nil {
		t.Fatal(err)
	}
	if err := json.Compact(&b, s.ConfigJSON); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Errorf("config_json %s, want %s", b.String(), a.String())
	}

	// --ticks-per-day agreeing with the config is fine; disagreeing is an
	// error and leaves no run behind.
	mustCLI(t, "--db", db, "ingest", "--sim", "agree", "--config", config, "--ticks-per-day", "5", stream)
	wantFailure(t, cli(t, "--db", db, "ingest", "--sim", "clash", "--config", config, "--ticks-per-day", "7", stream), "ticks_per_day")
	wantFailure(t, cli(t, "--db", db, "show", "clash"), `simulation "clash" not found`)
}

func TestIngestConfigYAML(t *testing.T) {
	dir := t.TempDir()
	stream, _ := genStream(t, dir, "y", smallGen)
	db := filepath.Join(dir, "db.duckdb")
	// The same config as JSON and as YAML (integers and strings only, so
	// both canonicalise to the same hash).
	jsonCfg := writeFile(t, filepath.Join(dir, "c.json"), []byte(`{"name":"twin","simulation":{"ticks_per_day":5,"num_days":2,"rng_seed":77},`+
		`"agents":[{"id":"BANK_01","opening_balance":1300000,"tags":["a","b"]},{"id":"BANK_02","opening_balance":900000,"tags":[]},{"id":"BANK_03","opening_balance":100,"tags":["c"]}]}`))
	yamlCfg := writeFile(t, filepath.Join(dir, "c.yaml"), []byte(`# the same run, in YAML
name: twin
simulation:
  ticks_per_day: 5
  num_days: 2
  rng_seed: 77
agents:
  - id: BANK_01
    opening_balance: 1300000
    tags: [a, b]
  - id: BANK_02
    opening_balance: 900000
    tags: []
  - id: BANK_03
    opening_balance: 100
    tags:
      - c
`))
	mustCLI(t, "--db", db, "ingest", "--sim", "from-json", "--config", jsonCfg, stream)
	mustCLI(t, "--db", db, "ingest", "--sim", "from-yaml", "--config", yamlCfg, stream)
	sj, sy := showJSON(t, db, "from-json").Simulation, showJSON(t, db, "from-yaml").Simulation
	if sy.TicksPerDay != 5 || sy.NumDays != 2 || deref64(sy.RngSeed) != "77" || sy.NumAgents != 3 || derefS(sy.ConfigFile) != yamlCfg {
		t.Errorf("run from the YAML config: %+v", sy)
	}
	var vj, vy any
	if err := json.Unmarshal(sj.ConfigJSON, &vj); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(sy.ConfigJSON, &vy); err != nil {
		t.Fatalf("config_json of the YAML run is not JSON: %v\n%s", err, sy.ConfigJSON)
	}
	if !reflect.DeepEqual(vj, vy) {
		t.Errorf("YAML config stored as %s, want the JSON twin %s", sy.ConfigJSON, sj.ConfigJSON)
	}
	if sj.ConfigHash != sy.ConfigHash {
		t.Errorf("config_hash JSON %s != YAML %s", sj.ConfigHash, sy.ConfigHash)
	}
	r := cli(t, "--db", db, "diff", "from-json", "from-yaml")
	if r.code != exitOK || r.stdout != fmt.Sprintf("identical (%d events)\n", len(readStream(t, stream))) {
		t.Errorf("diff of the JSON and YAML runs: %s", r)
	}

	bad := writeFile(t, filepath.Join(dir, "bad.yaml"), []byte("a: [1, 2\nb: {\n"))
	wantFailure(t, cli(t, "--db", db, "ingest", "--sim", "bad", "--config", bad, stream), "neither JSON nor YAML")
	// A config without ticks_per_day gets SimCash's default, 100 (issue
	// 18.1; it was refused before).
	noTPD := writeFile(t, filepath.Join(dir, "notpd.yaml"), []byte("simulation:\n  num_days: 2\n"))
	mustCLI(t, "--db", db, "ingest", "--sim", "notpd", "--config", noTPD, stream)
	if s := showJSON(t, db, "notpd").Simulation; s.TicksPerDay != 100 || s.NumDays != 2 || s.TotalTicks != 200 {
		t.Errorf("run from a config without ticks_per_day: %+v", s)
	}
	wantFailure(t, cli(t, "--db", db, "ingest", "--sim", "nofile", "--config", filepath.Join(dir, "missing.yaml"), stream), "missing.yaml")
	for _, sim := range []string{"bad", "nofile"} {
		wantFailure(t, cli(t, "--db", db, "show", sim), "not found")
	}
}

func TestIngestTicksPerDayOnly(t *testing.T) {
	dir := t.TempDir()
	stream, _ := genStream(t, dir, "tpd", smallGen)
	db := filepath.Join(dir, "db.duckdb")
	mustCLI(t, "--db", db, "ingest", "--sim", "t", "--ticks-per-day", "5", stream)
	s := showJSON(t, db, "t").Simulation
	// Days, ticks and agents come from the stream, as no config stated
	// them (issue 12.2; 1 day and 0 agents, the start defaults, before).
	if string(s.ConfigJSON) != "{}" || s.ConfigFile != nil || s.TicksPerDay != 5 || s.NumDays != 2 || s.TotalTicks != 10 ||
		s.RngSeed != nil || s.NumAgents != int64(smallGen.agents) {
		t.Errorf("run from --ticks-per-day alone: %+v", s)
	}
	// day is tick / ticks_per_day.
	for _, ev := range allEvents(t, db, "t") {
		if ev.Day != ev.Tick/5 {
			t.Fatalf("seq %d tick %d has day %d", ev.Seq, ev.Tick, ev.Day)
		}
	}
}

func TestIngestDefaultSimID(t *testing.T) {
	dir := t.TempDir()
	stream, _ := genStream(t, dir, "s", smallGen)
	gz := writeFile(t, filepath.Join(dir, "run-7.jsonl.gz"), gzipBytes(t, readFile(t, stream)))
	db := filepath.Join(dir, "db.duckdb")
	r := mustCLI(t, "--db", db, "ingest", "--ticks-per-day", "5", gz)
	if !ingestLineRE(len(readStream(t, stream)), 10, "run-7").MatchString(r.stdout) {
		t.Errorf("stdout %q", r.stdout)
	}
	showJSON(t, db, "run-7")
	// The same file again: the id is taken.
	wantFailure(t, cli(t, "--db", db, "ingest", "--ticks-per-day", "5", gz), `simulation "run-7" already exists`, "--resume")
	if n := showJSON(t, db, "run-7").Simulation.EventCount; n != int64(len(readStream(t, stream))) {
		t.Errorf("a refused second ingest changed the run: %d events", n)
	}
}

func TestIngestGzipDetectedFromContent(t *testing.T) {
	dir := t.TempDir()
	stream, _ := genStream(t, dir, "s", smallGen)
	plain := readFile(t, stream)
	x := writeFile(t, filepath.Join(dir, "x.jsonl"), gzipBytes(t, plain)) // gzip, plain name
	y := writeFile(t, filepath.Join(dir, "y.jsonl.gz"), plain)            // plain, gzip name
	db := filepath.Join(dir, "db.duckdb")
	for _, in := range []string{x, y} {
		mustCLI(t, "--db", db, "ingest", "--ticks-per-day", "5", in)
	}
	for _, sim := range []string{"x", "y"} {
		out := filepath.Join(dir, sim+".out.jsonl")
		mustCLI(t, "--db", db, "export", sim, "--format", "jsonl", "--out", out)
		if !bytes.Equal(readFile(t, out), plain) {
			t.Errorf("%s: exported bytes differ from the decompressed input", sim)
		}
	}
}

func TestIngestStdin(t *testing.T) {
	dir := t.TempDir()
	stream, config := genStream(t, dir, "s", smallGen)
	plain := readFile(t, stream)
	db := filepath.Join(dir, "db.duckdb")
	for sim, in := range map[string][]byte{"plain": plain, "gz": gzipBytes(t, plain)} {
		r := runAt(t, fixedNow, bytes.NewReader(in), "--db", db, "ingest", "--sim", sim, "--config", config, "-")
		if r.code != exitOK || !ingestLineRE(len(readStream(t, stream)), 10, sim).MatchString(r.stdout) {
			t.Fatalf("ingest %s from stdin: %s", sim, r)
		}
		out := filepath.Join(dir, sim+".out.jsonl")
		mustCLI(t, "--db", db, "export", sim, "--format", "jsonl", "--out", out)
		if !bytes.Equal(readFile(t, out), plain) {
			t.Errorf("%s from stdin: exported bytes differ from the input", sim)
		}
	}
	wantUsage(t, runAt(t, fixedNow, bytes.NewReader(plain), "--db", db, "ingest", "--ticks-per-day", "5", "-"), "--sim is required")
}

// An input without events is refused (issue 19: it used to complete a
// 0-event run with exit 0) unless --allow-empty says an empty run is
// meant.
func TestIngestEmptyStream(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "db.duckdb")
	empty := writeFile(t, filepath.Join(dir, "empty.jsonl"), nil)
	blank := writeFile(t, filepath.Join(dir, "blank.jsonl"), []byte("  \n\n\t\r\n \n"))
	blankGz := writeFile(t, filepath.Join(dir, "blank.jsonl.gz"), gzipBytes(t, []byte("\n\n")))
	for _, in := range []string{empty, blank, blankGz} {
		wantFailure(t, cli(t, "--db", db, "ingest", "--ticks-per-day", "5", in), in, "no events", "--allow-empty")
	}
	wantFailure(t, runAt(t, fixedNow, strings.NewReader(" \n"), "--db", db, "ingest", "--sim", "in", "--ticks-per-day", "5", "-"), "<stdin>", "no events")
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Fatalf("a refused empty input created the database (%v)", err)
	}
	r := mustCLI(t, "--db", db, "ingest", "--ticks-per-day", "5", "--allow-empty", empty)
	if !ingestLineRE(0, 0, "empty").MatchString(r.stdout) {
		t.Errorf("stdout %q", r.stdout)
	}
	s := showJSON(t, db, "empty").Simulation
	if s.Status != "completed" || s.EventCount != 0 || s.LastTick != nil {
		t.Errorf("empty run: %+v", s)
	}
}

func TestIngestExperiment(t *testing.T) {
	dir := t.TempDir()
	stream, config := genStream(t, dir, "s", smallGen)
	db := filepath.Join(dir, "db.duckdb")
	for i, it := range []string{"2", "0", "1"} {
		r := runAt(t, fixedNow.Add(time.Duration(i)*time.Minute), nil, "--db", db, "ingest", "--sim", "exp-it"+it, "--config", config,
			"--experiment-run", "exp-A", "--iteration", it, stream)
		if r.code != exitOK {
			t.Fatal(r)
		}
	}
	mustCLI(t, "--db", db, "ingest", "--sim", "exp-B0", "--config", config, "--experiment-run", "exp-B", stream) // iteration 0
	mustCLI(t, "--db", db, "ingest", "--sim", "loose", "--config", config, stream)

	s := showJSON(t, db, "exp-it2").Simulation
	if derefS(s.ExperimentRunID) != "exp-A" || s.ExperimentIteration == nil || *s.ExperimentIteration != 2 {
		t.Errorf("experiment of exp-it2: %v %v", s.ExperimentRunID, s.ExperimentIteration)
	}
	if s := showJSON(t, db, "exp-B0").Simulation; derefS(s.ExperimentRunID) != "exp-B" || s.ExperimentIteration == nil || *s.ExperimentIteration != 0 {
		t.Errorf("experiment of exp-B0: %v %v", s.ExperimentRunID, s.ExperimentIteration)
	}
	if s := showJSON(t, db, "loose").Simulation; s.ExperimentRunID != nil || s.ExperimentIteration != nil {
		t.Errorf("a run without --experiment-run has experiment %v %v", s.ExperimentRunID, s.ExperimentIteration)
	}
	runs := listJSON(t, db, "--experiment", "exp-A")
	if ids := runIDs(runs); !slices.Equal(ids, []string{"exp-it0", "exp-it1", "exp-it2"}) {
		t.Errorf("list --experiment exp-A: %v, want by iteration", ids)
	}
	wantUsage(t, cli(t, "--db", db, "ingest", "--sim", "x", "--config", config, "--iteration", "3", stream), "--iteration needs --experiment-run")
}

func listJSON(t *testing.T, db string, args ...string) []simdb.SimulationSummary {
	t.Helper()
	r := mustCLI(t, append([]string{"--db", db, "list", "--format", "json"}, args...)...)
	var runs []simdb.SimulationSummary
	if err := json.Unmarshal([]byte(r.stdout), &runs); err != nil {
		t.Fatalf("list --format json: %v\n%s", err, r.stdout)
	}
	return runs
}

func runIDs(runs []simdb.SimulationSummary) []string {
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = r.SimulationID
	}
	return ids
}

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

// badLineCase corrupts line n (1-based) of a stream.
type badLineCase struct {
	name    string
	corrupt func(line []byte, tick int64) []byte
	field   string // the field the message must name ("" for invalid JSON)
	mention string // another fragment of the message
}

var badLineCases = []badLineCase{
	{"money-fraction", func(l []byte, _ int64) []byte { return reAmount.ReplaceAll(l, []byte(`"amount":1.5`)) }, `"amount"`, "1.5"},
	{"money-string", func(l []byte, _ int64) []byte { return reAmount.ReplaceAll(l, []byte(`"amount":"100"`)) }, `"amount"`, ""},
	{"money-exponent", func(l []byte, _ int64) []byte { return reAmount.ReplaceAll(l, []byte(`"amount":1e5`)) }, `"amount"`, ""},
	{"invalid-json", func(l []byte, _ int64) []byte { return l[:len(l)-1] }, "", "invalid JSON"},
	{"tick-decreasing", func(l []byte, tick int64) []byte {
		return bytes.Replace(l, []byte(fmt.Sprintf(`"tick":%d,`, tick)), []byte(`"tick":0,`), 1)
	}, `"tick"`, "never decrease"},
	{"tick-missing", func(l []byte, tick int64) []byte {
		return bytes.Replace(l, []byte(fmt.Sprintf(`"tick":%d,`, tick)), nil, 1)
	}, `"tick"`, "missing"},
	// The three shapes of a lone UTF-16 surrogate escape (issue 12).
	{"lone-high-surrogate", withMember(`"note":"x\ud800y"`), `"note"`, `lone UTF-16 surrogate escape \ud800`},
	{"high-surrogate-then-other", withMember(`"note":{"a":["\ud800\u0041"]}`), `"note"`, `\ud800`},
	{"lone-low-surrogate", withMember(`"note":"\udc00"`), `"note"`, `\udc00`},
}

// withMember adds a member at the end of the line's object.
func withMember(member string) func([]byte, int64) []byte {
	return func(l []byte, _ int64) []byte {
		return append(append(l[:len(l)-1:len(l)-1], ","+member...), '}')
	}
}

var reAmount = regexp.MustCompile(`"amount":\d+`)

// badLineFixture picks an Arrival (it has an amount) that is neither in the
// first ticks nor the first event of its tick.
func badLineFixture(t *testing.T, dir string) (src []srcEvent, target int) {
	t.Helper()
	stream, _ := genStream(t, dir, "good", genSpec{agents: 4, days: 1, ticksPerDay: 10, eventsPerTick: 10, seed: 5})
	src = readStream(t, stream)
	for i := 1; i < len(src); i++ {
		if src[i].typ == "Arrival" && src[i].tick >= 3 && src[i-1].tick == src[i].tick {
			return src, i
		}
	}
	t.Fatal("no suitable Arrival in the stream")
	return nil, 0
}

// checkBadLine asserts what a rejected line leaves behind: a failed run
// holding exactly the ticks before the bad line's tick.
func checkBadLine(t *testing.T, r result, db, sim, source string, src []srcEvent, target int, c badLineCase) {
	t.Helper()
	lineNo := target + 1
	wantFailure(t, r, fmt.Sprintf("%s:%d", source, lineNo), c.field, c.mention)
	msg := strings.TrimSuffix(strings.TrimPrefix(r.stderr, "simdb: "), "\n")

	badTick := src[target].tick
	var kept []srcEvent
	for _, ev := range src {
		if ev.tick < badTick {
			kept = append(kept, ev)
		}
	}
	s := showJSON(t, db, sim).Simulation
	if s.Status != "failed" || s.ErrorMessage == nil || *s.ErrorMessage != msg || s.CompletedAt == nil {
		t.Errorf("run after a bad line: status %s, error %q; want failed with %q", s.Status, derefS(s.ErrorMessage), msg)
	}
	if s.EventCount != int64(len(kept)) || deref64(s.LastTick) != fmt.Sprint(badTick-1) {
		t.Errorf("stored %d events through tick %s; want the %d events of ticks before %d", s.EventCount, deref64(s.LastTick), len(kept), badTick)
	}
	if s.TotalArrivals != nil {
		t.Errorf("a failed run has totals: %+v", s)
	}
	for i, ev := range allEvents(t, db, sim) {
		if ev.Seq != int64(i) || ev.Tick >= badTick {
			t.Fatalf("stored event %d has seq %d, tick %d", i, ev.Seq, ev.Tick)
		}
	}
	out := filepath.Join(t.TempDir(), "kept.jsonl")
	mustCLI(t, "--db", db, "export", sim, "--format", "jsonl", "--out", out)
	if !bytes.Equal(readFile(t, out), joinLines(kept)) {
		t.Errorf("the stored events are not the input's lines before tick %d", badTick)
	}
	if page := eventsPage(t, db, sim, "--tick", fmt.Sprint(badTick)); page.Total != 0 {
		t.Errorf("%d events of the bad line's tick %d were stored", page.Total, badTick)
	}
}

func TestIngestBadLine(t *testing.T) {
	dir := t.TempDir()
	src, target := badLineFixture(t, dir)
	db := filepath.Join(dir, "db.duckdb")
	for _, c := range badLineCases {
		t.Run(c.name, func(t *testing.T) {
			lines := slices.Clone(src)
			lines[target].raw = c.corrupt(slices.Clone(src[target].raw), src[target].tick)
			if bytes.Equal(lines[target].raw, src[target].raw) {
				t.Fatal("the corruption changed nothing")
			}
			data := joinLines(lines)

			file := writeFile(t, filepath.Join(dir, c.name+".jsonl"), data)
			sim := c.name
			checkBadLine(t, cli(t, "--db", db, "ingest", "--sim", sim, "--ticks-per-day", "10", file), db, sim, file, src, target, c)

			gz := writeFile(t, filepath.Join(dir, c.name+".jsonl.gz"), gzipBytes(t, data))
			sim = c.name + "-gz"
			checkBadLine(t, cli(t, "--db", db, "ingest", "--sim", sim, "--ticks-per-day", "10", gz), db, sim, gz, src, target, c)

			sim = c.name + "-stdin"
			r := runAt(t, fixedNow, bytes.NewReader(data), "--db", db, "ingest", "--sim", sim, "--ticks-per-day", "10", "-")
			checkBadLine(t, r, db, sim, "<stdin>", src, target, c)
		})
	}
	t.Run("first-tick", func(t *testing.T) {
		lines := slices.Clone(src)
		lines[1].raw = append(slices.Clone(src[1].raw[:len(src[1].raw)-1]), ',', '}')
		file := writeFile(t, filepath.Join(dir, "first.jsonl"), joinLines(lines))
		r := cli(t, "--db", db, "ingest", "--sim", "first", "--ticks-per-day", "10", file)
		wantFailure(t, r, file+":2")
		s := showJSON(t, db, "first").Simulation
		if s.Status != "failed" || s.EventCount != 0 || s.LastTick != nil {
			t.Errorf("bad line in the first tick: %+v", s)
		}
	})
}

// TestIngestBadLineReportsFileLineColon holds the error to the
// conventional "FILE:LINE: message" form the issue asks for (and
// IngestOptions.Source documents), which editors and grep-style tools parse.
func TestIngestBadLineReportsFileLineColon(t *testing.T) {
	dir := t.TempDir()
	src, target := badLineFixture(t, dir)
	db := filepath.Join(dir, "db.duckdb")
	for _, c := range badLineCases {
		lines := slices.Clone(src)
		lines[target].raw = c.corrupt(slices.Clone(src[target].raw), src[target].tick)
		file := writeFile(t, filepath.Join(dir, c.name+".jsonl"), joinLines(lines))
		r := cli(t, "--db", db, "ingest", "--sim", c.name, "--ticks-per-day", "10", file)
		if want := fmt.Sprintf("%s:%d: ", file, target+1); r.code != exitFailure || !strings.Contains(r.stderr, want) {
			t.Errorf("%s: exit %d, stderr %q does not contain %q", c.name, r.code, r.stderr, want)
		}
	}
}

func TestIngestTruncatedGzip(t *testing.T) {
	dir := t.TempDir()
	stream, _ := genStream(t, dir, "s", genSpec{agents: 4, days: 1, ticksPerDay: 20, eventsPerTick: 30, seed: 9})
	plain := readFile(t, stream)
	gz := gzipBytes(t, plain)
	cut := writeFile(t, filepath.Join(dir, "cut.jsonl.gz"), gz[:len(gz)*2/3])
	// What a reader gets before the gzip stream breaks off.
	var got bytes.Buffer
	zr, err := gzip.NewReader(bytes.NewReader(readFile(t, cut)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(&got, zr); err == nil {
		t.Fatal("the truncated gzip file reads without error")
	}
	complete := got.Bytes()[:bytes.LastIndexByte(got.Bytes(), '\n')+1]
	lines := bytes.Split(bytes.TrimSuffix(complete, []byte("\n")), []byte("\n"))
	var last struct{ Tick int64 }
	if err := json.Unmarshal(lines[len(lines)-1], &last); err != nil {
		t.Fatal(err)
	}
	var want []byte
	for _, ev := range readStream(t, stream) {
		if ev.tick < last.Tick {
			want = append(append(want, ev.raw...), '\n')
		}
	}

	db := filepath.Join(dir, "db.duckdb")
	r := cli(t, "--db", db, "ingest", "--ticks-per-day", "20", cut)
	wantFailure(t, r, cut+":")
	s := showJSON(t, db, "cut").Simulation
	if s.Status != "failed" || s.ErrorMessage == nil || !strings.Contains(*s.ErrorMessage, cut) {
		t.Errorf("run of a truncated file: %+v", s)
	}
	out := filepath.Join(dir, "out.jsonl")
	mustCLI(t, "--db", db, "export", "cut", "--format", "jsonl", "--out", out)
	if !bytes.Equal(readFile(t, out), want) {
		t.Errorf("stored %d bytes, want the %d bytes of the ticks before %d", len(readFile(t, out)), len(want), last.Tick)
	}
}

// interruptRun leaves sim "running" the way a killed ingest would: a
// truncated copy of the stream, cut after line cut (in the middle of a
// tick), is read tick by tick through the library with durable writes; each
// tick is handed over once the next tick's first line is read, and the
// process "dies" at the cut with the partial tick in hand.
func interruptRun(t *testing.T, db, sim, config string, src []srcEvent, cut int) (lastTick int64) {
	t.Helper()
	truncated := writeFile(t, filepath.Join(filepath.Dir(db), sim+".truncated.jsonl"), joinLines(src[:cut]))
	return libraryRun(t, fixedNow, db, sim, config, readStream(t, truncated), false)
}

// libraryRun starts sim and persists lines tick by tick through the
// library, as a simulation loop would; the last tick is handed over only
// when handOverLast is set. The run stays running.
func libraryRun(t *testing.T, now time.Time, db, sim, config string, lines []srcEvent, handOverLast bool) (lastTick int64) {
	t.Helper()
	ctx := context.Background()
	store, err := simdb.Open(ctx, db, simdb.Options{Durability: simdb.Durable, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(config)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.PersistSimulationStart(ctx, sim, cfg, simdb.StartOptions{ConfigFile: config}); err != nil {
		t.Fatal(err)
	}
	lastTick = -1
	var group []json.RawMessage
	handOver := func() {
		if _, err := store.PersistTickEvents(ctx, sim, tickOfGroup(group), group); err != nil {
			t.Fatal(err)
		}
		lastTick = tickOfGroup(group)
		group = nil
	}
	for _, ev := range lines {
		if len(group) > 0 && ev.tick != tickOfGroup(group) {
			handOver()
		}
		group = append(group, ev.raw)
	}
	if handOverLast && len(group) > 0 {
		handOver()
	}
	// Otherwise killed here: the partial tick in group is never handed over.
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	return lastTick
}

func tickOfGroup(group []json.RawMessage) int64 {
	var ev struct{ Tick int64 }
	if err := json.Unmarshal(group[0], &ev); err != nil {
		panic(err)
	}
	return ev.Tick
}

func TestIngestResume(t *testing.T) {
	dir := t.TempDir()
	stream, config := genStream(t, dir, "r", genSpec{agents: 5, days: 2, ticksPerDay: 10, eventsPerTick: 20, seed: 21})
	src := readStream(t, stream)
	db := filepath.Join(dir, "db.duckdb")
	mustCLI(t, "--db", db, "ingest", "--sim", "full", "--config", config, stream)
	otherDB := filepath.Join(dir, "other.duckdb")
	mustCLI(t, "--db", otherDB, "ingest", "--sim", "full", "--config", config, stream)

	// Cut points in the middle of a tick: early, in the middle, in the last
	// tick, and inside tick 0 (nothing stored yet).
	var cuts []int
	for _, frac := range []float64{0.2, 0.55, 0.999} {
		i := int(frac * float64(len(src)))
		for src[i-1].tick != src[i].tick {
			i++
		}
		cuts = append(cuts, i)
	}
	cuts = append(cuts, 2)
	for n, cut := range cuts {
		sim := fmt.Sprintf("resumed-%d", n)
		t.Run(sim, func(t *testing.T) {
			if src[cut-1].tick != src[cut].tick {
				t.Fatalf("cut %d is not in the middle of a tick", cut)
			}
			lastTick := interruptRun(t, db, sim, config, src, cut)
			if lastTick != src[cut].tick-1 {
				t.Fatalf("interrupted run ends at tick %d, want %d", lastTick, src[cut].tick-1)
			}
			stored := 0
			for _, ev := range src {
				if ev.tick <= lastTick {
					stored++
				}
			}
			s := showJSON(t, db, sim).Simulation
			if s.Status != "running" || s.EventCount != int64(stored) || (lastTick >= 0 && deref64(s.LastTick) != fmt.Sprint(lastTick)) {
				t.Fatalf("interrupted run: %+v", s)
			}
			// Before resuming, diff sees the difference.
			if r := cli(t, "--db", db, "diff", "full", sim); r.code != exitFailure || !strings.HasPrefix(r.stdout, "different: ") {
				t.Errorf("diff full vs interrupted: %s", r)
			}

			r := mustCLI(t, "--db", db, "ingest", "--resume", "--sim", sim, stream)
			re := ingestLineRE(len(src)-stored, int(src[len(src)-1].tick-lastTick), sim)
			if !re.MatchString(r.stdout) {
				t.Errorf("resume stdout %q, want %s", r.stdout, re)
			}
			if skipped := fmt.Sprintf("; skipped %d events already stored\n", stored); stored > 0 && !strings.HasSuffix(r.stdout, skipped) {
				t.Errorf("resume stdout %q, want it to end %q", r.stdout, skipped)
			}
			want := fmt.Sprintf("identical (%d events)\n", len(src))
			for _, args := range [][]string{
				{"--db", db, "diff", "full", sim},
				{"--db", db, "diff", sim, "full"},
				{"--db", db, "diff", sim, "full", "--db-b", otherDB},
			} {
				if r := cli(t, args...); r.code != exitOK || r.stdout != want || r.stderr != "" {
					t.Errorf("%v: %s", args, r)
				}
			}
		})
	}

	t.Run("stdin-gzip", func(t *testing.T) {
		cut := cuts[1]
		lastTick := interruptRun(t, db, "resumed-stdin", config, src, cut)
		r := runAt(t, fixedNow, bytes.NewReader(gzipBytes(t, readFile(t, stream))), "--db", db, "ingest", "--resume", "--sim", "resumed-stdin", "-")
		if r.code != exitOK || !strings.Contains(r.stdout, "skipped") {
			t.Fatalf("resume from stdin (last tick %d): %s", lastTick, r)
		}
		if r := cli(t, "--db", db, "diff", "full", "resumed-stdin"); r.code != exitOK {
			t.Errorf("diff after resuming from stdin: %s", r)
		}
	})
	t.Run("not-running", func(t *testing.T) {
		// Issue 14: resuming a completed run from its own stream has
		// nothing to do and succeeds (TestResumeCompletedRun has more).
		before := showJSON(t, db, "full").Simulation
		if r := cli(t, "--db", db, "ingest", "--resume", "--sim", "full", stream); r.code != exitOK || !strings.Contains(r.stdout, "nothing to do") {
			t.Errorf("resume of a completed run: %s", r)
		}
		after := showJSON(t, db, "full").Simulation
		if after.Status != "completed" || after.EventCount != before.EventCount || after.ErrorMessage != nil {
			t.Errorf("resuming a completed run changed it: %+v", after)
		}
	})
	t.Run("failed", func(t *testing.T) {
		bad := slices.Clone(src)
		bad[10].raw = []byte(`{"event_type":`)
		file := writeFile(t, filepath.Join(dir, "bad.jsonl"), joinLines(bad))
		wantFailure(t, cli(t, "--db", db, "ingest", "--sim", "broken", "--config", config, file), file+":11")
		msg := *showJSON(t, db, "broken").Simulation.ErrorMessage
		wantFailure(t, cli(t, "--db", db, "ingest", "--resume", "--sim", "broken", stream), "not running")
		if s := showJSON(t, db, "broken").Simulation; s.Status != "failed" || derefS(s.ErrorMessage) != msg {
			t.Errorf("resuming a failed run changed it: %+v", s)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		r := cli(t, "--db", db, "ingest", "--resume", "--sim", "nobody", stream)
		wantFailure(t, r, `simulation "nobody"`, "not found")
		if strings.Contains(r.stderr, "marking the run failed") {
			t.Errorf("an unknown run is not one to mark failed: %q", r.stderr)
		}
	})
}

// TestRecover leaves runs "running" as a crash would and recovers them.
func TestRecover(t *testing.T) {
	dir := t.TempDir()
	stream, config := genStream(t, dir, "rc", smallGen)
	src := readStream(t, stream)
	db := filepath.Join(dir, "db.duckdb")
	if r := mustCLI(t, "--db", db, "recover"); r.stdout != "no interrupted simulations\n" {
		t.Errorf("recover on a new file: %q", r.stdout)
	}
	mustCLI(t, "--db", db, "ingest", "--sim", "done", "--config", config, stream)
	cut := len(src) / 2
	for src[cut-1].tick != src[cut].tick {
		cut++
	}
	interruptRun(t, db, "crashed-a", config, src, cut)
	interruptRun(t, db, "crashed-b", config, src, 2)
	if ids := runIDs(listJSON(t, db, "--status", "running")); !slices.Equal(ids, []string{"crashed-b", "crashed-a"}) {
		t.Fatalf("running runs: %v", ids)
	}

	later := fixedNow.Add(time.Hour)
	r := runAt(t, later, nil, "--db", db, "recover")
	if r.code != exitOK || r.stderr != "" {
		t.Fatal(r)
	}
	got := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	slices.Sort(got)
	if want := []string{"crashed-a: marked failed (interrupted)", "crashed-b: marked failed (interrupted)"}; !slices.Equal(got, want) {
		t.Errorf("recover printed %q, want %q", got, want)
	}
	for _, sim := range []string{"crashed-a", "crashed-b"} {
		s := showJSON(t, db, sim).Simulation
		if s.Status != "failed" || derefS(s.ErrorMessage) != "interrupted" || s.CompletedAt == nil || !s.CompletedAt.Equal(later) {
			t.Errorf("%s after recover: %+v", sim, s)
		}
	}
	if s := showJSON(t, db, "done").Simulation; s.Status != "completed" || s.ErrorMessage != nil {
		t.Errorf("recover touched a completed run: %+v", s)
	}
	if r := mustCLI(t, "--db", db, "recover"); r.stdout != "no interrupted simulations\n" {
		t.Errorf("second recover: %q", r.stdout)
	}
	if runs := listJSON(t, db, "--status", "running"); len(runs) != 0 {
		t.Errorf("still running after recover: %v", runIDs(runs))
	}
	// A recovered run cannot be resumed.
	wantFailure(t, cli(t, "--db", db, "ingest", "--resume", "--sim", "crashed-a", stream), "not running")
	if _, err := os.Stat(db); err != nil {
		t.Fatal(err)
	}
}

// cancelAfter serves r and cancels the context the first time it is asked
// for data beyond the first n bytes, the way Ctrl-C (main's signal context)
// stops an ingest while it is reading.
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	if c.n <= 0 {
		c.cancel()
	} else if len(p) > c.n {
		p = p[:c.n]
	}
	n, err := c.r.Read(p)
	c.n -= n
	return n, err
}

// TestIngestInterruptedByCancel interrupts the CLI's own ingest in the
// middle of a tick by cancelling its context: the run stays running with
// the ticks before that one, and --resume completes it into a run that diff
// calls identical to an uninterrupted one.
func TestIngestInterruptedByCancel(t *testing.T) {
	dir := t.TempDir()
	stream, config := genStream(t, dir, "c", genSpec{agents: 5, days: 2, ticksPerDay: 10, eventsPerTick: 20, seed: 22})
	src := readStream(t, stream)
	plain := readFile(t, stream)
	db := filepath.Join(dir, "db.duckdb")
	mustCLI(t, "--db", db, "ingest", "--sim", "full", "--config", config, stream)

	// Cut inside line L, which is in the middle of its tick.
	l := len(src) / 2
	for src[l-1].tick != src[l].tick {
		l++
	}
	offset := 0
	for _, ev := range src[:l] {
		offset += len(ev.raw) + 1
	}
	offset += 10
	for _, in := range []struct {
		name string
		data []byte
	}{{"plain", plain}, {"gzip", nil}} {
		t.Run(in.name, func(t *testing.T) {
			sim := "cancelled-" + in.name
			var stdin io.Reader
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if in.data != nil {
				stdin = &cancelAfter{r: bytes.NewReader(in.data), n: offset, cancel: cancel}
			} else {
				// Cancel once the gzip reader has consumed the compressed
				// bytes holding the first offset bytes of the stream.
				gz := gzipBytes(t, plain)
				stdin = &cancelAfter{r: bytes.NewReader(gz), n: compressedPrefix(t, gz, offset), cancel: cancel}
			}
			var out, errb bytes.Buffer
			e := &env{ctx: ctx, stdin: stdin, stdout: &out, stderr: &errb, now: func() time.Time { return fixedNow }}
			code := run(e, []string{"--db", db, "ingest", "--sim", sim, "--config", config, "-"})
			r := result{code: code, stdout: out.String(), stderr: errb.String()}
			wantFailure(t, r, "context canceled")

			s := showJSON(t, db, sim).Simulation
			if s.Status != "running" || s.ErrorMessage != nil {
				t.Fatalf("an interrupted ingest left %+v; want it running, to resume", s)
			}
			if s.LastTick == nil {
				t.Fatalf("the interrupted run stored nothing: %+v", s)
			}
			stored := 0
			for _, ev := range src {
				if ev.tick <= *s.LastTick {
					stored++
				}
			}
			if s.EventCount != int64(stored) {
				t.Errorf("interrupted run stored %d events through tick %d, want whole ticks (%d events)", s.EventCount, *s.LastTick, stored)
			}
			// Plain input stops exactly at the cut; gzip where the
			// decompressor has got to, which depends on the compressor.
			if in.data != nil && *s.LastTick != src[l].tick-1 {
				t.Errorf("interrupted run ends at tick %d, want %d (every tick before the cut one)", *s.LastTick, src[l].tick-1)
			}
			r = mustCLI(t, "--db", db, "ingest", "--resume", "--sim", sim, stream)
			if !strings.Contains(r.stdout, fmt.Sprintf("; skipped %d events already stored", s.EventCount)) {
				t.Errorf("resume: %q", r.stdout)
			}
			if r := cli(t, "--db", db, "diff", "full", sim); r.code != exitOK || r.stdout != fmt.Sprintf("identical (%d events)\n", len(src)) {
				t.Errorf("diff after resume: %s", r)
			}
		})
	}
}

// compressedPrefix returns how many bytes of gz a reader must consume to
// decompress at least n bytes.
func compressedPrefix(t *testing.T, gz []byte, n int) int {
	t.Helper()
	for k := 1; k <= len(gz); k += 64 {
		zr, err := gzip.NewReader(bytes.NewReader(gz[:k]))
		if err != nil {
			continue
		}
		got, _ := io.ReadAll(zr)
		if len(got) >= n {
			return k
		}
	}
	return len(gz)
}

// A resume whose flags describe another run is refused before anything is
// appended: a different config, ticks per day or experiment.
func TestIngestResumeChecksTheRun(t *testing.T) {
	dir := t.TempDir()
	stream, config := genStream(t, dir, "rc", genSpec{agents: 4, days: 1, ticksPerDay: 10, eventsPerTick: 10, seed: 5})
	_, otherConfig := genStream(t, dir, "rc-other", genSpec{agents: 5, days: 1, ticksPerDay: 10, eventsPerTick: 10, seed: 6})
	src := readStream(t, stream)
	db := filepath.Join(dir, "db.duckdb")
	cut := len(src) / 2
	for src[cut-1].tick == src[cut].tick {
		cut++
	}
	interruptRun(t, db, "run", config, src, cut)
	before := allEvents(t, db, "run")
	for _, c := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--config", otherConfig}, "is not the config of"},
		{[]string{"--ticks-per-day", "7"}, "--ticks-per-day 7"},
		{[]string{"--experiment-run", "exp", "--iteration", "2"}, "--experiment-run exp"},
	} {
		args := append([]string{"--db", db, "ingest", "--resume", "--sim", "run"}, c.flags...)
		wantFailure(t, cli(t, append(args, stream)...), c.want)
		if got := allEvents(t, db, "run"); len(got) != len(before) {
			t.Fatalf("%v: %d events after a refused resume, want %d", c.flags, len(got), len(before))
		}
	}
	mustCLI(t, "--db", db, "ingest", "--resume", "--sim", "run", "--config", config, stream)
	if got := allEvents(t, db, "run"); len(got) != len(src) {
		t.Fatalf("%d events after the matching resume, want %d", len(got), len(src))
	}
}

// --flush-events changes how many commit groups an ingest takes, never what
// it stores: small groups give the same run as the default, and a negative
// size is a usage error.
func TestIngestFlushEvents(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "f.duckdb")
	stream, config := genStream(t, dir, "s", genSpec{agents: 4, days: 2, ticksPerDay: 10, eventsPerTick: 30, seed: 5})
	mustCLI(t, "--db", db, "ingest", "--config", config, "--sim", "big", stream)
	mustCLI(t, "--db", db, "ingest", "--config", config, "--sim", "small", "--flush-events", "50", stream)
	if r := cli(t, "--db", db, "diff", "big", "small"); r.code != exitOK || !strings.Contains(r.stdout, "identical") {
		t.Fatalf("runs ingested with different group sizes differ:\n%s", r)
	}
	if big, small := allEvents(t, db, "big"), allEvents(t, db, "small"); len(big) < 500 || len(big) != len(small) {
		t.Fatalf("%d and %d events stored", len(big), len(small))
	}
	wantUsage(t, cli(t, "--db", db, "ingest", "--config", config, "--sim", "neg", "--flush-events", "-1", stream), "--flush-events must not be negative")
}
