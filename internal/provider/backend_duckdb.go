package provider

import (
	"context"
	"database/sql"
	"time"

	"github.com/simcash/simdb/internal/event"
)

// duckdbBackend is an embedded DuckDB file: events go in through Arrow or
// the Appender (eventwriter_*.go), lists are DuckDB LISTs.
type duckdbBackend struct {
	events *eventWriter
}

func (duckdbBackend) name() string   { return "duckdb" }
func (duckdbBackend) embedded() bool { return true }

func (b duckdbBackend) writeEvents(ctx context.Context, conn *sql.Conn, id string, rows []pendingEvent, createdAt time.Time) error {
	return b.events.write(ctx, conn, id, rows, createdAt)
}

func (duckdbBackend) writeSummary(ctx context.Context, _ *sql.Conn, tx *sql.Tx, id string, rows []pendingEvent) error {
	return writeSummaryRows(ctx, tx, id, rows)
}

func (duckdbBackend) contains(col string) string { return "list_contains(" + col + ", ?)" }
func (duckdbBackend) oneOf(col string) string    { return "list_contains(?, " + col + ")" }
func (duckdbBackend) list(v []string) any        { return stringList(v) }
func (duckdbBackend) txError(err error) error    { return err }

func (duckdbBackend) claim(context.Context, string) error            { return nil }
func (duckdbBackend) release(string)                                 {}
func (duckdbBackend) holds(string) bool                              { return false }
func (b duckdbBackend) close() error                                 { b.events.release(); return nil }
func (duckdbBackend) checkEvents(string, int64, []event.Event) error { return nil }

// windowOrder is empty: DuckDB scans a run's rows in the order they were
// stored, seq order, and a sort cost a third of a window's time
// (orderWindow, BENCHMARKS.md).
func (duckdbBackend) windowOrder() string { return "" }
