package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/testutil"
)

// The three real streams go DuckDB -> PostgreSQL -> a new DuckDB file with
// simdb copy, and the last file's JSONL export is the input stream byte for
// byte (diff against the first file says identical); so are the large
// stream's exports from PostgreSQL. Copying again changes
// nothing: every run is skipped, exit 0. A run that differs at the target
// (the small stream ingested there with the totals computed from the
// stream rather than the meta file's) is refused: exit 1 naming it, and
// the target's run is unchanged.
func TestCopyCorpus(t *testing.T) {
	t.Parallel()
	testutil.CorpusFile(t, "small.jsonl.gz") // skips without $SIMDB_CORPUS
	pg := testutil.PostgresURL(t)            // skips without a server
	dir := t.TempDir()
	c := filepath.Join(dir, "c.duckdb")
	names := []string{"small", "medium", "large"}
	if testing.Short() {
		names = names[:2]
	}
	// The source is the streams ingested with --ticks-per-day 100 and their
	// meta file's metrics, shared with TestRoundTripCorpus (which checks
	// that ingest) and only read here.
	var a string
	for _, name := range names {
		a, _ = corpusDB(t, name)
	}
	copyAll := func(t *testing.T, from, to string) {
		t.Helper()
		r := mustCLI(t, "copy", "--from", from, "--to", to, "--all")
		for _, name := range names {
			if !regexp.MustCompile(`(?m)^copied  ` + name + ` \(\d+ events\)$`).MatchString(r.stdout) {
				t.Errorf("copy %s -> %s: %s", from, to, r)
			}
		}
		if r.stderr != "" {
			t.Errorf("copy printed on stderr (not a terminal): %q", r.stderr)
		}
	}
	copyAll(t, a, pg)
	// From PostgreSQL, side by side: the large stream's exports, and the
	// copy onto DuckDB, whose runs are then exported and compared with
	// the source's, each stream by itself.
	t.Run("from-postgres", func(t *testing.T) {
		if !testing.Short() {
			t.Run("large-exports", func(t *testing.T) {
				t.Parallel()
				// TestRoundTripCorpus checks the smaller streams' exports
				// from PostgreSQL: JSONL byte for byte, and Parquet, which
				// spills 1.1M rows through a scratch file.
				out, pq := filepath.Join(dir, "large-pg.jsonl"), filepath.Join(dir, "large-pg.parquet")
				mustCLI(t, "--db", pg, "export", "large", "--format", "jsonl", "--out", out)
				n := sameAsGunzipped(t, out, testutil.CorpusFile(t, "large.jsonl.gz"))
				os.Remove(out)
				mustCLI(t, "--db", pg, "export", "large", "--format", "parquet", "--out", pq)
				if got := parquetCount(t, pq); got != n {
					t.Errorf("parquet export of large from PostgreSQL holds %d rows, want %d", got, n)
				}
				os.Remove(pq)
			})
		}
		t.Run("to-duckdb", func(t *testing.T) {
			t.Parallel()
			copyAll(t, pg, c)
			for _, name := range names {
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					out := filepath.Join(dir, name+".jsonl")
					mustCLI(t, "--db", c, "export", name, "--format", "jsonl", "--out", out)
					sameAsGunzipped(t, out, testutil.CorpusFile(t, name+".jsonl.gz"))
					os.Remove(out)
					if r := mustCLI(t, "--db", a, "diff", name, name, "--db-b", c); !strings.HasPrefix(r.stdout, "identical (") {
						t.Errorf("diff %s across the copies: %s", name, r)
					}
				})
			}
		})
	})
	// A second copy skips what is there: named runs onto PostgreSQL, every
	// run onto DuckDB. (Deciding to skip compares each run whole, as diff
	// does; the large stream is compared in one direction only.)
	for _, hop := range []struct {
		from, to string
		sims     []string
	}{{a, pg, names[:2]}, {pg, c, []string{"--all"}}} {
		r := mustCLI(t, append([]string{"--db", hop.from, "copy", "--to", hop.to}, hop.sims...)...)
		want := "0 copied, " + itoaInt(len(names)) + " skipped, 0 refused, 0 failed:"
		if hop.sims[0] != "--all" {
			want = "0 copied, " + itoaInt(len(hop.sims)) + " skipped, 0 refused, 0 failed:"
		}
		if !strings.Contains(r.stdout, want) || strings.Contains(r.stdout, "copied  ") {
			t.Errorf("second copy %s -> %s: %s", hop.from, hop.to, r)
		}
	}

	d := filepath.Join(dir, "d.duckdb")
	mustCLI(t, "--db", d, "ingest", "--ticks-per-day", "100", testutil.CorpusFile(t, "small.jsonl.gz"))
	before := mustCLI(t, "--db", d, "show", "small", "--format", "json").stdout
	r := cli(t, "copy", "--from", a, "--to", d, "small")
	if r.code != exitFailure || !strings.Contains(r.stdout, "refused small") ||
		!strings.Contains(r.stderr, `copy "small": simulation differs at the target: total_settlements is 281 at the source, 298 at the target`) {
		t.Errorf("copy onto a differing run: %s", r)
	}
	if after := mustCLI(t, "--db", d, "show", "small", "--format", "json").stdout; after != before {
		t.Errorf("the refused run changed at the target:\n%s\n%s", before, after)
	}
}

