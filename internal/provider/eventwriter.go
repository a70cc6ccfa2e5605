package provider

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
)

// This file and its two event writers are the one place that writes rows
// without sqlc, because these are bulk writes sqlc cannot express:
//   - events go in through one of DuckDB's bulk interfaces, where sqlc's one
//     INSERT per row manages about 2,000 rows/s: Arrow record batches
//     (eventwriter_arrow.go, built with the duckdb_arrow tag, which the
//     Makefile sets) or the Appender (eventwriter_appender.go, any other
//     build). Both write the same rows. eventColumns must list
//     simulation_events' stored columns in table order (event_id is
//     generated, migration 00004); TestEventColumnsMatchSchema fails when a
//     migration and this list drift apart.
//   - register values and a batch's summary counts (events per type, new
//     agents) go in as multi-row upserts: one ON CONFLICT statement costs
//     DuckDB about 1.3 ms whatever its size, so a statement per row (sqlc's
//     shape) made a tick with 200 register sets take 250 ms, and added
//     ~40 ms of per-type upserts to every group commit.
//
// On PostgreSQL (eventwriter_postgres.go) events go in through a binary
// COPY encoded there, and the upserts are fixed statements over array
// parameters, sent as one batch; TestPostgresEventColumnTypesMatchTheCopyEncoder
// fails when the table's column types and the encoder drift apart.

// eventColumns are simulation_events' stored columns in the order
// eventWriter.write supplies them. event_id ('<simulation_id>:<seq>', computed
// when read) is generated, so not among them.
var eventColumns = []string{
	"simulation_id", "seq", "tick", "day", "event_timestamp", "event_type",
	"details", "agent_id", "tx_id", "created_at", "agents", "tx_ids", "key_layout",
}

// registerRow is one row of agent_state_registers.
type registerRow struct {
	SimulationID  string
	Tick          int64
	AgentID       string
	RegisterKey   string
	RegisterValue float64
}

// rowsPerUpsert bounds one upsert's rows (and so its parameters).
const rowsPerUpsert = 200

// upsertRows runs `INSERT INTO table (cols) VALUES (…), … onConflict` over
// rows in statements of at most rowsPerUpsert rows. Each row must hold
// len(cols) values, and no two rows may share a key: DuckDB rejects a
// statement that conflicts with itself.
func upsertRows(ctx context.Context, tx *sql.Tx, table string, cols []string, onConflict string, rows [][]any) error {
	for len(rows) > 0 {
		n := min(len(rows), rowsPerUpsert)
		var q strings.Builder
		fmt.Fprintf(&q, "INSERT INTO %s (%s) VALUES ", table, strings.Join(cols, ", "))
		args := make([]any, 0, len(cols)*n)
		for i, r := range rows[:n] {
			if i > 0 {
				q.WriteByte(',')
			}
			q.WriteByte('(')
			for j, v := range r {
				if j > 0 {
					q.WriteByte(',')
				}
				args = append(args, v)
				q.WriteString("$" + strconv.Itoa(len(args)))
			}
			q.WriteByte(')')
		}
		q.WriteString(" " + onConflict)
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("store %d rows in %s: %w", n, table, err)
		}
		rows = rows[n:]
	}
	return nil
}

// upsertRegisters stores register values, the last value of a key in a
// tick replacing any earlier one (rows hold each key once:
// lastRegisterWrites makes them so).
func upsertRegisters(ctx context.Context, tx *sql.Tx, rows []registerRow) error {
	vals := make([][]any, len(rows))
	for i, r := range rows {
		vals[i] = []any{r.SimulationID, r.Tick, r.AgentID, r.RegisterKey, r.RegisterValue}
	}
	return upsertRows(ctx, tx, "agent_state_registers",
		[]string{"simulation_id", "tick", "agent_id", "register_key", "register_value"},
		"ON CONFLICT (simulation_id, tick, agent_id, register_key) DO UPDATE SET register_value = excluded.register_value", vals)
}

// summaryCounts are a group's events per type and per agent, each list in
// order of first appearance (so each name once).
type summaryCounts struct {
	types, agents           []string
	typeCounts, agentCounts []int64
}

func countSummary(events []pendingEvent) summaryCounts {
	var c summaryCounts
	typeAt, agentAt := make(map[string]int), make(map[string]int)
	for i := range events {
		ev := &events[i].ev
		j, ok := typeAt[ev.Type]
		if !ok {
			j = len(c.types)
			typeAt[ev.Type] = j
			c.types, c.typeCounts = append(c.types, ev.Type), append(c.typeCounts, 0)
		}
		c.typeCounts[j]++
		for _, a := range ev.Agents {
			j, ok := agentAt[a]
			if !ok {
				j = len(c.agents)
				agentAt[a] = j
				c.agents, c.agentCounts = append(c.agents, a), append(c.agentCounts, 0)
			}
			c.agentCounts[j]++
		}
	}
	return c
}

// writeSummaryRows stores a group's summary counts and register values
// inside tx: DuckDB's form of backend.writeSummary.
func writeSummaryRows(ctx context.Context, tx *sql.Tx, id string, events []pendingEvent) error {
	if err := addSummaryCounts(ctx, tx, id, events); err != nil {
		return err
	}
	return upsertRegisters(ctx, tx, lastRegisterWrites(id, events))
}

// addSummaryCounts adds a batch's events per type and per agent to the
// run's summary tables.
func addSummaryCounts(ctx context.Context, tx *sql.Tx, id string, events []pendingEvent) error {
	c := countSummary(events)
	vals := make([][]any, 0, max(len(c.types), len(c.agents)))
	for i, t := range c.types {
		vals = append(vals, []any{id, t, c.typeCounts[i]})
	}
	if err := upsertRows(ctx, tx, "simulation_event_types", []string{"simulation_id", "event_type", "event_count"},
		"ON CONFLICT (simulation_id, event_type) DO UPDATE SET event_count = simulation_event_types.event_count + excluded.event_count", vals); err != nil {
		return err
	}
	vals = vals[:0]
	for i, a := range c.agents {
		vals = append(vals, []any{id, a, c.agentCounts[i]})
	}
	return upsertRows(ctx, tx, "simulation_agents", []string{"simulation_id", "agent_id", "event_count"},
		"ON CONFLICT (simulation_id, agent_id) DO UPDATE SET event_count = simulation_agents.event_count + excluded.event_count", vals)
}
