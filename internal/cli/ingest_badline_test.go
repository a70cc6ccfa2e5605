package cli

// Tests of bad input to ingest: a corrupted line is named by file, line,
// tick and field, and a truncated gzip stream.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// badLineCase corrupts line n (1-based) of a stream.
type badLineCase struct {
	name    string
	corrupt func(line []byte, tick int64) []byte
	field   string // the field the message must name ("" for invalid JSON)
	mention string // another fragment of the message
}

var badLineCases = []badLineCase{
	{"money-fraction", func(l []byte, _ int64) []byte { return reAmount.ReplaceAll(l, []byte(`"amount":1.5`)) }, `"amount"`, "1.5"},
	{"money-string", func(l []byte, _ int64) []byte { return reAmount.ReplaceAll(l, []byte(`"amount":"100"`)) }, `"amount"`, ""},
	{"money-exponent", func(l []byte, _ int64) []byte { return reAmount.ReplaceAll(l, []byte(`"amount":1e5`)) }, `"amount"`, ""},
	{"invalid-json", func(l []byte, _ int64) []byte { return l[:len(l)-1] }, "", "invalid JSON"},
	{"tick-decreasing", func(l []byte, tick int64) []byte {
		return bytes.Replace(l, []byte(fmt.Sprintf(`"tick":%d,`, tick)), []byte(`"tick":0,`), 1)
	}, `"tick"`, "never decrease"},
	{"tick-missing", func(l []byte, tick int64) []byte {
		return bytes.Replace(l, []byte(fmt.Sprintf(`"tick":%d,`, tick)), nil, 1)
	}, `"tick"`, "missing"},
	// The three shapes of a lone UTF-16 surrogate escape (issue 12).
	{"lone-high-surrogate", withMember(`"note":"x\ud800y"`), `"note"`, `lone UTF-16 surrogate escape \ud800`},
	{"high-surrogate-then-other", withMember(`"note":{"a":["\ud800\u0041"]}`), `"note"`, `\ud800`},
	{"lone-low-surrogate", withMember(`"note":"\udc00"`), `"note"`, `\udc00`},
}

// withMember adds a member at the end of the line's object.
func withMember(member string) func([]byte, int64) []byte {
	return func(l []byte, _ int64) []byte {
		return append(append(l[:len(l)-1:len(l)-1], ","+member...), '}')
	}
}

var reAmount = regexp.MustCompile(`"amount":\d+`)

// badLineFixture picks an Arrival (it has an amount) that is neither in the
// first ticks nor the first event of its tick.
func badLineFixture(t *testing.T, dir string) (src []srcEvent, target int) {
	t.Helper()
	stream, _ := genStream(t, dir, "good", genSpec{agents: 4, days: 1, ticksPerDay: 10, eventsPerTick: 10, seed: 5})
	src = readStream(t, stream)
	for i := 1; i < len(src); i++ {
		if src[i].typ == "Arrival" && src[i].tick >= 3 && src[i-1].tick == src[i].tick {
			return src, i
		}
	}
	t.Fatal("no suitable Arrival in the stream")
	return nil, 0
}

// checkBadLine asserts what a rejected line leaves behind: a failed run
// holding exactly the ticks before the bad line's tick.
func checkBadLine(t *testing.T, r result, db, sim, source string, src []srcEvent, target int, c badLineCase) {
	t.Helper()
	lineNo := target + 1
	wantFailure(t, r, fmt.Sprintf("%s:%d", source, lineNo), c.field, c.mention)
	msg := strings.TrimSuffix(strings.TrimPrefix(r.stderr, "simdb: "), "\n")

	badTick := src[target].tick
	var kept []srcEvent
	for _, ev := range src {
		if ev.tick < badTick {
			kept = append(kept, ev)
		}
	}
	s := showJSON(t, db, sim).Simulation
	if s.Status != "failed" || s.ErrorMessage == nil || *s.ErrorMessage != msg || s.CompletedAt == nil {
		t.Errorf("run after a bad line: status %s, error %q; want failed with %q", s.Status, derefS(s.ErrorMessage), msg)
	}
	if s.EventCount != int64(len(kept)) || deref64(s.LastTick) != fmt.Sprint(badTick-1) {
		t.Errorf("stored %d events through tick %s; want the %d events of ticks before %d", s.EventCount, deref64(s.LastTick), len(kept), badTick)
	}
	if s.TotalArrivals != nil {
		t.Errorf("a failed run has totals: %+v", s)
	}
	for i, ev := range allEvents(t, db, sim) {
		if ev.Seq != int64(i) || ev.Tick >= badTick {
			t.Fatalf("stored event %d has seq %d, tick %d", i, ev.Seq, ev.Tick)
		}
	}
	out := filepath.Join(t.TempDir(), "kept.jsonl")
	mustCLI(t, "--db", db, "export", sim, "--format", "jsonl", "--out", out)
	if !bytes.Equal(readFile(t, out), joinLines(kept)) {
		t.Errorf("the stored events are not the input's lines before tick %d", badTick)
	}
	if page := eventsPage(t, db, sim, "--tick", fmt.Sprint(badTick)); page.Total != 0 {
		t.Errorf("%d events of the bad line's tick %d were stored", page.Total, badTick)
	}
}

