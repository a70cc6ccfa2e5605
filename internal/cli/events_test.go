package cli

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/testutil"
	"github.com/simcash/simdb/internal/testutil/simdbtest"
)

// parties are the party and transaction fields of the engine's events
// (SIMCASH.md): the --agent and --tx filters must match an event through
// any of them, also inside ScenarioEventExecuted's details_json (a string
// holding an object), where from_agent, to_agent, agent and counterparty
// name agents too.
var parties = testutil.SimCashPartyKeys()

func (ev srcEvent) names(scalars, lists []string, want string) bool {
	if namedIn(ev.fields, scalars, lists, want) {
		return true
	}
	var inner map[string]any
	if s, ok := ev.fields["details_json"].(string); !ok || json.Unmarshal([]byte(s), &inner) != nil {
		return false
	}
	if slices.Equal(scalars, parties.Agent) {
		scalars = append(slices.Clone(scalars), parties.ScenarioAgent...)
	}
	return namedIn(inner, scalars, lists, want)
}

func namedIn(fields map[string]any, scalars, lists []string, want string) bool {
	for _, k := range scalars {
		if s, ok := fields[k].(string); ok && s == want {
			return true
		}
	}
	for _, k := range lists {
		if l, ok := fields[k].([]any); ok {
			for _, v := range l {
				if s, ok := v.(string); ok && s == want {
					return true
				}
			}
		}
	}
	return false
}

// eventsFixture ingests a generated stream of more than 1000 events.
type eventsFixture struct {
	db, sim     string
	src         []srcEvent
	ticksPerDay int64
}

func newEventsFixture(t *testing.T) eventsFixture {
	t.Helper()
	dir := t.TempDir()
	g := genSpec{agents: 6, days: 2, ticksPerDay: 15, eventsPerTick: 45, seed: 4} // has PolicySplit events
	stream, config := genStream(t, dir, "ev", g)
	db := filepath.Join(dir, "ev.duckdb")
	mustCLI(t, "--db", db, "ingest", "--sim", "run", "--config", config, stream)
	f := eventsFixture{db: db, sim: "run", src: readStream(t, stream), ticksPerDay: int64(g.ticksPerDay)}
	if len(f.src) <= simdb.MaxEventLimit {
		t.Fatalf("fixture has %d events; it needs more than one full page of %d", len(f.src), simdb.MaxEventLimit)
	}
	return f
}

// expect returns the seqs (0-based line numbers) of the source events that
// match pred, in stream order.
func (f eventsFixture) expect(pred func(srcEvent) bool) []int64 {
	var out []int64
	for i, ev := range f.src {
		if pred(ev) {
			out = append(out, int64(i))
		}
	}
	return out
}

