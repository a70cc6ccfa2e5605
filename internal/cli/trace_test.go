package cli

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simcash/simdb"
)

// TestTraceFlagWritesRegions: --trace writes a Go execution trace of the
// command in which simdb's steps are named regions, the ones
// scripts/trace-regions.sh lists (BENCHMARKS.md reads an ingest's time from
// them), and the run is stored as it is without the flag.
func TestTraceFlagWritesRegions(t *testing.T) {
	dir := t.TempDir()
	stream, _ := genStream(t, dir, "tr", smallGen)
	db := filepath.Join(dir, "db.duckdb")
	out := filepath.Join(dir, "ingest.trace")
	mustCLI(t, "--trace", out, "--db", db, "ingest", "--sim", "tr", stream)
	if s := showJSON(t, db, "tr").Simulation; s.Status != "completed" || s.EventCount != int64(len(readStream(t, stream))) {
		t.Errorf("run ingested with --trace: status %s, %d events", s.Status, s.EventCount)
	}
	regions := []string{"simdb: store events", "simdb: build Arrow batches", "simdb: insert Arrow batches",
		"simdb: store summary counts", "simdb: commit", "simdb: checkpoint"}
	if simdb.EventWriter != "arrow" {
		regions = []string{"simdb: store events", "simdb: store summary counts", "simdb: commit", "simdb: checkpoint"}
	}
	data := readFile(t, out)
	for _, r := range regions {
		if !bytes.Contains(data, []byte(r)) {
			t.Errorf("the trace (%d bytes) has no region %q", len(data), r)
		}
	}

	listed, err := exec.Command("../../scripts/trace-regions.sh", out).CombinedOutput()
	if err != nil {
		t.Fatalf("trace-regions.sh: %v\n%s", err, listed)
	}
	for _, r := range regions {
		if !strings.Contains(string(listed), r) {
			t.Errorf("trace-regions.sh lists no region %q:\n%s", r, listed)
		}
	}

	wantFailure(t, cli(t, "--trace", filepath.Join(dir, "no-such-folder", "x.trace"), "--db", db, "list"), "--trace", "no-such-folder")
}
