package cli

// Tests of the commands' output: gen, show, list, diff, demo, and the CLI
// answering what the library answers.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/simgen"
	"github.com/simcash/simdb/internal/testutil/simdbtest"
)

func TestGen(t *testing.T) {
	dir := t.TempDir()
	g := genSpec{agents: 5, days: 2, ticksPerDay: 12, eventsPerTick: 9, seed: 99}
	a, ca := genStream(t, dir, "a", g)
	b, cb := genStream(t, dir, "b", g)
	if !bytes.Equal(readFile(t, a), readFile(t, b)) {
		t.Error("the same seed gave different streams")
	}
	if !bytes.Equal(readFile(t, ca), readFile(t, cb)) {
		t.Error("the same seed gave different configs")
	}
	// stdout carries the same bytes and nothing goes to stderr.
	r := mustCLI(t, append([]string{"gen"}, g.args()...)...)
	if r.stdout != string(readFile(t, a)) || r.stderr != "" {
		t.Errorf("gen to stdout differs from gen --out (stderr %q)", r.stderr)
	}
	if r2 := mustCLI(t, append([]string{"gen", "--out", "-"}, g.args()...)...); r2.stdout != r.stdout {
		t.Error("gen --out - differs from stdout")
	}
	// The stream and config are what internal/simgen produces.
	o := simgen.Options{Agents: g.agents, Days: g.days, TicksPerDay: g.ticksPerDay, EventsPerTick: g.eventsPerTick, Seed: g.seed}
	var want bytes.Buffer
	st, err := simgen.Write(&want, o)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want.Bytes(), readFile(t, a)) || !bytes.Equal(simgen.Config(o), readFile(t, ca)) {
		t.Error("gen's output differs from internal/simgen")
	}
	if !regexp.MustCompile(fmt.Sprintf(`^wrote %d events \(%d ticks\) to `, st.Events, st.Ticks)).MatchString(
		mustCLI(t, append([]string{"gen", "--out", filepath.Join(dir, "c.jsonl")}, g.args()...)...).stderr) {
		t.Error("gen --out does not report what it wrote")
	}
	// Another seed gives another stream.
	g2 := g
	g2.seed = 100
	c, _ := genStream(t, dir, "c2", g2)
	if bytes.Equal(readFile(t, a), readFile(t, c)) {
		t.Error("seeds 99 and 100 gave the same stream")
	}
	// Every line is a compact event with a tick, ticks never decrease,
	// and there are days*ticks_per_day ticks.
	src := readStream(t, a)
	if int64(len(src)) != st.Events {
		t.Errorf("%d lines, gen reported %d events", len(src), st.Events)
	}
	for i := 1; i < len(src); i++ {
		if src[i].tick < src[i-1].tick {
			t.Fatalf("line %d: tick %d after %d", i+1, src[i].tick, src[i-1].tick)
		}
	}
	if last := src[len(src)-1].tick; last != int64(g.days*g.ticksPerDay-1) {
		t.Errorf("last tick %d", last)
	}
	// The config works for ingest --config.
	db := filepath.Join(dir, "db.duckdb")
	mustCLI(t, "--db", db, "ingest", "--config", ca, a)
	if s := showJSON(t, db, "a").Simulation; s.TicksPerDay != 12 || s.NumDays != 2 || s.NumAgents != 5 || deref64(s.RngSeed) != "99" {
		t.Errorf("run from gen's config: %+v", s)
	}
	// An unwritable --out fails.
	wantFailure(t, cli(t, "gen", "--out", filepath.Join(dir, "no", "x.jsonl")), "x.jsonl")
}

