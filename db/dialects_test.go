package db_test

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/simcash/simdb/db"
	"github.com/simcash/simdb/internal/duckfile"
	"github.com/simcash/simdb/internal/migrate"
	"github.com/simcash/simdb/internal/pgdb"
	"github.com/simcash/simdb/internal/testutil"
)

// The two dialects' migrations must build the same schema: the same tables
// with the same columns, in the same order, of the same types and
// nullability, and the same number of migrations (so a version means the
// same schema on both). The version tables differ by design (goose's own
// postgres table, simdb's DuckDB one) and are left out.
func TestDialectsMatch(t *testing.T) {
	ctx := context.Background()
	duckNames, pgNames := migrationNames(t, db.Migrations()), migrationNames(t, db.PostgresMigrations())
	if !slices.Equal(duckNames, pgNames) {
		t.Fatalf("db/migrations has\n  %v\nbut db/postgres/migrations has\n  %v\nwant the same versions and names", duckNames, pgNames)
	}

	duck, err := duckfile.Open(ctx, filepath.Join(t.TempDir(), "schema.duckdb"), duckfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer duck.Close()
	m, err := migrate.New(duck, db.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	duckCols := columns(t, duck, `SELECT table_name, column_name, data_type, is_nullable
		FROM information_schema.columns
		WHERE table_catalog = current_database() AND table_schema = current_schema() AND table_name <> $1
		ORDER BY table_name, ordinal_position`)

	pg, err := pgdb.Open(ctx, testutil.PostgresURL(t), pgdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	pm, err := migrate.NewPostgres(pg, db.PostgresMigrations())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pm.Up(ctx); err != nil {
		t.Fatal(err)
	}
	// PostgreSQL's names for DuckDB's types, and the element type of
	// arrays (information_schema says only ARRAY).
	pgCols := columns(t, pg, `SELECT table_name, column_name,
			CASE WHEN data_type = 'ARRAY' THEN substr(udt_name, 2) || '[]' ELSE data_type END,
			is_nullable
		FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name <> $1
		ORDER BY table_name, ordinal_position`)
	pgToDuck := map[string]string{
		"text": "VARCHAR", "text[]": "VARCHAR[]", "bigint": "BIGINT", "integer": "INTEGER",
		"double precision": "DOUBLE", "timestamp without time zone": "TIMESTAMP", "boolean": "BOOLEAN",
	}
	for i, c := range pgCols {
		parts := strings.SplitN(c, " ", 3)
		typ, null, _ := strings.Cut(parts[2], " | ")
		if d, ok := pgToDuck[typ]; ok {
			typ = d
		}
		pgCols[i] = parts[0] + " " + parts[1] + " " + typ + " | " + null
	}
	if !slices.Equal(duckCols, pgCols) {
		t.Fatalf("the dialects' schemas differ:\nDuckDB (db/migrations):\n  %s\nPostgreSQL (db/postgres/migrations):\n  %s",
			strings.Join(duckCols, "\n  "), strings.Join(pgCols, "\n  "))
	}
	if len(duckCols) < 40 {
		t.Fatalf("only %d columns compared; the query missed the tables", len(duckCols))
	}
}

func migrationNames(t *testing.T, fsys fs.FS) []string {
	t.Helper()
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// columns returns "table column type | nullable" for every row of q, which
// takes the version table's name as $1.
func columns(t *testing.T, sqldb *sql.DB, q string) []string {
	t.Helper()
	rows, err := sqldb.QueryContext(context.Background(), q, migrate.VersionTable)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var table, col, typ, null string
		if err := rows.Scan(&table, &col, &typ, &null); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s %s %s | %s", table, col, typ, null))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
