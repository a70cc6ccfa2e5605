package crashtest

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/simcash/simdb/internal/simgen"
)

// ingestStream is the input of TestCrashIngest: 180,000 events in 600 ticks,
// StateRegisterSet events included, so that an ingest lasts a few seconds
// and commits several groups of 50,000 events (the CLI's default).
var ingestStream = simgen.Options{Agents: 12, Days: 6, TicksPerDay: 100, EventsPerTick: 300, Seed: 7}

// TestCrashIngest kills `simdb ingest` with SIGKILL at a random moment of
// each trial and checks what the file holds: it opens; the run, if its start
// record was committed, is still running and holds whole ticks only, the
// stream's first ticks up to last_tick, seq gap-free, registers matching the
// stored events; `simdb recover` (on a copy) marks it failed "interrupted";
// `simdb ingest --resume` finishes it, identical to an uninterrupted ingest.
func TestCrashIngest(t *testing.T) {
	if testing.Short() {
		t.Skip("crash trials take minutes; run `make test-crash`")
	}
	seeds := trialSeeds(t)
	dir := t.TempDir()
	s := writeStream(t, dir, ingestStream)

	// The reference: the same stream and config, never interrupted. Its
	// wall time (process start to exit) sizes the kill delays.
	ref := filepath.Join(dir, "ref.duckdb")
	began := time.Now()
	c := startChild(t, "cli", "--db", ref, "ingest", "--config", s.configPath, "--sim", "ref", s.path)
	<-c.done
	full := time.Since(began)
	if c.err != nil {
		t.Fatalf("reference ingest: %v", c)
	}
	t.Logf("stream: %d events in %d ticks (%d StateRegisterSet); uninterrupted ingest: %v; %d trials",
		s.total(), len(s.ticks), s.registers, full.Round(time.Millisecond), len(seeds))

	var beforeStart, noTicks, midIngest, finished int
	for _, seed := range seeds {
		t.Run("seed="+strconv.FormatUint(seed, 10), func(t *testing.T) {
			switch ingestTrial(t, seed, s, ref, full) {
			case "before start":
				beforeStart++
			case "running, no tick":
				noTicks++
			case "running":
				midIngest++
			case "completed":
				finished++
			}
		})
	}
	t.Logf("%d trials: %d killed mid-ingest with ticks committed, %d after the start record but before the first group, %d before the start record, %d finished before the kill",
		len(seeds), midIngest, noTicks, beforeStart, finished)
	if len(seeds) >= 5 && midIngest+noTicks == 0 {
		t.Errorf("no trial was killed mid-ingest: the trials tested nothing")
	}
}

