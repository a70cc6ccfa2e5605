package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/simcash/simdb/internal/event"
	"github.com/simcash/simdb/internal/testutil"
)

// The COPY encoder (eventCopyReader) writes each column's binary form by
// hand, so it must agree with simulation_events' column types, in
// eventColumns' order: a migration that changes a type fails here before
// it fails a COPY with "incorrect binary data format".
func TestPostgresEventColumnTypesMatchTheCopyEncoder(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, testutil.PostgresURL(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows, err := s.sqlDB().QueryContext(ctx, `SELECT column_name, format_type(atttypid, atttypmod)
		FROM information_schema.columns c JOIN pg_attribute a ON a.attrelid = 'simulation_events'::regclass AND a.attname = c.column_name
		WHERE c.table_schema = current_schema() AND c.table_name = 'simulation_events' AND c.is_generated = 'NEVER'
		ORDER BY c.ordinal_position`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			t.Fatal(err)
		}
		got = append(got, name+" "+typ)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// What appendRow encodes, column by column.
	want := []string{"simulation_id text", "seq bigint", "tick bigint", "day bigint",
		"event_timestamp timestamp without time zone", "event_type text", "details text", "agent_id text",
		"tx_id text", "created_at timestamp without time zone", "agents text[]", "tx_ids text[]", "key_layout integer"}
	if !slices.Equal(got, want) {
		t.Fatalf("simulation_events' stored columns\n  %v\nbut the COPY encoder writes\n  %v", got, want)
	}
}

// Rows the generated streams seldom hold — no agent or transaction (NULL
// columns, empty lists), text beyond ASCII, a details value larger than
// one CopyData message, groups of one row and of many — are stored by the
// PostgreSQL writer exactly as DuckDB's writer stores them, and so are
// their summary counts and register values (a key set twice in a tick
// keeps the last value).
func TestPostgresCopyStoresEdgeRowsAsDuckDBDoes(t *testing.T) {
	ctx := context.Background()
	dsn := testutil.PostgresURL(t)
	now := time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("Y", -7*3600))
	big := strings.Repeat("é€𝄞x", 20_000) // ~200 kB, several COPY chunks
	ticks := [][]string{
		{`{"event_type":"EndOfDay","day":0}`},
		{`{"event_type":"Arrival","tx_id":"tx-ü","sender_id":"Ä\"B","receiver_id":"𝄞","amount":1}`,
			`{"event_type":"Note","agent_id":"A","text":"` + big + `"}`,
			`{"tick":1,"event_type":"LsmCycleSettlement","agents":["A","B","C"],"tx_ids":["t1","t2","t3"],"settled_value":5}`},
		{`{"event_type":"Ünïcode","agent_id":"","tx_id":""}`,
			`{"event_type":"StateRegisterSet","agent_id":"Ä","register_key":"k","old_value":0,"new_value":1.5}`,
			`{"event_type":"StateRegisterSet","agent_id":"Ä","register_key":"k","old_value":1.5,"new_value":-2.25}`,
			`{"event_type":"StateRegisterSet","agent_id":"B","register_key":"k","old_value":0,"new_value":1e-300}`},
	}
	for i := range 300 {
		ticks = append(ticks, []string{fmt.Sprintf(`{"event_type":"Arrival","tx_id":"t%d","sender_id":"A","receiver_id":"B","amount":%d}`, i, i)})
	}
	q := `SELECT event_id || '|' || simulation_id || '|' || CAST(seq AS VARCHAR) || '|' || CAST(tick AS VARCHAR) || '|' ||
		CAST(day AS VARCHAR) || '|' || strftime_ts(event_timestamp) || '|' || event_type || '|' || details || '|' ||
		coalesce(agent_id, '<null>') || '|' || coalesce(tx_id, '<null>') || '|' || strftime_ts(created_at) || '|' ||
		CAST(cardinality(agents) AS VARCHAR) || ':' || array_to_string(agents, ',') || '|' ||
		CAST(cardinality(tx_ids) AS VARCHAR) || ':' || array_to_string(tx_ids, ',') || '|' || CAST(key_layout AS VARCHAR)
		FROM simulation_events ORDER BY seq`
	spell := map[string]string{
		"duckdb":   "strftime(%s, '%%Y-%%m-%%d %%H:%%M:%%S.%%f')",
		"postgres": "to_char(%s, 'YYYY-MM-DD HH24:MI:SS.US')",
	}
	got := map[string][]string{}
	for _, db := range []string{filepath.Join(t.TempDir(), "edge.duckdb"), dsn} {
		s, err := Open(ctx, db, Options{FlushEvents: 2, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.PersistSimulationStart(ctx, "edge", json.RawMessage(`{"ticks_per_day":2}`), StartOptions{}); err != nil {
			t.Fatal(err)
		}
		for tick, evs := range ticks {
			raw := make([]json.RawMessage, len(evs))
			for i, e := range evs {
				raw[i] = json.RawMessage(e)
			}
			if _, err := s.PersistTickEvents(ctx, "edge", int64(tick), raw); err != nil {
				t.Fatalf("%s tick %d: %v", s.Backend(), tick, err)
			}
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		bq := expandTimestamps(q, spell[s.Backend()])
		if s.Backend() == "duckdb" {
			bq = strings.ReplaceAll(bq, "cardinality(", "len(") // a list's length
		}
		// The summary and register rows, after the events.
		for _, q := range []string{bq,
			`SELECT 'register ' || agent_id || '|' || register_key || '|' || CAST(tick AS VARCHAR) || '|' || CAST(register_value AS VARCHAR) FROM agent_state_registers ORDER BY tick, agent_id`,
			`SELECT 'type ' || event_type || '|' || CAST(event_count AS VARCHAR) FROM simulation_event_types ORDER BY event_type`,
			`SELECT 'agent ' || agent_id || '|' || CAST(event_count AS VARCHAR) FROM simulation_agents ORDER BY agent_id`,
		} {
			rows, err := s.sqlDB().QueryContext(ctx, q)
			if err != nil {
				t.Fatalf("%s: %v", s.Backend(), err)
			}
			for rows.Next() {
				var line string
				if err := rows.Scan(&line); err != nil {
					t.Fatal(err)
				}
				got[s.Backend()] = append(got[s.Backend()], line)
			}
			if err := rows.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	duck, pg := got["duckdb"], got["postgres"]
	if len(duck) < 308 || !slices.Contains(duck, "register Ä|k|2|-2.25") || !slices.Contains(duck, "type Arrival|301") || !strings.Contains(duck[0], "|0:|0:|") || !strings.Contains(duck[2], big) ||
		!strings.Contains(duck[0], "|2000-01-01 06:59:59.999999|") {
		t.Fatalf("DuckDB stored %d rows; first %.200q", len(duck), duck[0])
	}
	if len(pg) != len(duck) {
		t.Fatalf("PostgreSQL stored %d rows, DuckDB %d", len(pg), len(duck))
	}
	for i := range duck {
		if duck[i] != pg[i] {
			t.Fatalf("row %d:\n  DuckDB     %.300s\n  PostgreSQL %.300s", i, duck[i], pg[i])
		}
	}
}

// Encoding the COPY stream allocates nothing per row: the reader reuses
// one buffer, and writes each value's bytes into it.
func TestCopyEncodingAllocatesNothingPerRow(t *testing.T) {
	ev, err := event.Decode([]byte(`{"event_type":"LsmCycleSettlement","tick":3,"agent_id":"A","tx_id":"t0","agents":["A","B"],"tx_ids":["t1","t2"],"amount":5}`))
	if err != nil {
		t.Fatal(err)
	}
	rows := make([]pendingEvent, 20_000)
	for i := range rows {
		rows[i] = pendingEvent{ev: ev, seq: int64(i), tick: 3, day: 1, at: time.Now()}
	}
	var n int64
	allocs := testing.AllocsPerRun(3, func() {
		r := &eventCopyReader{simulationID: "run", rows: rows, created: pgTimestamp(time.Now())}
		m, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{r}, make([]byte, 64<<10))
		if err != nil {
			t.Fatal(err)
		}
		n = m
	})
	if n < int64(len(rows))*100 {
		t.Fatalf("encoded %d bytes for %d rows", n, len(rows))
	}
	// The reader, its buffer growing to one chunk, the copy buffer.
	if allocs > 20 {
		t.Fatalf("%.0f allocations to encode %d rows, want a handful", allocs, len(rows))
	}
}
