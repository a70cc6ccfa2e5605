//go:build duckdb_arrow

package provider

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory/mallocator"
	duckdb "github.com/duckdb/duckdb-go/v2"
)

// EventWriter names the DuckDB interface this build writes events through:
// "arrow" here, "appender" in a build without the duckdb_arrow tag.
const EventWriter = "arrow"

// The Arrow writer builds a batch's rows as Arrow columns in Go, hands them
// to DuckDB as a temporary view over an Arrow stream, and stores them with
// one INSERT … SELECT. Unlike the Appender it makes no cgo call per value,
// and DuckDB runs the insert as a query, with its own threads; the provider
// stores about 1.45× as many events per second as with the Appender
// (BENCHMARKS.md).
//
// Safety rules this file keeps, each for a reason:
//   - The columns live in C memory (mallocator), not Go memory: DuckDB reads
//     them through pointers held in C structs, which cgo forbids for Go
//     memory.
//   - The view is read exactly once, by the INSERT, and dropped before the
//     stream is released: an Arrow stream can be consumed once, and a view
//     left over a released stream would point at freed memory.
//   - The view is connection-local (DuckDB registers it in the temp
//     catalog) and created inside the caller's transaction, so a rollback
//     takes it away too.

// pendingView is the temporary view the batch is inserted from.
const pendingView = "simdb_pending_events"

// arrowBatchRows is the length of the record batches the stream yields. A
// commit group is split into several so that DuckDB's scan threads, which
// take batches one at a time in order, have more than one to share (a
// design choice; batch sizes were not compared).
const arrowBatchRows = 16 * 2048

// eventSchema is simulation_events' stored columns as Arrow fields, named
// and ordered as eventColumns.
func eventSchema() *arrow.Schema {
	ts := &arrow.TimestampType{Unit: arrow.Microsecond}
	str := arrow.BinaryTypes.String
	return arrow.NewSchema([]arrow.Field{
		{Name: "simulation_id", Type: str},
		{Name: "seq", Type: arrow.PrimitiveTypes.Int64},
		{Name: "tick", Type: arrow.PrimitiveTypes.Int64},
		{Name: "day", Type: arrow.PrimitiveTypes.Int64},
		{Name: "event_timestamp", Type: ts},
		{Name: "event_type", Type: str},
		{Name: "details", Type: str},
		{Name: "agent_id", Type: str, Nullable: true},
		{Name: "tx_id", Type: str, Nullable: true},
		{Name: "created_at", Type: ts},
		{Name: "agents", Type: arrow.ListOf(str)},
		{Name: "tx_ids", Type: arrow.ListOf(str)},
		{Name: "key_layout", Type: arrow.PrimitiveTypes.Int32},
	}, nil)
}

// appendEvents stores rows on conn inside the caller's open transaction:
// they become visible on commit and vanish on rollback.
func appendEvents(ctx context.Context, conn *sql.Conn, simulationID string, rows []pendingEvent, createdAt time.Time) error {
	return appendEventsWith(ctx, conn, mallocator.NewMallocator(), simulationID, rows, createdAt)
}

