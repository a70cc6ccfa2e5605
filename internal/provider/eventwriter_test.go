package provider

import (
	"bytes"
	"context"
	"flag"
	"os"
	"time"

	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/simcash/simdb/internal/simgen"
	"github.com/simcash/simdb/internal/testutil"
)

// The Appender fills the stored columns by position, so eventColumns must be
// simulation_events' columns in table order after the generated event_id; a
// migration that adds, drops or reorders a column, or stores event_id again,
// without updating eventwriter.go fails here.
func TestEventColumnsMatchSchema(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "cols.duckdb"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cols := testutil.QueryStrings(t, ctx, s.sqlDB(),
		`SELECT column_name FROM duckdb_columns() WHERE table_name = 'simulation_events' ORDER BY column_index`)
	if want := append([]string{"event_id"}, eventColumns...); !slices.Equal(cols, want) {
		t.Fatalf("simulation_events columns\n  %v\nbut eventwriter.go appends\n  %v\nafter the generated event_id", cols, eventColumns)
	}
	var ddl string
	if err := s.sqlDB().QueryRowContext(ctx, `SELECT sql FROM duckdb_tables() WHERE table_name = 'simulation_events'`).Scan(&ddl); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ddl, "event_id VARCHAR GENERATED ALWAYS AS") {
		t.Fatalf("event_id is not a generated column, so the Appender would have to supply it:\n%s", ddl)
	}
}

var updateGolden = flag.Bool("update", false, "rewrite testdata/writer_rows.golden from this build's event writer")

// Both event writers — Arrow record batches (duckdb_arrow tag, what the
// Makefile builds) and the Appender (any other build) — must store the same
// rows. The test writes a generated stream with a fixed clock, in several
// groups, and compares every stored value of every row with
// testdata/writer_rows.golden; CI runs it in both builds, so both must
// reproduce the same file. The clock has nanoseconds so that the two
// writers' rounding to DuckDB's microseconds is compared too; it stands
// still, so every event_timestamp after the first comes from the run's
// floor: one microsecond after the event before it, whatever the group.
func TestEventWritersStoreTheSameRows(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2025, 1, 2, 3, 4, 5, 678901999, time.UTC)
	s, err := Open(ctx, filepath.Join(t.TempDir(), "rows.duckdb"), Options{FlushEvents: 300, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	o := simgen.Options{Agents: 5, Days: 2, TicksPerDay: 10, Seed: 7, EventsPerTick: 40}
	var stream bytes.Buffer
	if _, err := simgen.Write(&stream, o); err != nil {
		t.Fatal(err)
	}
	if err := s.PersistSimulationStart(ctx, "rows", simgen.Config(o), StartOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := s.IngestJSONL(ctx, "rows", &stream, IngestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var got string
	if err := s.sqlDB().QueryRowContext(ctx, `SELECT string_agg(CAST(e AS VARCHAR), chr(10) ORDER BY e.seq) FROM simulation_events AS e`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(got, "\n") + 1; int64(n) != res.Events || res.Events < 500 {
		t.Fatalf("%d rows stored, %d events ingested", n, res.Events)
	}
	// The rule, apart from the golden file: event i of the run is stamped
	// the (truncated) clock plus i µs.
	var off int64
	if err := s.sqlDB().QueryRowContext(ctx, `SELECT count(*) FROM simulation_events
		WHERE event_timestamp <> $1::TIMESTAMP + to_microseconds(seq)`, now.Truncate(time.Microsecond)).Scan(&off); err != nil {
		t.Fatal(err)
	}
	if off != 0 {
		t.Fatalf("%d events are not stamped the clock plus their seq in µs", off)
	}
	golden := filepath.Join("testdata", "writer_rows.golden")
	if *updateGolden {
		if err := os.WriteFile(golden, []byte(got+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got+"\n" != string(want) {
		gotLines, wantLines := strings.Split(got, "\n"), strings.Split(strings.TrimSuffix(string(want), "\n"), "\n")
		for i := range min(len(gotLines), len(wantLines)) {
			if gotLines[i] != wantLines[i] {
				t.Fatalf("the %s writer stored row %d differently:\n got %s\nwant %s", EventWriter, i, gotLines[i], wantLines[i])
			}
		}
		t.Fatalf("the %s writer stored %d rows, the golden file has %d", EventWriter, len(gotLines), len(wantLines))
	}
}
