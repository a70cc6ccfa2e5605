package cli

import (
	"bytes"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/simcash/simdb/internal/testutil"
)

// A stream that starts with a UTF-8 byte-order mark ingests, plain or
// gzip, and exports byte for byte as the input after the BOM (issue 12.3).
func TestIngestLeadingBOM(t *testing.T) {
	dir := t.TempDir()
	stream, _ := genStream(t, dir, "b", smallGen)
	data := readFile(t, stream)
	db := filepath.Join(dir, "db.duckdb")
	withBOM := append([]byte("\xef\xbb\xbf"), data...)
	for name, file := range map[string]string{
		"plain": writeFile(t, filepath.Join(dir, "bom.jsonl"), withBOM),
		"gzip":  writeFile(t, filepath.Join(dir, "bom.jsonl.gz"), gzipBytes(t, withBOM)),
	} {
		t.Run(name, func(t *testing.T) {
			mustCLI(t, "--db", db, "ingest", "--sim", name, "--ticks-per-day", "5", file)
			out := filepath.Join(t.TempDir(), "out.jsonl")
			mustCLI(t, "--db", db, "export", name, "--format", "jsonl", "--out", out)
			if !bytes.Equal(readFile(t, out), data) {
				t.Fatalf("export of a stream read after its BOM differs from the input after the BOM")
			}
		})
	}
}

// Configs and metrics files are held to the rules events meet: a
// duplicate key or a lone surrogate escape is refused before anything is
// stored, naming the file and the key (issue 20.5, 12.1).
func TestIngestRefusesAmbiguousConfigAndMetrics(t *testing.T) {
	dir := t.TempDir()
	stream, _ := genStream(t, dir, "d", smallGen)
	db := filepath.Join(dir, "db.duckdb")
	// The seed's key for the cost is taken.
	metrics := writeFile(t, filepath.Join(dir, "seed.json"), []byte(`{"total_arrivals":50,"total_settlements":48,"total_costs":500000,"duration_seconds":1.5}`))
	mustCLI(t, "--db", db, "ingest", "--sim", "seed", "--metrics", metrics, stream)
	if s := showJSON(t, db, "seed").Simulation; deref64(s.TotalCostCents) != "500000" || deref64(s.TotalArrivals) != "50" || s.TicksPerDay != 100 {
		t.Errorf("metrics with total_costs, no --ticks-per-day: %+v", s)
	}
	cases := []struct {
		name, flag, content string
		want                []string
	}{
		{"config-dup", "--config", `{"ticks_per_day":5,"ticks_per_day":7}`, []string{"dup.json", `"ticks_per_day"`, "duplicate key"}},
		{"config-nested-dup", "--config", `{"simulation":{"ticks_per_day":5,"num_days":1,"num_days":2}}`, []string{"dup.json", `"simulation"`, `"num_days"`}},
		{"config-surrogate", "--config", `{"ticks_per_day":5,"name":"\udc00"}`, []string{"dup.json", `"name"`, "surrogate"}},
		{"metrics-dup", "--metrics", `{"total_arrivals":1,"total_settlements":1,"total_cost_cents":5,"total_cost_cents":9}`, []string{"dup.json", `"total_cost_cents"`, "duplicate key"}},
		{"metrics-both-costs", "--metrics", `{"total_arrivals":1,"total_settlements":1,"total_costs":5,"total_cost_cents":5}`, []string{"dup.json", "total_costs", "total_cost_cents"}},
		{"metrics-surrogate", "--metrics", `{"totals":{"total_arrivals":1,"total_settlements":1,"total_cost_cents":5,"x":"\ud800"}}`, []string{"dup.json", `"totals"`, "surrogate"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file := writeFile(t, filepath.Join(t.TempDir(), "dup.json"), []byte(c.content))
			args := []string{"--db", db, "ingest", "--sim", c.name, c.flag, file}
			if c.flag == "--metrics" {
				args = append(args, "--ticks-per-day", "5")
			}
			wantFailure(t, cli(t, append(args, stream)...), c.want...)
			wantFailure(t, cli(t, "--db", db, "show", c.name), "not found")
		})
	}
}

// A SimCash scenario-style config (the corpus *.meta.json keep the run's
// settings under "scenario") gives the run its ticks, days, seed and agents.
func TestIngestConfigUnderScenario(t *testing.T) {
	dir := t.TempDir()
	stream, _ := genStream(t, dir, "s", smallGen)
	db := filepath.Join(dir, "db.duckdb")
	cfg := writeFile(t, filepath.Join(dir, "s.meta.json"), []byte(`{"dataset":"s","scenario":{"ticks_per_day":5,"num_days":4,"rng_seed":11,`+
		`"agents":[{"id":"BANK_01"},{"id":"BANK_02"},{"id":"BANK_03"},{"id":"BANK_04"},{"id":"BANK_05"}]},"totals":{"total_arrivals":1}}`))
	mustCLI(t, "--db", db, "ingest", "--sim", "s", "--config", cfg, stream)
	s := showJSON(t, db, "s").Simulation
	if s.TicksPerDay != 5 || s.NumDays != 4 || s.TotalTicks != 20 || s.NumAgents != 5 || deref64(s.RngSeed) != "11" {
		t.Errorf("run from a scenario config: %+v", s)
	}
}

// The corpus: medium ingested without --config (and without
// --ticks-per-day: SimCash's 100) shows and lists the size its events
// have — 500 ticks, 5 days, 10 agents — and medium.meta.json as --config
// gives the same (issue 12.2, 18.5).
func TestIngestCorpusWithoutConfigShowsItsSize(t *testing.T) {
	t.Parallel()
	path := testutil.CorpusFile(t, "medium.jsonl.gz")
	meta := testutil.CorpusFile(t, "medium.meta.json")
	db := filepath.Join(t.TempDir(), "db.duckdb")
	mustCLI(t, "--db", db, "ingest", "--sim", "bare", path)
	mustCLI(t, "--db", db, "ingest", "--sim", "meta", "--config", meta, "--metrics", meta, path)
	for _, sim := range []string{"bare", "meta"} {
		s := showJSON(t, db, sim).Simulation
		if s.TicksPerDay != 100 || s.TotalTicks != 500 || s.NumDays != 5 || s.NumAgents != 10 {
			t.Errorf("%s: %d ticks/day, %d ticks, %d days, %d agents; want 100, 500, 5, 10", sim, s.TicksPerDay, s.TotalTicks, s.NumDays, s.NumAgents)
		}
		table := mustCLI(t, "--db", db, "show", sim).stdout
		if !regexp.MustCompile(`(?m)^config +10 agents, 5 day\(s\) x 100 ticks/day \(500 ticks\)`).MatchString(table) {
			t.Errorf("show %s:\n%s", sim, table)
		}
	}
	rows := readCSV(t, mustCLI(t, "--db", db, "list", "--format", "csv").stdout)
	ticks := slices.Index(rows[0], "ticks")
	for _, row := range rows[1:] {
		if row[ticks] != "500" {
			t.Errorf("list: %s has %s ticks, want 500", row[0], row[ticks])
		}
	}
	table := mustCLI(t, "--db", db, "show", "meta").stdout
	if want := fmt.Sprintf("avg/day %.2f)", 263618502/5/100.0); !strings.Contains(table, want) {
		t.Errorf("show meta: avg/day is not the total over 5 days (%s):\n%s", want, table)
	}
}
