package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/testutil/simdbtest"
)

// Tests for the hostile-input audit's findings (issue 19): each fails on
// the code before its fix.

// An existing file that is not a DuckDB database is refused by every
// command, whatever its extension, and left as it was. ingest used to
// report success and store nothing (DuckDB read runs.jsonl as JSON and ran
// on an in-memory database).
func TestNotADuckDBFileAsDB(t *testing.T) {
	dir := t.TempDir()
	stream, _ := genStream(t, dir, "s", smallGen)
	for name, data := range map[string][]byte{
		"runs.jsonl":   readFile(t, stream),
		"runs.json":    []byte(`{"ticks_per_day":10}`),
		"runs.csv":     []byte("a,b\n1,2\n"),
		"runs.parquet": []byte("PAR1\x15\x04\x15\x10\x15\x14L\x15\x02\x15\x00PAR1"),
		"empty.duckdb": nil,
	} {
		db := writeFile(t, filepath.Join(dir, name), data)
		for _, args := range [][]string{
			{"ingest", "--sim", "z", "--ticks-per-day", "10", stream},
			{"list"}, {"show", "z"}, {"events", "z"}, {"recover"},
			{"export", "z", "--format", "jsonl", "--out", filepath.Join(dir, "out.jsonl")},
			{"diff", "a", "b"},
		} {
			r := cli(t, append([]string{"--db", db}, args...)...)
			wantFailure(t, r, db, "not a DuckDB database file")
			if got := readFile(t, db); !bytes.Equal(got, data) {
				t.Fatalf("%s %v changed the file", name, args)
			}
		}
	}
}

// exportFixture is a database holding one small run, "s".
func exportFixture(t *testing.T) (dir, db string, stream []byte) {
	t.Helper()
	dir = t.TempDir()
	file, config := genStream(t, dir, "s", smallGen)
	db = filepath.Join(dir, "db.duckdb")
	mustCLI(t, "--db", db, "ingest", "--config", config, file)
	return dir, db, readFile(t, file)
}

// export --out naming the database it reads (by its name, another path, a
// symbolic or a hard link) is refused in every format, with or without
// --force, and the database stays intact. It used to overwrite the file
// and report success.
func TestExportRefusesTheDatabase(t *testing.T) {
	dir, db, _ := exportFixture(t)
	before := readFile(t, db)
	sym := filepath.Join(dir, "link.jsonl")
	if err := os.Symlink(db, sym); err != nil {
		t.Fatal(err)
	}
	hard := filepath.Join(dir, "hard.parquet")
	if err := os.Link(db, hard); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{db, filepath.Join(dir, ".", "sub", "..", "db.duckdb"), sym, hard} {
		for _, format := range []string{"jsonl", "csv", "parquet"} {
			for _, force := range [][]string{nil, {"--force"}} {
				args := append([]string{"--db", db, "export", "s", "--format", format, "--out", out}, force...)
				wantFailure(t, cli(t, args...), out, "is the database file", db)
				if !bytes.Equal(readFile(t, db), before) {
					t.Fatalf("%v changed the database", args)
				}
			}
		}
	}
	if lst, err := os.Lstat(sym); err != nil || lst.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the symbolic link was replaced: %v %v", lst, err)
	}
	mustCLI(t, "--db", db, "list")
	noPartial(t, dir)

	// The WAL beside the database is refused too (checked without opening
	// the database: a stray WAL would be replayed).
	wal := writeFile(t, filepath.Join(dir, "x.duckdb.wal"), []byte("wal"))
	if _, err := exportTarget(filepath.Join(dir, "x.duckdb"), wal, true); err == nil || !strings.Contains(err.Error(), "is the database file") {
		t.Errorf("the WAL as --out: %v", err)
	}
}

