package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/simcash/simdb"
)

func strPtr(s string) *string { return &s }
func intPtr(v int64) *int64   { return &v }

// An events page written by hand is byte for byte what encoding/json
// writes: for every stored event of the fixture, and for values that need
// escaping or have no value.
func TestEventJSONMatchesEncodingJSON(t *testing.T) {
	store := fixture(t, filepath.Join(t.TempDir(), "json.duckdb"))
	page, err := store.GetSimulationEvents(context.Background(), "r1", simdb.EventFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != len(fixtureLines()) {
		t.Fatalf("%d events stored, want %d", len(page.Events), len(fixtureLines()))
	}
	at := time.Date(2026, 11, 29, 10, 0, 0, 123456000, time.UTC)
	odd := []simdb.StoredEvent{
		{EventID: `r<1>&"q"\`, SimulationID: "é\u2028", EventTimestamp: at, CreatedAt: at.Truncate(time.Second),
			EventType: "A\tB", Details: json.RawMessage(`{"a": 1, "b":"x y","c":"<&>","d":"\"}\u2028"}`)},
		{Details: json.RawMessage("{\n \"k\" : [1, 2]\n}"), Agents: []string{}, TxIDs: []string{"t<1>", ""},
			AgentID: strPtr(""), TxID: strPtr("tx\x01"), CreatedAt: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
		{Details: json.RawMessage(`{"s":"a\\\" b"}`), Sender: strPtr("BANK_A"), Receiver: strPtr("B&B"),
			Amount: intPtr(-5), Deadline: intPtr(0), Priority: intPtr(9), EventTimestamp: at.In(time.FixedZone("x", 3600))},
		{Details: json.RawMessage(`{"s":"tab\tin string"}`)},
		{Details: json.RawMessage(`{"a": 1, "b": [2, "3 4"]}`)},
		{},
	}
	for i, e := range append(page.Events, odd...) {
		want, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendEventJSON(nil, &e); !bytes.Equal(got, want) {
			t.Fatalf("event %d:\n got %s\nwant %s", i, got, want)
		}
	}

	// The whole answer, through the handler's writer and writeJSON.
	s := New(store, Options{})
	for _, out := range []eventsPage{
		{EventPage: page, NextCursor: "3:9"},
		{EventPage: simdb.EventPage{Events: odd, Total: 5, Limit: 5, Next: &simdb.Cursor{Tick: 1, Seq: 2}}},
		{EventPage: simdb.EventPage{Events: []simdb.StoredEvent{}}},
		{EventPage: simdb.EventPage{Events: []simdb.StoredEvent{{CreatedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}}},
	} {
		got, want := httptest.NewRecorder(), httptest.NewRecorder()
		s.writeEventsPage(got, out)
		writeJSON(want, http.StatusOK, out)
		if got.Code != want.Code || !bytes.Equal(got.Body.Bytes(), want.Body.Bytes()) || got.Header().Get("Content-Type") != want.Header().Get("Content-Type") {
			t.Fatalf("page:\n got %d %s\nwant %d %s", got.Code, got.Body, want.Code, want.Body)
		}
	}
}
