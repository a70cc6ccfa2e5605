package provider

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/simcash/simdb/internal/duckfile"
)

// exportThroughDuckDB writes a PostgreSQL run's events to path by DuckDB's
// own COPY (copyOpts as in ExportEvents), so a parquet or CSV export is the
// same file whichever backend holds the run — PostgreSQL writes neither
// parquet nor DuckDB's CSV forms of lists and timestamps.
//
// PostgreSQL writes the events, in (tick, seq) order, as CSV to a scratch
// file (COPY … TO STDOUT: no Go work per row), and DuckDB reads that file
// with its own CSV reader and copies it to path, in the same order: a query
// without ORDER BY keeps its input's order (preserve_insertion_order, on
// unless a user turns it off, which simdb does not). Memory stays bounded
// whatever the run's size; the scratch file, about the size of the events'
// text, is removed afterwards.
func (s *Store) exportThroughDuckDB(ctx context.Context, simulationID, copyOpts, path string) (err error) {
	dir, err := os.MkdirTemp("", "simdb-export-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	csvPath := filepath.Join(dir, "events.csv")
	longest, err := s.writeEventsCSV(ctx, simulationID, csvPath)
	if err != nil {
		return fmt.Errorf("read the events from PostgreSQL: %w", err)
	}
	// A DuckDB file, not an in-memory database, so that whatever DuckDB
	// spills goes to the scratch folder, not to the working directory.
	scratch, err := duckfile.Open(ctx, filepath.Join(dir, "export.duckdb"), duckfile.Options{MemoryLimit: "256MB"})
	if err != nil {
		return err
	}
	defer scratch.Close()
	_, err = scratch.ExecContext(ctx, fmt.Sprintf(`COPY (%s) TO %s (%s)`,
		readEventsCSV(csvPath, longest), duckfile.StringLiteral(path), copyOpts))
	return err
}

// exportCSVTypes are the DuckDB types of the exportColumns that are not
// VARCHAR, as a DuckDB file's simulation_events holds them, and
// exportCSVLists the columns that are lists of VARCHAR: PostgreSQL writes
// those as JSON arrays. The timestamps (TIMESTAMP, UTC) cross the file in
// PostgreSQL's ISO DateStyle, which DuckDB reads; a NULL is an unquoted
// empty field, an empty string a quoted one.
var (
	exportCSVTypes = map[string]string{"seq": "BIGINT", "tick": "BIGINT", "day": "BIGINT",
		"event_timestamp": "TIMESTAMP", "created_at": "TIMESTAMP"}
	exportCSVLists = map[string]bool{"agents": true, "tx_ids": true}
)

// exportCSVColumns is what PostgreSQL writes for each of exportColumns.
func exportCSVColumns() []string {
	cols := make([]string, len(exportColumns))
	for i, c := range exportColumns {
		if cols[i] = c; exportCSVLists[c] {
			cols[i] = "array_to_json(" + c + ")"
		}
	}
	return cols
}

// writeEventsCSV writes the run's events, in (tick, seq) order, to path as
// PostgreSQL's CSV of exportCSVColumns, and returns the longest record's
// length in bytes (readEventsCSV needs it: DuckDB refuses longer lines than
// it is told to expect).
func (s *Store) writeEventsCSV(ctx context.Context, simulationID, path string) (longest int, err error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	w := &recordMeter{w: bufio.NewWriterSize(f, 1<<20)}
	conn, err := s.sqlDB().Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	// COPY takes no bound parameters: the id is an escape string literal,
	// read the same whatever standard_conforming_strings says.
	q := fmt.Sprintf(`COPY (SELECT %s FROM simulation_events WHERE simulation_id = %s ORDER BY tick, seq)
		TO STDOUT WITH (FORMAT csv, ENCODING 'UTF8')`,
		strings.Join(exportCSVColumns(), ", "), pgEscapeLiteral(simulationID))
	err = conn.Raw(func(dc any) error {
		pc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("export: connection is a %T, not pgx's", dc)
		}
		tx, err := pc.Conn().Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx) // after Commit, a no-op
		// The timestamps' text form is the session's DateStyle: fix it.
		// The run's rows are read along the (simulation_id, tick, seq)
		// index, which is the order asked for: right after a bulk load
		// the planner's row estimate is small, and it would rather sort
		// them all (a fifth of the server's time for a large run).
		if _, err := tx.Exec(ctx, "SET LOCAL datestyle = 'ISO, YMD'; SET LOCAL enable_sort = off"); err != nil {
			return err
		}
		if _, err := tx.Conn().PgConn().CopyTo(ctx, w, q); err != nil {
			return err
		}
		return tx.Commit(ctx)
	})
	if err != nil {
		return 0, err
	}
	return w.longest(), w.w.Flush()
}

// pgEscapeLiteral quotes s as a PostgreSQL escape string (E'…'), where a
// backslash and a quote are escaped by doubling them. Simulation ids hold
// no control characters (checkSimulationID), so nothing else needs it.
func pgEscapeLiteral(s string) string {
	return "E'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(s) + "'"
}

// readEventsCSV is the DuckDB query that reads writeEventsCSV's file back
// as exportColumns, typed as the simulation_events table of a DuckDB file.
// The reader is told the file's exact form instead of sniffing it, and
// lines as long as the longest record (DuckDB refuses a longer one; its
// default is 2 MB), with buffers of twice that.
func readEventsCSV(path string, longest int) string {
	maxLine := max(2<<20, longest+1)
	sel, types := make([]string, len(exportColumns)), make([]string, len(exportColumns))
	for i, c := range exportColumns {
		typ := "VARCHAR"
		if t, ok := exportCSVTypes[c]; ok {
			typ = t
		}
		sel[i], types[i] = c, duckfile.StringLiteral(c)+": '"+typ+"'"
		if exportCSVLists[c] {
			sel[i] = "from_json(" + c + `, '["VARCHAR"]') AS ` + c
		}
	}
	return fmt.Sprintf(`SELECT %s FROM read_csv(%s, header = false, auto_detect = false,
		delim = ',', quote = '"', escape = '"', new_line = '\n', allow_quoted_nulls = false,
		max_line_size = %d, buffer_size = %d, columns = {%s})`,
		strings.Join(sel, ", "), duckfile.StringLiteral(path), maxLine, max(32<<20, 2*maxLine), strings.Join(types, ", "))
}

// recordMeter passes CSV through to w and measures its longest record: the
// bytes between two newlines outside quotes (a quoted field may hold
// newlines; a doubled quote inside one toggles twice and changes nothing).
type recordMeter struct {
	w        *bufio.Writer
	quoted   bool
	run, max int
}

func (m *recordMeter) Write(p []byte) (int, error) {
	for rest := p; len(rest) > 0; {
		i := bytes.IndexByte(rest, '"')
		if !m.quoted {
			// Outside quotes, a record ends at a newline before the next
			// quote (searched for only up to it, so each byte is read once).
			upto := rest
			if i >= 0 {
				upto = rest[:i]
			}
			if nl := bytes.IndexByte(upto, '\n'); nl >= 0 {
				m.max = max(m.max, m.run+nl+1)
				m.run = 0
				rest = rest[nl+1:]
				continue
			}
		}
		if i < 0 {
			m.run += len(rest)
			break
		}
		m.quoted = !m.quoted
		m.run += i + 1
		rest = rest[i+1:]
	}
	return m.w.Write(p)
}

func (m *recordMeter) longest() int { return max(m.max, m.run) }