func TestShowAndList(t *testing.T) {
	dir := t.TempDir()
	stream, config := genStream(t, dir, "s", smallGen)
	db := filepath.Join(dir, "db.duckdb")
	if r := mustCLI(t, "--db", db, "recover"); r.code != exitOK { // creates an empty database
		t.Fatal(r)
	}
	if r := mustCLI(t, "--db", db, "list"); r.stdout != "no simulations\n" {
		t.Errorf("list of an empty database: %q", r.stdout)
	}
	if r := mustCLI(t, "--db", db, "list", "--format", "json"); r.stdout != "[]\n" {
		t.Errorf("list --format json of an empty database: %q", r.stdout)
	}
	if recs := readCSV(t, mustCLI(t, "--db", db, "list", "--format", "csv").stdout); len(recs) != 1 {
		t.Errorf("list --format csv of an empty database: %v", recs)
	}

	t0 := fixedNow
	runAtOK := func(at time.Time, args ...string) {
		t.Helper()
		if r := runAt(t, at, nil, append([]string{"--db", db}, args...)...); r.code != exitOK {
			t.Fatal(r)
		}
	}
	runAtOK(t0, "ingest", "--sim", "first", "--config", config, stream)
	runAtOK(t0.Add(time.Minute), "ingest", "--sim", "second", "--config", config, "--experiment-run", "exp", "--iteration", "1", stream)
	runAtOK(t0.Add(2*time.Minute), "ingest", "--sim", "third", "--config", config, "--experiment-run", "exp", stream)
	bad := writeFile(t, filepath.Join(dir, "bad.jsonl"), []byte("{\"event_type\":\"Arrival\",\"tick\":0}\n{\"event_type\":\"Arrival\",\"tick\":1}\n{\n"))
	if r := runAt(t, t0.Add(3*time.Minute), nil, "--db", db, "ingest", "--sim", "broken", "--ticks-per-day", "5", bad); r.code != exitFailure {
		t.Fatal(r)
	}

	// Newest first; filters by status and experiment.
	if ids := simdbtest.RunIDs(listJSON(t, db)); !slices.Equal(ids, []string{"broken", "third", "second", "first"}) {
		t.Errorf("list: %v, want newest first", ids)
	}
	if ids := simdbtest.RunIDs(listJSON(t, db, "--status", "completed")); !slices.Equal(ids, []string{"third", "second", "first"}) {
		t.Errorf("list --status completed: %v", ids)
	}
	if ids := simdbtest.RunIDs(listJSON(t, db, "--status", "failed")); !slices.Equal(ids, []string{"broken"}) {
		t.Errorf("list --status failed: %v", ids)
	}
	if ids := simdbtest.RunIDs(listJSON(t, db, "--status", "running")); len(ids) != 0 {
		t.Errorf("list --status running: %v", ids)
	}
	if ids := simdbtest.RunIDs(listJSON(t, db, "--experiment", "exp")); !slices.Equal(ids, []string{"third", "second"}) {
		t.Errorf("list --experiment exp: %v, want by iteration", ids)
	}
	if ids := simdbtest.RunIDs(listJSON(t, db, "--experiment", "nope")); len(ids) != 0 {
		t.Errorf("list --experiment nope: %v", ids)
	}

	recs := readCSV(t, mustCLI(t, "--db", db, "list", "--format", "csv").stdout)
	wantHeader := []string{"simulation_id", "status", "started_at", "ticks", "events", "arrivals", "settlements", "settlement_rate", "total_cost_cents", "experiment_run_id", "iteration"}
	if len(recs) != 5 || !slices.Equal(recs[0], wantHeader) {
		t.Fatalf("list csv: %v", recs)
	}
	src := readStream(t, stream)
	arr, set, cost := streamTotals(src)
	wantSecond := []string{"second", "completed", t0.Add(time.Minute).Format(time.RFC3339), "10", fmt.Sprint(len(src)), fmt.Sprint(arr), fmt.Sprint(set),
		fmt.Sprintf("%.4f", float64(set)/float64(arr)), fmt.Sprint(cost), "exp", "1"}
	if !slices.Equal(recs[3], wantSecond) {
		t.Errorf("list csv row %v, want %v", recs[3], wantSecond)
	}
	// broken's config stated no size, so its one stored tick (tick 0) is
	// its size once it failed (issue 12.2; 5, the one-day default, before).
	if want := []string{"broken", "failed", t0.Add(3 * time.Minute).Format(time.RFC3339), "1", "1", "", "", "0.0000", "", "", ""}; !slices.Equal(recs[1], want) {
		t.Errorf("list csv row %v, want %v", recs[1], want)
	}
	table := mustCLI(t, "--db", db, "list").stdout
	lines := strings.Split(strings.TrimSuffix(table, "\n"), "\n")
	if len(lines) != 5 || strings.Join(strings.Fields(lines[0]), " ") != strings.ToUpper(strings.Join(wantHeader, " ")) {
		t.Errorf("list table:\n%s", table)
	}
	if got := strings.Fields(lines[1]); !slices.Equal(got, []string{"broken", "failed", t0.Add(3 * time.Minute).Format(time.RFC3339), "1", "1", "-", "-", "0.0000", "-", "-", "-"}) {
		t.Errorf("list table row %q", lines[1])
	}

	// show: table and json describe the same run.
	out := showJSON(t, db, "second")
	if out.Simulation.SimulationID != "second" || out.Events.TotalEvents != int64(len(src)) || deref64(out.Events.MaxTick) != "9" ||
		deref64(out.Events.MaxDay) != "1" || !slices.Equal(out.Events.Agents, []string{"BANK_01", "BANK_02", "BANK_03"}) {
		t.Errorf("show json: %+v", out)
	}
	var byType int64
	for i, c := range out.Events.ByType {
		byType += c.Count
		if i > 0 && (c.Count > out.Events.ByType[i-1].Count || (c.Count == out.Events.ByType[i-1].Count && c.EventType < out.Events.ByType[i-1].EventType)) {
			t.Errorf("by_type not most frequent first: %+v", out.Events.ByType)
		}
	}
	if byType != int64(len(src)) {
		t.Errorf("by_type counts sum to %d, want %d", byType, len(src))
	}
	tbl := mustCLI(t, "--db", db, "show", "second").stdout
	for _, want := range []string{
		"simulation   second\n", "status       completed\n", "config file  " + config + "\n", "experiment   exp iteration 1\n",
		"started      " + t0.Add(time.Minute).Format(time.RFC3339) + "\n", fmt.Sprintf("stored       %d events through tick 9\n", len(src)),
		fmt.Sprintf("arrivals     %d\n", arr), "duration     not recorded\n", fmt.Sprintf("events by type (%d in all):\n", len(src)),
		"agents (3): BANK_01, BANK_02, BANK_03\n",
	} {
		if !strings.Contains(tbl, want) {
			t.Errorf("show table lacks %q:\n%s", want, tbl)
		}
	}
	if d := mustCLI(t, "--db", db, "show", "second", "--format", "table").stdout; d != tbl {
		t.Error("show --format table differs from the default")
	}
	if tbl := mustCLI(t, "--db", db, "show", "broken").stdout; !regexp.MustCompile(`(?m)^status +failed: `+regexp.QuoteMeta(bad)+`:3: invalid JSON`).MatchString(tbl) ||
		!regexp.MustCompile(`(?m)^stored +1 events through tick 0$`).MatchString(tbl) {
		t.Errorf("show of a failed run:\n%s", tbl)
	}
}

