package provider

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/simcash/simdb/internal/duckfile"
)

// exportThroughDuckDB writes a PostgreSQL run's events to path by DuckDB's
// own COPY (copyOpts as in ExportEvents), so a parquet or CSV export is the
// same file whichever backend holds the run — PostgreSQL writes neither
// parquet nor DuckDB's CSV forms of lists and timestamps. The events are
// read in (tick, seq) order, appended to a table of exportColumns in a
// scratch DuckDB file (so memory stays bounded), and copied from there; the
// scratch file is removed afterwards.
func (s *Store) exportThroughDuckDB(ctx context.Context, simulationID, copyOpts, path string) (err error) {
	dir, err := os.MkdirTemp("", "simdb-export-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	scratch, err := duckfile.Open(ctx, filepath.Join(dir, "export.duckdb"), duckfile.Options{MemoryLimit: "256MB"})
	if err != nil {
		return err
	}
	defer scratch.Close()
	conn, err := scratch.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `CREATE TABLE export_events (event_id VARCHAR, simulation_id VARCHAR,
		seq BIGINT, tick BIGINT, day BIGINT, event_timestamp TIMESTAMP, event_type VARCHAR, details VARCHAR,
		agent_id VARCHAR, tx_id VARCHAR, created_at TIMESTAMP, agents VARCHAR[], tx_ids VARCHAR[])`); err != nil {
		return err
	}
	err = conn.Raw(func(dc any) error {
		app, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "", "export_events")
		if err != nil {
			return err
		}
		err = s.eachExportRow(ctx, simulationID, func(vals []driver.Value) error { return app.AppendRow(vals...) })
		if cerr := app.Close(); err == nil {
			err = cerr
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("copy the events to a scratch DuckDB file: %w", err)
	}
	q := fmt.Sprintf(`COPY (SELECT %s FROM export_events ORDER BY tick, seq) TO %s (%s)`,
		strings.Join(exportColumns, ", "), duckfile.StringLiteral(path), copyOpts)
	_, err = conn.ExecContext(ctx, q)
	return err
}

// eachExportRow calls fn with every event of the run, exportColumns in
// order, in (tick, seq) order, read through pgx's own interface (which
// scans TEXT[] into []string).
func (s *Store) eachExportRow(ctx context.Context, simulationID string, fn func([]driver.Value) error) error {
	conn, err := s.sqlDB().Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		pc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("export: connection is a %T, not pgx's", dc)
		}
		rows, err := pc.Conn().Query(ctx, `SELECT `+strings.Join(exportColumns, ", ")+
			` FROM simulation_events WHERE simulation_id = $1 ORDER BY tick, seq`, simulationID)
		if err != nil {
			return err
		}
		defer rows.Close()
		var (
			eventID, simID, eventType, details string
			seq, tick, day                     int64
			eventTS, createdAt                 time.Time
			agentID, txID                      sql.NullString
			agents, txIDs                      []string
		)
		vals := make([]driver.Value, len(exportColumns))
		for rows.Next() {
			if err := rows.Scan(&eventID, &simID, &seq, &tick, &day, &eventTS, &eventType, &details,
				&agentID, &txID, &createdAt, &agents, &txIDs); err != nil {
				return err
			}
			vals[0], vals[1], vals[2], vals[3], vals[4] = eventID, simID, seq, tick, day
			vals[5], vals[6], vals[7] = eventTS.UTC(), eventType, details
			vals[8], vals[9] = nullValue(agentID), nullValue(txID)
			vals[10], vals[11], vals[12] = createdAt.UTC(), agents, txIDs
			if err := fn(vals); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}

func nullValue(v sql.NullString) driver.Value {
	if !v.Valid {
		return nil
	}
	return v.String
}
