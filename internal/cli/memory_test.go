package cli

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simcash/simdb/internal/testutil"
)

// A valid line of 10 MB ingests under ingest's default memory limit (32MB)
// and under a limit smaller than the line: the group that runs out of
// memory is retried under a doubled limit. Before, the commit failed with
// DuckDB's "could not allocate block of size 10.0 MiB", without a
// FILE:LINE, and left the run running.
//
// One ingest at a time of a 10 MB line: -race finds nothing here that the
// race step's other ingest tests and the provider's retry and reopen tests
// (TestOutOfMemoryGroupIsRetriedUnderMoreMemory,
// TestInvalidatedDatabaseIsReopened) do not reach, and takes several times
// the time, so make test runs it in its corpus step, without -race.
func TestIngestHugeLine(t *testing.T) {
	testutil.SkipUnderMakeRace(t, "one ingest at a time of a 10 MB line")
	t.Parallel()
	for _, limit := range []string{"", "8MB"} {
		t.Run("memory-limit="+limit, func(t *testing.T) { ingestHugeLine(t, limit) })
	}
}

func ingestHugeLine(t *testing.T, memoryLimit string) {
	dir := t.TempDir()
	var in bytes.Buffer
	// 40,000 events in the same commit group as the huge one.
	for tick := range 3 {
		for i := range 40_000 / 3 {
			fmt.Fprintf(&in, `{"event_type":"Arrival","tick":%d,"tx_id":"a%d-%d","sender_id":"A","receiver_id":"B","amount":%d}`+"\n", tick, tick, i, i)
		}
	}
	note := strings.Repeat("n", 10<<20)
	fmt.Fprintf(&in, `{"event_type":"ScenarioNote","tick":3,"note":"%s"}`+"\n", note)
	fmt.Fprintf(&in, `{"event_type":"Arrival","tick":4,"tx_id":"a4","sender_id":"A","receiver_id":"B","amount":1}`+"\n")
	stream := writeFile(t, filepath.Join(dir, "huge.jsonl"), in.Bytes())
	db := filepath.Join(dir, "db.duckdb")
	args := []string{"--db", db, "ingest", "--sim", "huge", "--ticks-per-day", "10", stream}
	if memoryLimit != "" {
		args = append([]string{"--memory-limit", memoryLimit}, args...)
	}
	r := mustCLI(t, args...)
	if want := 3*(40_000/3) + 2; !ingestLineRE(want, 5, "huge").MatchString(r.stdout) {
		t.Fatalf("ingest stdout %q, want %d events in 5 ticks", r.stdout, want)
	}
	out := filepath.Join(dir, "out.jsonl")
	mustCLI(t, "--db", db, "export", "huge", "--format", "jsonl", "--out", out)
	if got := readFile(t, out); !bytes.Equal(got, in.Bytes()) {
		t.Fatalf("export gives %d bytes, want the %d ingested", len(got), in.Len())
	}
}

// Under a memory limit far below what its commits need (1MB, and a 40 MB
// line), an ingest still completes: every group that runs out of memory is
// retried on the file reopened under a doubled limit, and the run equals
// the same stream ingested under the defaults. Like TestIngestHugeLine it
// runs without -race in make test's corpus step (one ingest at a time over
// a 40 MB line).
func TestIngestUnderTinyMemoryLimit(t *testing.T) {
	testutil.SkipUnderMakeRace(t, "one ingest at a time of a 40 MB line")
	t.Parallel()
	dir := t.TempDir()
	var in bytes.Buffer
	for tick := range 40 {
		for i := range 50 {
			fmt.Fprintf(&in, `{"event_type":"Arrival","tick":%d,"tx_id":"a%d-%d","sender_id":"A","receiver_id":"B","amount":%d}`+"\n", tick, tick, i, i)
		}
	}
	fmt.Fprintf(&in, `{"event_type":"ScenarioNote","tick":40,"note":"%s"}`+"\n", strings.Repeat("n", 40<<20))
	fmt.Fprintf(&in, `{"event_type":"Arrival","tick":41,"tx_id":"last","sender_id":"A","receiver_id":"B","amount":1}`+"\n")
	stream := writeFile(t, filepath.Join(dir, "oom.jsonl"), in.Bytes())
	db := filepath.Join(dir, "db.duckdb")
	// Migrated under the defaults: 1MB is too little for the migrations.
	first := bytes.Join(bytes.SplitAfter(in.Bytes(), []byte("\n"))[:100], nil)
	mustCLI(t, "--db", db, "ingest", "--sim", "first", writeFile(t, filepath.Join(dir, "first.jsonl"), first))

	mustCLI(t, "--db", db, "--memory-limit", "1MB", "ingest", "--sim", "tiny", "--flush-events", "500", stream)
	mustCLI(t, "--db", db, "ingest", "--sim", "clean", stream)
	if r := mustCLI(t, "--db", db, "diff", "tiny", "clean"); !strings.HasPrefix(r.stdout, "identical") {
		t.Fatalf("diff: %s", r)
	}
}
