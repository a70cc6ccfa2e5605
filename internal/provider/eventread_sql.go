//go:build !duckdb_arrow

package provider

import (
	"context"
	"database/sql"
)

// queryEvents runs an eventSelect query and calls fn for each row, reading
// the rows through database/sql (the build without the duckdb_arrow tag).
func (s *Store) queryEvents(ctx context.Context, simulationID, q string, args []any, fn func(StoredEvent) error) error {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	r := newEventRow(simulationID)
	var agentID, txID sql.NullString
	for rows.Next() {
		if err := rows.Scan(&r.seq, &r.tick, &r.day, &r.eventTimestamp,
			&r.eventType, &r.details, &agentID, &txID, &r.createdAt, &r.agents, &r.txIDs, &r.layout); err != nil {
			return err
		}
		r.agentID, r.hasAgent = agentID.String, agentID.Valid
		r.txID, r.hasTx = txID.String, txID.Valid
		if err := fn(r.event()); err != nil {
			return err
		}
	}
	return rows.Err()
}
