package cli

import (
	"bytes"
	"path/filepath"
	"testing"
)

// Tests for the hostile-input audit's findings (issue 19): each fails on
// the code before its fix.

// An existing file that is not a DuckDB database is refused by every
// command, whatever its extension, and left as it was. ingest used to
// report success and store nothing (DuckDB read runs.jsonl as JSON and ran
// on an in-memory database).
func TestNotADuckDBFileAsDB(t *testing.T) {
	dir := t.TempDir()
	stream, _ := genStream(t, dir, "s", smallGen)
	for name, data := range map[string][]byte{
		"runs.jsonl":   readFile(t, stream),
		"runs.json":    []byte(`{"ticks_per_day":10}`),
		"runs.csv":     []byte("a,b\n1,2\n"),
		"runs.parquet": []byte("PAR1\x15\x04\x15\x10\x15\x14L\x15\x02\x15\x00PAR1"),
		"empty.duckdb": nil,
	} {
		db := writeFile(t, filepath.Join(dir, name), data)
		for _, args := range [][]string{
			{"ingest", "--sim", "z", "--ticks-per-day", "10", stream},
			{"list"}, {"show", "z"}, {"events", "z"}, {"recover"},
			{"export", "z", "--format", "jsonl", "--out", filepath.Join(dir, "out.jsonl")},
			{"diff", "a", "b"},
		} {
			r := cli(t, append([]string{"--db", db}, args...)...)
			wantFailure(t, r, db, "not a DuckDB database file")
			if got := readFile(t, db); !bytes.Equal(got, data) {
				t.Fatalf("%s %v changed the file", name, args)
			}
		}
	}
}
