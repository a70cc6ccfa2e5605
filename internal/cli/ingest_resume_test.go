package cli

// Tests of interrupted ingests: resume, recover, cancellation, and the
// checks that a resumed run is the same run.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/testutil/simdbtest"
)

// interruptRun leaves sim "running" the way a killed ingest would: a
// truncated copy of the stream, cut after line cut (in the middle of a
// tick), is read tick by tick through the library with durable writes; each
// tick is handed over once the next tick's first line is read, and the
// process "dies" at the cut with the partial tick in hand.
func interruptRun(t *testing.T, db, sim, config string, src []srcEvent, cut int) (lastTick int64) {
	t.Helper()
	truncated := writeFile(t, filepath.Join(filepath.Dir(db), sim+".truncated.jsonl"), joinLines(src[:cut]))
	return libraryRun(t, fixedNow, db, sim, config, readStream(t, truncated), false)
}

// libraryRun starts sim and persists lines tick by tick through the
// library, as a simulation loop would; the last tick is handed over only
// when handOverLast is set. The run stays running.
func libraryRun(t *testing.T, now time.Time, db, sim, config string, lines []srcEvent, handOverLast bool) (lastTick int64) {
	t.Helper()
	ctx := context.Background()
	store, err := simdb.Open(ctx, db, simdb.Options{Durability: simdb.Durable, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(config)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.PersistSimulationStart(ctx, sim, cfg, simdb.StartOptions{ConfigFile: config}); err != nil {
		t.Fatal(err)
	}
	lastTick = -1
	var group []json.RawMessage
	handOver := func() {
		if _, err := store.PersistTickEvents(ctx, sim, tickOfGroup(group), group); err != nil {
			t.Fatal(err)
		}
		lastTick = tickOfGroup(group)
		group = nil
	}
	for _, ev := range lines {
		if len(group) > 0 && ev.tick != tickOfGroup(group) {
			handOver()
		}
		group = append(group, ev.raw)
	}
	if handOverLast && len(group) > 0 {
		handOver()
	}
	// Otherwise killed here: the partial tick in group is never handed over.
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	return lastTick
}

func tickOfGroup(group []json.RawMessage) int64 {
	var ev struct{ Tick int64 }
	if err := json.Unmarshal(group[0], &ev); err != nil {
		panic(err)
	}
	return ev.Tick
}

func TestIngestResume(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	stream, config := genStream(t, dir, "r", genSpec{agents: 5, days: 1, ticksPerDay: 10, eventsPerTick: 20, seed: 21})
	src := readStream(t, stream)
	db := filepath.Join(dir, "db.duckdb")
	mustCLI(t, "--db", db, "ingest", "--sim", "full", "--config", config, stream)
	otherDB := filepath.Join(dir, "other.duckdb")
	mustCLI(t, "--db", otherDB, "ingest", "--sim", "full", "--config", config, stream)

	// Cut points in the middle of a tick: early, in the middle, in the last
	// tick, and inside tick 0 (nothing stored yet).
	var cuts []int
	for _, frac := range []float64{0.2, 0.55, 0.999} {
		i := int(frac * float64(len(src)))
		for src[i-1].tick != src[i].tick {
			i++
		}
		cuts = append(cuts, i)
	}
	cuts = append(cuts, 2)
	for n, cut := range cuts {
		sim := fmt.Sprintf("resumed-%d", n)
		t.Run(sim, func(t *testing.T) {
			if src[cut-1].tick != src[cut].tick {
				t.Fatalf("cut %d is not in the middle of a tick", cut)
			}
			lastTick := interruptRun(t, db, sim, config, src, cut)
			if lastTick != src[cut].tick-1 {
				t.Fatalf("interrupted run ends at tick %d, want %d", lastTick, src[cut].tick-1)
			}
			stored := 0
			for _, ev := range src {
				if ev.tick <= lastTick {
					stored++
				}
			}
			s := showJSON(t, db, sim).Simulation
			if s.Status != "running" || s.EventCount != int64(stored) || (lastTick >= 0 && deref64(s.LastTick) != fmt.Sprint(lastTick)) {
				t.Fatalf("interrupted run: %+v", s)
			}
			// Before resuming, diff sees the difference.
			if r := cli(t, "--db", db, "diff", "full", sim); r.code != exitFailure || !strings.HasPrefix(r.stdout, "different: ") {
				t.Errorf("diff full vs interrupted: %s", r)
			}

			r := mustCLI(t, "--db", db, "ingest", "--resume", "--sim", sim, stream)
			re := ingestLineRE(len(src)-stored, int(src[len(src)-1].tick-lastTick), sim)
			if !re.MatchString(r.stdout) {
				t.Errorf("resume stdout %q, want %s", r.stdout, re)
			}
			if skipped := fmt.Sprintf("; skipped %d events already stored\n", stored); stored > 0 && !strings.HasSuffix(r.stdout, skipped) {
				t.Errorf("resume stdout %q, want it to end %q", r.stdout, skipped)
			}
			want := fmt.Sprintf("identical (%d events)\n", len(src))
			for _, args := range [][]string{
				{"--db", db, "diff", "full", sim},
				{"--db", db, "diff", sim, "full"},
				{"--db", db, "diff", sim, "full", "--db-b", otherDB},
			} {
				if r := cli(t, args...); r.code != exitOK || r.stdout != want || r.stderr != "" {
					t.Errorf("%v: %s", args, r)
				}
			}
		})
	}

	t.Run("stdin-gzip", func(t *testing.T) {
		cut := cuts[1]
		lastTick := interruptRun(t, db, "resumed-stdin", config, src, cut)
		r := runAt(t, fixedNow, bytes.NewReader(gzipBytes(t, readFile(t, stream))), "--db", db, "ingest", "--resume", "--sim", "resumed-stdin", "-")
		if r.code != exitOK || !strings.Contains(r.stdout, "skipped") {
			t.Fatalf("resume from stdin (last tick %d): %s", lastTick, r)
		}
		if r := cli(t, "--db", db, "diff", "full", "resumed-stdin"); r.code != exitOK {
			t.Errorf("diff after resuming from stdin: %s", r)
		}
	})
	t.Run("not-running", func(t *testing.T) {
		before := showJSON(t, db, "full").Simulation
		// Issue 14: resuming a completed run from its own stream has
		// nothing to do and succeeds (TestResumeCompletedRun has more).
		if r := cli(t, "--db", db, "ingest", "--resume", "--sim", "full", stream); r.code != exitOK || !strings.Contains(r.stdout, "nothing to do") {
			t.Errorf("resume of a completed run: %s", r)
		}
		after := showJSON(t, db, "full").Simulation
		if after.Status != "completed" || after.EventCount != before.EventCount || after.ErrorMessage != nil {
			t.Errorf("resuming a completed run changed it: %+v", after)
		}
	})
	t.Run("failed", func(t *testing.T) {
		bad := slices.Clone(src)
		bad[10].raw = []byte(`{"event_type":`)
		file := writeFile(t, filepath.Join(dir, "bad.jsonl"), joinLines(bad))
		wantFailure(t, cli(t, "--db", db, "ingest", "--sim", "broken", "--config", config, file), file+":11")
		msg := *showJSON(t, db, "broken").Simulation.ErrorMessage
		wantFailure(t, cli(t, "--db", db, "ingest", "--resume", "--sim", "broken", stream), "not running")
		if s := showJSON(t, db, "broken").Simulation; s.Status != "failed" || derefS(s.ErrorMessage) != msg {
			t.Errorf("resuming a failed run changed it: %+v", s)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		r := cli(t, "--db", db, "ingest", "--resume", "--sim", "nobody", stream)
		wantFailure(t, r, `simulation "nobody"`, "not found")
		if strings.Contains(r.stderr, "marking the run failed") {
			t.Errorf("an unknown run is not one to mark failed: %q", r.stderr)
		}
	})
}

// TestRecover leaves runs "running" as a crash would and recovers them.
func TestRecover(t *testing.T) {
	dir := t.TempDir()
	stream, config := genStream(t, dir, "rc", smallGen)
	src := readStream(t, stream)
	db := filepath.Join(dir, "db.duckdb")
	if r := mustCLI(t, "--db", db, "recover"); r.stdout != "no interrupted simulations\n" {
		t.Errorf("recover on a new file: %q", r.stdout)
	}
	mustCLI(t, "--db", db, "ingest", "--sim", "done", "--config", config, stream)
	cut := len(src) / 2
	for src[cut-1].tick != src[cut].tick {
		cut++
	}
	interruptRun(t, db, "crashed-a", config, src, cut)
	interruptRun(t, db, "crashed-b", config, src, 2)
	if ids := simdbtest.RunIDs(listJSON(t, db, "--status", "running")); !slices.Equal(ids, []string{"crashed-b", "crashed-a"}) {
		t.Fatalf("running runs: %v", ids)
	}

	later := fixedNow.Add(time.Hour)
	r := runAt(t, later, nil, "--db", db, "recover")
	if r.code != exitOK || r.stderr != "" {
		t.Fatal(r)
	}
	got := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	slices.Sort(got)
	if want := []string{"crashed-a: marked failed (interrupted)", "crashed-b: marked failed (interrupted)"}; !slices.Equal(got, want) {
		t.Errorf("recover printed %q, want %q", got, want)
	}
	for _, sim := range []string{"crashed-a", "crashed-b"} {
		s := showJSON(t, db, sim).Simulation
		if s.Status != "failed" || derefS(s.ErrorMessage) != "interrupted" || s.CompletedAt == nil || !s.CompletedAt.Equal(later) {
			t.Errorf("%s after recover: %+v", sim, s)
		}
	}
	if s := showJSON(t, db, "done").Simulation; s.Status != "completed" || s.ErrorMessage != nil {
		t.Errorf("recover touched a completed run: %+v", s)
	}
	if r := mustCLI(t, "--db", db, "recover"); r.stdout != "no interrupted simulations\n" {
		t.Errorf("second recover: %q", r.stdout)
	}
	if runs := listJSON(t, db, "--status", "running"); len(runs) != 0 {
		t.Errorf("still running after recover: %v", simdbtest.RunIDs(runs))
	}
	// A recovered run cannot be resumed.
	wantFailure(t, cli(t, "--db", db, "ingest", "--resume", "--sim", "crashed-a", stream), "not running")
	if _, err := os.Stat(db); err != nil {
		t.Fatal(err)
	}
}

// cancelAfter serves r and cancels the context the first time it is asked
// for data beyond the first n bytes, the way Ctrl-C (main's signal context)
// stops an ingest while it is reading.
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	if c.n <= 0 {
		c.cancel()
	} else if len(p) > c.n {
		p = p[:c.n]
	}
	n, err := c.r.Read(p)
	c.n -= n
	return n, err
}

// TestIngestInterruptedByCancel interrupts the CLI's own ingest in the
// middle of a tick by cancelling its context: the run stays running with
// the ticks before that one, and --resume completes it into a run that diff
// calls identical to an uninterrupted one.
func TestIngestInterruptedByCancel(t *testing.T) {
	dir := t.TempDir()
	stream, config := genStream(t, dir, "c", genSpec{agents: 5, days: 2, ticksPerDay: 10, eventsPerTick: 20, seed: 22})
	src := readStream(t, stream)
	plain := readFile(t, stream)
	db := filepath.Join(dir, "db.duckdb")
	mustCLI(t, "--db", db, "ingest", "--sim", "full", "--config", config, stream)

	// Cut inside line L, which is in the middle of its tick.
	l := len(src) / 2
	for src[l-1].tick != src[l].tick {
		l++
	}
	offset := 0
	for _, ev := range src[:l] {
		offset += len(ev.raw) + 1
	}
	offset += 10
	for _, in := range []struct {
		name string
		data []byte
	}{{"plain", plain}, {"gzip", nil}} {
		t.Run(in.name, func(t *testing.T) {
			sim := "cancelled-" + in.name
			var stdin io.Reader
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if in.data != nil {
				stdin = &cancelAfter{r: bytes.NewReader(in.data), n: offset, cancel: cancel}
			} else {
				// Cancel once the gzip reader has consumed the compressed
				// bytes holding the first offset bytes of the stream.
				gz := gzipBytes(t, plain)
				stdin = &cancelAfter{r: bytes.NewReader(gz), n: compressedPrefix(t, gz, offset), cancel: cancel}
			}
			var out, errb bytes.Buffer
			e := &env{ctx: ctx, stdin: stdin, stdout: &out, stderr: &errb, now: func() time.Time { return fixedNow }}
			code := run(e, []string{"--db", db, "ingest", "--sim", sim, "--config", config, "-"})
			r := result{code: code, stdout: out.String(), stderr: errb.String()}
			wantFailure(t, r, "context canceled")

			s := showJSON(t, db, sim).Simulation
			if s.Status != "running" || s.ErrorMessage != nil {
				t.Fatalf("an interrupted ingest left %+v; want it running, to resume", s)
			}
			if s.LastTick == nil {
				t.Fatalf("the interrupted run stored nothing: %+v", s)
			}
			stored := 0
			for _, ev := range src {
				if ev.tick <= *s.LastTick {
					stored++
				}
			}
			if s.EventCount != int64(stored) {
				t.Errorf("interrupted run stored %d events through tick %d, want whole ticks (%d events)", s.EventCount, *s.LastTick, stored)
			}
			// Plain input stops exactly at the cut; gzip where the
			// decompressor has got to, which depends on the compressor.
			if in.data != nil && *s.LastTick != src[l].tick-1 {
				t.Errorf("interrupted run ends at tick %d, want %d (every tick before the cut one)", *s.LastTick, src[l].tick-1)
			}
			r = mustCLI(t, "--db", db, "ingest", "--resume", "--sim", sim, stream)
			if !strings.Contains(r.stdout, fmt.Sprintf("; skipped %d events already stored", s.EventCount)) {
				t.Errorf("resume: %q", r.stdout)
			}
			if r := cli(t, "--db", db, "diff", "full", sim); r.code != exitOK || r.stdout != fmt.Sprintf("identical (%d events)\n", len(src)) {
				t.Errorf("diff after resume: %s", r)
			}
		})
	}
}

// compressedPrefix returns how many bytes of gz a reader must consume to
// decompress at least n bytes.
func compressedPrefix(t *testing.T, gz []byte, n int) int {
	t.Helper()
	for k := 1; k <= len(gz); k += 64 {
		zr, err := gzip.NewReader(bytes.NewReader(gz[:k]))
		if err != nil {
			continue
		}
		got, _ := io.ReadAll(zr)
		if len(got) >= n {
			return k
		}
	}
	return len(gz)
}

// A resume whose flags describe another run is refused before anything is
// appended: a different config, ticks per day or experiment.
func TestIngestResumeChecksTheRun(t *testing.T) {
	dir := t.TempDir()
	stream, config := genStream(t, dir, "rc", genSpec{agents: 4, days: 1, ticksPerDay: 10, eventsPerTick: 10, seed: 5})
	_, otherConfig := genStream(t, dir, "rc-other", genSpec{agents: 5, days: 1, ticksPerDay: 10, eventsPerTick: 10, seed: 6})
	src := readStream(t, stream)
	db := filepath.Join(dir, "db.duckdb")
	cut := len(src) / 2
	for src[cut-1].tick == src[cut].tick {
		cut++
	}
	interruptRun(t, db, "run", config, src, cut)
	before := allEvents(t, db, "run")
	for _, c := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--config", otherConfig}, "is not the config of"},
		{[]string{"--ticks-per-day", "7"}, "--ticks-per-day 7"},
		{[]string{"--experiment-run", "exp", "--iteration", "2"}, "--experiment-run exp"},
	} {
		args := append([]string{"--db", db, "ingest", "--resume", "--sim", "run"}, c.flags...)
		wantFailure(t, cli(t, append(args, stream)...), c.want)
		if got := allEvents(t, db, "run"); len(got) != len(before) {
			t.Fatalf("%v: %d events after a refused resume, want %d", c.flags, len(got), len(before))
		}
	}
	mustCLI(t, "--db", db, "ingest", "--resume", "--sim", "run", "--config", config, stream)
	if got := allEvents(t, db, "run"); len(got) != len(src) {
		t.Fatalf("%d events after the matching resume, want %d", len(got), len(src))
	}
}