// ingestTrial runs one kill and its checks; it returns what the kill left.
func ingestTrial(t *testing.T, seed uint64, s *stream, ref string, full time.Duration) string {
	// Seeds that are multiples of 10 (one trial in ten: seeds are
	// consecutive) are killed in the first tenth of the ingest, around the
	// open, the migrations and the start record; the rest mid-ingest.
	rng := rand.New(rand.NewPCG(seed, 1))
	frac := 0.1 + 0.8*rng.Float64()
	if seed%10 == 0 {
		frac = 0.1 * rng.Float64()
	}
	delay := time.Duration(frac * float64(full))
	t.Logf("seed %d: SIGKILL after %v (%.0f%% of an uninterrupted ingest); replay with SIMDB_CRASH_SEED=%d", seed, delay.Round(time.Millisecond), 100*frac, seed)

	dir := t.TempDir()
	db := filepath.Join(dir, "crash.duckdb")
	c := startChild(t, "cli", "--db", db, "ingest", "--config", s.configPath, "--sim", runID, s.path)
	killed := c.killAfter(delay)
	if !killed && c.err != nil {
		t.Fatalf("ingest failed on its own: %v", c)
	}
	// The crashed file as it is, before anything opens it.
	cp := filepath.Join(dir, "copy.duckdb")
	copyDB(t, db, cp)

	st := inspect(t, db, s)
	t.Logf("killed: %v; stored: %v", killed, st)
	if t.Failed() {
		t.FailNow()
	}
	diff := func() {
		t.Helper()
		code, out := runCLI(t, "--db", db, "diff", runID, "ref", "--db-b", ref)
		if code != 0 || !strings.HasPrefix(out, "identical") {
			t.Fatalf("diff against the uninterrupted ingest: exit %d: %s", code, out)
		}
	}

	switch {
	case !st.exists:
		// Killed before the start record was committed: the file (if any)
		// holds nothing, and a fresh ingest into it works.
		if code, _ := runCLI(t, "--db", db, "ingest", "--config", s.configPath, "--sim", runID, s.path); code != 0 {
			t.Fatalf("fresh ingest into the crashed file: exit %d", code)
		}
		diff()
		return "before start"

	case st.status == "completed":
		if st.eventCount != s.total() {
			t.Fatalf("completed with %d of %d events", st.eventCount, s.total())
		}
		diff()
		return "completed"

	case st.status != "running":
		t.Fatalf("status %q after a kill; want running", st.status)
	}
	if !killed {
		t.Fatalf("ingest exited 0 but left the run %s: %v", st.status, c)
	}

	// recover, on the copy: failed "interrupted", stored events untouched.
	code, out := runCLI(t, "--db", cp, "recover")
	if want := runID + ": marked failed (interrupted)\n"; code != 0 || out != want {
		t.Fatalf("recover: exit %d, stdout %q; want 0, %q", code, out, want)
	}
	rec := inspect(t, cp, s)
	if rec.status != "failed" || rec.errorMessage == nil || *rec.errorMessage != "interrupted" {
		t.Fatalf("after recover: %v, error_message %v; want failed, interrupted", rec, rec.errorMessage)
	}
	if rec.eventCount != st.eventCount || rec.registers != st.registers {
		t.Fatalf("recover changed the stored run: %v before, %v after", st, rec)
	}

	// resume, on the original: the finished run equals the reference.
	if code, _ := runCLI(t, "--db", db, "ingest", "--resume", "--config", s.configPath, "--sim", runID, s.path); code != 0 {
		t.Fatalf("ingest --resume: exit %d", code)
	}
	diff()
	if st.ticks == 0 {
		return "running, no tick"
	}
	return "running"
}

// providerStream is the input of TestCrashBufferedProvider: 60,000 events
// in 200 ticks.
var providerStream = simgen.Options{Agents: 12, Days: 2, TicksPerDay: 100, EventsPerTick: 300, Seed: 11}

// TestCrashBufferedProvider kills a program that writes through the
// provider (simdb.Open, PersistTickEvents tick by tick, an "ack" line on
// stdout after each call returns) and compares the acknowledgements with the
// file:
//
//   - the stored run is whole ticks, the stream's first ones (checkRun);
//   - it holds at most one tick more than was acknowledged: the call in
//     progress at the kill, which may have been committed before its ack
//     line was written;
//   - Buffered: at most 2·FlushEvents − 2 + (events of the busiest tick)
//     acknowledged events are lost. When a call returns, the simulation's
//     uncommitted events are the pending ticks (fewer than FlushEvents, or
//     they would have been handed to a group) plus at most one group
//     committing in the background (the pending ticks when it was taken:
//     fewer than FlushEvents before the tick that filled it);
//   - Durable: nothing acknowledged is lost.
func TestCrashBufferedProvider(t *testing.T) {
	if testing.Short() {
		t.Skip("crash trials take minutes; run `make test-crash`")
	}
	seeds := trialSeeds(t)
	s := writeStream(t, t.TempDir(), providerStream)
	t.Logf("stream: %d events in %d ticks, busiest tick %d events", s.total(), len(s.ticks), s.maxTickEvents)
	for _, durable := range []bool{false, true} {
		name := "buffered"
		if durable {
			name = "durable"
		}
		t.Run(name, func(t *testing.T) {
			var lossy, maxLoss int64
			for _, seed := range seeds {
				t.Run("seed="+strconv.FormatUint(seed, 10), func(t *testing.T) {
					loss := providerTrial(t, seed, s, durable)
					if loss > 0 {
						lossy++
					}
					maxLoss = max(maxLoss, loss)
				})
			}
			t.Logf("%d of %d trials lost acknowledged events, at most %d", lossy, len(seeds), maxLoss)
		})
	}
}