func TestEventsFilters(t *testing.T) {
	t.Parallel()
	f := newEventsFixture(t)

	// A transaction with many events, and one that a split names as a
	// child, if the stream has a split.
	txCount := map[string]int{}
	var splitChild string
	for _, ev := range f.src {
		if s, ok := ev.fields["tx_id"].(string); ok {
			txCount[s]++
		}
		if ev.typ == "PolicySplit" && splitChild == "" {
			if l, ok := ev.fields["child_ids"].([]any); ok && len(l) > 0 {
				splitChild = l[0].(string)
			}
		}
	}
	busyTx := ""
	for id, n := range txCount {
		if busyTx == "" || n > txCount[busyTx] || (n == txCount[busyTx] && id < busyTx) {
			busyTx = id
		}
	}

	type filterCase struct {
		name string
		args []string
		pred func(srcEvent) bool
	}
	typeIn := func(types ...string) func(srcEvent) bool {
		return func(ev srcEvent) bool { return slices.Contains(types, ev.typ) }
	}
	cases := []filterCase{
		{"tick", []string{"--tick", "5"}, func(ev srcEvent) bool { return ev.tick == 5 }},
		{"tick0", []string{"--tick", "0"}, func(ev srcEvent) bool { return ev.tick == 0 }},
		{"from-to", []string{"--from", "3", "--to", "9"}, func(ev srcEvent) bool { return ev.tick >= 3 && ev.tick <= 9 }},
		{"from", []string{"--from", "20"}, func(ev srcEvent) bool { return ev.tick >= 20 }},
		{"to", []string{"--to", "2"}, func(ev srcEvent) bool { return ev.tick <= 2 }},
		{"from=to", []string{"--from", "4", "--to", "4"}, func(ev srcEvent) bool { return ev.tick == 4 }},
		{"day", []string{"--day", "1"}, func(ev srcEvent) bool { return ev.tick/f.ticksPerDay == 1 }},
		{"agent", []string{"--agent", "BANK_02"}, func(ev srcEvent) bool { return ev.names(parties.Agent, parties.AgentLists, "BANK_02") }},
		{"tx", []string{"--tx", busyTx}, func(ev srcEvent) bool { return ev.names(parties.Tx, parties.TxLists, busyTx) }},
		{"type", []string{"--type", "CostAccrual"}, typeIn("CostAccrual")},
		{"type-list", []string{"--type", "Arrival, RtgsImmediateSettlement,,LsmCycleSettlement"}, typeIn("Arrival", "RtgsImmediateSettlement", "LsmCycleSettlement")},
		{"combined", []string{"--day", "1", "--agent", "BANK_03", "--type", "Arrival,PolicySubmit"}, func(ev srcEvent) bool {
			return ev.tick/f.ticksPerDay == 1 && ev.names(parties.Agent, parties.AgentLists, "BANK_03") && (ev.typ == "Arrival" || ev.typ == "PolicySubmit")
		}},
		{"no-match", []string{"--type", "NoSuchType"}, func(srcEvent) bool { return false }},
		{"unknown-agent", []string{"--agent", "BANK_99"}, func(srcEvent) bool { return false }},
	}
	if splitChild == "" {
		t.Fatal("the fixture stream has no PolicySplit with child_ids")
	}
	cases = append(cases, filterCase{"split-child", []string{"--tx", splitChild}, func(ev srcEvent) bool { return ev.names(parties.Tx, parties.TxLists, splitChild) }})

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := f.expect(c.pred)
			if c.name != "no-match" && c.name != "unknown-agent" && len(want) == 0 {
				t.Fatalf("the case selects nothing in the fixture; pick another value")
			}
			// --all: every match, ascending.
			got := simdbtest.Seqs(allEvents(t, f.db, f.sim, c.args...))
			if !slices.Equal(got, want) {
				t.Errorf("--all %v: got %d events %v, want %d %v", c.args, len(got), head(got), len(want), head(want))
			}
			// --all --sort desc: the exact reverse.
			gotDesc := simdbtest.Seqs(allEvents(t, f.db, f.sim, append(c.args, "--sort", "desc")...))
			rev := slices.Clone(want)
			slices.Reverse(rev)
			if !slices.Equal(gotDesc, rev) {
				t.Errorf("--all --sort desc %v: got %v, want %v", c.args, head(gotDesc), head(rev))
			}
			// A page: the first 100 and the total.
			page := eventsPage(t, f.db, f.sim, c.args...)
			if page.Total != int64(len(want)) {
				t.Errorf("page total %d, want %d", page.Total, len(want))
			}
			if wantPage := want[:min(len(want), simdb.DefaultEventLimit)]; !slices.Equal(simdbtest.Seqs(page.Events), wantPage) {
				t.Errorf("page %v: got %v, want %v", c.args, head(simdbtest.Seqs(page.Events)), head(wantPage))
			}
		})
	}
	t.Run("agent-events-name-the-agent", func(t *testing.T) {
		for _, ev := range allEvents(t, f.db, f.sim, "--agent", "BANK_02") {
			if !slices.Contains(ev.Agents, "BANK_02") {
				t.Errorf("seq %d (%s) matched --agent BANK_02 but its agents are %v", ev.Seq, ev.EventType, ev.Agents)
			}
		}
	})
}

