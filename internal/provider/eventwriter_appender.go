//go:build !duckdb_arrow

package provider

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/simcash/simdb/internal/event"
)

// EventWriter names the DuckDB interface this build writes events through:
// "appender" here, "arrow" in a build with the duckdb_arrow tag.
const EventWriter = "appender"

// eventWriter is a Store's Appender writer; it keeps nothing between
// commit groups.
type eventWriter struct{}

func newEventWriter() *eventWriter { return &eventWriter{} }

// write stores rows on conn inside the caller's open transaction.
func (*eventWriter) write(ctx context.Context, conn *sql.Conn, simulationID string, rows []pendingEvent, createdAt time.Time) error {
	return appendEvents(ctx, conn, simulationID, rows, createdAt)
}

func (*eventWriter) release() {}

// appendEvents appends rows on conn through DuckDB's Appender, inside the
// caller's open transaction: they become visible on commit and vanish on
// rollback. A failed Flush fails the transaction (DuckDB may otherwise
// commit nothing and report success).
func appendEvents(ctx context.Context, conn *sql.Conn, simulationID string, rows []pendingEvent, createdAt time.Time) error {
	return conn.Raw(func(dc any) error {
		app, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "", "simulation_events")
		if err != nil {
			return fmt.Errorf("open event appender: %w", err)
		}
		for i := range rows {
			r := &rows[i]
			ev := &r.ev
			agentID, txID := nullableIDs(ev)
			if err := app.AppendRow(simulationID, r.seq, r.tick, r.day, r.at, ev.Type,
				string(ev.Details), agentID, txID, r.createdAt(createdAt), ev.Agents, ev.TxIDs, ev.Layout); err != nil {
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

// nullableIDs returns ev's agent_id and tx_id as the row values the
// Appender takes: nil (NULL) for an id the event does not have.
func nullableIDs(ev *event.Event) (agentID, txID any) {
	if ev.HasAgentID {
		agentID = ev.AgentID
	}
	if ev.HasTxID {
		txID = ev.TxID
	}
	return agentID, txID
}

// createdAt is the row's created_at, given the commit's clock.
func (r *pendingEvent) createdAt(commit time.Time) time.Time {
	if r.created.IsZero() {
		return commit
	}
	return r.created
}
