package provider

import (
	"bufio"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

// A PostgreSQL run's export reads its CSV back at the types of a DuckDB
// file's simulation_events (exportCSVTypes, exportCSVLists): a migration
// that changes one fails here, not in a byte comparison of two exports.
func TestExportCSVTypesMatchTheDuckDBTable(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "types.duckdb"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, c := range exportColumns {
		want := "VARCHAR"
		if typ, ok := exportCSVTypes[c]; ok {
			want = typ
		} else if exportCSVLists[c] {
			want = "VARCHAR[]"
		}
		var got string
		if err := s.sqlDB().QueryRowContext(ctx, `SELECT data_type FROM information_schema.columns
			WHERE table_name = 'simulation_events' AND column_name = ?`, c).Scan(&got); err != nil {
			t.Fatalf("column %s: %v", c, err)
		}
		if got != want {
			t.Errorf("simulation_events.%s is %s in a DuckDB file; the export reads it back as %s", c, got, want)
		}
	}
}

// recordMeter measures the longest CSV record, newlines inside quoted
// fields (and doubled quotes) included, however the input is split across
// writes.
func TestRecordMeterLongestRecord(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
	}{
		{"", 0},
		{"abc", 3},
		{"a,b\nccc,d\n", 6},
		{"\"a\nb\",c\nx\n", 8},
		{"\"a\"\"\nb\"\nxx", 8},
		{"\"\"\"\"\n1234567\n", 8},
		{"1\n\"" + strings.Repeat("\"\"\n", 100) + "\"\n", 303},
	} {
		for split := 0; split <= len(c.in); split++ {
			m := &recordMeter{w: bufio.NewWriter(io.Discard)}
			if _, err := m.Write([]byte(c.in[:split])); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Write([]byte(c.in[split:])); err != nil {
				t.Fatal(err)
			}
			if got := m.longest(); got != c.want {
				t.Errorf("%q written as %d+%d bytes: longest record %d, want %d", c.in, split, len(c.in)-split, got, c.want)
			}
		}
	}
}
