package provider

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strconv"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// This file is the one place that writes rows without sqlc, because both
// writes here are bulk writes sqlc cannot express:
//   - events go through DuckDB's Appender, where sqlc's one INSERT per row
//     manages about 2,000 rows/s. eventColumns must list simulation_events'
//     columns in table order; TestEventColumnsMatchSchema fails when a
//     migration and this list drift apart.
//   - register values go in as multi-row upserts: one ON CONFLICT statement
//     costs DuckDB about 1.3 ms whatever its size, so a statement per row
//     (sqlc's shape) made a tick with 200 register sets take 250 ms.

// eventColumns are simulation_events' columns in the order appendEvents
// supplies them.
var eventColumns = []string{
	"event_id", "simulation_id", "seq", "tick", "day", "event_timestamp", "event_type",
	"details", "agent_id", "tx_id", "created_at", "agents", "tx_ids", "key_layout",
}

// appendEvents appends rows on conn, inside the caller's open transaction:
// they become visible on commit and vanish on rollback. A failed Flush
// fails the transaction (DuckDB may otherwise commit nothing and report
// success).
func appendEvents(ctx context.Context, conn *sql.Conn, simulationID string, rows []pendingEvent, createdAt time.Time) error {
	return conn.Raw(func(dc any) error {
		app, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "", "simulation_events")
		if err != nil {
			return fmt.Errorf("open event appender: %w", err)
		}
		idPrefix := simulationID + ":"
		buf := make([]byte, 0, len(idPrefix)+20)
		for i := range rows {
			r := &rows[i]
			ev := &r.ev
			buf = strconv.AppendInt(append(buf[:0], idPrefix...), r.seq, 10)
			var agentID, txID any
			if ev.HasAgentID {
				agentID = ev.AgentID
			}
			if ev.HasTxID {
				txID = ev.TxID
			}
			if err := app.AppendRow(string(buf), simulationID, r.seq, r.tick, r.day, r.at, ev.Type,
				string(ev.Details), agentID, txID, createdAt, ev.Agents, ev.TxIDs, ev.Layout); err != nil {
				_ = app.Close()
				return fmt.Errorf("append event seq %d (tick %d): %w", r.seq, r.tick, err)
			}
			if i%4096 == 4095 && ctx.Err() != nil {
				_ = app.Close()
				return ctx.Err()
			}
		}
		if err := app.Close(); err != nil {
			return fmt.Errorf("flush events: %w", err)
		}
		return nil
	})
}

// registerRow is one row of agent_state_registers.
type registerRow struct {
	SimulationID  string
	Tick          int64
	AgentID       string
	RegisterKey   string
	RegisterValue float64
}

// registersPerStatement bounds one upsert's parameters (5 per row).
const registersPerStatement = 200

// upsertRegisters stores register values inside tx, the last value of a key
// in a tick replacing any earlier one. rows must hold each (simulation,
// tick, agent, key) once (lastRegisterWrites makes them so): DuckDB rejects
// a statement that conflicts with itself.
func upsertRegisters(ctx context.Context, tx *sql.Tx, rows []registerRow) error {
	for len(rows) > 0 {
		n := min(len(rows), registersPerStatement)
		var q strings.Builder
		q.WriteString(`INSERT INTO agent_state_registers (simulation_id, tick, agent_id, register_key, register_value) VALUES `)
		args := make([]any, 0, 5*n)
		for i, r := range rows[:n] {
			if i > 0 {
				q.WriteByte(',')
			}
			p := len(args)
			fmt.Fprintf(&q, "($%d,$%d,$%d,$%d,$%d)", p+1, p+2, p+3, p+4, p+5)
			args = append(args, r.SimulationID, r.Tick, r.AgentID, r.RegisterKey, r.RegisterValue)
		}
		q.WriteString(` ON CONFLICT (simulation_id, tick, agent_id, register_key) DO UPDATE SET register_value = excluded.register_value`)
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("store %d register values from tick %d: %w", n, rows[0].Tick, err)
		}
		rows = rows[n:]
	}
	return nil
}
