package cli

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/duckfile"
	"github.com/simcash/simdb/internal/testutil"
)

// TestRoundTripGenerated: ingest then export --format jsonl gives back the
// input byte for byte, for generated streams of several shapes, plain and
// gzip. Whether the file is compressed is orthogonal to the shape, so the
// shapes take the two in turn (every corpus test ingests gzip files too).
func TestRoundTripGenerated(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "db.duckdb")
	specs := []genSpec{
		{agents: 2, days: 1, ticksPerDay: 3, eventsPerTick: 1, seed: 0},
		{agents: 4, days: 3, ticksPerDay: 10, eventsPerTick: 25, seed: -7},
		{agents: 12, days: 2, ticksPerDay: 40, eventsPerTick: 60, seed: 123456789},
		{agents: 101, days: 1, ticksPerDay: 20, eventsPerTick: 200, seed: 5},
	}
	for i, g := range specs {
		t.Run(fmt.Sprintf("gen-%d", i), func(t *testing.T) {
			stream, config := genStream(t, dir, fmt.Sprintf("rt%d", i), g)
			plain := readFile(t, stream)
			in := stream
			if i%2 == 1 {
				in = writeFile(t, filepath.Join(dir, fmt.Sprintf("rt%d-gz.jsonl.gz", i)), gzipBytes(t, plain))
			}
			sim := baseID(in)
			mustCLI(t, "--db", db, "ingest", "--config", config, in)
			out := filepath.Join(dir, sim+".out.jsonl")
			r := mustCLI(t, "--db", db, "export", sim, "--format", "jsonl", "--out", out)
			if want := fmt.Sprintf("exported %d events of %q to %s (jsonl)\n", bytes.Count(plain, []byte("\n")), sim, out); r.stdout != want {
				t.Errorf("export stdout %q, want %q", r.stdout, want)
			}
			if got := readFile(t, out); !bytes.Equal(got, plain) {
				t.Errorf("%s: exported %d bytes differ from the %d input bytes at byte %d", in, len(got), len(plain), firstDiff(got, plain))
			}
		})
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestRoundTripCorpus ingests every stream of $SIMDB_CORPUS and exports it
// as jsonl: the bytes equal the decompressed input. Parquet and CSV exports
// hold every event. The large stream (1.1M events) is skipped under -short.
// On DuckDB the three named streams are read from the shared corpusDB file
// (TestCopyCorpus's source, ingested with the same flags).
func TestRoundTripCorpus(t *testing.T) {
	t.Parallel()
	testutil.CorpusFile(t, "small.jsonl.gz") // skips without $SIMDB_CORPUS
	files, err := filepath.Glob(filepath.Join(os.Getenv("SIMDB_CORPUS"), "*.jsonl.gz"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"small", "medium", "large"} {
		if !slices.Contains(files, testutil.CorpusFile(t, name+".jsonl.gz")) {
			t.Fatalf("%s.jsonl.gz is not among %v", name, files)
		}
	}
	for _, file := range files {
		name := baseID(file)
		if name == "large" && backendOf(t).Name != "duckdb" {
			// TestCopyCorpus stores the large stream on PostgreSQL through
			// the same writer and checks both exports from there.
			continue
		}
		t.Run(name, func(t *testing.T) {
			if name == "large" && testing.Short() {
				t.Skip("large stream skipped under -short")
			}
			dir := t.TempDir()
			db := backendOf(t).Database(t, filepath.Join(dir, "db.duckdb"))
			args := []string{"--db", db, "ingest", "--ticks-per-day", "100", file}
			var meta struct {
				EventCount int64 `json:"event_count"`
				Ticks      int   `json:"ticks"`
			}
			metaFile := strings.TrimSuffix(file, ".jsonl.gz") + ".meta.json"
			if data, err := os.ReadFile(metaFile); err == nil {
				if err := json.Unmarshal(data, &meta); err != nil {
					t.Fatal(err)
				}
				args = append(args[:len(args)-1], "--metrics", metaFile, file)
			}
			var ingested string
			if backendOf(t).Name == "duckdb" && slices.Contains([]string{"small", "medium", "large"}, name) {
				// The same ingest (same flags) as TestCopyCorpus's source:
				// done once per process, into a file both read.
				db, ingested = corpusDB(t, name)
			} else {
				ingested = mustCLI(t, args...).stdout
			}
			if meta.EventCount > 0 && !ingestLineRE(int(meta.EventCount), meta.Ticks, name).MatchString(ingested) {
				t.Errorf("ingest stdout %q, want %d events in %d ticks", ingested, meta.EventCount, meta.Ticks)
			}
			out := filepath.Join(dir, name+".jsonl")
			mustCLI(t, "--db", db, "export", name, "--format", "jsonl", "--out", out)
			n := sameAsGunzipped(t, out, file)
			if meta.EventCount > 0 && n != meta.EventCount {
				t.Errorf("%d lines, the meta file says %d events", n, meta.EventCount)
			}
			pq := filepath.Join(dir, name+".parquet")
			mustCLI(t, "--db", db, "export", name, "--format", "parquet", "--out", pq)
			if got := parquetCount(t, pq); got != n {
				t.Errorf("parquet holds %d rows, want %d", got, n)
			}
			if name != "large" {
				csvPath := filepath.Join(dir, name+".csv")
				mustCLI(t, "--db", db, "export", name, "--format", "csv", "--out", csvPath)
				if got := len(readCSV(t, string(readFile(t, csvPath)))) - 1; int64(got) != n {
					t.Errorf("csv holds %d rows, want %d", got, n)
				}
			}
		})
	}
}

// sameAsGunzipped compares a file with a gzip file's content, streaming,
// and returns its number of lines.
func sameAsGunzipped(t *testing.T, path, gzPath string) int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a, b := bufio.NewReaderSize(f, 1<<20), bufio.NewReaderSize(testutil.OpenGzip(t, gzPath), 1<<20)
	var lines, offset int64
	bufA, bufB := make([]byte, 1<<16), make([]byte, 1<<16)
	for {
		na, errA := io.ReadFull(a, bufA)
		nb, errB := io.ReadFull(b, bufB)
		if !bytes.Equal(bufA[:na], bufB[:nb]) {
			i := firstDiff(bufA[:na], bufB[:nb])
			t.Fatalf("%s differs from the decompressed %s at byte %d (line %d)", path, gzPath, offset+int64(i), lines+int64(bytes.Count(bufA[:i], []byte("\n")))+1)
		}
		lines += int64(bytes.Count(bufA[:na], []byte("\n")))
		offset += int64(na)
		if errA != nil || errB != nil {
			if (errA == io.EOF || errA == io.ErrUnexpectedEOF) && (errB == io.EOF || errB == io.ErrUnexpectedEOF) {
				return lines
			}
			t.Fatalf("reading: %v / %v", errA, errB)
		}
	}
}

// parquetCount reads a Parquet file of events back through DuckDB and
// returns how many rows it holds; it fails t unless they are in (tick, seq)
// order in the file, as every export writes them.
func parquetCount(t *testing.T, path string) int64 {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n, unordered int64
	q := fmt.Sprintf(`SELECT count(*), count(*) FILTER (WHERE (tick, seq) <= (prev_tick, prev_seq)) FROM (
		SELECT tick, seq, lag(tick, 1, -1) OVER w AS prev_tick, lag(seq, 1, -1) OVER w AS prev_seq
		FROM read_parquet(%s, file_row_number = true) WINDOW w AS (ORDER BY file_row_number))`, duckfile.StringLiteral(path))
	if err := db.QueryRowContext(context.Background(), q).Scan(&n, &unordered); err != nil {
		t.Fatal(err)
	}
	if unordered != 0 {
		t.Errorf("%s: %d of %d rows come after a row with a later (tick, seq)", path, unordered, n)
	}
	return n
}

func TestExport(t *testing.T) {
	dir := t.TempDir()
	stream, config := genStream(t, dir, "ex", genSpec{agents: 5, days: 2, ticksPerDay: 10, eventsPerTick: 30, seed: 8})
	src := readStream(t, stream)
	n := len(src)
	db := backendOf(t).Database(t, filepath.Join(dir, "db.duckdb"))
	mustCLI(t, "--db", db, "ingest", "--sim", "it's", "--config", config, stream) // a quote in the id
	wantCols := simdb.ExportColumns()

	t.Run("parquet", func(t *testing.T) {
		out := filepath.Join(dir, "o'dd.parquet") // a quote in the path
		r := mustCLI(t, "--db", db, "export", "it's", "--format", "parquet", "--out", out)
		if want := fmt.Sprintf("exported %d events of %q to %s (parquet)\n", n, "it's", out); r.stdout != want || r.stderr != "" {
			t.Errorf("export: %s", r)
		}
		if got := parquetCount(t, out); got != int64(n) {
			t.Fatalf("read_parquet count %d, want %d", got, n)
		}
		pdb, err := sql.Open("duckdb", "")
		if err != nil {
			t.Fatal(err)
		}
		defer pdb.Close()
		rows, err := pdb.Query(fmt.Sprintf(`SELECT * FROM read_parquet(%s)`, duckfile.StringLiteral(out)))
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(cols, wantCols) {
			t.Errorf("parquet columns %v, want %v", cols, wantCols)
		}
		rows.Close()
		var i int
		q := fmt.Sprintf(`SELECT event_id, simulation_id, seq, tick, day, event_type FROM read_parquet(%s)`, duckfile.StringLiteral(out))
		rows, err = pdb.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for ; rows.Next(); i++ {
			var id, sim, typ string
			var seq, tick, day int64
			if err := rows.Scan(&id, &sim, &seq, &tick, &day, &typ); err != nil {
				t.Fatal(err)
			}
			if id != fmt.Sprintf("it's:%d", i) || sim != "it's" || seq != int64(i) || tick != src[i].tick || day != src[i].tick/10 || typ != src[i].typ {
				t.Fatalf("parquet row %d: %s %s %d %d %d %s", i, id, sim, seq, tick, day, typ)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		noPartial(t, dir)
	})
	t.Run("csv", func(t *testing.T) {
		out := filepath.Join(dir, "ex.csv")
		r := mustCLI(t, "--db", db, "export", "it's", "--format", "csv", "--out", out)
		if want := fmt.Sprintf("exported %d events of %q to %s (csv)\n", n, "it's", out); r.stdout != want {
			t.Errorf("export stdout %q", r.stdout)
		}
		recs := readCSV(t, string(readFile(t, out)))
		if len(recs) != n+1 || !slices.Equal(recs[0], wantCols) {
			t.Fatalf("csv: %d records, header %v", len(recs), recs[0])
		}
		for i, rec := range recs[1:] {
			if rec[0] != fmt.Sprintf("it's:%d", i) || rec[2] != fmt.Sprint(i) || rec[3] != fmt.Sprint(src[i].tick) || rec[6] != src[i].typ || !json.Valid([]byte(rec[7])) {
				t.Fatalf("csv row %d: %v", i, rec)
			}
		}
		noPartial(t, dir)
	})
	t.Run("jsonl", func(t *testing.T) {
		out := filepath.Join(dir, "ex.jsonl")
		writeFile(t, out, []byte("old content, replaced\n"))
		// An existing file is kept unless --force says to replace it.
		wantFailure(t, cli(t, "--db", db, "export", "it's", "--format", "jsonl", "--out", out), out, "already exists", "--force")
		if got := string(readFile(t, out)); got != "old content, replaced\n" {
			t.Fatalf("a refused export changed the file: %q", got)
		}
		mustCLI(t, "--db", db, "export", "it's", "--format", "jsonl", "--out", out, "--force")
		if !bytes.Equal(readFile(t, out), readFile(t, stream)) {
			t.Error("jsonl export differs from the input")
		}
		noPartial(t, dir)
	})
	t.Run("failures", func(t *testing.T) {
		for _, format := range []string{"parquet", "csv", "jsonl"} {
			out := filepath.Join(dir, "no", "such", "dir", "x."+format)
			wantFailure(t, cli(t, "--db", db, "export", "it's", "--format", format, "--out", out), "no/such/dir")
		}
		noPartial(t, dir)
	})
	t.Run("empty-run", func(t *testing.T) {
		empty := writeFile(t, filepath.Join(dir, "empty.jsonl"), nil)
		mustCLI(t, "--db", db, "ingest", "--ticks-per-day", "10", "--allow-empty", empty)
		for _, format := range []string{"parquet", "csv", "jsonl"} {
			out := filepath.Join(dir, "empty-out."+format)
			r := mustCLI(t, "--db", db, "export", "empty", "--format", format, "--out", out)
			if !strings.HasPrefix(r.stdout, "exported 0 events") {
				t.Errorf("%s: %q", format, r.stdout)
			}
			switch format {
			case "parquet":
				if c := parquetCount(t, out); c != 0 {
					t.Errorf("empty parquet has %d rows", c)
				}
			case "csv":
				if recs := readCSV(t, string(readFile(t, out))); len(recs) != 1 {
					t.Errorf("empty csv: %v", recs)
				}
			case "jsonl":
				if len(readFile(t, out)) != 0 {
					t.Error("empty jsonl is not empty")
				}
			}
		}
	})
}

// noPartial checks that no temporary export file is left behind.
func noPartial(t *testing.T, dir string) {
	t.Helper()
	left, err := filepath.Glob(filepath.Join(dir, ".*.partial"))
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("export left %v", left)
	}
}
