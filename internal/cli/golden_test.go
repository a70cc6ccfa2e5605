package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestGolden compares the table and json outputs of show, list and events
// with testdata/golden/*.golden (go test ./internal/cli -run TestGolden -args -update rewrites
// them). The runs come from a `simdb gen` stream and every command sees a
// fixed clock, so the outputs are byte-stable; the test works in a
// temporary directory with relative paths, so no temporary path shows.
func TestGolden(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	const db = "golden.duckdb"
	at := func(minutes int, args ...string) result {
		t.Helper()
		return runAt(t, fixedNow.Add(time.Duration(minutes)*time.Minute), nil, append([]string{"--db", db}, args...)...)
	}
	mustCLI(t, "gen", "--agents", "4", "--days", "2", "--ticks-per-day", "5", "--events-per-tick", "6", "--seed", "42",
		"--out", "g.jsonl", "--config-out", "g.config.json")
	src := readStream(t, "g.jsonl")

	// alpha: config file, experiment, totals computed from the stream.
	if r := at(0, "ingest", "--sim", "alpha", "--config", "g.config.json", "--experiment-run", "exp-1", "--iteration", "2", "g.jsonl"); r.code != exitOK {
		t.Fatal(r)
	}
	// beta: ticks per day only, totals and duration from --metrics.
	writeFile(t, "beta.metrics.json", []byte(`{"total_arrivals":20,"total_settlements":17,"total_cost_cents":1234567,"duration_seconds":0.25}`))
	if r := at(1, "ingest", "--sim", "beta", "--ticks-per-day", "5", "--metrics", "beta.metrics.json", "g.jsonl"); r.code != exitOK {
		t.Fatal(r)
	}
	// gamma: a bad line, the first of tick 6, fails the run; ticks 0-5 are
	// kept (issue 19 point 4: tick 5 used to be lost).
	bad := slices.Clone(src)
	target := slices.IndexFunc(bad, func(ev srcEvent) bool { return ev.tick == 6 && ev.typ == "Arrival" })
	bad[target].raw = reAmount.ReplaceAll(slices.Clone(bad[target].raw), []byte(`"amount":1.5`))
	writeFile(t, "gamma.jsonl", joinLines(bad))
	if r := at(2, "ingest", "--sim", "gamma", "--config", "g.config.json", "gamma.jsonl"); r.code != exitFailure {
		t.Fatal(r)
	}
	// delta: interrupted after tick 3, still running.
	cut := slices.IndexFunc(src, func(ev srcEvent) bool { return ev.tick == 4 }) + 1
	libraryRun(t, fixedNow.Add(3*time.Minute), db, "delta", "g.config.json", src[:cut], false)

	for _, c := range []struct {
		name string
		args []string
	}{
		{"show_alpha.table", []string{"show", "alpha"}},
		{"show_alpha.json", []string{"show", "alpha", "--format", "json"}},
		{"show_beta.table", []string{"show", "beta"}},
		{"show_gamma.table", []string{"show", "gamma"}},
		{"show_gamma.json", []string{"show", "gamma", "--format", "json"}},
		{"show_delta.table", []string{"show", "delta"}},
		{"list.table", []string{"list"}},
		{"list.json", []string{"list", "--format", "json"}},
		{"list_failed.table", []string{"list", "--status", "failed"}},
		{"list_experiment.json", []string{"list", "--experiment", "exp-1", "--format", "json"}},
		{"events_alpha.table", []string{"events", "alpha"}},
		{"events_alpha_filtered.table", []string{"events", "alpha", "--agent", "BANK_02", "--type", "Arrival,RtgsImmediateSettlement,CostAccrual", "--sort", "desc", "--limit", "6", "--offset", "1"}},
		{"events_alpha_tick.table", []string{"events", "alpha", "--all", "--tick", "3"}},
		{"events_alpha_page.json", []string{"events", "alpha", "--day", "1", "--limit", "4", "--offset", "2"}},
		{"events_alpha_all.json", []string{"events", "alpha", "--all", "--type", "CostAccrual", "--to", "4"}},
		{"events_gamma.table", []string{"events", "gamma", "--from", "4"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := c.args
			if strings.HasSuffix(c.name, ".json") && !slices.Contains(args, "--format") {
				args = append(slices.Clone(args), "--format", "json")
			}
			r := at(10, args...)
			if r.code != exitOK || r.stderr != "" {
				t.Fatal(r)
			}
			golden(t, c.name, r.stdout)
		})
	}
}

// golden compares got with testdata/golden/NAME.golden, or rewrites the
// file under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join(goldenDir, name+".golden")
	if *update {
		if err := os.MkdirAll(goldenDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/cli -run TestGolden -args -update to create it)", err)
	}
	if !bytes.Equal([]byte(got), want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range max(len(gl), len(wl)) {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("output differs from %s at line %d:\n got: %q\nwant: %q\n(go test ./internal/cli -run TestGolden -args -update rewrites the golden files)", path, i+1, g, w)
			}
		}
	}
}