// --out - (or /dev/stdout) writes the export to stdout itself, in every
// format, with the summary on stderr; /dev/stdout is never replaced. It
// used to write a temporary file and rename it over /dev/stdout.
func TestExportToStdout(t *testing.T) {
	// A temporary folder of its own: other test processes of make test
	// export at the same time, into theirs.
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	dir, db, stream := exportFixture(t)
	for _, out := range []string{"-", "/dev/stdout"} {
		r := mustCLI(t, "--db", db, "export", "s", "--format", "jsonl", "--out", out)
		if r.stdout != string(stream) {
			t.Errorf("--out %s: stdout is not the stream (%d bytes, want %d)", out, len(r.stdout), len(stream))
		}
		if want := fmt.Sprintf("exported %d events of \"s\" to stdout (jsonl)\n", bytes.Count(stream, []byte("\n"))); r.stderr != want {
			t.Errorf("--out %s: stderr %q, want %q", out, r.stderr, want)
		}
	}
	if lst, err := os.Lstat("/dev/stdout"); err == nil && lst.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("/dev/stdout is no longer a symbolic link: %v", lst.Mode())
	}
	r := mustCLI(t, "--db", db, "export", "s", "--format", "parquet", "--out", "-")
	pq := writeFile(t, filepath.Join(dir, "from-stdout.parquet"), []byte(r.stdout))
	if n := parquetCount(t, pq); n != int64(bytes.Count(stream, []byte("\n"))) {
		t.Errorf("parquet from stdout holds %d rows", n)
	}
	r = mustCLI(t, "--db", db, "export", "s", "--format", "csv", "--out", "-")
	if recs := readCSV(t, r.stdout); len(recs) != bytes.Count(stream, []byte("\n"))+1 {
		t.Errorf("csv from stdout: %d records", len(recs))
	}
	left, _ := filepath.Glob(filepath.Join(tmp, "simdb-export-*"))
	for _, l := range left {
		t.Errorf("export to stdout left %s", l)
	}
}

// --out must be a regular file or not exist: devices, FIFOs and
// directories are refused and left as they are; an existing file needs
// --force; a symbolic link is followed (the link stays, its file is
// replaced); a new file gets the umask's permissions.
func TestExportOutputFiles(t *testing.T) {
	dir, db, stream := exportFixture(t)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{"/dev/null", fifo, dir} {
		wantFailure(t, cli(t, "--db", db, "export", "s", "--format", "jsonl", "--out", out, "--force"), out, "not a regular file")
	}
	if st, err := os.Lstat(fifo); err != nil || st.Mode()&fs.ModeNamedPipe == 0 {
		t.Errorf("the FIFO was replaced: %v %v", st, err)
	}
	if st, err := os.Lstat("/dev/null"); err != nil || st.Mode()&fs.ModeCharDevice == 0 {
		t.Errorf("/dev/null was replaced: %v %v", st, err)
	}

	old := writeFile(t, filepath.Join(dir, "old.jsonl"), []byte("keep me\n"))
	link := filepath.Join(dir, "link.jsonl")
	if err := os.Symlink(old, link); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{old, link} {
		wantFailure(t, cli(t, "--db", db, "export", "s", "--format", "jsonl", "--out", out), out, "already exists", "--force")
		if got := string(readFile(t, old)); got != "keep me\n" {
			t.Fatalf("refused export changed %s: %q", out, got)
		}
	}
	mustCLI(t, "--db", db, "export", "s", "--format", "jsonl", "--out", link, "--force")
	if lst, err := os.Lstat(link); err != nil || lst.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("--force replaced the link itself: %v %v", lst, err)
	}
	if !bytes.Equal(readFile(t, old), stream) {
		t.Error("--force through a link did not replace the file it points to")
	}

	made := filepath.Join(dir, "made-by-create")
	f, err := os.Create(made)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	want, _ := os.Stat(made)
	for _, format := range []string{"jsonl", "csv", "parquet"} {
		out := filepath.Join(dir, "new."+format)
		mustCLI(t, "--db", db, "export", "s", "--format", format, "--out", out)
		if st, err := os.Stat(out); err != nil || st.Mode().Perm() != want.Mode().Perm() {
			t.Errorf("%s: mode %v, want %v like any new file", out, st.Mode().Perm(), want.Mode().Perm())
		}
	}
	noPartial(t, dir)
}

