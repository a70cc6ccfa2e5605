//go:build duckdb_arrow

package provider

import (
	"testing"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory/mallocator"
	"github.com/simcash/simdb/internal/event"
)

// TestBuildEventBatchMatchesArrowBuilders: the batch buildEventBatch
// writes into its own buffers equals, value for value and null for null,
// the one Arrow's builders make of the same rows (the writer's previous
// code, kept here as the reference): nulls where an event has no agent_id
// or tx_id, empty lists, an escaped string, a copied created_at. Both free
// all their C memory.
func TestBuildEventBatchMatchesArrowBuilders(t *testing.T) {
	lines := []string{
		`{"event_type":"Arrival","tick":3,"tx_id":"t1","sender_id":"A","receiver_id":"B","amount":5}`,
		`{"event_type":"CostAccrual","tick":3,"agent_id":"B","costs":{"total":7}}`,
		`{"event_type":"LsmCycleSettlement","tick":3,"agents":["A","B","C"],"tx_ids":["t1","t2"],"cycle_value":9}`,
		`{"event_type":"EndOfDay","tick":3,"day":0,"unsettled_count":0,"total_penalties":0}`,
		`{"event_type":"Note","tick":3,"agent_id":"A\u00e9\"q","reason":"x\ny"}`,
		`{"event_type":"StateRegisterSet","tick":3,"agent_id":"C","register_key":"k","old_value":0,"new_value":1.5}`,
	}
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	var rows []pendingEvent
	for i, l := range lines {
		ev, err := event.Decode([]byte(l))
		if err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		pe := pendingEvent{ev: ev, seq: int64(40 + i), tick: 3, day: 0, at: at.Add(time.Duration(i) * time.Microsecond)}
		if i == 2 {
			pe.created = at.Add(-time.Hour)
		}
		rows = append(rows, pe)
	}
	for _, n := range []int{len(rows), 1, 0} {
		alloc := mallocator.NewMallocator()
		schema := eventSchema()
		got := buildEventBatch(alloc, schema, "sim-1", rows[:n], at.Add(time.Second))
		want := referenceEventBatch(alloc, schema, "sim-1", rows[:n], at.Add(time.Second))
		if !array.RecordEqual(got, want) {
			t.Errorf("%d rows: the batch differs from the builders'.\ngot:  %v\nwant: %v", n, got, want)
		}
		for i := range got.NumCols() {
			if g, w := got.Column(int(i)).NullN(), want.Column(int(i)).NullN(); g != w {
				t.Errorf("%d rows: column %s has %d nulls, want %d", n, schema.Field(int(i)).Name, g, w)
			}
		}
		got.Release()
		want.Release()
		if b := alloc.AllocatedBytes(); b != 0 {
			t.Errorf("%d rows: %d bytes of Arrow C memory not freed", n, b)
		}
	}
}

// TestBatchEndBoundsRowsAndBytes: a record batch ends after arrowBatchRows
// rows, or before the row that takes its string bytes past maxBatchBytes
// (32-bit offsets), holding at least one row.
func TestBatchEndBoundsRowsAndBytes(t *testing.T) {
	small := make([]pendingEvent, arrowBatchRows+5)
	if got := batchEnd(small, 0); got != arrowBatchRows {
		t.Errorf("batchEnd of %d small rows = %d, want %d", len(small), got, arrowBatchRows)
	}
	if got := batchEnd(small, arrowBatchRows); got != len(small) {
		t.Errorf("batchEnd of the rest = %d, want %d", got, len(small))
	}
	big := make([]byte, maxBatchBytes/3+1) // shared: no memory per row
	rows := make([]pendingEvent, 5)
	for i := range rows {
		rows[i].ev.Details = big
	}
	if got := batchEnd(rows, 0); got != 2 {
		t.Errorf("batchEnd of rows of a third of maxBatchBytes = %d, want 2", got)
	}
	third := unsafe.String(&big[0], len(big)) // the same bytes again
	rows[0].ev.Agents = []string{third, third, third}
	if got := batchEnd(rows, 0); got != 1 {
		t.Errorf("batchEnd of a row over maxBatchBytes = %d, want 1 (the row alone)", got)
	}
}

// referenceEventBatch is buildEventBatch as written with Arrow's builders
// before it wrote its buffers itself.
func referenceEventBatch(alloc *mallocator.Mallocator, schema *arrow.Schema, simulationID string, rows []pendingEvent, createdAt time.Time) arrow.RecordBatch {
	b := array.NewRecordBuilder(alloc, schema)
	defer b.Release()
	agents, txIDs := b.Field(10).(*array.ListBuilder), b.Field(11).(*array.ListBuilder)
	for i := range rows {
		r := &rows[i]
		ev := &r.ev
		b.Field(0).(*array.StringBuilder).Append(simulationID)
		b.Field(1).(*array.Int64Builder).Append(r.seq)
		b.Field(2).(*array.Int64Builder).Append(r.tick)
		b.Field(3).(*array.Int64Builder).Append(r.day)
		b.Field(4).(*array.TimestampBuilder).Append(arrow.Timestamp(r.at.UnixMicro()))
		b.Field(5).(*array.StringBuilder).Append(ev.Type)
		b.Field(6).(*array.StringBuilder).BinaryBuilder.Append(ev.Details)
		if ev.HasAgentID {
			b.Field(7).(*array.StringBuilder).Append(ev.AgentID)
		} else {
			b.Field(7).(*array.StringBuilder).AppendNull()
		}
		if ev.HasTxID {
			b.Field(8).(*array.StringBuilder).Append(ev.TxID)
		} else {
			b.Field(8).(*array.StringBuilder).AppendNull()
		}
		created := createdAt
		if !r.created.IsZero() {
			created = r.created
		}
		b.Field(9).(*array.TimestampBuilder).Append(arrow.Timestamp(created.UnixMicro()))
		agents.Append(true)
		agents.ValueBuilder().(*array.StringBuilder).AppendValues(ev.Agents, nil)
		txIDs.Append(true)
		txIDs.ValueBuilder().(*array.StringBuilder).AppendValues(ev.TxIDs, nil)
		b.Field(12).(*array.Int32Builder).Append(ev.Layout)
	}
	return b.NewRecordBatch()
}
