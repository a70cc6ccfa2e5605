package simdb_test

// SimCash's own SQL on a simdb file, and stream order independent of the
// order rows are stored in.

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/testutil/simdbtest"
)

// --- SimCash's own SQL on a simdb file ---

const simcashTickQuery = `SELECT event_id, simulation_id, tick, day, event_timestamp, event_type, details, agent_id, tx_id, created_at FROM simulation_events WHERE simulation_id = ? AND tick = ? ORDER BY tick, event_timestamp`

const simcashSenderQuery = `SELECT event_id, simulation_id, tick, day, event_timestamp, event_type, details, agent_id, tx_id, created_at FROM simulation_events WHERE simulation_id = ? AND tick = ? AND json_extract_string(details, '$.sender_id') = ? ORDER BY tick, event_timestamp`

// simcashRow is a row as SimCash's reader scans it.
type simcashRow struct {
	eventID, simulationID string
	tick, day             int64
	ts, createdAt         time.Time
	eventType, details    string
	agentID, txID         sql.NullString
}

func simcashRows(t *testing.T, db *sql.DB, q string, args ...any) []simcashRow {
	t.Helper()
	rows, err := db.Query(q, args...)
	if err != nil {
		t.Fatalf("SimCash query: %v", err)
	}
	defer rows.Close()
	var out []simcashRow
	for rows.Next() {
		var r simcashRow
		if err := rows.Scan(&r.eventID, &r.simulationID, &r.tick, &r.day, &r.ts, &r.eventType, &r.details, &r.agentID, &r.txID, &r.createdAt); err != nil {
			t.Fatalf("scan: %v", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestQuerySimCashCompatibility(t *testing.T) {
	b, refs := fixtureStore(t, simdb.Options{})
	if err := b.store.Flush(b.ctx); err != nil {
		t.Fatal(err)
	}
	db := simdb.RawDB(b.store)
	checked := 0
	for tick := int64(0); tick < 31; tick++ {
		page, err := b.store.GetSimulationEvents(b.ctx, "q", simdb.EventFilter{Tick: &tick, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		byID := map[string]simdb.StoredEvent{}
		for _, ev := range page.Events {
			byID[ev.EventID] = ev
		}
		rows := simcashRows(t, db, simcashTickQuery, "q", tick)
		if len(rows) != len(page.Events) {
			t.Fatalf("tick %d: SimCash's query finds %d rows, simdb %d", tick, len(rows), len(page.Events))
		}
		for _, r := range rows {
			ev, ok := byID[r.eventID]
			if !ok || r.simulationID != "q" || r.tick != tick || r.day != ev.Day || r.eventType != ev.EventType || r.details != string(ev.Details) {
				t.Fatalf("tick %d: row %+v vs event %+v", tick, r, ev)
			}
			if r.agentID.Valid != (ev.AgentID != nil) || r.agentID.Valid && r.agentID.String != *ev.AgentID ||
				r.txID.Valid != (ev.TxID != nil) || r.txID.Valid && r.txID.String != *ev.TxID {
				t.Fatalf("tick %d: agent/tx columns %v %v vs %v %v", tick, r.agentID, r.txID, ev.AgentID, ev.TxID)
			}
			if r.ts.IsZero() || r.createdAt.IsZero() {
				t.Fatalf("tick %d: timestamps %v %v", tick, r.ts, r.createdAt)
			}
			if !json.Valid([]byte(r.details)) {
				t.Fatalf("details is not JSON: %s", r.details)
			}
		}
		for _, agent := range []string{"BANK_A", "BANK_B", "BANK_C", "BANK_D", sqlText} {
			want := 0
			for _, r := range refs {
				if s, _ := r.obj["sender_id"].(string); r.tick == tick && s == agent {
					want++
				}
			}
			got := simcashRows(t, db, simcashSenderQuery, "q", tick, agent)
			if len(got) != want {
				t.Fatalf("tick %d sender_id %q: %d rows, want %d", tick, agent, len(got), want)
			}
			checked += want
		}
	}
	if checked == 0 {
		t.Fatal("the sender_id variant never matched anything")
	}
}

// StreamEvents reads its windows without ORDER BY, relying on DuckDB to
// return a simulation's rows in the order they were stored (seq order)
// and sorting when they are not. Here the rows are stored in reverse: the
// stream must still come out in seq order, both ways, across windows.
// 22,500 events are four and a half of the provider's 5,000-seq windows:
// more than the three it reads ahead, so window buffers are reused, and a
// partial last (or, descending, first) one.
func TestStreamOrderDoesNotDependOnStorageOrder(t *testing.T) {
	t.Parallel()
	b := setup(t, simdb.Options{})
	b.start(t, "rev")
	var lines [][]byte
	for i := range 22_500 {
		lines = append(lines, []byte(arrival(i/100, fmt.Sprintf("tx-%d", i))))
	}
	persistByTick(t, b, "rev", lines)
	if err := b.store.Flush(b.ctx); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE rev_rows AS SELECT * EXCLUDE (event_id) FROM simulation_events ORDER BY seq DESC`,
		`DELETE FROM simulation_events`,
		`INSERT INTO simulation_events BY NAME SELECT * FROM rev_rows ORDER BY seq DESC`,
		`DROP TABLE rev_rows`,
	} {
		if _, err := simdb.RawDB(b.store).ExecContext(b.ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// The precondition: a plain scan now meets the last events first.
	var first int64
	if err := simdb.RawDB(b.store).QueryRowContext(b.ctx, `SELECT seq FROM simulation_events WHERE simulation_id = 'rev' AND seq >= 10000 AND seq < 20000 LIMIT 1`).Scan(&first); err != nil {
		t.Fatal(err)
	}
	if first != 19_999 {
		t.Fatalf("rows are not stored in reverse (a scan starts at seq %d), the test proves nothing", first)
	}
	want := make([]int64, len(lines))
	for i := range want {
		want[i] = int64(i)
	}
	if got := simdbtest.Seqs(streamAll(t, b.store, "rev", simdb.EventFilter{})); !slices.Equal(got, want) {
		t.Fatalf("ascending stream out of order: %d events, first %v", len(got), got[:min(5, len(got))])
	}
	if got := simdbtest.Seqs(streamAll(t, b.store, "rev", simdb.EventFilter{Sort: simdb.SortTickDesc})); !slices.Equal(got, reversed(want)) {
		t.Fatalf("descending stream out of order: %d events, first %v", len(got), got[:min(5, len(got))])
	}
	page, err := b.store.GetSimulationEvents(b.ctx, "rev", simdb.EventFilter{Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if got := simdbtest.Seqs(page.Events); !slices.Equal(got, want[:5]) {
		t.Fatalf("first page %v, want %v", got, want[:5])
	}
}