func TestCentsFormatting(t *testing.T) {
	for c, want := range map[int64]string{0: "0.00", 5: "0.05", 123: "1.23", -5: "-0.05", -123456: "-1234.56",
		9223372036854775807: "92233720368547758.07", -9223372036854775808: "-92233720368547758.08"} {
		if got := cents(c); got != want {
			t.Errorf("cents(%d) = %q, want %q", c, got, want)
		}
	}
}

func TestDiff(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	stream, config := genStream(t, dir, "d", smallGen)
	src := readStream(t, stream)
	db := filepath.Join(dir, "db.duckdb")
	// Under TestCLIBackends the second database is on the other backend.
	dbB := backendOf(t).Database(t, filepath.Join(dir, "b.duckdb"))
	mustCLI(t, "--db", db, "ingest", "--sim", "a", "--config", config, stream)
	mustCLI(t, "--db", db, "ingest", "--sim", "a2", "--config", config, stream)
	mustCLI(t, "--db", dbB, "ingest", "--sim", "b", "--config", config, stream)
	identical := fmt.Sprintf("identical (%d events)\n", len(src))
	for _, args := range [][]string{
		{"diff", "a", "a2"}, {"diff", "a2", "a"}, {"diff", "a", "a"},
		{"diff", "a", "b", "--db-b", dbB}, {"diff", "a", "a2", "--db-b", db},
	} {
		if r := cli(t, append([]string{"--db", db}, args...)...); r.code != exitOK || r.stdout != identical || r.stderr != "" {
			t.Errorf("%v: %s", args, r)
		}
	}
	if r := cli(t, "--db", dbB, "diff", "b", "a", "--db-b", db); r.code != exitOK || r.stdout != identical {
		t.Errorf("diff from the other file: %s", r)
	}

	// One amount changed: the first divergence names tick, seq, field and
	// both values.
	target := -1
	for i, ev := range src {
		if ev.typ == "Arrival" && ev.tick > 2 {
			target = i
			break
		}
	}
	changed := slices.Clone(src)
	changed[target].raw = reAmount.ReplaceAll(slices.Clone(src[target].raw), []byte(`"amount":42`))
	mod := writeFile(t, filepath.Join(dir, "mod.jsonl"), joinLines(changed))
	mustCLI(t, "--db", dbB, "ingest", "--sim", "mod", "--config", config, mod)
	r := cli(t, "--db", db, "diff", "a", "mod", "--db-b", dbB)
	detailsOf := func(raw []byte) string {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		// details is the object without event_type, tick, agent_id, tx_id,
		// keys in their original order.
		out := regexp.MustCompile(`"(event_type|tick|tx_id|agent_id)":("[^"]*"|\d+),?`).ReplaceAll(raw, nil)
		return string(bytes.Replace(out, []byte(",}"), []byte("}"), 1))
	}
	want := fmt.Sprintf("different: tick %d seq %d field details: a=%s, mod=%s\n", src[target].tick, target, detailsOf(src[target].raw), detailsOf(changed[target].raw))
	if r.code != exitFailure || r.stdout != want || r.stderr != "" {
		t.Errorf("diff of a changed amount:\n%s\nwant stdout %q", r, want)
	}

	// One event type changed (of an event the totals do not count).
	target = slices.IndexFunc(src, func(ev srcEvent) bool { return ev.typ == "PolicySubmit" && ev.tick > 2 })
	changed = slices.Clone(src)
	changed[target].raw = bytes.Replace(slices.Clone(src[target].raw), []byte(`"event_type":"PolicySubmit"`), []byte(`"event_type":"PolicySubmitted"`), 1)
	mustCLI(t, "--db", dbB, "ingest", "--sim", "typo", "--config", config, writeFile(t, filepath.Join(dir, "typo.jsonl"), joinLines(changed)))
	r = cli(t, "--db", dbB, "diff", "typo", "a", "--db-b", db)
	if want := fmt.Sprintf("different: tick %d seq %d field event_type: typo=PolicySubmitted, a=PolicySubmit\n", src[target].tick, target); r.code != exitFailure || r.stdout != want {
		t.Errorf("diff of a changed type:\n%s\nwant %q", r, want)
	}

	// Run-level differences come first.
	mustCLI(t, "--db", db, "ingest", "--sim", "tpd10", "--ticks-per-day", "10", stream)
	mustCLI(t, "--db", db, "ingest", "--sim", "tpd5", "--ticks-per-day", "5", stream)
	r = cli(t, "--db", db, "diff", "tpd5", "tpd10")
	if r.code != exitFailure || r.stdout != "different: run ticks_per_day: tpd5=5, tpd10=10\n" {
		t.Errorf("diff of ticks_per_day: %s", r)
	}
	r = cli(t, "--db", db, "diff", "a", "tpd5")
	if r.code != exitFailure || !strings.HasPrefix(r.stdout, "different: run config_hash: a=") {
		t.Errorf("diff of configs: %s", r)
	}
	short := writeFile(t, filepath.Join(dir, "short.jsonl"), joinLines(src[:len(src)-3]))
	mustCLI(t, "--db", db, "ingest", "--sim", "short", "--config", config, short)
	r = cli(t, "--db", db, "diff", "a", "short")
	if want := fmt.Sprintf("different: run event_count: a=%d, short=%d\n", len(src), len(src)-3); r.code != exitFailure || r.stdout != want {
		t.Errorf("diff of a shorter run: %s, want %q", r, want)
	}
	bad := slices.Clone(src)
	bad[len(bad)-1].raw = []byte("{")
	if r := cli(t, "--db", db, "ingest", "--sim", "failedrun", "--config", config, writeFile(t, filepath.Join(dir, "bad.jsonl"), joinLines(bad))); r.code != exitFailure {
		t.Fatal(r)
	}
	r = cli(t, "--db", db, "diff", "a", "failedrun")
	if r.code != exitFailure || r.stdout != "different: run status: a=completed, failedrun=failed\n" {
		t.Errorf("diff of a failed run: %s", r)
	}
}

