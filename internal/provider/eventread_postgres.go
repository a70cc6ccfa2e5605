package provider

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"time"
	"unsafe"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
)

// queryEventsPG runs an event query (eventSQL.selectEvents) on PostgreSQL
// through pgx's own interface and decodes each row's wire values in place:
// database/sql would turn every value into an interface and copy it twice,
// which held a full stream read of 1.1M events to about 116k events/s. The
// strings are borrowed from pgx's read buffer until the next row;
// appendEvent copies or interns what it keeps. On error dst holds the rows
// read before it.
func (s *Store) queryEventsPG(ctx context.Context, simulationID, q string, args []any, dst []StoredEvent) ([]StoredEvent, error) {
	conn, err := s.sqlDB().Conn(ctx)
	if err != nil {
		return dst, err
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		pc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("read events: connection is a %T, not pgx's", dc)
		}
		rows, err := pc.Conn().Query(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		fields := rows.FieldDescriptions()
		if want := len(eventReadColumns()); len(fields) != want {
			// A query that failed (a cancelled context, say) has no
			// columns: its error is the one to report.
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			return fmt.Errorf("event query returned %d columns, want %d", len(fields), want)
		}
		r := newEventRow(simulationID)
		for rows.Next() {
			v := rows.RawValues()
			var err error
			if r.seq, err = wireInt(fields[0], v[0]); err != nil {
				return err
			}
			if r.tick, err = wireInt(fields[1], v[1]); err != nil {
				return err
			}
			if r.day, err = wireInt(fields[2], v[2]); err != nil {
				return err
			}
			if r.eventTimestamp, err = wireTimestamp(fields[3], v[3]); err != nil {
				return err
			}
			r.eventType, r.details = borrow(v[4]), borrow(v[5])
			r.hasAgent, r.agentID = v[6] != nil, borrow(v[6])
			r.hasTx, r.txID = v[7] != nil, borrow(v[7])
			if r.createdAt, err = wireTimestamp(fields[8], v[8]); err != nil {
				return err
			}
			layout, err := wireInt(fields[9], v[9])
			if err != nil {
				return err
			}
			r.layout = int32(layout)
			if dst, err = r.appendEvent(dst); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	return dst, err
}

// borrow is b as a string without a copy; valid while b is.
func borrow(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// wireInt decodes an int8 or int4 value in either wire format.
func wireInt(f pgconn.FieldDescription, b []byte) (int64, error) {
	if f.Format == pgtype.TextFormatCode {
		return strconv.ParseInt(string(b), 10, 64)
	}
	switch len(b) {
	case 8:
		return int64(binary.BigEndian.Uint64(b)), nil
	case 4:
		return int64(int32(binary.BigEndian.Uint32(b))), nil
	}
	return 0, fmt.Errorf("column %s: %d-byte integer", f.Name, len(b))
}

// pgEpoch is where PostgreSQL's binary timestamps count from.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// wireTimestamp decodes a TIMESTAMP (microseconds since 2000-01-01 in the
// binary format) as UTC.
func wireTimestamp(f pgconn.FieldDescription, b []byte) (time.Time, error) {
	if f.Format == pgtype.TextFormatCode {
		return time.Parse("2006-01-02 15:04:05.999999", string(b))
	}
	if len(b) != 8 {
		return time.Time{}, fmt.Errorf("column %s: %d-byte timestamp", f.Name, len(b))
	}
	return pgEpoch.Add(time.Duration(int64(binary.BigEndian.Uint64(b))) * time.Microsecond), nil
}
