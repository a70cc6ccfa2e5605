package simdb

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Event is the typed form of an engine event for Go callers: its type, its
// tick and its own fields in order. Encode turns it into the wire form
// PersistTickEvents takes (a flat JSON object: event_type, tick, then the
// fields), so both forms store identical rows.
type Event struct {
	Type   string
	Tick   int64
	Fields []Field
}

// Field is one member of an event. Money must be an integer type (int64
// cents); floats are only for register values and fractions.
type Field struct {
	Key   string
	Value any
}

// F is shorthand for a Field.
func F(key string, value any) Field { return Field{Key: key, Value: value} }

// MarshalJSON encodes the event as the engine does: compact, keys in
// order, no HTML escaping.
func (e Event) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	buf.WriteString(`{"event_type":`)
	if err := enc.Encode(e.Type); err != nil {
		return nil, err
	}
	buf.Truncate(buf.Len() - 1) // Encode's newline
	fmt.Fprintf(&buf, `,"tick":%d`, e.Tick)
	for _, f := range e.Fields {
		if f.Key == "event_type" || f.Key == "tick" {
			return nil, fmt.Errorf("event field %q is set by Event.Type/Event.Tick", f.Key)
		}
		buf.WriteByte(',')
		if err := enc.Encode(f.Key); err != nil {
			return nil, err
		}
		buf.Truncate(buf.Len() - 1)
		buf.WriteByte(':')
		if err := enc.Encode(f.Value); err != nil {
			return nil, fmt.Errorf("event field %q: %w", f.Key, err)
		}
		buf.Truncate(buf.Len() - 1)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// EncodeEvents encodes typed events into the wire form.
func EncodeEvents(events ...Event) ([]json.RawMessage, error) {
	out := make([]json.RawMessage, len(events))
	for i, e := range events {
		b, err := e.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("event %d (%s): %w", i, e.Type, err)
		}
		out[i] = b
	}
	return out, nil
}
