//go:build duckdb_arrow

package provider

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"runtime/trace"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/simcash/simdb/internal/event"
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
//   - The columns live in C memory (reuseAllocator over arrow's
//     mallocator), not Go memory: DuckDB reads them through pointers held
//     in C structs, which cgo forbids for Go memory.
//   - The view is read exactly once, by the INSERT, and dropped before the
//     stream is released: an Arrow stream can be consumed once, and a view
//     left over a released stream would point at freed memory.
//   - The view is connection-local (DuckDB registers it in the temp
//     catalog) and created inside the caller's transaction, so a rollback
//     takes it away too.
//   - The INSERT reads every column of the view, in schema order: a
//     trial that read all but one (`SELECT 'id', * EXCLUDE (simulation_id)`)
//     crashed the process inside DuckDB (SIGSEGV, duckdb-go v2.10506.0).

// pendingView is the temporary view the batch is inserted from.
const pendingView = "simdb_pending_events"

// arrowBatchRows is the length of the record batches the stream yields. A
// commit group is split into several so that DuckDB's scan threads, which
// take batches one at a time in order, have more than one to share (a
// design choice; batch sizes were not compared).
const arrowBatchRows = 16 * 2048

// maxBatchBytes bounds the string bytes of one record batch: its string
// columns have 32-bit offsets, and a batch of arrowBatchRows lines near
// MaxLineBytes would overflow them.
const maxBatchBytes = 1 << 30

// batchEnd is where the record batch starting at rows[start] ends: after
// arrowBatchRows rows, or before the row that would take its string bytes
// past maxBatchBytes (a batch holds at least one row).
func batchEnd(rows []pendingEvent, start int) int {
	size := 0
	for i := start; i < len(rows); i++ {
		if i-start == arrowBatchRows {
			return i
		}
		size += stringBytes(&rows[i].ev)
		if size > maxBatchBytes && i > start {
			return i
		}
	}
	return len(rows)
}

// stringBytes is the bytes an event puts in a batch's string columns,
// besides the simulation id.
func stringBytes(ev *event.Event) int {
	n := len(ev.Type) + len(ev.Details) + len(ev.AgentID) + len(ev.TxID)
	for _, a := range ev.Agents {
		n += len(a)
	}
	for _, t := range ev.TxIDs {
		n += len(t)
	}
	return n
}

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

// eventWriter is a Store's Arrow writer: it keeps the C memory of its
// record batches' columns for the next commit group (reuseAllocator).
type eventWriter struct {
	alloc *reuseAllocator
}

func newEventWriter() *eventWriter { return &eventWriter{alloc: newReuseAllocator()} }

// write stores rows on conn inside the caller's open transaction: they
// become visible on commit and vanish on rollback.
func (w *eventWriter) write(ctx context.Context, conn *sql.Conn, simulationID string, rows []pendingEvent, createdAt time.Time) error {
	err := appendEventsWith(ctx, conn, w.alloc, simulationID, rows, createdAt)
	w.alloc.sweep() // the batches are released: keep what they used, free the rest
	return err
}

// release returns the kept memory to the C library; the Store closes.
func (w *eventWriter) release() { w.alloc.release() }

