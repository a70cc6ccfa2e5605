package provider

import (
	"context"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/simcash/simdb/db"
	"github.com/simcash/simdb/internal/testutil"
)

// db/dynamic/events_select.sql is the base of every event read, and the row
// decoders take its columns by position: its SELECT list must be
// eventReadColumns (eventColumns, which TestEventColumnsMatchSchema holds to
// the migrations, without the three it leaves out), in order, and the
// statement must run on the migrated schema of both backends and return
// exactly those columns.
func TestEventSelectColumns(t *testing.T) {
	want := eventReadColumns()
	if len(want) != len(eventColumns)-3 {
		t.Fatalf("eventReadColumns = %v: want eventColumns %v without simulation_id, agents and tx_ids", want, eventColumns)
	}
	q, err := db.DynamicQuery("events_select")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)^SELECT\s+(.*?)\s+FROM\s+simulation_events$`).FindStringSubmatch(q)
	if m == nil {
		t.Fatalf("events_select.sql is\n%s\nwant SELECT <columns> FROM simulation_events, for Go to append the WHERE", q)
	}
	var listed []string
	for _, c := range strings.Split(m[1], ",") {
		listed = append(listed, strings.TrimSpace(c))
	}
	if !slices.Equal(listed, want) {
		t.Fatalf("db/dynamic/events_select.sql selects\n  %v\nbut the row decoders read eventReadColumns\n  %v", listed, want)
	}

	ctx := context.Background()
	for _, tc := range []struct{ name, path string }{
		{"duckdb", filepath.Join(t.TempDir(), "select.duckdb")},
		{"postgres", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if path == "" {
				path = testutil.PostgresURL(t)
			}
			s, err := Open(ctx, path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			where, args := EventFilter{Sort: SortTickAsc}.where(s.be, "none")
			rows, err := s.sqlDB().QueryContext(ctx, s.sql.selectEvents+" WHERE "+where+" LIMIT 0", args...)
			if err != nil {
				t.Fatalf("events_select.sql on the migrated schema: %v", err)
			}
			defer rows.Close()
			got, err := rows.Columns()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("the event query returns columns\n  %v\nwant eventReadColumns\n  %v", got, want)
			}
		})
	}
}
