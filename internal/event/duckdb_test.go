package event_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/simcash/simdb/internal/event"
	"github.com/simcash/simdb/internal/provider"
	"github.com/simcash/simdb/internal/testutil"
)

// readerSeeds are accepted inputs whose strings sit next to the lone
// surrogate cases: whole pairs, and escaped backslashes before a "u".
var readerSeeds = []string{
	`{"event_type":"X","tick":1,"note":"\ud83d\ude00 \uDBFF\uDFFF","o":{"k":["\u00e9\uffff"]}}`,
	`{"event_type":"X","tick":1,"note":"\\ud800","o":{"p":"\\\\udc00"}}`,
	`{"event_type":"Arrival","tick":2,"tx_id":"t","sender_id":"\ud83d\ude00","receiver_id":"B","amount":1}`,
}

// fuzzCorpus returns the inputs go test keeps for a fuzz target
// (testdata/fuzz/NAME, "go test fuzz v1" files holding one []byte each).
func fuzzCorpus(t *testing.T, name string) [][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", name, "*"))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(lines) != 2 || lines[0] != "go test fuzz v1" || !strings.HasPrefix(lines[1], "[]byte(") {
			t.Fatalf("%s: not a one-[]byte fuzz input", f)
		}
		s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, []byte(s))
	}
	return out
}

// TestStoredDetailsReadableByDuckDB holds the writer to DuckDB's reader:
// every event the decoder accepts — the fuzz seeds, the fuzzer's stored
// inputs, the lone-surrogate neighbours above and, with SIMDB_CORPUS,
// every line of the real streams — is stored through the provider, and
// one SQL over the stored table finds every details object valid JSON for
// DuckDB (json_valid) and json_extract_string working on all of them. One
// event DuckDB cannot read fails every JSON query over the table, for
// every run in the file (issue 12).
func TestStoredDetailsReadableByDuckDB(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, err := provider.Open(ctx, filepath.Join(t.TempDir(), "reader.duckdb"), provider.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	// The control: DuckDB does refuse what the decoder now refuses, so
	// this test would catch a decoder that let it through.
	var valid bool
	if err := store.DB().QueryRowContext(ctx, `SELECT json_valid('{"a":"x\ud800y"}')`).Scan(&valid); err != nil || valid {
		t.Fatalf("DuckDB's json_valid of a lone surrogate: %v, %v; the control no longer holds", valid, err)
	}

	inputs := make([][]byte, 0, len(fuzzSeeds)+len(readerSeeds))
	for _, s := range append(append([]string{}, fuzzSeeds...), readerSeeds...) {
		inputs = append(inputs, []byte(s))
	}
	inputs = append(inputs, fuzzCorpus(t, "FuzzDecode")...)
	var stored, refused int64
	for i, in := range inputs {
		ev, err := event.Decode(in)
		if err != nil {
			refused++
			continue
		}
		id := fmt.Sprintf("in-%d", i)
		if err := store.PersistSimulationStart(ctx, id, nil, provider.StartOptions{}); err != nil {
			t.Fatal(err)
		}
		tick := int64(0)
		if ev.HasTick {
			tick = ev.Tick
		}
		if _, err := store.PersistTickEvents(ctx, id, tick, []json.RawMessage{in}); err != nil {
			t.Fatalf("input %d %q: decoded, but not stored: %v", i, in, err)
		}
		stored++
	}
	if stored < 15 || refused < 5 {
		t.Fatalf("%d inputs stored, %d refused: the seeds no longer cover both sides", stored, refused)
	}
	if os.Getenv("SIMDB_CORPUS") != "" {
		for _, name := range []string{"small", "medium", "large"} {
			if testing.Short() && name == "large" {
				continue
			}
			if err := store.PersistSimulationStart(ctx, name, nil, provider.StartOptions{}); err != nil {
				t.Fatal(err)
			}
			res, err := store.IngestJSONL(ctx, name, testutil.OpenGzip(t, testutil.CorpusFile(t, name+".jsonl.gz")), provider.IngestOptions{Source: name})
			if err != nil {
				t.Fatal(err)
			}
			stored += res.Events
		}
	}
	if err := store.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	var total, invalid, extracted int64
	err = store.DB().QueryRowContext(ctx, `
		SELECT count(*),
		       count(*) FILTER (WHERE NOT json_valid(details)),
		       count(json_extract_string(details, '$.sender_id'))
		           + count(json_extract_string(details, '$.note'))
		           + count(json_extract_string(details, '$.agents[0]'))
		FROM simulation_events`).Scan(&total, &invalid, &extracted)
	if err != nil {
		t.Fatalf("DuckDB's JSON functions over the stored events: %v", err)
	}
	if total != stored || invalid != 0 {
		t.Fatalf("%d events stored (want %d), %d with details DuckDB calls invalid", total, stored, invalid)
	}
	if extracted == 0 {
		t.Fatal("json_extract_string found nothing: the query no longer reads the details")
	}
	// Each decoded object, as DuckDB reads it, is the details the decoder
	// wrote: a sample through json() (DuckDB's own re-encoding) parses.
	var sample string
	if err := store.DB().QueryRowContext(ctx, `SELECT CAST(json(details) AS VARCHAR) FROM simulation_events WHERE simulation_id = 'in-0'`).Scan(&sample); err != nil ||
		!json.Valid([]byte(sample)) || !bytes.HasPrefix([]byte(sample), []byte("{")) {
		t.Fatalf("json(details): %q, %v", sample, err)
	}
	t.Logf("%d events stored, %d inputs refused, %d strings extracted", total, refused, extracted)
}
