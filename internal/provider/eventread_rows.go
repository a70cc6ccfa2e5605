package provider

import (
	"context"
	"database/sql"
)

// queryEventsRows runs an event query (eventSQL.selectEvents) and appends
// its rows to dst: PostgreSQL's through pgx (queryEventsPG), DuckDB's
// through database/sql in a build without the duckdb_arrow tag. On error dst
// holds the rows read before it.
func (s *Store) queryEventsRows(ctx context.Context, simulationID, q string, args []any, dst []StoredEvent) ([]StoredEvent, error) {
	if !s.be.embedded() {
		return s.queryEventsPG(ctx, simulationID, q, args, dst)
	}
	rows, err := s.sqlDB().QueryContext(ctx, q, args...)
	if err != nil {
		return dst, err
	}
	defer rows.Close()
	r := newEventRow(simulationID)
	var agentID, txID sql.NullString
	for rows.Next() {
		if err := rows.Scan(&r.seq, &r.tick, &r.day, &r.eventTimestamp,
			&r.eventType, &r.details, &agentID, &txID, &r.createdAt, &r.layout); err != nil {
			return dst, err
		}
		r.agentID, r.hasAgent = agentID.String, agentID.Valid
		r.txID, r.hasTx = txID.String, txID.Valid
		if dst, err = r.appendEvent(dst); err != nil {
			return dst, err
		}
	}
	return dst, rows.Err()
}
