package simdb_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/db"
	"github.com/simcash/simdb/internal/migrate"
)

// v1Simulations are the columns simulations had at schema version 1.
var v1Simulations = []string{
	"simulation_id", "config_file", "config_hash", "rng_seed", "ticks_per_day", "num_days", "num_agents",
	"total_ticks", "config_json", "status", "started_at", "completed_at", "total_arrivals",
	"total_settlements", "total_cost_cents", "duration_seconds", "ticks_per_second", "error_message",
	"event_count", "last_tick",
}

// tableText renders the rows of a query's columns as text, in a stable order.
func tableText(t *testing.T, d *sql.DB, table string, cols []string) string {
	t.Helper()
	sel := "*"
	if cols != nil {
		sel = strings.Join(cols, ", ")
	}
	var s string
	q := `SELECT coalesce(string_agg(CAST(x AS VARCHAR), '\n' ORDER BY CAST(x AS VARCHAR)), '') FROM (SELECT ` + sel + ` FROM ` + table + `) x`
	if err := d.QueryRow(q).Scan(&s); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return s
}

// TestUpgradeKeepsData writes rows into a file at schema version 1, then
// opens it with simdb.Open, which migrates it to the current version: every
// row and value is still there, the new columns are NULL, and the run
// stored at version 1 continues where it stopped.
func TestUpgradeKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v1.duckdb")
	raw, err := openRaw(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := migrate.New(raw, db.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.UpTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO simulations (simulation_id, config_hash, ticks_per_day, num_days, num_agents, total_ticks, config_json, status, started_at, event_count, last_tick)
		 VALUES ('old', 'h', 100, 2, 2, 200, '{"ticks_per_day":100,"num_days":2}', 'running', TIMESTAMP '2025-01-02 03:04:05', 2, 0)`,
		`INSERT INTO simulations (simulation_id, config_hash, ticks_per_day, num_days, num_agents, total_ticks, config_json, status, started_at, completed_at, total_arrivals, total_settlements, total_cost_cents, duration_seconds, ticks_per_second, event_count)
		 VALUES ('done', 'h2', 10, 1, 0, 10, '{}', 'completed', TIMESTAMP '2025-01-02 03:04:05', TIMESTAMP '2025-01-02 03:05:05', 9007199254740993, 1, -5, 1.5, 6.5, 0)`,
		`INSERT INTO simulation_events VALUES
		 ('old:0', 'old', 0, 0, 0, TIMESTAMP '2025-01-02 03:04:06', 'Arrival', '{"sender_id":"BANK_A","receiver_id":"BANK_B","amount":9007199254740993}', NULL, 'tx-1', TIMESTAMP '2025-01-02 03:04:06', ['BANK_A', 'BANK_B'], ['tx-1'], 0),
		 ('old:1', 'old', 1, 0, 0, TIMESTAMP '2025-01-02 03:04:06', 'StateRegisterSet', '{"register_key":"stress","new_value":0.25}', 'BANK_A', NULL, TIMESTAMP '2025-01-02 03:04:06', ['BANK_A'], [], 0)`,
		`INSERT INTO agent_state_registers VALUES ('old', 0, 'BANK_A', 'stress', 0.25)`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	before := []string{
		tableText(t, raw, "simulations", v1Simulations),
		tableText(t, raw, "simulation_events", nil),
		tableText(t, raw, "agent_state_registers", nil),
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}

	store, err := simdb.Open(ctx, path, simdb.Options{Durability: simdb.Durable})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	d := simdb.RawDB(store)
	after := []string{
		tableText(t, d, "simulations", v1Simulations),
		tableText(t, d, "simulation_events", nil),
		tableText(t, d, "agent_state_registers", nil),
	}
	for i, table := range []string{"simulations", "simulation_events", "agent_state_registers"} {
		if before[i] != after[i] || after[i] == "" {
			t.Errorf("%s changed by the upgrade:\nbefore:\n%s\nafter:\n%s", table, before[i], after[i])
		}
	}
	var nonNull int
	if err := d.QueryRow(`SELECT count(*) FROM simulations WHERE experiment_run_id IS NOT NULL OR experiment_iteration IS NOT NULL`).Scan(&nonNull); err != nil || nonNull != 0 {
		t.Errorf("new columns: %d rows not NULL (%v)", nonNull, err)
	}
	// The run stored at version 1 continues after its last tick.
	if n, err := store.PersistTickEvents(ctx, "old", 1, raws(arrival(1, "tx-2"))); err != nil || n != 1 {
		t.Fatalf("continue the old run: n=%d err=%v", n, err)
	}
	var seq int64
	if err := d.QueryRow(`SELECT seq FROM simulation_events WHERE tx_id = 'tx-2'`).Scan(&seq); err != nil || seq != 2 {
		t.Fatalf("new event seq %d (%v), want 2", seq, err)
	}
	// Migration 00003 backfilled the summary tables, and the writer kept
	// them up to date: they agree with the events themselves.
	if err := store.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`SELECT count(*) FROM (SELECT event_type, count(*) AS n FROM simulation_events WHERE simulation_id = 'old' GROUP BY event_type) AS raw
		   FULL JOIN (SELECT event_type, event_count AS n FROM simulation_event_types WHERE simulation_id = 'old') AS kept USING (event_type, n)
		  WHERE raw.event_type IS NULL OR kept.event_type IS NULL`,
		`SELECT count(*) FROM (SELECT CAST(a AS VARCHAR) AS agent_id, count(*) AS n FROM (SELECT unnest(agents) AS a FROM simulation_events WHERE simulation_id = 'old') GROUP BY 1) AS raw
		   FULL JOIN (SELECT agent_id, event_count AS n FROM simulation_agents WHERE simulation_id = 'old') AS kept USING (agent_id, n)
		  WHERE raw.agent_id IS NULL OR kept.agent_id IS NULL`,
	} {
		var mismatched int
		if err := d.QueryRow(q).Scan(&mismatched); err != nil || mismatched != 0 {
			t.Errorf("summary tables disagree with the events in %d rows (%v)", mismatched, err)
		}
	}
	var agents int
	if err := d.QueryRow(`SELECT count(*) FROM simulation_agents WHERE simulation_id = 'old'`).Scan(&agents); err != nil || agents == 0 {
		t.Errorf("no agents backfilled (%v)", err)
	}
}
