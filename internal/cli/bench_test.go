package cli

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/simcash/simdb/internal/testutil"
)

// bench on a small generated stream runs every step and reports them in
// the JSON shape issue #5 specifies; --only leaves the other steps out and
// reports caller overhead as null rather than as a measured 0 %.
// bench's steps run one after another on one goroutine each, mostly in
// DuckDB's C code: -race only multiplies their time, so make test runs this
// test in its corpus step, without -race.
func TestBenchReportsEveryStep(t *testing.T) {
	testutil.SkipUnderMakeRace(t, "bench's steps, one after another")
	type report struct {
		Machine struct {
			Cores  int    `json:"cores"`
			DuckDB string `json:"duckdb"`
		} `json:"machine"`
		Events  int64 `json:"events"`
		Results []struct {
			Name              string  `json:"name"`
			Events            int64   `json:"events"`
			EventsPerSec      float64 `json:"events_per_sec"`
			CPUSeconds        float64 `json:"cpu_seconds"`
			CPUMicrosPerEvent float64 `json:"cpu_us_per_event"`
		} `json:"results"`
		Ratios            map[string]float64 `json:"ratios"`
		CallerOverheadPct *float64           `json:"caller_overhead_pct"`
		Queries           []struct {
			Name string  `json:"name"`
			P50  float64 `json:"p50_ms"`
		} `json:"queries"`
		DBBytesPerEvent float64 `json:"db_bytes_per_event"`
	}
	decode := func(r result) report {
		t.Helper()
		var rep report
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Fatalf("bench --format json: %v\n%s", err, r)
		}
		return rep
	}

	kept := filepath.Join(t.TempDir(), "kept.duckdb")
	rep := decode(mustCLI(t, "bench", "--events", "1000", "--format", "json", "--keep", kept,
		"--row-insert-sample", "500", "--overhead-span", "100ms", "--engine-pace", "20us"))
	if rep.Events < 1000 || rep.Machine.Cores < 1 || !strings.HasPrefix(rep.Machine.DuckDB, "v") {
		t.Errorf("events %d, machine %+v", rep.Events, rep.Machine)
	}
	var names []string
	for _, r := range rep.Results {
		names = append(names, r.Name)
		if r.EventsPerSec <= 0 || r.Events <= 0 {
			t.Errorf("%s: %d events at %.0f events/s", r.Name, r.Events, r.EventsPerSec)
		}
		if r.CPUSeconds <= 0 || r.CPUMicrosPerEvent <= 0 {
			t.Errorf("%s: %.3f CPU seconds, %.2f µs per event", r.Name, r.CPUSeconds, r.CPUMicrosPerEvent)
		}
	}
	want := []string{"ingest", "duckdb-read-json", "duckdb-insert-floor", "provider", "appender-bare", "row-insert"}
	if !slices.Equal(names, want) {
		t.Errorf("steps %v, want %v", names, want)
	}
	for _, k := range []string{"ingest_vs_duckdb_read_json", "provider_vs_appender_bare", "provider_vs_row_insert"} {
		if rep.Ratios[k] <= 0 {
			t.Errorf("ratio %s = %v", k, rep.Ratios[k])
		}
	}
	if rep.CallerOverheadPct == nil {
		t.Error("caller_overhead_pct missing though the step ran")
	}
	var queries []string
	for _, q := range rep.Queries {
		queries = append(queries, q.Name)
		if q.P50 <= 0 {
			t.Errorf("query %s p50 %v", q.Name, q.P50)
		}
	}
	if !slices.Equal(queries, []string{"page-by-tick", "page-by-agent", "event-summary", "full-stream-read"}) {
		t.Errorf("queries %v", queries)
	}
	if rep.DBBytesPerEvent <= 0 {
		t.Errorf("db_bytes_per_event %v", rep.DBBytesPerEvent)
	}

	// The read side alone, on the database the first run kept.
	reads := decode(mustCLI(t, "bench", "--queries-on", kept, "--sim", "bench", "--format", "json"))
	if reads.Events != rep.Events || len(reads.Queries) != 4 || len(reads.Results) != 0 || reads.CallerOverheadPct != nil {
		t.Errorf("--queries-on: %d events (want %d), %d queries, results %+v", reads.Events, rep.Events, len(reads.Queries), reads.Results)
	}
	wantUsage(t, cli(t, "bench", "--queries-on", kept), "--queries-on and --sim go together")

	only := decode(mustCLI(t, "bench", "--events", "1000", "--format", "json", "--only", "ingest"))
	if len(only.Results) != 1 || only.Results[0].Name != "ingest" || only.CallerOverheadPct != nil || len(only.Queries) != 0 {
		t.Errorf("--only ingest: results %+v, caller_overhead_pct %v, queries %d", only.Results, only.CallerOverheadPct, len(only.Queries))
	}
}

// bench is a developer's tool: the analyst's command list leaves it out, but
// it still runs and documents its flags.
func TestBenchHidden(t *testing.T) {
	r := mustCLI(t, "--help")
	if !strings.Contains(r.stdout, "ingest") || strings.Contains(r.stdout, "bench") {
		t.Errorf("simdb --help should list the analyst's commands and not bench:\n%s", r.stdout)
	}
	r = mustCLI(t, "bench", "--help")
	for _, flag := range []string{"--input", "--events", "--queries-on", "--only"} {
		if !strings.Contains(r.stdout, flag) {
			t.Errorf("bench --help does not mention %s", flag)
		}
	}
}
