package migrate_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/pressly/goose/v3"
	"github.com/simcash/simdb/db"
	"github.com/simcash/simdb/internal/duckfile"
	"github.com/simcash/simdb/internal/migrate"
)

func openDB(t *testing.T) *sql.DB {
	t.Helper()
	d, err := duckfile.Open(context.Background(), filepath.Join(t.TempDir(), "m.duckdb"), duckfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// schema describes every user table and column with its type, nullability
// and default, plus constraints and indexes, in a stable order.
func schema(t *testing.T, d *sql.DB) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		`SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable::VARCHAR || ' ' || coalesce(column_default, '')
		   FROM duckdb_columns() WHERE table_name IN (SELECT table_name FROM duckdb_tables() WHERE NOT internal)
		    AND table_name <> 'goose_db_version' ORDER BY table_name, column_index`,
		`SELECT table_name || ' ' || constraint_type || ' ' || coalesce(constraint_text, '')
		   FROM duckdb_constraints() WHERE schema_name = 'main' AND table_name <> 'goose_db_version' ORDER BY ALL`,
		`SELECT index_name || ' ' || table_name FROM duckdb_indexes() ORDER BY ALL`,
	} {
		rows, err := d.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			b.WriteString(s + "\n")
		}
		rows.Close()
	}
	return b.String()
}

func TestUpDownUpLeavesSameSchema(t *testing.T) {
	ctx := context.Background()
	d := openDB(t)
	m, err := migrate.New(d, db.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	first := schema(t, d)
	if !strings.Contains(first, "simulations.experiment_run_id VARCHAR") || !strings.Contains(first, "simulation_events.seq BIGINT") {
		t.Fatalf("schema after up:\n%s", first)
	}
	if _, err := m.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if left := schema(t, d); left != "" {
		t.Fatalf("reset left:\n%s", left)
	}
	if v, _ := m.Version(ctx); v != 0 {
		t.Fatalf("version after reset = %d", v)
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if again := schema(t, d); again != first {
		t.Fatalf("up->down->up changed the schema:\n%s\nvs\n%s", first, again)
	}
	// Each step down and up again, one migration at a time.
	for _, step := range []func() error{
		func() error { _, err := m.Down(ctx); return err },
		func() error { _, err := m.Down(ctx); return err },
		func() error { _, err := m.UpByOne(ctx); return err },
		func() error { _, err := m.UpByOne(ctx); return err },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	if again := schema(t, d); again != first {
		t.Fatalf("step-wise down/up changed the schema")
	}
	if err := m.Check(ctx); err != nil {
		t.Fatalf("check after up: %v", err)
	}
}

func TestFailingMigrationLeavesVersionUnchanged(t *testing.T) {
	ctx := context.Background()
	d := openDB(t)
	fsys := fstest.MapFS{
		"00001_ok.sql":     {Data: []byte("-- +goose Up\nCREATE TABLE a (x INTEGER);\n-- +goose Down\nDROP TABLE a;\n")},
		"00002_broken.sql": {Data: []byte("-- +goose Up\nCREATE TABLE b (x INTEGER);\nALTER TABLE nope ADD COLUMN y INTEGER;\n-- +goose Down\nDROP TABLE b;\n")},
	}
	m, err := migrate.New(d, fsys)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Up(ctx); err == nil {
		t.Fatal("up with a broken migration succeeded")
	}
	if v, err := m.Version(ctx); err != nil || v != 1 {
		t.Fatalf("version = %d, %v; want 1", v, err)
	}
	var n int
	if err := d.QueryRow(`SELECT count(*) FROM duckdb_tables() WHERE table_name = 'b'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("table b of the failed migration exists (n=%d, err=%v)", n, err)
	}
	if err := m.Check(ctx); !errors.Is(err, migrate.ErrSchemaBehind) || !strings.Contains(err.Error(), "version 1") || !strings.Contains(err.Error(), "needs 2") {
		t.Fatalf("check = %v", err)
	}
}

func TestCheckRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	d := openDB(t)
	m, err := migrate.New(d, db.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (99, true)`); err != nil {
		t.Fatal(err)
	}
	err = m.Check(ctx)
	if !errors.Is(err, migrate.ErrSchemaAhead) || !strings.Contains(err.Error(), "99") {
		t.Fatalf("check = %v", err)
	}
}

// A valid DuckDB file without the version table (a process killed after
// creating the file, before its first migration) is at version 0: Check
// says the schema is behind, even on a read-only handle, and writes
// nothing — it does not create goose's version table.
func TestCheckOnAnEmptyReadOnlyDatabase(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "empty.duckdb")
	w, err := duckfile.Open(ctx, path, duckfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := duckfile.Open(ctx, path, duckfile.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	m, err := migrate.New(r, db.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	if v, err := m.Version(ctx); err != nil || v != 0 {
		t.Fatalf("Version = %d, %v; want 0", v, err)
	}
	err = m.Check(ctx)
	if !errors.Is(err, migrate.ErrSchemaBehind) || !strings.Contains(err.Error(), "version 0") {
		t.Fatalf("Check = %v, want ErrSchemaBehind at version 0", err)
	}
	var tables int
	if err := r.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database()`).Scan(&tables); err != nil || tables != 0 {
		t.Fatalf("%d tables in the database after Check (%v), want none", tables, err)
	}
}

// New reads the migrations but leaves the database alone: no version table
// until something runs, and an empty fs.FS is refused up front.
func TestNewTouchesNothing(t *testing.T) {
	d := openDB(t)
	if _, err := migrate.New(d, fstest.MapFS{}); !errors.Is(err, goose.ErrNoMigrations) {
		t.Fatalf("New on an empty fs.FS: %v, want goose.ErrNoMigrations", err)
	}
	if _, err := migrate.New(d, db.Migrations()); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := d.QueryRow(`SELECT count(*) FROM duckdb_tables()`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("New created %d tables (err %v)", n, err)
	}
}
