package duckfile

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// A new database appears at its path only complete: Open creates it under
// a temporary name and links it into place, so nothing but the finished
// file (and no temporary file) is left, and a temporary file an earlier
// process was killed with does not get in the way.
func TestOpenCreatesTheFileWhole(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "new.duckdb")
	stale := path + ".creating-" + strconv.Itoa(os.Getpid())
	if err := os.WriteFile(stale, []byte("half a header"), 0o644); err != nil {
		t.Fatal(err)
	}
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE t AS SELECT 42 AS x`); err != nil {
		t.Fatal(err)
	}
	// Files opened for writing do not checkpoint on shutdown (a writer
	// checkpoints before it closes, as Store.Close does).
	if err := Checkpoint(ctx, db, path, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "new.duckdb" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("directory holds %v, want only new.duckdb", names)
	}
	// An existing database is opened as it is, never replaced.
	db, err = Open(ctx, path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var x int
	if err := db.QueryRowContext(ctx, `SELECT x FROM t`).Scan(&x); err != nil || x != 42 {
		t.Fatalf("reopened database: x = %d, err = %v", x, err)
	}
}

// A file that is not a DuckDB database is refused before DuckDB reads or
// writes it, whatever its name: DuckDB's ATTACH picks a reader by extension
// and used to run an ingest on an in-memory database, leaving the file as
// it was and reporting success.
func TestOpenRefusesFilesThatAreNotDuckDB(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	files := map[string][]byte{
		"runs.jsonl":   []byte(`{"event_type":"Arrival","tick":0}` + "\n"),
		"runs.json":    []byte(`{"ticks_per_day":100}`),
		"runs.csv":     []byte("a,b\n1,2\n"),
		"runs.parquet": []byte("PAR1\x15\x04\x15\x10\x15\x14L\x15\x02\x15\x00PAR1"),
		"runs.duckdb":  []byte("not a database at all, but long enough"),
		"empty.duckdb": nil,
		"empty.jsonl":  nil,
		"short.duckdb": []byte("DUCK"),
	}
	for name, data := range files {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, ro := range []bool{false, true} {
			db, err := Open(ctx, path, Options{ReadOnly: ro})
			if err == nil {
				db.Close()
				t.Fatalf("%s (read-only %v): opened", name, ro)
			}
			if !errors.Is(err, ErrNotDatabase) || !strings.Contains(err.Error(), path) {
				t.Errorf("%s (read-only %v): err = %v, want ErrNotDatabase naming the file", name, ro, err)
			}
			if got, _ := os.ReadFile(path); !bytes.Equal(got, data) {
				t.Errorf("%s: the file changed: %q", name, got)
			}
		}
	}
	sub := filepath.Join(dir, "folder.duckdb")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, sub, Options{}); !errors.Is(err, ErrNotDatabase) || !strings.Contains(err.Error(), "directory") {
		t.Errorf("a directory: err = %v", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(files)+1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("the refused opens left files behind: %v", names)
	}

	// A new file is a DuckDB database whatever its extension, and what is
	// written to it is in the file.
	for _, name := range []string{"new.jsonl", "new.csv", "new.parquet"} {
		path := filepath.Join(dir, name)
		db, err := Open(ctx, path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `CREATE TABLE t AS SELECT 7 AS x`); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		db, err = Open(ctx, path, Options{ReadOnly: true})
		if err != nil {
			t.Fatalf("%s: reopen: %v", name, err)
		}
		var x int
		if err := db.QueryRowContext(ctx, `SELECT x FROM t`).Scan(&x); err != nil || x != 7 {
			t.Errorf("%s: x = %d, err = %v: the data did not reach the file", name, x, err)
		}
		db.Close()
	}
}