func head(s []int64) string {
	if len(s) > 12 {
		return fmt.Sprintf("%v…", s[:12])
	}
	return fmt.Sprint(s)
}

func eventsPage(t *testing.T, db, sim string, args ...string) simdb.EventPage {
	t.Helper()
	r := mustCLI(t, append([]string{"--db", db, "events", sim, "--format", "json"}, args...)...)
	var page simdb.EventPage
	if err := json.Unmarshal([]byte(r.stdout), &page); err != nil {
		t.Fatalf("events --format json: %v\n%s", err, r.stdout)
	}
	return page
}

func TestEventsPagingAndSort(t *testing.T) {
	f := newEventsFixture(t)
	n := int64(len(f.src))
	span := func(from, to int64) []int64 {
		var out []int64
		for i := from; i < to; i++ {
			out = append(out, i)
		}
		return out
	}

	page := eventsPage(t, f.db, f.sim, "--limit", "7", "--offset", "10")
	if !slices.Equal(simdbtest.Seqs(page.Events), span(10, 17)) || page.Total != n || page.Limit != 7 || page.Offset != 10 {
		t.Errorf("--limit 7 --offset 10: seqs %v total %d limit %d offset %d", simdbtest.Seqs(page.Events), page.Total, page.Limit, page.Offset)
	}
	if page.Next == nil || page.Next.Seq != 16 {
		t.Errorf("next cursor %+v, want seq 16", page.Next)
	}
	if page.Filter.Sort != simdb.SortTickAsc || page.Filter.Limit != 7 || page.Filter.Offset != 10 {
		t.Errorf("filters echoed as %+v", page.Filter)
	}

	page = eventsPage(t, f.db, f.sim)
	if page.Limit != simdb.DefaultEventLimit || len(page.Events) != simdb.DefaultEventLimit || page.Total != n {
		t.Errorf("default page: limit %d, %d events, total %d", page.Limit, len(page.Events), page.Total)
	}

	page = eventsPage(t, f.db, f.sim, "--limit", "5000")
	if page.Limit != simdb.MaxEventLimit || !slices.Equal(simdbtest.Seqs(page.Events), span(0, simdb.MaxEventLimit)) {
		t.Errorf("--limit 5000: limit %d, %d events; want clamped to %d", page.Limit, len(page.Events), simdb.MaxEventLimit)
	}

	page = eventsPage(t, f.db, f.sim, "--offset", strconv.FormatInt(n+5, 10))
	if len(page.Events) != 0 || page.Total != n || page.Next != nil {
		t.Errorf("offset past the end: %d events, total %d, next %+v", len(page.Events), page.Total, page.Next)
	}

	for _, sort := range []string{"desc", "tick_desc"} {
		page = eventsPage(t, f.db, f.sim, "--sort", sort, "--limit", "5", "--offset", "2")
		if want := []int64{n - 3, n - 4, n - 5, n - 6, n - 7}; !slices.Equal(simdbtest.Seqs(page.Events), want) || page.Filter.Sort != simdb.SortTickDesc {
			t.Errorf("--sort %s --limit 5 --offset 2: %v (sort %q), want %v", sort, simdbtest.Seqs(page.Events), page.Filter.Sort, want)
		}
	}
	for _, sort := range []string{"asc", "tick_asc"} {
		page = eventsPage(t, f.db, f.sim, "--sort", sort, "--limit", "3")
		if !slices.Equal(simdbtest.Seqs(page.Events), span(0, 3)) || page.Filter.Sort != simdb.SortTickAsc {
			t.Errorf("--sort %s: %v", sort, simdbtest.Seqs(page.Events))
		}
	}

	// --all goes past the page cap.
	all := allEvents(t, f.db, f.sim)
	if int64(len(all)) != n || !slices.Equal(simdbtest.Seqs(all), span(0, n)) {
		t.Errorf("--all: %d events, want %d in order", len(all), n)
	}
	// --all ignores --limit and --offset.
	if got := allEvents(t, f.db, f.sim, "--limit", "3", "--offset", "9"); int64(len(got)) != n {
		t.Errorf("--all --limit 3 --offset 9: %d events, want all %d", len(got), n)
	}
}

