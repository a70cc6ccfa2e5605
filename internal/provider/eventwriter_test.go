package provider

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
)

// The Appender fills columns by position, so eventColumns must be
// simulation_events' columns in table order; a migration that adds, drops or
// reorders a column without updating eventwriter.go fails here.
func TestEventColumnsMatchSchema(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "cols.duckdb"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows, err := s.db.QueryContext(ctx,
		`SELECT column_name FROM duckdb_columns() WHERE table_name = 'simulation_events' ORDER BY column_index`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, c)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cols, eventColumns) {
		t.Fatalf("simulation_events columns\n  %v\nbut eventwriter.go appends\n  %v", cols, eventColumns)
	}
}