func TestDemo(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "demo.duckdb")
	for n := 1; n <= 2; n++ {
		id := fmt.Sprintf("demo-%d", n)
		r := mustCLI(t, "--db", db, "demo")
		if r.stderr != "" {
			t.Errorf("demo stderr %q", r.stderr)
		}
		out := r.stdout
		prefix := fmt.Sprintf("$ simdb --db %s ingest --sim %s --config demo.config.json demo.jsonl\n", db, id)
		if !strings.HasPrefix(out, prefix) {
			t.Fatalf("demo output starts %q, want %q", out[:min(len(out), 200)], prefix)
		}
		rest := strings.TrimPrefix(out, prefix)
		nl := strings.IndexByte(rest, '\n')
		o := simgen.Options{Agents: 4, Days: 1, TicksPerDay: 100, Seed: 1, EventsPerTick: 30}
		events, err := simgen.TotalEvents(o)
		if err != nil {
			t.Fatal(err)
		}
		if !ingestLineRE(int(events), 100, id).MatchString(rest[:nl+1]) {
			t.Errorf("demo ingest line %q", rest[:nl+1])
		}
		rest = rest[nl+1:]
		showCmd := fmt.Sprintf("\n$ simdb --db %s show %s\n", db, id)
		eventsCmd := fmt.Sprintf("\n$ simdb --db %s events %s --limit 10\n", db, id)
		si, ei := strings.Index(rest, showCmd), strings.Index(rest, eventsCmd)
		if si != 0 || ei < 0 {
			t.Fatalf("demo output lacks the show and events steps:\n%s", out)
		}
		shown := rest[len(showCmd):ei]
		if want := mustCLI(t, "--db", db, "show", id).stdout; shown != want {
			t.Errorf("demo's show differs from simdb show:\n%s\nwant\n%s", shown, want)
		}
		listed := rest[ei+len(eventsCmd):]
		if want := mustCLI(t, "--db", db, "events", id, "--limit", "10").stdout; listed != want {
			t.Errorf("demo's events differ from simdb events --limit 10:\n%s\nwant\n%s", listed, want)
		}
		s := showJSON(t, db, id).Simulation
		if s.Status != "completed" || s.EventCount != events || derefS(s.ConfigFile) != "demo.config.json" || s.NumAgents != 4 || s.TicksPerDay != 100 {
			t.Errorf("demo run: %+v", s)
		}
	}
	if ids := simdbtest.RunIDs(listJSON(t, db)); !slices.Equal(slices.Sorted(slices.Values(ids)), []string{"demo-1", "demo-2"}) {
		t.Errorf("runs after two demos: %v", ids)
	}
	if r := cli(t, "--db", db, "diff", "demo-1", "demo-2"); r.code != exitOK {
		t.Errorf("two demos differ: %s", r)
	}
}

// TestCLIMatchesLibrary: a run ingested by the CLI and the same stream
// persisted tick by tick through the library are identical (INV-11).
func TestCLIMatchesLibrary(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	stream, config := genStream(t, dir, "l", genSpec{agents: 6, days: 2, ticksPerDay: 15, eventsPerTick: 45, seed: 4})
	src := readStream(t, stream)
	db := filepath.Join(dir, "db.duckdb")
	mustCLI(t, "--db", db, "ingest", "--sim", "cli", "--config", config, stream)
	libraryRun(t, fixedNow, db, "lib", config, src, true)
	ctx := context.Background()
	store, err := simdb.Open(ctx, db, simdb.Options{Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	arr, set, cost := streamTotals(src)
	if err := store.PersistSimulationComplete(ctx, "lib", simdb.Metrics{TotalArrivals: arr, TotalSettlements: set, TotalCostCents: cost}); err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	if r := cli(t, "--db", db, "diff", "cli", "lib"); r.code != exitOK || r.stdout != fmt.Sprintf("identical (%d events)\n", len(src)) {
		t.Errorf("CLI vs library: %s", r)
	}
}
