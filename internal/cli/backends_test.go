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
	"time"

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
	dbs := [2]string{filepath.Join(dir, "db.duckdb"), pg}
	for _, db := range dbs {
		mustCLI(t, "--db", db, "ingest", "--sim", "same", "--config", config, stream)
	}
	if csv := sameExports(t, dir, "same", dbs); len(csv) < 1000 {
		t.Fatalf("the CSV export is %d bytes", len(csv))
	}
}

// Values that CSV and JSON text make hard export the same from PostgreSQL
// as from DuckDB (a PostgreSQL run's export passes through a CSV file that
// DuckDB reads): quotes, commas, backslashes and non-ASCII in details, ids
// and agent lists, newlines inside strings and between a line's tokens, an
// empty agent id beside a missing one, and details longer than DuckDB's
// default CSV line (2 MB); a run id with a backslash and quotes; and
// export files whose names hold a backslash.
func TestExportHardValuesSameOnEveryBackend(t *testing.T) {
	pg := testutil.PostgresURL(t) // skips without a server
	dir := t.TempDir()
	ctx := context.Background()
	// A server that reads backslashes in string literals as escapes (as
	// before PostgreSQL 9.1) exports the run the same.
	admin, err := sql.Open("pgx", pg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = admin.ExecContext(ctx, `DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET standard_conforming_strings = off', current_database()); END $$`)
	admin.Close()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
	long := strings.Repeat(`a \"b\", c; é`, 200_000)
	events := []json.RawMessage{
		json.RawMessage(`{"event_type":"Arrival","tick":0,"tx_id":"t,1 \"q\"","sender_id":"A \"x\", B","receiver_id":"é😀\\","amount":5}`),
		json.RawMessage(`{"event_type":"Note","tick":0,"agent_id":"","note":"line 1\nline 2, \\ \u0001"}`),
		json.RawMessage("{\"event_type\":\"Note\",\n \"tick\": 0,\r\n\t\"note\":\"between tokens\"}"),
		json.RawMessage(`{"event_type":"Long","tick":0,"note":"` + long + `"}`),
		json.RawMessage(`{"event_type":"EndOfDay","tick":0}`),
	}
	dbs := [2]string{filepath.Join(dir, "db.duckdb"), pg}
	const sim = `hard \ 'run'` // quoted in a PostgreSQL COPY statement
	for _, db := range dbs {
		s, err := simdb.Open(ctx, db, simdb.Options{Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.PersistSimulationStart(ctx, sim, nil, simdb.StartOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.PersistTickEvents(ctx, sim, 0, events); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	csv := sameExports(t, dir, sim, dbs)
	if rows := readCSV(t, string(csv)); len(rows) != len(events)+1 || !bytes.Contains(csv, []byte("2026-01-02 03:04:05.123456")) {
		t.Fatalf("the CSV export has %d rows (want %d) or not the clock's time:\n%.500s", len(rows), len(events)+1, csv)
	}
}

// sameExports exports sim as CSV and as Parquet from the DuckDB file and
// the PostgreSQL database of dbs, fails t unless the CSV files are the same
// bytes and the Parquet files the same rows, and returns the CSV.
func sameExports(t *testing.T, dir, sim string, dbs [2]string) []byte {
	t.Helper()
	var csvs [][]byte
	var pqs []string
	for i, db := range dbs {
		out := filepath.Join(dir, fmt.Sprintf(`export\%d`, i)) // a backslash in a file name is no separator
		mustCLI(t, "--db", db, "export", sim, "--format", "csv", "--out", out+".csv")
		mustCLI(t, "--db", db, "export", sim, "--format", "parquet", "--out", out+".parquet")
		csvs, pqs = append(csvs, readFile(t, out+".csv")), append(pqs, out+".parquet")
	}
	if !bytes.Equal(csvs[0], csvs[1]) {
		t.Fatalf("CSV exports of %s differ at byte %d (DuckDB %d bytes, PostgreSQL %d)", sim, firstDiff(csvs[0], csvs[1]), len(csvs[0]), len(csvs[1]))
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
		t.Fatalf("Parquet exports of %s differ in %d rows (%v)", sim, differ, err)
	}
	return csvs[0]
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
