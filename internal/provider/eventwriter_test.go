package provider

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
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
	if want := append([]string{"event_id"}, eventColumns...); !slices.Equal(cols, want) {
		t.Fatalf("simulation_events columns\n  %v\nbut eventwriter.go appends\n  %v\nafter the generated event_id", cols, eventColumns)
	}
	var ddl string
	if err := s.db.QueryRowContext(ctx, `SELECT sql FROM duckdb_tables() WHERE table_name = 'simulation_events'`).Scan(&ddl); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ddl, "event_id VARCHAR GENERATED ALWAYS AS") {
		t.Fatalf("event_id is not a generated column, so the Appender would have to supply it:\n%s", ddl)
	}
}
