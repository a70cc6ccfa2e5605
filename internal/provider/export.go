package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/simcash/simdb/internal/duckfile"
)

// exportColumns are the simulation_events columns an export carries, in
// table order: every column but key_layout, which only rebuilds the JSON
// (export the JSONL form for that).
var exportColumns = []string{
	"event_id", "simulation_id", "seq", "tick", "day", "event_timestamp", "event_type",
	"details", "agent_id", "tx_id", "created_at", "agents", "tx_ids",
}

// ExportColumns returns the columns ExportEvents writes, in order: the
// header of a CSV export, and what events --format csv prints.
func ExportColumns() []string { return append([]string(nil), exportColumns...) }

// ExportEvents writes the simulation's events in (tick, seq) order to path
// as "parquet" or "csv" (with a header), by DuckDB's own COPY (for a run in
// PostgreSQL too: exportThroughDuckDB), and returns how many it wrote. The file is written in place: callers that want it to
// appear whole write to a temporary name and rename. Errors:
// ErrSimulationNotFound, ErrInvalidArgument (another format).
func (s *Store) ExportEvents(ctx context.Context, simulationID, format, path string) (int64, error) {
	// USE_TMP_FILE false: the file is written in place, as documented. With
	// a temporary file, DuckDB names it by splitting the path at a
	// backslash too, and an export over an existing file whose name holds
	// one fails.
	opts := map[string]string{"parquet": "FORMAT PARQUET", "csv": "FORMAT CSV, HEADER"}[format]
	if opts == "" {
		return 0, fmt.Errorf("%w: export format %q (want parquet or csv)", ErrInvalidArgument, format)
	}
	opts += ", USE_TMP_FILE false"
	sum, err := s.GetSimulationSummary(ctx, simulationID) // commits its buffered ticks
	if err != nil {
		return 0, err
	}
	if !s.be.embedded() {
		if err := s.exportThroughDuckDB(ctx, simulationID, opts, path); err != nil {
			return 0, fmt.Errorf("export %q as %s: %w", simulationID, format, err)
		}
		return sum.EventCount, nil
	}
	// COPY takes no bound parameters; both literals are quoted.
	q := fmt.Sprintf(`COPY (SELECT %s FROM simulation_events WHERE simulation_id = %s ORDER BY tick, seq) TO %s (%s)`,
		strings.Join(exportColumns, ", "), duckfile.StringLiteral(simulationID), duckfile.StringLiteral(path), opts)
	if _, err := s.sqlDB().ExecContext(ctx, q); err != nil {
		return 0, fmt.Errorf("export %q as %s: %w", simulationID, format, err)
	}
	return sum.EventCount, nil
}
