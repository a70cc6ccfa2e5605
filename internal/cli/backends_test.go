package cli

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/duckfile"
	"github.com/simcash/simdb/internal/testutil"
)

// backendOf is the backend t runs on: the one TestCLIBackends named in its
// path, else the default (DuckDB).
func backendOf(t *testing.T) testutil.Backend { return testutil.BackendOf(t, "TestCLIBackends") }

// onEveryBackend: the corpus round trip (ingest, export jsonl byte for
// byte, parquet, csv) with its database on the backend, diff with --db-b
// on it, so that runs are compared across backends, serve, copy, and the
// writer leases and idempotent resume of issue 14.
var onEveryBackend = []testutil.BackendTest{
	{Name: "RoundTripCorpus", Test: TestRoundTripCorpus},
	{Name: "Diff", Test: TestDiff},
	{Name: "Export", Test: TestExport},
	{Name: "ServeJSONLEqualsExport", Test: TestServeJSONLEqualsExport},
	{Name: "Copy", Test: TestCopy},
	{Name: "LeaseKilledWriter", Test: TestLeaseKilledWriter},
	{Name: "ResumeCompletedRun", Test: TestResumeCompletedRun},
}

// The same stream ingested into DuckDB and into PostgreSQL (same clock)
// exports as the same CSV, byte for byte, and the same Parquet rows: the
// PostgreSQL export goes through DuckDB's COPY too.
func TestExportSameOnEveryBackend(t *testing.T) {
	dir := t.TempDir()
	stream, config := genStream(t, dir, "same", genSpec{agents: 5, days: 2, ticksPerDay: 10, eventsPerTick: 30, seed: 3})
	pg := testutil.PostgresURL(t) // skips without a server
	var csvs [][]byte
	var pqs []string
	for i, db := range []string{filepath.Join(dir, "db.duckdb"), pg} {
		mustCLI(t, "--db", db, "ingest", "--sim", "same", "--config", config, stream)
		out := filepath.Join(dir, fmt.Sprintf("same%d", i))
		mustCLI(t, "--db", db, "export", "same", "--format", "csv", "--out", out+".csv")
		mustCLI(t, "--db", db, "export", "same", "--format", "parquet", "--out", out+".parquet")
		csvs, pqs = append(csvs, readFile(t, out+".csv")), append(pqs, out+".parquet")
	}
	if !bytes.Equal(csvs[0], csvs[1]) || len(csvs[0]) < 1000 {
		t.Fatalf("CSV exports differ at byte %d (DuckDB %d bytes, PostgreSQL %d)", firstDiff(csvs[0], csvs[1]), len(csvs[0]), len(csvs[1]))
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var differ int64
	q := fmt.Sprintf(`SELECT count(*) FROM ((SELECT * FROM read_parquet(%[1]s) EXCEPT ALL SELECT * FROM read_parquet(%[2]s))
		UNION ALL (SELECT * FROM read_parquet(%[2]s) EXCEPT ALL SELECT * FROM read_parquet(%[1]s)))`, duckfile.StringLiteral(pqs[0]), duckfile.StringLiteral(pqs[1]))
	if err := db.QueryRow(q).Scan(&differ); err != nil || differ != 0 {
		t.Fatalf("Parquet exports differ in %d rows (%v)", differ, err)
	}
}

// TestCLIBackends runs onEveryBackend on every backend but the default.
func TestCLIBackends(t *testing.T) { testutil.RunOnBackends(t, onEveryBackend) }

// On PostgreSQL an ingest of a run another process is writing stops at
// once with exit 1 and a message naming the run, stores nothing and does
// not mark the other writer's run failed; an ingest of an id that exists
// stops at its start. The other writer's run stays whole.
func TestIngestOfARunBeingWritten(t *testing.T) {
	dsn := testutil.PostgresURL(t)
	dir := t.TempDir()
	stream, config := genStream(t, dir, "busy", genSpec{agents: 4, days: 1, ticksPerDay: 10, eventsPerTick: 20, seed: 5})
	ctx := context.Background()
	writer, err := simdb.Open(ctx, dsn, simdb.Options{Durability: simdb.Durable})
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	if err := writer.PersistSimulationStart(ctx, "busy", readFile(t, config), simdb.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	tick0 := []json.RawMessage{json.RawMessage(`{"event_type":"EndOfDay","tick":0}`)}
	if _, err := writer.PersistTickEvents(ctx, "busy", 0, tick0); err != nil {
		t.Fatal(err)
	}
	r := cli(t, "--db", dsn, "ingest", "--sim", "busy", "--resume", "--config", config, stream)
	if r.code != exitFailure || !strings.Contains(r.stderr, `simulation "busy"`) || !strings.Contains(r.stderr, "another writer") {
		t.Fatalf("ingest --resume of a run being written: %s", r)
	}
	r = cli(t, "--db", dsn, "ingest", "--sim", "busy", "--config", config, stream)
	if r.code != exitFailure || !strings.Contains(r.stderr, `"busy" already exists`) {
		t.Fatalf("ingest of an existing id: %s", r)
	}
	if err := writer.PersistSimulationComplete(ctx, "busy", simdb.Metrics{}); err != nil {
		t.Fatalf("the first writer after the others: %v", err)
	}
	sum, err := writer.GetSimulationSummary(ctx, "busy")
	if err != nil || sum.Status != "completed" || sum.EventCount != 1 {
		t.Fatalf("run %+v, %v", sum.Simulation, err)
	}
}
