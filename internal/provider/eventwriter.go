package provider

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strconv"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// This file is the one place that writes rows without sqlc: DuckDB's
// Appender loads events in bulk, where sqlc's one INSERT per row manages
// about 2,000 rows/s. eventColumns must list simulation_events' columns in
// table order; TestEventColumnsMatchSchema fails when a migration and this
// list drift apart.

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