// TestIngestBadLine rejects each corruption of badLineCases with a message
// naming the source, line, tick and field, and leaves a failed run holding
// the ticks before the bad line's. The input kind (a plain file, a gzip
// file, stdin) is how the lines reach the decoder, not what it checks in
// them, so the cases take the three kinds in turn: every case is checked
// once and every kind several times (TestIngestBadLineReportsFileLineColon
// runs every case through a plain file too).
func TestIngestBadLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src, target := badLineFixture(t, dir)
	db := filepath.Join(dir, "db.duckdb")
	kinds := []string{"file", "gz", "stdin"}
	if len(badLineCases) < len(kinds) {
		t.Fatalf("%d cases cannot take the %d input kinds in turn", len(badLineCases), len(kinds))
	}
	for i, c := range badLineCases {
		kind := kinds[i%len(kinds)]
		t.Run(c.name+"/"+kind, func(t *testing.T) {
			lines := slices.Clone(src)
			lines[target].raw = c.corrupt(slices.Clone(src[target].raw), src[target].tick)
			if bytes.Equal(lines[target].raw, src[target].raw) {
				t.Fatal("the corruption changed nothing")
			}
			data := joinLines(lines)
			sim := c.name + "-" + kind
			switch kind {
			case "file":
				file := writeFile(t, filepath.Join(dir, c.name+".jsonl"), data)
				checkBadLine(t, cli(t, "--db", db, "ingest", "--sim", sim, "--ticks-per-day", "10", file), db, sim, file, src, target, c)
			case "gz":
				gz := writeFile(t, filepath.Join(dir, c.name+".jsonl.gz"), gzipBytes(t, data))
				checkBadLine(t, cli(t, "--db", db, "ingest", "--sim", sim, "--ticks-per-day", "10", gz), db, sim, gz, src, target, c)
			case "stdin":
				r := runAt(t, fixedNow, bytes.NewReader(data), "--db", db, "ingest", "--sim", sim, "--ticks-per-day", "10", "-")
				checkBadLine(t, r, db, sim, "<stdin>", src, target, c)
			}
		})
	}
	t.Run("first-tick", func(t *testing.T) {
		lines := slices.Clone(src)
		lines[1].raw = append(slices.Clone(src[1].raw[:len(src[1].raw)-1]), ',', '}')
		file := writeFile(t, filepath.Join(dir, "first.jsonl"), joinLines(lines))
		r := cli(t, "--db", db, "ingest", "--sim", "first", "--ticks-per-day", "10", file)
		wantFailure(t, r, file+":2")
		s := showJSON(t, db, "first").Simulation
		if s.Status != "failed" || s.EventCount != 0 || s.LastTick != nil {
			t.Errorf("bad line in the first tick: %+v", s)
		}
	})
}

// TestIngestBadLineReportsFileLineColon holds the error to the
// conventional "FILE:LINE: message" form the issue asks for (and
// IngestOptions.Source documents), which editors and grep-style tools parse.
func TestIngestBadLineReportsFileLineColon(t *testing.T) {
	dir := t.TempDir()
	src, target := badLineFixture(t, dir)
	db := filepath.Join(dir, "db.duckdb")
	for _, c := range badLineCases {
		lines := slices.Clone(src)
		lines[target].raw = c.corrupt(slices.Clone(src[target].raw), src[target].tick)
		file := writeFile(t, filepath.Join(dir, c.name+".jsonl"), joinLines(lines))
		r := cli(t, "--db", db, "ingest", "--sim", c.name, "--ticks-per-day", "10", file)
		if want := fmt.Sprintf("%s:%d: ", file, target+1); r.code != exitFailure || !strings.Contains(r.stderr, want) {
			t.Errorf("%s: exit %d, stderr %q does not contain %q", c.name, r.code, r.stderr, want)
		}
	}
}

func TestIngestTruncatedGzip(t *testing.T) {
	dir := t.TempDir()
	stream, _ := genStream(t, dir, "s", genSpec{agents: 4, days: 1, ticksPerDay: 20, eventsPerTick: 30, seed: 9})
	plain := readFile(t, stream)
	gz := gzipBytes(t, plain)
	cut := writeFile(t, filepath.Join(dir, "cut.jsonl.gz"), gz[:len(gz)*2/3])
	// What ingest's reader gets before the gzip stream breaks off.
	var got bytes.Buffer
	zr, err := decompress(bytes.NewReader(readFile(t, cut)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(&got, zr); err == nil {
		t.Fatal("the truncated gzip file reads without error")
	}
	complete := got.Bytes()[:bytes.LastIndexByte(got.Bytes(), '\n')+1]
	lines := bytes.Split(bytes.TrimSuffix(complete, []byte("\n")), []byte("\n"))
	var last struct{ Tick int64 }
	if err := json.Unmarshal(lines[len(lines)-1], &last); err != nil {
		t.Fatal(err)
	}
	var want []byte
	for _, ev := range readStream(t, stream) {
		if ev.tick < last.Tick {
			want = append(append(want, ev.raw...), '\n')
		}
	}

	db := filepath.Join(dir, "db.duckdb")
	r := cli(t, "--db", db, "ingest", "--ticks-per-day", "20", cut)
	wantFailure(t, r, cut+":")
	s := showJSON(t, db, "cut").Simulation
	if s.Status != "failed" || s.ErrorMessage == nil || !strings.Contains(*s.ErrorMessage, cut) {
		t.Errorf("run of a truncated file: %+v", s)
	}
	out := filepath.Join(dir, "out.jsonl")
	mustCLI(t, "--db", db, "export", "cut", "--format", "jsonl", "--out", out)
	if !bytes.Equal(readFile(t, out), want) {
		t.Errorf("stored %d bytes, want the %d bytes of the ticks before %d", len(readFile(t, out)), len(want), last.Tick)
	}
}