func itoaInt(n int) string { return itoa(int64(n)) }

// copyFixture is a DuckDB file with two runs of experiment "exp", a run
// outside it, a failed run (a bad line) and a run left running.
func copyFixture(t *testing.T, dir string) string {
	t.Helper()
	src := filepath.Join(dir, "src.duckdb")
	stream, config := genStream(t, dir, "g", genSpec{agents: 3, days: 1, ticksPerDay: 10, eventsPerTick: 12, seed: 4})
	mustCLI(t, "--db", src, "ingest", "--sim", "e1", "--config", config, "--experiment-run", "exp", "--iteration", "1", stream)
	mustCLI(t, "--db", src, "ingest", "--sim", "e2", "--config", config, "--experiment-run", "exp", "--iteration", "2", stream)
	mustCLI(t, "--db", src, "ingest", "--sim", "solo", "--config", config, stream)
	bad := filepath.Join(dir, "bad.jsonl")
	lines := strings.SplitAfter(string(readFile(t, stream)), "\n")
	broken := strings.Join(lines[:40], "") + `{"event_type":"Arrival","tick":9,"amount":1.5}` + "\n"
	if err := os.WriteFile(bad, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := cli(t, "--db", src, "ingest", "--sim", "bad", "--config", config, bad); r.code != exitFailure {
		t.Fatalf("ingest of a bad stream: %s", r)
	}
	ctx := context.Background()
	s, err := simdb.Open(ctx, src, simdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PersistSimulationStart(ctx, "live", readFile(t, config), simdb.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PersistTickEvents(ctx, "live", 0, []json.RawMessage{json.RawMessage(`{"event_type":"EndOfDay","tick":0}`)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil { // "live" stays running
		t.Fatal(err)
	}
	return src
}

// simdb copy selects runs by id, by --experiment or --all, onto the test's
// backend and from it back into a DuckDB file: each run copied is the
// source's (diff says identical, show prints the same record — the failed
// run with its status and error text), a second copy skips them all (exit
// 0), a run running at the source is refused unless --allow-running, and a
// run that differs at the target is refused, exit 1 naming it, while the
// others are copied.
func TestCopy(t *testing.T) {
	dir := t.TempDir()
	src := copyFixture(t, dir)
	mid := backendOf(t).Database(t, filepath.Join(dir, "mid.duckdb"))
	back := filepath.Join(dir, "back.duckdb")

	r := mustCLI(t, "--db", src, "copy", "--to", mid, "--experiment", "exp")
	if !regexp.MustCompile(`^copied  e1 \(\d+ events\)\ncopied  e2 \(\d+ events\)\n2 copied, 0 skipped, 0 refused, 0 failed: ` +
		regexp.QuoteMeta(src+" -> "+redact(mid)) + "\n$").MatchString(r.stdout) {
		t.Errorf("copy --experiment: %s", r)
	}
	r = cli(t, "--db", src, "copy", "--to", mid, "--all")
	for _, want := range []string{"skipped e1: identical at the target\n", "skipped e2: identical at the target\n", "refused live\n", "2 copied, 2 skipped, 1 refused, 0 failed"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("copy --all with a running run: no %q in %s", want, r)
		}
	}
	if r.code != exitFailure || !regexp.MustCompile(`(?m)^copied  solo \(\d+ events\)$`).MatchString(r.stdout) ||
		!regexp.MustCompile(`(?m)^copied  bad \(\d+ events\)$`).MatchString(r.stdout) ||
		!strings.Contains(r.stderr, `simdb: copy "live": simulation is running at the source`) || !strings.Contains(r.stderr, `1 of 5 run(s) not copied: "live"`) {
		t.Errorf("copy --all with a running run: %s", r)
	}
	if r = mustCLI(t, "--db", src, "copy", "--to", mid, "live", "--allow-running"); !strings.HasPrefix(r.stdout, "copied  live (1 events)\n") {
		t.Errorf("copy --allow-running: %s", r)
	}
	r = mustCLI(t, "copy", "--from", mid, "--to", back, "--all", "--allow-running")
	if !strings.Contains(r.stdout, "5 copied, 0 skipped") {
		t.Errorf("copy back: %s", r)
	}
	for _, sim := range []string{"e1", "e2", "solo", "bad", "live"} {
		if r := mustCLI(t, "--db", src, "diff", sim, sim, "--db-b", back); !strings.HasPrefix(r.stdout, "identical (") {
			t.Errorf("diff %s: %s", sim, r)
		}
		want := mustCLI(t, "--db", src, "show", sim, "--format", "json").stdout
		if got := mustCLI(t, "--db", back, "show", sim, "--format", "json").stdout; got != want {
			t.Errorf("show %s: source\n%s\ncopy\n%s", sim, want, got)
		}
	}
	for sim, status := range map[string]string{"bad": "failed", "live": "running", "e1": "completed"} {
		if r := mustCLI(t, "--db", back, "show", sim); !regexp.MustCompile(`(?m)^status +` + status + `\b`).MatchString(r.stdout) {
			t.Errorf("%s at the copy, want %s: %s", sim, status, r)
		}
	}
	r = mustCLI(t, "--db", src, "copy", "--to", mid, "--all", "--allow-running")
	if !strings.Contains(r.stdout, "0 copied, 5 skipped, 0 refused, 0 failed") {
		t.Errorf("second copy: %s", r)
	}

	// "solo" again at a new target, differing in its experiment.
	other := filepath.Join(dir, "other.duckdb")
	mustCLI(t, "--db", other, "ingest", "--sim", "solo", "--config", filepath.Join(dir, "g.config.json"), "--experiment-run", "x", filepath.Join(dir, "g.jsonl"))
	r = cli(t, "--db", src, "copy", "--to", other, "solo", "e1")
	if r.code != exitFailure || !strings.HasPrefix(r.stdout, "refused solo\ncopied  e1 (") || !strings.Contains(r.stdout, "1 copied, 0 skipped, 1 refused, 0 failed") ||
		!strings.Contains(r.stderr, `copy "solo": simulation differs at the target: experiment_run_id is NULL at the source, "x" at the target`) ||
		!strings.Contains(r.stderr, `1 of 2 run(s) not copied: "solo"`) {
		t.Errorf("copy onto a differing run: %s", r)
	}
}

// redact is the database as the CLI prints it (a URL without password).
func redact(db string) string {
	s, err := simdb.Open(context.Background(), db, simdb.Options{ReadOnly: true})
	if err != nil {
		return db
	}
	defer s.Close()
	return s.Path()
}

// Bad invocations of copy are usage errors (exit 2) saying what is wrong;
// a source that does not exist, an unknown run or experiment fail (exit 1)
// naming it, and write nothing.
func TestCopyBadArguments(t *testing.T) {
	dir := t.TempDir()
	src := copyFixture(t, dir)
	to := filepath.Join(dir, "to.duckdb")
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"copy", "e1"}, exitUsage, "copy needs --to DB"},
		{[]string{"copy", "--to", src, "e1"}, exitUsage, "--from and --to name the same database"},
		{[]string{"copy", "--to", dir + "/./src.duckdb", "e1"}, exitUsage, "--from and --to name the same database"},
		{[]string{"copy", "--to", to}, exitUsage, "say which runs to copy"},
		{[]string{"copy", "--to", to, "--all", "e1"}, exitUsage, "not more than one of them"},
		{[]string{"copy", "--to", to, "--all", "--experiment", "exp"}, exitUsage, "not more than one of them"},
		{[]string{"copy", "--to", to, " "}, exitUsage, `simulation id " " is empty`},
		{[]string{"copy", "--to", to, "--from", "", "e1"}, exitUsage, "--from is empty"},
		{[]string{"copy", "--to", to, "--bogus"}, exitUsage, "unknown flag: --bogus"},
		{[]string{"copy", "--to", to, "--from", filepath.Join(dir, "missing.duckdb"), "e1"}, exitFailure, "missing.duckdb does not exist"},
		{[]string{"copy", "--to", to, "ghost"}, exitFailure, `copy "ghost": not in ` + src + ": simulation not found"},
		{[]string{"copy", "--to", to, "--experiment", "nope"}, exitFailure, `experiment "nope" has no runs in ` + src},
	} {
		r := cli(t, append([]string{"--db", src}, c.args...)...)
		if r.code != c.code || !strings.Contains(r.stderr, c.msg) {
			t.Errorf("simdb %s: %s\nwant exit %d and %q", strings.Join(c.args, " "), r, c.code, c.msg)
		}
	}
	if r := cli(t, "--db", to, "list"); r.code == exitOK && strings.Contains(r.stdout, "e1") {
		t.Errorf("a failed copy wrote runs: %s", r)
	}
}