func TestEventsFormats(t *testing.T) {
	f := newEventsFixture(t)
	want := f.expect(func(ev srcEvent) bool { return ev.tick/f.ticksPerDay == 1 })
	total := len(want)
	pageArgs := []string{"--db", f.db, "events", f.sim, "--day", "1", "--limit", "20", "--offset", "5"}
	wantPage := want[5:25]

	t.Run("table", func(t *testing.T) {
		r := mustCLI(t, append(pageArgs, "--format", "table")...)
		lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
		if len(lines) != 22 {
			t.Fatalf("table has %d lines, want header + 20 rows + footer:\n%s", len(lines), r.stdout)
		}
		if h := strings.Fields(lines[0]); !slices.Equal(h, []string{"SEQ", "TICK", "DAY", "TYPE", "AGENT", "TX", "SENDER", "RECEIVER", "AMOUNT", "DETAILS"}) {
			t.Errorf("header %q", lines[0])
		}
		for i, line := range lines[1:21] {
			fs := strings.Fields(line)
			src := f.src[wantPage[i]]
			if fs[0] != fmt.Sprint(wantPage[i]) || fs[1] != fmt.Sprint(src.tick) || fs[2] != "1" || fs[3] != src.typ {
				t.Errorf("row %d %q, want seq %d tick %d day 1 %s", i, line, wantPage[i], src.tick, src.typ)
			}
		}
		if footer := fmt.Sprintf("(20 of %d events, offset 5)", total); lines[21] != footer {
			t.Errorf("footer %q, want %q", lines[21], footer)
		}
		// The default format is table.
		if d := mustCLI(t, pageArgs...); d.stdout != r.stdout {
			t.Errorf("default format differs from table")
		}
	})
	t.Run("json", func(t *testing.T) {
		r := mustCLI(t, append(pageArgs, "--format", "json")...)
		var page simdb.EventPage
		if err := json.Unmarshal([]byte(r.stdout), &page); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(simdbtest.Seqs(page.Events), wantPage) || page.Total != int64(total) || page.Limit != 20 || page.Offset != 5 ||
			page.Filter.Day == nil || *page.Filter.Day != 1 {
			t.Errorf("json page: seqs %v total %d limit %d offset %d filters %+v", simdbtest.Seqs(page.Events), page.Total, page.Limit, page.Offset, page.Filter)
		}
		for i, ev := range page.Events {
			if ev.EventID != fmt.Sprintf("%s:%d", f.sim, ev.Seq) || ev.SimulationID != f.sim || ev.EventType != f.src[wantPage[i]].typ {
				t.Errorf("event %+v", ev)
			}
		}
	})
	t.Run("jsonl", func(t *testing.T) {
		r := mustCLI(t, append(pageArgs, "--format", "jsonl")...)
		if got := simdbtest.Seqs(decodeJSONL(t, r.stdout)); !slices.Equal(got, wantPage) {
			t.Errorf("jsonl: %v, want %v", got, wantPage)
		}
	})
	t.Run("csv", func(t *testing.T) {
		r := mustCLI(t, append(pageArgs, "--format", "csv")...)
		recs := readCSV(t, r.stdout)
		if len(recs) != 21 || !slices.Equal(recs[0], simdb.ExportColumns()) {
			t.Fatalf("csv: %d records, header %v", len(recs), recs[0])
		}
		for i, rec := range recs[1:] {
			src := f.src[wantPage[i]]
			if rec[0] != fmt.Sprintf("%s:%d", f.sim, wantPage[i]) || rec[2] != fmt.Sprint(wantPage[i]) || rec[3] != fmt.Sprint(src.tick) || rec[6] != src.typ {
				t.Errorf("csv row %d: %v", i, rec)
			}
			if !json.Valid([]byte(rec[7])) {
				t.Errorf("csv row %d: details %q is not JSON", i, rec[7])
			}
		}
	})
	t.Run("all-table", func(t *testing.T) {
		r := mustCLI(t, "--db", f.db, "events", f.sim, "--day", "1", "--all")
		lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
		if len(lines) != total+2 || lines[len(lines)-1] != fmt.Sprintf("(%d events)", total) {
			t.Errorf("--all table: %d lines, last %q; want %d rows", len(lines), lines[len(lines)-1], total)
		}
	})
	t.Run("all-json", func(t *testing.T) {
		r := mustCLI(t, "--db", f.db, "events", f.sim, "--day", "1", "--all", "--format", "json")
		var page struct {
			Events []simdb.StoredEvent `json:"events"`
			Total  int64               `json:"total"`
			Limit  *int                `json:"limit"`
			Offset int                 `json:"offset"`
			Filter map[string]any      `json:"filters"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &page); err != nil {
			t.Fatalf("--all --format json: %v", err)
		}
		if limit, ok := page.Filter["limit"]; !ok || limit != nil {
			t.Errorf("--all json: filters echo limit %v (present %v), want null", limit, ok)
		}
		if !slices.Equal(simdbtest.Seqs(page.Events), want) || page.Total != int64(total) || page.Limit != nil || page.Offset != 0 {
			t.Errorf("--all json: %d events, total %d, limit %v", len(page.Events), page.Total, page.Limit)
		}
	})
	t.Run("all-csv", func(t *testing.T) {
		r := mustCLI(t, "--db", f.db, "events", f.sim, "--all", "--format", "csv")
		recs := readCSV(t, r.stdout)
		if len(recs) != len(f.src)+1 {
			t.Errorf("--all csv: %d records, want %d + header", len(recs), len(f.src))
		}
		// The same columns, in the same order, with the same values as
		// export --format csv (DuckDB's own COPY).
		out := filepath.Join(t.TempDir(), "export.csv")
		mustCLI(t, "--db", f.db, "export", f.sim, "--format", "csv", "--out", out)
		exported := readCSV(t, string(readFile(t, out)))
		if len(exported) != len(recs) {
			t.Fatalf("export csv has %d records, events --all csv %d", len(exported), len(recs))
		}
		for i := range recs {
			if !slices.Equal(recs[i], exported[i]) {
				t.Fatalf("record %d:\nevents %q\nexport %q", i, recs[i], exported[i])
			}
		}
	})
	t.Run("empty", func(t *testing.T) {
		args := []string{"--db", f.db, "events", f.sim, "--type", "NoSuchType"}
		if r := mustCLI(t, args...); r.stdout != "no events\n(0 of 0 events, offset 0)\n" {
			t.Errorf("empty table: %q", r.stdout)
		}
		if r := mustCLI(t, append(args, "--format", "jsonl")...); r.stdout != "" {
			t.Errorf("empty jsonl: %q", r.stdout)
		}
		if r := mustCLI(t, append(args, "--format", "csv")...); r.stdout != strings.Join(simdb.ExportColumns(), ",")+"\n" {
			t.Errorf("empty csv: %q", r.stdout)
		}
		page := eventsPage(t, f.db, f.sim, "--type", "NoSuchType")
		if page.Events == nil || len(page.Events) != 0 || page.Total != 0 {
			t.Errorf("empty json page: %+v", page)
		}
		r := mustCLI(t, append(args, "--all", "--format", "json")...)
		var all struct {
			Events []json.RawMessage `json:"events"`
			Total  int64             `json:"total"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &all); err != nil || all.Events == nil || len(all.Events) != 0 || all.Total != 0 {
			t.Errorf("empty --all json %q: %v", r.stdout, err)
		}
	})
}

func readCSV(t *testing.T, s string) [][]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(s)).ReadAll()
	if err != nil {
		t.Fatalf("csv: %v", err)
	}
	return recs
}