// appendEventsWith is eventWriter.write with the allocator of the Arrow
// columns, which a test checks is left with nothing allocated.
func appendEventsWith(ctx context.Context, conn *sql.Conn, alloc memory.Allocator, simulationID string, rows []pendingEvent, createdAt time.Time) error {
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
	region := trace.StartRegion(ctx, "simdb: build Arrow batches")
	for start := 0; start < len(rows); {
		end := batchEnd(rows, start)
		batches = append(batches, buildEventBatch(alloc, schema, simulationID, rows[start:end], createdAt))
		start = end
	}
	region.End()
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
		region := trace.StartRegion(ctx, "simdb: insert Arrow batches")
		_, err = exec.ExecContext(ctx, insert, nil)
		region.End()
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

// buildEventBatch builds one record batch of rows. The columns are written
// straight into buffers sized in one pass over the rows, not through
// Arrow's builders: their per-value calls and regrowth (list values and
// nullable strings are not reserved) cost about twice as much
// (BenchmarkBuildEventBatch). Every column but agent_id and tx_id (null
// where the event has none) is non-null; agents and tx_ids are empty lists
// where the event names none.
func buildEventBatch(alloc memory.Allocator, schema *arrow.Schema, simulationID string, rows []pendingEvent, createdAt time.Time) arrow.RecordBatch {
	n := len(rows)
	var typeBytes, detailBytes, agentIDBytes, txIDBytes, agentVals, agentBytes, txVals, txBytes int
	for i := range rows {
		ev := &rows[i].ev
		typeBytes += len(ev.Type)
		detailBytes += len(ev.Details)
		agentIDBytes += len(ev.AgentID)
		txIDBytes += len(ev.TxID)
		agentVals += len(ev.Agents)
		for _, a := range ev.Agents {
			agentBytes += len(a)
		}
		txVals += len(ev.TxIDs)
		for _, t := range ev.TxIDs {
			txBytes += len(t)
		}
	}
	c := columnWriter{alloc: alloc, n: n}
	defer c.release()
	simID := c.strings(len(simulationID)*n, false)
	seq, tick, day := c.int64s(), c.int64s(), c.int64s()
	eventTS := c.int64s()
	eventType := c.strings(typeBytes, false)
	details := c.strings(detailBytes, false)
	agentID := c.strings(agentIDBytes, true)
	txID := c.strings(txIDBytes, true)
	created := c.int64s()
	agents := c.lists(agentVals, agentBytes)
	txIDs := c.lists(txVals, txBytes)
	layout := c.int32s()
	createdTS := createdAt.UnixMicro()
	for i := range rows {
		r := &rows[i]
		ev := &r.ev
		simID.add(i, simulationID)
		seq[i], tick[i], day[i] = r.seq, r.tick, r.day
		eventTS[i] = r.at.UnixMicro()
		eventType.add(i, ev.Type)
		details.addBytes(i, ev.Details)
		if ev.HasAgentID {
			agentID.add(i, ev.AgentID)
		} else {
			agentID.null(i)
		}
		if ev.HasTxID {
			txID.add(i, ev.TxID)
		} else {
			txID.null(i)
		}
		created[i] = createdTS
		if !r.created.IsZero() {
			created[i] = r.created.UnixMicro()
		}
		agents.add(i, ev.Agents)
		txIDs.add(i, ev.TxIDs)
		layout[i] = ev.Layout
	}
	return c.batch(schema)
}

// columnWriter allocates the buffers of one record batch's columns, in
// schema order, and assembles them into the batch.
type columnWriter struct {
	alloc memory.Allocator
	n     int
	// cols are the columns' buffers as array data, filled by the add
	// calls; batch makes arrays of them.
	cols []columnData
}

// columnData is one column: its buffers, in Arrow's order for its type
// (validity first), and for a list its values' buffers.
type columnData struct {
	bufs     []*memory.Buffer
	nulls    *int
	children []*memory.Buffer
}

func (c *columnWriter) buffer(size int) *memory.Buffer {
	b := memory.NewResizableBuffer(c.alloc)
	b.Resize(size) // zeroed: reuseAllocator and mallocator clear what they give
	return b
}

func (c *columnWriter) int64s() []int64 {
	b := c.buffer(c.n * arrow.Int64SizeBytes)
	c.cols = append(c.cols, columnData{bufs: []*memory.Buffer{nil, b}})
	return arrow.Int64Traits.CastFromBytes(b.Bytes())
}

func (c *columnWriter) int32s() []int32 {
	b := c.buffer(c.n * arrow.Int32SizeBytes)
	c.cols = append(c.cols, columnData{bufs: []*memory.Buffer{nil, b}})
	return arrow.Int32Traits.CastFromBytes(b.Bytes())
}

// strings adds a string column of n values holding size bytes in all;
// nullable gives it a validity bitmap (every value valid until null).
func (c *columnWriter) strings(size int, nullable bool) *arrowStrings {
	col := &arrowStrings{}
	var valid *memory.Buffer
	if nullable {
		valid = c.buffer(int(bitutil.BytesForBits(int64(c.n))))
		col.valid = valid.Bytes()
	}
	offsets, data := c.buffer((c.n+1)*arrow.Int32SizeBytes), c.buffer(size)
	col.offsets, col.data = arrow.Int32Traits.CastFromBytes(offsets.Bytes()), data.Bytes()
	c.cols = append(c.cols, columnData{bufs: []*memory.Buffer{valid, offsets, data}, nulls: &col.nulls})
	return col
}

// lists adds a list-of-strings column whose n lists hold values strings
// of size bytes in all.
func (c *columnWriter) lists(values, size int) *arrowLists {
	offsets := c.buffer((c.n + 1) * arrow.Int32SizeBytes)
	valOffsets, data := c.buffer((values+1)*arrow.Int32SizeBytes), c.buffer(size)
	col := &arrowLists{
		offsets: arrow.Int32Traits.CastFromBytes(offsets.Bytes()),
		values:  arrowStrings{offsets: arrow.Int32Traits.CastFromBytes(valOffsets.Bytes()), data: data.Bytes()},
	}
	c.cols = append(c.cols, columnData{bufs: []*memory.Buffer{nil, offsets}, children: []*memory.Buffer{nil, valOffsets, data}})
	return col
}

// batch makes the record batch of the columns, typed by schema.
func (c *columnWriter) batch(schema *arrow.Schema) arrow.RecordBatch {
	arrays := make([]arrow.Array, len(c.cols))
	defer func() {
		for _, a := range arrays {
			a.Release()
		}
	}()
	for i, col := range c.cols {
		typ := schema.Field(i).Type
		nulls := 0
		if col.nulls != nil {
			nulls = *col.nulls
		}
		var children []arrow.ArrayData
		if col.children != nil {
			elem := typ.(*arrow.ListType).Elem()
			child := array.NewData(elem, col.children[1].Len()/arrow.Int32SizeBytes-1, col.children, nil, 0, 0)
			defer child.Release()
			children = []arrow.ArrayData{child}
		}
		data := array.NewData(typ, c.n, col.bufs, children, nulls, 0)
		arrays[i] = array.MakeFromData(data)
		data.Release()
	}
	return array.NewRecordBatch(schema, arrays, int64(c.n))
}

// release drops the writer's references to the buffers; the batch holds
// its own.
func (c *columnWriter) release() {
	for _, col := range c.cols {
		for _, b := range append(col.bufs, col.children...) {
			if b != nil {
				b.Release()
			}
		}
	}
}

// arrowStrings fills a string column's offsets and bytes row by row.
type arrowStrings struct {
	offsets []int32
	data    []byte
	valid   []byte // nil: not nullable
	nulls   int
	end     int32
}

func (s *arrowStrings) add(i int, v string) {
	s.end += int32(copy(s.data[s.end:], v))
	s.offsets[i+1] = s.end
	if s.valid != nil {
		bitutil.SetBit(s.valid, i)
	}
}

func (s *arrowStrings) addBytes(i int, v []byte) {
	s.end += int32(copy(s.data[s.end:], v))
	s.offsets[i+1] = s.end
}

func (s *arrowStrings) null(i int) {
	s.offsets[i+1] = s.end
	s.nulls++
}

// arrowLists fills a list-of-strings column row by row.
type arrowLists struct {
	offsets []int32
	values  arrowStrings
	next    int // the next value's index
}

func (l *arrowLists) add(i int, vs []string) {
	for _, v := range vs {
		l.values.add(l.next, v)
		l.next++
	}
	l.offsets[i+1] = int32(l.next)
}
