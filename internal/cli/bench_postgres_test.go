package cli

import (
	"context"
	"encoding/json"
	"runtime/debug"
	"slices"
	"testing"

	"github.com/simcash/simdb/internal/pgdb"
	"github.com/simcash/simdb/internal/testutil"
)

// bench --postgres reports each pg-* step's own CPU (not the CPU since the
// first step: the steps' CPU adds up to no more than the run used), the
// server's CPU when the server runs on this machine, and the ratios the
// issue asks for; it gives the process its memory limit back afterwards.
// Like TestBenchReportsEveryStep it runs without -race in make test's
// corpus step: the steps run one after another, and -race would only
// multiply the CPU they measure.
func TestBenchPostgresStepsReportTheirOwnCPU(t *testing.T) {
	testutil.SkipUnderMakeRace(t, "bench's pg steps, one after another")
	dsn := testutil.PostgresURL(t)
	limit := debug.SetMemoryLimit(-1)
	before := processCPU()
	r := mustCLI(t, "bench", "--events", "3000", "--format", "json", "--only", "pg", "--row-insert-sample", "500", "--postgres", dsn)
	used := (processCPU() - before).Seconds()
	if got := debug.SetMemoryLimit(-1); got != limit {
		t.Errorf("memory limit %d after bench, %d before", got, limit)
	}
	var rep benchReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("bench --format json: %v\n%s", err, r)
	}
	var names []string
	sum := 0.0
	for _, res := range rep.Results {
		names = append(names, res.Name)
		sum += res.CPUSeconds
		if res.CPUSeconds <= 0 || res.EventsPerSec <= 0 {
			t.Errorf("%s: %.3f CPU seconds, %.0f events/s", res.Name, res.CPUSeconds, res.EventsPerSec)
		}
	}
	if want := []string{"ingest", "pg-ingest", "pg-provider", "pg-copy", "pg-row-insert"}; !slices.Equal(names, want) {
		t.Fatalf("steps %v, want %v", names, want)
	}
	// Counted from one mark, the last steps' CPU would include the first
	// steps' and the sum would exceed what the whole run used.
	if sum > used*1.05+0.05 {
		t.Errorf("the steps' CPU adds up to %.3f s, but the run used %.3f s: a step counts another's", sum, used)
	}
	for _, k := range []string{"pg_provider_vs_pg_copy", "pg_ingest_vs_pg_copy", "pg_provider_vs_pg_row_insert"} {
		if rep.Ratios[k] <= 0 {
			t.Errorf("ratio %s = %v", k, rep.Ratios[k])
		}
	}

	admin, err := pgdb.Open(context.Background(), dsn, pgdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if pgServerCPU(context.Background(), admin) == nil {
		t.Log("the server's CPU is not readable from here (another machine, or another user's processes): not checked")
		return
	}
	for _, res := range rep.Results[1:] {
		if res.ServerCPUSeconds == nil || res.ServerCPUMicrosPerEvent == nil || *res.ServerCPUSeconds < 0 {
			t.Errorf("%s: server CPU %v, want it measured", res.Name, res.ServerCPUSeconds)
		}
	}
	if rep.Results[0].ServerCPUSeconds != nil {
		t.Errorf("DuckDB's ingest reports a server CPU")
	}
}