// A bad line keeps every complete tick before it, at the first, a middle
// or the last position of its tick, and as the first line of the stream.
// The bad first line of a tick used to lose the (complete) tick before it.
func TestIngestBadLineAtEveryPlaceOfItsTick(t *testing.T) {
	dir := t.TempDir()
	stream, _ := genStream(t, dir, "s", genSpec{agents: 4, days: 1, ticksPerDay: 10, eventsPerTick: 10, seed: 5})
	src := readStream(t, stream)
	db := filepath.Join(dir, "db.duckdb")
	const badTick = 5
	first, last := -1, -1
	for i, ev := range src {
		if ev.tick == badTick {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 || last-first < 2 {
		t.Fatalf("tick %d has too few events (%d..%d)", badTick, first, last)
	}
	for _, c := range []struct {
		name string
		at   int // the bad line is inserted before src[at]
		tick int64
	}{
		{"first", first, badTick},
		{"middle", (first + last) / 2, badTick},
		{"last", last + 1, badTick},
		{"stream-start", 0, src[0].tick},
	} {
		t.Run(c.name, func(t *testing.T) {
			bad := srcEvent{raw: []byte(fmt.Sprintf(`{"event_type":"Arrival","tick":%d,"tx_id":"bad","sender_id":"BANK_A","receiver_id":"BANK_B","amount":1e3}`, c.tick))}
			lines := append(append(slices.Clone(src[:c.at]), bad), src[c.at:]...)
			file := writeFile(t, filepath.Join(dir, c.name+".jsonl"), joinLines(lines))
			r := cli(t, "--db", db, "ingest", "--sim", c.name, "--ticks-per-day", "10", file)
			wantFailure(t, r, fmt.Sprintf("%s:%d: tick %d, Arrival", file, c.at+1, c.tick), `"amount"`)
			var kept []srcEvent
			for _, ev := range src {
				if ev.tick < c.tick {
					kept = append(kept, ev)
				}
			}
			s := showJSON(t, db, c.name).Simulation
			wantLast := "NULL"
			if len(kept) > 0 {
				wantLast = fmt.Sprint(kept[len(kept)-1].tick)
			}
			if s.Status != "failed" || s.EventCount != int64(len(kept)) || deref64(s.LastTick) != wantLast {
				t.Fatalf("run: status %s, %d events through tick %s; want failed, %d through %s", s.Status, s.EventCount, deref64(s.LastTick), len(kept), wantLast)
			}
			out := filepath.Join(dir, c.name+".out.jsonl")
			mustCLI(t, "--db", db, "export", c.name, "--format", "jsonl", "--out", out)
			if !bytes.Equal(readFile(t, out), joinLines(kept)) {
				t.Errorf("stored events are not the stream's ticks before %d", c.tick)
			}
		})
	}
}

// ingest --resume refuses a stream whose lines of the stored ticks are not
// the stored events — another stream, a shorter one, one with an event
// more or less — naming the first divergence, writing nothing and leaving
// the run running; the right stream then completes it. It used to skip
// "already stored" lines unread and complete the run with another
// stream's events.
func TestIngestResumeRefusesAnotherStream(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	spec := genSpec{agents: 5, days: 2, ticksPerDay: 10, eventsPerTick: 20, seed: 21}
	stream, config := genStream(t, dir, "a", spec)
	spec.seed = 22
	other, _ := genStream(t, dir, "b", spec)
	src := readStream(t, stream)
	db := filepath.Join(dir, "db.duckdb")
	mustCLI(t, "--db", db, "ingest", "--sim", "full", "--config", config, stream)
	cut := len(src) / 2
	for src[cut-1].tick != src[cut].tick {
		cut++
	}
	lastTick := interruptRun(t, db, "run", config, src, cut)
	before := allEvents(t, db, "run")
	stored := len(before)

	shorter := joinLines(src[:stored-1])                                          // ends inside the last stored tick
	missing := joinLines(append(slices.Clone(src[:3]), src[4:]...))               // stored event 3 left out
	extra := joinLines(append(append(slices.Clone(src[:5]), src[4]), src[5:]...)) // event 4 twice
	for _, c := range []struct {
		name string
		data []byte
		want []string
	}{
		{"other", readFile(t, other), []string{":1: tick 0, seq 0"}},
		{"shorter", shorter, []string{"end of stream", fmt.Sprintf("seq %d", stored-1)}},
		{"prefix", joinLines(src[:10]), []string{"end of stream", "seq 10"}},
		{"missing", missing, []string{":4: ", "seq 3"}},
		{"extra", extra, []string{":6: ", "seq 5"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			file := writeFile(t, filepath.Join(dir, c.name+".jsonl"), c.data)
			r := cli(t, "--db", db, "ingest", "--resume", "--sim", "run", file)
			wantFailure(t, r, append([]string{file, "does not match the stored run", `"run" is still running`}, c.want...)...)
			s := showJSON(t, db, "run").Simulation
			if s.Status != "running" || s.EventCount != int64(stored) || deref64(s.LastTick) != fmt.Sprint(lastTick) {
				t.Fatalf("a refused resume changed the run: %+v", s)
			}
			if got := allEvents(t, db, "run"); !slices.Equal(simdbtest.Seqs(got), simdbtest.Seqs(before)) || got[len(got)-1].Tick != before[len(before)-1].Tick {
				t.Fatal("a refused resume changed the stored events")
			}
		})
	}
	mustCLI(t, "--db", db, "ingest", "--resume", "--sim", "run", stream)
	if r := cli(t, "--db", db, "diff", "full", "run"); r.code != exitOK {
		t.Errorf("the run resumed with its own stream differs from an uninterrupted one: %s", r)
	}
}

// Interrupted (Ctrl-C: the command's context cancelled), ingest says the
// run is left running, what it holds, and the command that resumes it;
// that command completes the run.
func TestIngestInterruptSaysHowToResume(t *testing.T) {
	dir := t.TempDir()
	stream, config := genStream(t, dir, "c", genSpec{agents: 5, days: 2, ticksPerDay: 10, eventsPerTick: 20, seed: 22})
	plain := readFile(t, stream)
	db := filepath.Join(dir, "my db.duckdb")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb bytes.Buffer
	e := &env{ctx: ctx, stdin: &cancelAfter{r: bytes.NewReader(plain), n: len(plain) / 2, cancel: cancel}, stdout: &out, stderr: &errb, now: func() time.Time { return fixedNow }}
	code := run(e, []string{"--db", db, "ingest", "--sim", "cut", "--config", config, "-"})
	r := result{code: code, stdout: out.String(), stderr: errb.String()}
	s := showJSON(t, db, "cut").Simulation
	if s.LastTick == nil {
		t.Fatalf("nothing stored before the interrupt: %+v", s)
	}
	wantFailure(t, r, "interrupted (context canceled)", `run "cut" is left running`,
		fmt.Sprintf("%d events stored through tick %d", s.EventCount, *s.LastTick),
		fmt.Sprintf("simdb --db '%s' ingest --resume --sim cut -", db))
	if s.Status != "running" {
		t.Fatalf("an interrupted run is %s", s.Status)
	}
	r = runAt(t, fixedNow, bytes.NewReader(plain), "--db", db, "ingest", "--resume", "--sim", "cut", "-")
	if r.code != exitOK {
		t.Fatalf("the suggested resume: %s", r)
	}
	if s := showJSON(t, db, "cut").Simulation; s.Status != "completed" || s.EventCount != int64(len(readStream(t, stream))) {
		t.Errorf("after resume: %+v", s)
	}
}

// Control characters a stream puts in event types and agent ids are
// escaped in table output and error messages (they were printed raw, so a
// stream could drive the terminal); JSON and CSV keep the exact data.
func TestTablesEscapeControlCharacters(t *testing.T) {
	dir := t.TempDir()
	const typ, agent = "Evil\x1b[2J\r\nX\u009b", "BANK\x1b]0;owned\a"
	tj, _ := json.Marshal(typ)
	aj, _ := json.Marshal(agent)
	stream := writeFile(t, filepath.Join(dir, "ctl.jsonl"), []byte(fmt.Sprintf(
		`{"event_type":%s,"tick":0,"agent_id":%s,"sender":%s}`+"\n", tj, aj, aj)))
	db := filepath.Join(dir, "db.duckdb")
	mustCLI(t, "--db", db, "ingest", "--ticks-per-day", "5", stream)
	raw := func(s string) bool {
		return strings.ContainsFunc(strings.ReplaceAll(s, "\n", ""), unicode.IsControl)
	}
	for _, args := range [][]string{{"show", "ctl"}, {"events", "ctl"}, {"events", "ctl", "--all"}, {"list"}} {
		r := mustCLI(t, append([]string{"--db", db}, args...)...)
		if raw(r.stdout) {
			t.Errorf("%v prints control characters: %q", args, r.stdout)
		}
		if args[0] != "list" && !strings.Contains(r.stdout, `Evil\x1b[2J\r\nX\u009b`) {
			t.Errorf("%v does not show the escaped type: %q", args, r.stdout)
		}
	}
	if r := mustCLI(t, "--db", db, "events", "ctl"); !strings.Contains(r.stdout, `BANK\x1b]0;owned\x07`) {
		t.Errorf("events does not show the escaped agent: %q", r.stdout)
	}
	if evs := allEvents(t, db, "ctl"); len(evs) != 1 || evs[0].EventType != typ || derefS(evs[0].AgentID) != agent {
		t.Errorf("jsonl does not keep the exact data: %+v", evs)
	}
	r := mustCLI(t, "--db", db, "events", "ctl", "--format", "csv")
	agentCol := slices.Index(simdb.ExportColumns(), "agent_id")
	if recs := readCSV(t, r.stdout); len(recs) != 2 || !strings.Contains(r.stdout, `"`+typ+`"`) || recs[1][agentCol] != agent {
		t.Errorf("csv does not keep the exact data: %q", r.stdout)
	}
	// An error quoting the stream's event type is escaped too.
	bad := writeFile(t, filepath.Join(dir, "bad.jsonl"), []byte(fmt.Sprintf(`{"event_type":%s,"tick":"x"}`+"\n", tj)))
	r = cli(t, "--db", db, "ingest", "--ticks-per-day", "5", bad)
	wantFailure(t, r, `Evil\x1b[2J\r`, `X\u009b`)
	if raw(r.stderr) {
		t.Errorf("the error prints control characters: %q", r.stderr)
	}
}

// rm removes a finished run (a failed ingest's) so its id can be ingested
// again; without --yes it asks on a terminal and refuses elsewhere; a
// running run is refused.
func TestRm(t *testing.T) {
	dir := t.TempDir()
	stream, config := genStream(t, dir, "s", smallGen)
	src := readStream(t, stream)
	db := filepath.Join(dir, "db.duckdb")
	bad := slices.Clone(src)
	bad[5].raw = []byte(`{"event_type":`)
	badFile := writeFile(t, filepath.Join(dir, "bad.jsonl"), joinLines(bad))
	wantFailure(t, cli(t, "--db", db, "ingest", "--sim", "s", "--config", config, badFile), badFile+":6")
	wantFailure(t, cli(t, "--db", db, "ingest", "--resume", "--sim", "s", stream), "not running")

	wantUsage(t, cli(t, "--db", db, "rm", "s"), "--yes")
	if s := showJSON(t, db, "s").Simulation; s.Status != "failed" {
		t.Fatalf("rm without --yes changed the run: %+v", s)
	}
	r := mustCLI(t, "--db", db, "rm", "s", "--yes")
	if want := fmt.Sprintf("removed \"s\" (%d events)\n", showEventsBefore(src, 5)); r.stdout != want {
		t.Errorf("rm: stdout %q, want %q", r.stdout, want)
	}
	wantFailure(t, cli(t, "--db", db, "show", "s"), `simulation "s" not found`)
	wantFailure(t, cli(t, "--db", db, "rm", "s", "--yes"), `simulation "s" not found`)
	mustCLI(t, "--db", db, "ingest", "--sim", "s", "--config", config, stream)

	interruptRun(t, db, "live", config, src, len(src)/2)
	wantFailure(t, cli(t, "--db", db, "rm", "live", "--yes"), "is running", "recover")
	if s := showJSON(t, db, "live").Simulation; s.Status != "running" {
		t.Errorf("rm of a running run changed it: %+v", s)
	}

	var prompt bytes.Buffer
	if confirm(strings.NewReader("nope\n"), &prompt, "s", "failed, 3 events") || !strings.Contains(prompt.String(), `remove simulation "s" (failed, 3 events)? type its id`) {
		t.Errorf("confirm with another answer: prompt %q", prompt.String())
	}
	if !confirm(strings.NewReader("s\r\n"), io.Discard, "s", "") || confirm(strings.NewReader(""), io.Discard, "s", "") {
		t.Error("confirm does not accept exactly the id")
	}
}

// showEventsBefore is how many of src's events lie in ticks before the
// tick of src[i].
func showEventsBefore(src []srcEvent, i int) int {
	n := 0
	for _, ev := range src {
		if ev.tick < src[i].tick {
			n++
		}
	}
	return n
}