// providerTrial runs one kill of the provider child and returns how many
// acknowledged events the file lacks.
func providerTrial(t *testing.T, seed uint64, s *stream, durable bool) int64 {
	rng := rand.New(rand.NewPCG(seed, 2))
	flushEvents := []int{500, 2000, 8000}[rng.IntN(3)]
	interval := []time.Duration{5 * time.Millisecond, 50 * time.Millisecond, time.Second}[rng.IntN(3)]
	killAt := rng.IntN(len(s.ticks)) // acks to read before the kill; 0: right after "started"
	pause := time.Duration(rng.Int64N(int64(20 * time.Millisecond)))
	t.Logf("seed %d: FlushEvents %d, FlushInterval %v, SIGKILL %v after ack %d of %d; replay with SIMDB_CRASH_SEED=%d",
		seed, flushEvents, interval, pause, killAt, len(s.ticks), seed)

	db := filepath.Join(t.TempDir(), "crash.duckdb")
	args := []string{"-db", db, "-stream", s.path, "-config", s.configPath,
		"-flush-events", strconv.Itoa(flushEvents), "-flush-interval", interval.String()}
	if durable {
		args = append(args, "-durable")
	}
	cmd := command("provider", args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	// Read every line the child wrote, killing it after the chosen one.
	// The lines still in the pipe after the kill were acknowledged too.
	var (
		started, done bool
		acks          int   // ticks acknowledged
		lastAck       int64 = -1
		acked         int64 // events acknowledged
		sent          bool
	)
	kill := func() {
		if !sent {
			sent = true
			time.Sleep(pause)
			_ = cmd.Process.Signal(syscall.SIGKILL)
		}
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "started":
			started = true
		case line == "done":
			done = true
		case strings.HasPrefix(line, "ack "):
			var tick, n int64
			if _, err := fmt.Sscanf(line, "ack %d %d", &tick, &n); err != nil {
				t.Fatalf("child wrote %q: %v", line, err)
			}
			if acks >= len(s.ticks) || tick != s.ticks[acks] {
				t.Fatalf("ack %d is tick %d, want the stream's tick %d", acks, tick, s.ticks[acks])
			}
			acks, lastAck, acked = acks+1, tick, n
		default:
			t.Fatalf("child wrote %q", line)
		}
		if started && acks >= killAt {
			kill()
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	waitErr := cmd.Wait()
	killed := killedBySIGKILL(cmd.ProcessState)
	if !killed && waitErr != nil {
		t.Fatalf("child failed on its own: %v\n%s", waitErr, stderr.String())
	}
	if !started {
		t.Fatalf("child never started: %v\n%s", waitErr, stderr.String())
	}

	st := inspect(t, db, s)
	t.Logf("acknowledged %d events in %d ticks (last tick %d, done %v); stored: %v", acked, acks, lastAck, done, st)
	if !st.exists {
		t.Fatal(`the run is not stored, yet its start was acknowledged ("started")`)
	}
	if done {
		if st.status != "completed" || st.eventCount != s.total() {
			t.Fatalf("the child completed the run, the file holds %v", st)
		}
		return 0
	}
	if st.status != "running" {
		t.Fatalf("status %q; want running", st.status)
	}
	if st.ticks > acks+1 {
		t.Errorf("%d ticks stored, only %d acknowledged (plus at most the call in progress)", st.ticks, acks)
	}
	loss := acked - st.eventCount
	if durable {
		if loss > 0 || (acks > 0 && (st.lastTick == nil || *st.lastTick < lastAck)) {
			t.Errorf("Durable lost acknowledged events: acknowledged %d through tick %d, stored %v", acked, lastAck, st)
		}
		return loss
	}
	window := 2*int64(flushEvents) - 2 + s.maxTickEvents
	if loss > window {
		t.Errorf("lost %d acknowledged events; the Buffered window is at most 2×%d−2+%d = %d", loss, flushEvents, s.maxTickEvents, window)
	}
	t.Logf("lost %d acknowledged events (window %d)", loss, window)
	return loss
}
