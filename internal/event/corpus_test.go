package event_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"testing"

	"github.com/simcash/simdb/internal/event"
	"github.com/simcash/simdb/internal/testutil"
)

// Every line of every real stream decodes, rebuilds to the same bytes, its
// stored row yields the same agents and transactions, and its details hold
// exactly the input's members minus the lifted ones.
func TestCorpusRoundTrip(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"small.jsonl.gz", "medium.jsonl.gz", "large.jsonl.gz"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if testing.Short() && name == "large.jsonl.gz" {
				t.Skip("large stream skipped in -short mode")
			}
			// Line by line: holding the large stream's lines costs more in
			// the garbage collector than the checks themselves.
			sc := bufio.NewScanner(testutil.OpenGzip(t, testutil.CorpusFile(t, name)))
			sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
			seen := map[string]int{}
			for i := 0; sc.Scan(); i++ {
				line := sc.Bytes()
				ev, err := event.Decode(line)
				if err != nil {
					t.Fatalf("line %d: %v", i+1, err)
				}
				got, err := event.Rebuild(nil, event.Stored{Type: ev.Type, Tick: ev.Tick, AgentID: ev.AgentID, TxID: ev.TxID, Details: ev.Details, Layout: ev.Layout})
				if err != nil {
					t.Fatalf("line %d: %v", i+1, err)
				}
				if !bytes.Equal(got, line) {
					t.Fatalf("line %d: rebuilt\n%s\nwant\n%s", i+1, got, line)
				}
				// The parties reference decodes the line with encoding/json,
				// most of this test's time: on the large stream every event
				// of the first thousand of each type, then every eighth.
				if seen[ev.Type]++; name != "large.jsonl.gz" || seen[ev.Type] <= 1000 || i%8 == 0 {
					checkParties(t, line, ev)
				}
				if i%97 == 0 { // the details check decodes JSON; a sample is enough
					checkDetails(t, i+1, line, ev)
				}
			}
			if err := sc.Err(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func checkDetails(t *testing.T, lineNo int, line []byte, ev event.Event) {
	t.Helper()
	var in, det map[string]json.RawMessage
	if err := json.Unmarshal(line, &in); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(ev.Details, &det); err != nil {
		t.Fatalf("line %d: details not JSON: %v", lineNo, err)
	}
	for _, k := range []string{"event_type", "tick", "agent_id", "tx_id"} {
		if _, ok := det[k]; ok {
			t.Fatalf("line %d: details keeps %q", lineNo, k)
		}
		delete(in, k)
	}
	if len(in) != len(det) {
		t.Fatalf("line %d: details has %d members, want %d", lineNo, len(det), len(in))
	}
	for k, v := range in {
		if !bytes.Equal(det[k], v) {
			t.Fatalf("line %d: details[%q] = %s, want %s", lineNo, k, det[k], v)
		}
	}
}
