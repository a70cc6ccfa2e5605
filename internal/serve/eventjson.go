package serve

// An events page is most of what simdb serve writes, and encoding/json
// spends more on its events (reflection over each field, a validating
// compaction of every details object) than the page costs to read. The
// page's events are written here by hand instead, byte for byte what
// encoding/json writes (TestEventJSONMatchesEncodingJSON), falling back to
// encoding/json for any value that needs escaping.

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/simcash/simdb"
)

// writeEventsPage writes out as writeJSON would.
func (s *Server) writeEventsPage(w http.ResponseWriter, out eventsPage) {
	events := out.Events
	out.Events = nil
	rest, err := json.Marshal(out)
	const head = `{"events":null`
	if err != nil || !bytes.HasPrefix(rest, []byte(head)) {
		out.Events = events
		writeJSON(w, http.StatusOK, out)
		return
	}
	bp, _ := s.pageBuffers.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	defer s.pageBuffers.Put(bp)
	b := append((*bp)[:0], `{"events":[`...)
	for i := range events {
		if !encodable(&events[i]) {
			out.Events = events
			writeJSON(w, http.StatusOK, out) // the same failure encoding/json has
			return
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = appendEventJSON(b, &events[i])
	}
	b = append(b, ']')
	b = append(b, rest[len(head):]...)
	*bp = b
	writeJSONBody(w, http.StatusOK, b)
}

// encodable says whether encoding/json can write e: time.Time refuses
// years outside 0..9999.
func encodable(e *simdb.StoredEvent) bool {
	return jsonYear(e.EventTimestamp) && jsonYear(e.CreatedAt)
}

func jsonYear(t time.Time) bool {
	y := t.Year()
	return y >= 0 && y <= 9999
}

// appendEventJSON appends json.Marshal(e) for an encodable e.
func appendEventJSON(b []byte, e *simdb.StoredEvent) []byte {
	b = append(b, `{"event_id":`...)
	b = appendString(b, e.EventID)
	b = append(b, `,"simulation_id":`...)
	b = appendString(b, e.SimulationID)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, e.Seq, 10)
	b = append(b, `,"tick":`...)
	b = strconv.AppendInt(b, e.Tick, 10)
	b = append(b, `,"day":`...)
	b = strconv.AppendInt(b, e.Day, 10)
	b = append(b, `,"event_timestamp":`...)
	b = appendTime(b, e.EventTimestamp)
	b = append(b, `,"created_at":`...)
	b = appendTime(b, e.CreatedAt)
	b = append(b, `,"event_type":`...)
	b = appendString(b, e.EventType)
	b = append(b, `,"agent_id":`...)
	b = appendStringPtr(b, e.AgentID)
	b = append(b, `,"tx_id":`...)
	b = appendStringPtr(b, e.TxID)
	b = append(b, `,"details":`...)
	b = appendRaw(b, e.Details)
	b = append(b, `,"agents":`...)
	b = appendStrings(b, e.Agents)
	b = append(b, `,"tx_ids":`...)
	b = appendStrings(b, e.TxIDs)
	if e.Sender != nil {
		b = append(b, `,"sender":`...)
		b = appendString(b, *e.Sender)
	}
	if e.Receiver != nil {
		b = append(b, `,"receiver":`...)
		b = appendString(b, *e.Receiver)
	}
	b = appendIntField(b, `,"amount":`, e.Amount)
	b = appendIntField(b, `,"deadline":`, e.Deadline)
	b = appendIntField(b, `,"priority":`, e.Priority)
	return append(b, '}')
}

func appendIntField(b []byte, name string, v *int64) []byte {
	if v == nil {
		return b
	}
	return strconv.AppendInt(append(b, name...), *v, 10)
}

func appendStringPtr(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendString(b, *s)
}

func appendStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendString quotes s as encoding/json does: printable ASCII other than
// the quote, the backslash and the characters it escapes for HTML is
// copied; anything else goes through encoding/json.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendTime writes t as time.Time's MarshalJSON does (RFC 3339 with the
// nanoseconds it has) for the years it accepts.
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendRaw writes stored details as encoding/json writes a RawMessage:
// compacted, with <, >, & and U+2028/U+2029 escaped. Details as the
// engine writes them (compact, none of those characters) are copied;
// they were validated when stored.
func appendRaw(b []byte, raw json.RawMessage) []byte {
	if len(raw) == 0 {
		return append(b, "null"...)
	}
	inString, escaped := false, false
	for _, c := range raw {
		switch {
		case c == '<' || c == '>' || c == '&' || c == 0xe2: // 0xe2 leads U+2028 and U+2029
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		case c == '"':
			inString = true
			continue
		case c != ' ' && c != '\t' && c != '\n' && c != '\r':
			continue
		}
		q, err := json.Marshal(raw)
		if err != nil {
			return append(b, "null"...)
		}
		return append(b, q...)
	}
	return append(b, raw...)
}
