package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzEventFilter drives `simdb events` flag parsing and the filter it
// builds end to end against a small database: whatever the values, the
// command never panics, exits 0 (an answer) or 2 (a usage error, one line
// on stderr) and never 1, and a JSON answer honours the page contract
// (limit within 1..1000, offset >= 0, no more events than the limit,
// total >= the events shown).
func FuzzEventFilter(f *testing.F) {
	dir := f.TempDir()
	db := filepath.Join(dir, "fuzz.duckdb")
	stream := filepath.Join(dir, "s.jsonl")
	if err := os.WriteFile(stream, []byte(strings.Join([]string{
		`{"event_type":"Arrival","tick":0,"tx_id":"t1","sender_id":"BANK_A","receiver_id":"BANK_B","amount":5,"deadline":9,"priority":1,"is_divisible":false}`,
		`{"event_type":"RtgsImmediateSettlement","tick":1,"tx_id":"t1","sender":"BANK_A","receiver":"BANK_B","amount":5,"sender_balance_before":9,"sender_balance_after":4}`,
		`{"event_type":"LsmCycleSettlement","tick":2,"agents":["BANK_A","BANK_B","BANK_A"],"tx_amounts":[1,2],"total_value":3,"net_positions":[1,-1,0],"max_net_outflow":1,"max_net_outflow_agent":"BANK_A","tx_ids":["t1","t2"],"cycle_value":3}`,
	}, "\n")+"\n"), 0o644); err != nil {
		f.Fatal(err)
	}
	if r := runQuiet("--db", db, "ingest", "--sim", "s", "--ticks-per-day", "2", stream); r.code != exitOK {
		f.Fatalf("ingest: %s", r)
	}
	f.Add("Arrival,LsmCycleSettlement", "BANK_A", "t1", "asc", int64(0), int64(0), int64(2), 10, 0, uint8(0))
	f.Add("", "", "", "desc", int64(-1), int64(5), int64(1), -5, -3, uint8(255))
	f.Add("'; DROP TABLE simulations; --", "%", "_", "tick_desc", int64(1<<62), int64(-1<<62), int64(0), 1<<30, 1<<30, uint8(0x5a))
	f.Fuzz(func(t *testing.T, types, agent, tx, sort string, tick, from, to int64, limit, offset int, set uint8) {
		args := []string{"--db", db, "events", "s", "--format", "json"}
		// set picks which optional flags are given, so "absent" is
		// fuzzed as well as every value.
		opt := func(bit uint8, flag, value string) {
			if set&bit != 0 {
				args = append(args, "--"+flag+"="+value)
			}
		}
		opt(1, "type", types)
		opt(2, "agent", agent)
		opt(4, "tx", tx)
		opt(8, "sort", sort)
		opt(16, "tick", strconv.FormatInt(tick, 10))
		opt(32, "from", strconv.FormatInt(from, 10))
		opt(64, "to", strconv.FormatInt(to, 10))
		opt(128, "limit", strconv.Itoa(limit))
		args = append(args, "--offset="+strconv.Itoa(offset))
		r := runQuiet(args...)
		switch r.code {
		case exitUsage:
			if r.stdout != "" || r.stderr == "" {
				t.Fatalf("usage error with output: %s", r)
			}
			return
		case exitOK:
		default:
			t.Fatalf("simdb %s: %s", strings.Join(args, " "), r)
		}
		var page struct {
			Events []json.RawMessage `json:"events"`
			Total  int64             `json:"total"`
			Limit  int               `json:"limit"`
			Offset int               `json:"offset"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &page); err != nil {
			t.Fatalf("output is not the page JSON: %v\n%s", err, r)
		}
		if page.Limit < 1 || page.Limit > 1000 || page.Offset < 0 || len(page.Events) > page.Limit ||
			page.Total < int64(len(page.Events)) || page.Total > 3 {
			t.Fatalf("page contract broken: limit %d offset %d events %d total %d", page.Limit, page.Offset, len(page.Events), page.Total)
		}
	})
}

// runQuiet runs the command line in-process with the fixed clock.
func runQuiet(args ...string) result {
	var out, errb bytes.Buffer
	e := &env{ctx: context.Background(), stdin: strings.NewReader(""), stdout: &out, stderr: &errb, now: func() time.Time { return fixedNow }}
	code := run(e, args)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}
