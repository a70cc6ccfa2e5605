package cli

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/testutil"
)

// testBackend is a database the CLI's tests run against.
type testBackend struct {
	name string
	// skip says why the backend cannot run here ("" when it can).
	skip func() string
	// database returns a new database for t: file (a DuckDB path in the
	// test's folder), or a fresh PostgreSQL database's URL.
	database func(t *testing.T, file string) string
}

// testBackends are the databases simdb runs on. Every test runs on the
// first; TestCLIBackends runs the tests of onEveryBackend on the others.
var testBackends = []testBackend{
	{
		name:     "duckdb",
		skip:     func() string { return "" },
		database: func(_ *testing.T, file string) string { return file },
	},
	{
		name: "postgres",
		skip: func() string {
			if os.Getenv(testutil.PostgresEnv) == "" {
				return testutil.PostgresEnv + " is not set: the PostgreSQL backend is not tested (make test starts a throwaway server)"
			}
			return ""
		},
		database: func(t *testing.T, _ string) string { return testutil.PostgresURL(t) },
	},
}

// backendOf is the backend t runs on: the one TestCLIBackends named in its
// path, else the default.
func backendOf(t *testing.T) testBackend {
	for _, be := range testBackends[1:] {
		if strings.HasPrefix(t.Name(), "TestCLIBackends/"+be.name+"/") {
			return be
		}
	}
	return testBackends[0]
}

// onEveryBackend: the corpus round trip (ingest, export jsonl byte for
// byte, parquet, csv) with its database on the backend, diff with --db-b
// on it, so that runs are compared across backends, and the writer leases
// and idempotent resume of issue 14.
var onEveryBackend = []struct {
	name string
	test func(*testing.T)
}{
	{"RoundTripCorpus", TestRoundTripCorpus},
	{"Diff", TestDiff},
	{"Export", TestExport},
	{"LeaseKilledWriter", TestLeaseKilledWriter},
	{"ResumeCompletedRun", TestResumeCompletedRun},
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
		UNION ALL (SELECT * FROM read_parquet(%[2]s) EXCEPT ALL SELECT * FROM read_parquet(%[1]s)))`, sqlString(pqs[0]), sqlString(pqs[1]))
	if err := db.QueryRow(q).Scan(&differ); err != nil || differ != 0 {
		t.Fatalf("Parquet exports differ in %d rows (%v)", differ, err)
	}
}

func TestCLIBackends(t *testing.T) {
	for _, be := range testBackends[1:] {
		t.Run(be.name, func(t *testing.T) {
			if why := be.skip(); why != "" {
				t.Skip(why)
			}
			for _, tc := range onEveryBackend {
				t.Run(tc.name, tc.test)
			}
		})
	}
}

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