// appendEventsWith is appendEvents with the allocator of the Arrow columns,
// which a test checks is left with nothing allocated.
func appendEventsWith(ctx context.Context, conn *sql.Conn, alloc *mallocator.Mallocator, simulationID string, rows []pendingEvent, createdAt time.Time) error {
	if len(rows) == 0 {
		return nil
	}
	schema := eventSchema()
	var batches []arrow.RecordBatch
	defer func() {
		for _, b := range batches {
			b.Release()
		}
	}()
	for start := 0; start < len(rows); start += arrowBatchRows {
		batches = append(batches, buildEventBatch(alloc, schema, simulationID, rows[start:min(start+arrowBatchRows, len(rows))], createdAt))
	}
	reader, err := array.NewRecordReader(schema, batches)
	if err != nil {
		return fmt.Errorf("event batch: %w", err)
	}
	defer reader.Release()
	insert := "INSERT INTO simulation_events (" + strings.Join(eventColumns, ", ") + ") SELECT * FROM " + pendingView
	return conn.Raw(func(dc any) error {
		ar, err := duckdb.NewArrowFromConn(dc.(driver.Conn))
		if err != nil {
			return fmt.Errorf("arrow interface: %w", err)
		}
		release, err := ar.RegisterView(reader, pendingView)
		if err != nil {
			return fmt.Errorf("register event batch: %w", err)
		}
		defer release()
		exec := dc.(driver.ExecerContext)
		_, err = exec.ExecContext(ctx, insert, nil)
		// Dropped even when the insert failed; if the transaction is
		// aborted the drop fails too, and the rollback removes the view.
		_, derr := exec.ExecContext(context.Background(), "DROP VIEW IF EXISTS "+pendingView, nil)
		if err != nil {
			return fmt.Errorf("insert %d events (seq %d..%d): %w", len(rows), rows[0].seq, rows[len(rows)-1].seq, err)
		}
		if derr != nil {
			return fmt.Errorf("drop event batch view: %w", derr)
		}
		return nil
	})
}

// buildEventBatch builds one record batch of rows.
func buildEventBatch(alloc *mallocator.Mallocator, schema *arrow.Schema, simulationID string, rows []pendingEvent, createdAt time.Time) arrow.RecordBatch {
	b := array.NewRecordBuilder(alloc, schema)
	defer b.Release()
	b.Reserve(len(rows))
	var (
		simID     = b.Field(0).(*array.StringBuilder)
		seq       = b.Field(1).(*array.Int64Builder)
		tick      = b.Field(2).(*array.Int64Builder)
		day       = b.Field(3).(*array.Int64Builder)
		eventTS   = b.Field(4).(*array.TimestampBuilder)
		eventType = b.Field(5).(*array.StringBuilder)
		details   = b.Field(6).(*array.StringBuilder)
		agentID   = b.Field(7).(*array.StringBuilder)
		txID      = b.Field(8).(*array.StringBuilder)
		created   = b.Field(9).(*array.TimestampBuilder)
		agents    = b.Field(10).(*array.ListBuilder)
		txIDs     = b.Field(11).(*array.ListBuilder)
		layout    = b.Field(12).(*array.Int32Builder)
	)
	agentValues := agents.ValueBuilder().(*array.StringBuilder)
	txValues := txIDs.ValueBuilder().(*array.StringBuilder)
	var detailBytes, typeBytes int
	for i := range rows {
		detailBytes += len(rows[i].ev.Details)
		typeBytes += len(rows[i].ev.Type)
	}
	simID.ReserveData(len(rows) * len(simulationID))
	details.ReserveData(detailBytes)
	eventType.ReserveData(typeBytes)
	createdTS := arrow.Timestamp(createdAt.UnixMicro())
	for i := range rows {
		r := &rows[i]
		ev := &r.ev
		simID.Append(simulationID)
		seq.Append(r.seq)
		tick.Append(r.tick)
		day.Append(r.day)
		eventTS.Append(arrow.Timestamp(r.at.UnixMicro()))
		eventType.Append(ev.Type)
		details.BinaryBuilder.Append(ev.Details)
		if ev.HasAgentID {
			agentID.Append(ev.AgentID)
		} else {
			agentID.AppendNull()
		}
		if ev.HasTxID {
			txID.Append(ev.TxID)
		} else {
			txID.AppendNull()
		}
		if r.created.IsZero() {
			created.Append(createdTS)
		} else {
			created.Append(arrow.Timestamp(r.created.UnixMicro()))
		}
		agents.Append(true)
		agentValues.AppendValues(ev.Agents, nil)
		txIDs.Append(true)
		txValues.AppendValues(ev.TxIDs, nil)
		layout.Append(ev.Layout)
	}
	return b.NewRecordBatch()
}
