package duckfile

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
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
