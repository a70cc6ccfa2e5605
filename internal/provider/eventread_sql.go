//go:build !duckdb_arrow

package provider

import "context"

// queryEvents runs an event query (eventSQL.selectEvents) and appends its
// rows to dst, reading them through database/sql (the build without the
// duckdb_arrow tag). On error dst holds the rows read before it.
func (s *Store) queryEvents(ctx context.Context, simulationID, q string, args []any, dst []StoredEvent) ([]StoredEvent, error) {
	return s.queryEventsRows(ctx, simulationID, q, args, dst)
}
