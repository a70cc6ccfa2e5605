//go:build duckdb_arrow

package provider

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory/mallocator"
	"github.com/simcash/simdb/internal/event"
)

// The Arrow schema is built by hand; its field names must be eventColumns,
// in order, or the INSERT's column list and the batch disagree.
func TestArrowSchemaMatchesEventColumns(t *testing.T) {
	fields := eventSchema().Fields()
	if len(fields) != len(eventColumns) {
		t.Fatalf("%d Arrow fields, %d event columns", len(fields), len(eventColumns))
	}
	for i, f := range fields {
		if f.Name != eventColumns[i] {
			t.Errorf("Arrow field %d is %q, event column %d is %q", i, f.Name, i, eventColumns[i])
		}
	}
}

// Every batch frees its C memory and leaves no view behind, whether the
// insert commits, fails, or is rolled back — and a failed insert stores
// nothing.
func TestArrowWriterReleasesEverything(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "arrow.duckdb"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows := make([]pendingEvent, 70_000) // more than two record batches
	for i := range rows {
		ev, err := event.Decode([]byte(`{"event_type":"Arrival","tick":1,"tx_id":"t","sender_id":"A","receiver_id":"B","amount":5}`))
		if err != nil {
			t.Fatal(err)
		}
		rows[i] = pendingEvent{ev: ev, seq: int64(i), tick: 1, at: time.Now()}
	}
	views := func(conn *sql.Conn) int {
		t.Helper()
		var n int
		if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_views() WHERE view_name = $1`, pendingView).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	events := func() int {
		t.Helper()
		var n int
		if err := s.sqlDB().QueryRowContext(ctx, `SELECT count(*) FROM simulation_events`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, tc := range []struct {
		name   string
		ctx    func() context.Context
		commit bool
		stored int
	}{
		{"committed", func() context.Context { return ctx }, true, len(rows)},
		{"rolled back", func() context.Context { return ctx }, false, len(rows)},
		{"cancelled", func() context.Context {
			c, cancel := context.WithCancel(ctx)
			cancel()
			return c
		}, true, len(rows)},
	} {
		alloc := mallocator.NewMallocator()
		conn, err := s.sqlDB().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		werr := appendEventsWith(tc.ctx(), conn, alloc, "s", rows, time.Now())
		switch cancelled := tc.name == "cancelled"; {
		case cancelled && werr == nil:
			t.Errorf("%s: insert succeeded under a cancelled context", tc.name)
		case !cancelled && werr != nil:
			t.Fatalf("%s: %v", tc.name, werr)
		}
		if tc.commit && werr == nil {
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
		} else {
			_ = tx.Rollback()
		}
		if n := views(conn); n != 0 {
			t.Errorf("%s: %d %s views left on the connection", tc.name, n, pendingView)
		}
		conn.Close()
		if b := alloc.AllocatedBytes(); b != 0 {
			t.Errorf("%s: %d bytes of Arrow C memory not freed", tc.name, b)
		}
		if n := events(); n != tc.stored {
			t.Errorf("%s: %d events stored, want %d", tc.name, n, tc.stored)
		}
	}
}
