package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/testutil/simdbtest"
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
	if ids := simdbtest.RunIDs(runs); !slices.Equal(ids, []string{"exp-it0", "exp-it1", "exp-it2"}) {
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
