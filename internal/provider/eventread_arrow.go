//go:build duckdb_arrow

package provider

import (
	"context"
	"database/sql/driver"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	duckdb "github.com/duckdb/duckdb-go/v2"
)

// queryEvents runs an event query (eventSQL.selectEvents) and appends its
// rows to dst, reading them as Arrow record batches (the build with the
// duckdb_arrow tag): DuckDB converts each chunk to columns in C++, where
// database/sql would convert every value to an interface and scan it back.
// The batches' memory belongs to DuckDB and is freed with the next batch, so
// every string an event keeps is copied out of it first. On error dst holds
// the rows read before it. PostgreSQL has no Arrow interface: its reads go
// through database/sql (queryEventsRows).
func (s *Store) queryEvents(ctx context.Context, simulationID, q string, args []any, dst []StoredEvent) ([]StoredEvent, error) {
	if !s.be.embedded() {
		return s.queryEventsRows(ctx, simulationID, q, args, dst)
	}
	conn, err := s.sqlDB().Conn(ctx)
	if err != nil {
		return dst, err
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		ar, err := duckdb.NewArrowFromConn(dc.(driver.Conn))
		if err != nil {
			return fmt.Errorf("arrow interface: %w", err)
		}
		reader, err := ar.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer reader.Release()
		r := newEventRow(simulationID)
		for reader.Next() {
			if dst, err = appendEventRows(dst, reader.RecordBatch(), r); err != nil {
				return err
			}
		}
		return reader.Err()
	})
	return dst, err
}

// stringColumn is what the event queries' VARCHAR columns arrive as.
type stringColumn interface {
	Value(int) string
	IsNull(int) bool
}

// appendEventRows appends to dst every row of rec, a batch of
// eventReadColumns in order.
func appendEventRows(dst []StoredEvent, rec arrow.RecordBatch, r *eventRow) ([]StoredEvent, error) {
	if want := len(eventReadColumns()); int(rec.NumCols()) != want {
		return dst, fmt.Errorf("event query returned %d columns, want %d", rec.NumCols(), want)
	}
	seq, ok0 := rec.Column(0).(*array.Int64)
	tick, ok1 := rec.Column(1).(*array.Int64)
	day, ok2 := rec.Column(2).(*array.Int64)
	eventTS, ok3 := rec.Column(3).(*array.Timestamp)
	eventType, ok4 := rec.Column(4).(stringColumn)
	details, ok5 := rec.Column(5).(stringColumn)
	agentID, ok6 := rec.Column(6).(stringColumn)
	txID, ok7 := rec.Column(7).(stringColumn)
	created, ok8 := rec.Column(8).(*array.Timestamp)
	layout, ok9 := rec.Column(9).(*array.Int32)
	if !(ok0 && ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 && ok8 && ok9) {
		return dst, fmt.Errorf("event query returned unexpected Arrow types: %v", rec.Schema())
	}
	eventUnit := eventTS.DataType().(*arrow.TimestampType).Unit
	createdUnit := created.DataType().(*arrow.TimestampType).Unit
	for i := range int(rec.NumRows()) {
		r.seq, r.tick, r.day, r.layout = seq.Value(i), tick.Value(i), day.Value(i), layout.Value(i)
		r.eventTimestamp = eventTS.Value(i).ToTime(eventUnit)
		r.createdAt = created.Value(i).ToTime(createdUnit)
		// Borrowed from the batch: appendEvent copies or interns what it keeps.
		r.eventType, r.details = eventType.Value(i), details.Value(i)
		r.hasAgent, r.agentID = !agentID.IsNull(i), agentID.Value(i)
		r.hasTx, r.txID = !txID.IsNull(i), txID.Value(i)
		var err error
		if dst, err = r.appendEvent(dst); err != nil {
			return dst, err
		}
	}
	return dst, nil
}
