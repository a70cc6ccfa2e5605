package cli

// Writer leases and idempotent resume (issue 14), through the command line
// and real processes: a writer in a helper process (TestHelperLeaseWriter)
// holds a run while this process runs recover and ingest --resume.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/testutil"
)

const leaseWriterEnv = "SIMDB_TEST_LEASE_WRITER"

// leaseWriterSpec is what TestHelperLeaseWriter does.
type leaseWriterSpec struct {
	DB, Sim, Stream, Config string
	Lease                   string // Options.Lease
	PauseAt                 int64  // the tick it stops before, every earlier one committed
}

// testLease is the writers' lease in these tests: short, so that a killed
// writer's run is free soon.
const testLease = 3 * time.Second

// TestHelperLeaseWriter is not a test: re-executed with
// $SIMDB_TEST_LEASE_WRITER set to a leaseWriterSpec, it starts the run,
// ingests the stream (Durable) up to the tick PauseAt, prints "ready" and
// waits for a line on stdin (the tests kill it there, or let it go on),
// then ingests the rest and completes the run with the stream's metrics,
// as `simdb ingest` would, and exits 0.
func TestHelperLeaseWriter(t *testing.T) {
	raw := os.Getenv(leaseWriterEnv)
	if raw == "" {
		t.Skip("helper process of the lease tests")
	}
	if err := leaseWriter(raw); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

func leaseWriter(raw string) error {
	var spec leaseWriterSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		return err
	}
	lease, err := time.ParseDuration(spec.Lease)
	if err != nil {
		return err
	}
	ctx := context.Background()
	store, err := simdb.Open(ctx, spec.DB, simdb.Options{Lease: lease, Durability: simdb.Durable})
	if err != nil {
		return err
	}
	config, err := loadConfig(spec.Config)
	if err != nil {
		return err
	}
	if err := store.PersistSimulationStart(ctx, spec.Sim, config, simdb.StartOptions{ConfigFile: spec.Config}); err != nil {
		return err
	}
	data, err := os.ReadFile(spec.Stream)
	if err != nil {
		return err
	}
	cut := bytes.Index(data, fmt.Appendf(nil, `"tick":%d,`, spec.PauseAt))
	if cut < 0 {
		return fmt.Errorf("no tick %d in %s", spec.PauseAt, spec.Stream)
	}
	cut += bytes.IndexByte(data[cut:], '\n') + 1 // through the first line of PauseAt
	r := &pausingReader{head: data[:cut], tail: data[cut:]}
	res, err := store.IngestJSONL(ctx, spec.Sim, r, simdb.IngestOptions{Source: spec.Stream})
	if err != nil {
		return err
	}
	if err := store.PersistSimulationComplete(ctx, spec.Sim, res.Metrics); err != nil {
		return err
	}
	return store.Close()
}

// pausingReader gives head, then, when asked for more (IngestJSONL has
// handed every tick before the last line of head to the Durable writer),
// prints "ready", waits for a line on stdin and gives tail.
type pausingReader struct {
	head, tail []byte
	resumed    bool
}

func (r *pausingReader) Read(p []byte) (int, error) {
	if len(r.head) > 0 {
		n := copy(p, r.head)
		r.head = r.head[n:]
		return n, nil
	}
	if !r.resumed {
		r.resumed = true
		fmt.Fprintln(os.Stdout, "ready")
		if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
			return 0, fmt.Errorf("waiting to go on: %w", err)
		}
	}
	if len(r.tail) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.tail)
	r.tail = r.tail[n:]
	return n, nil
}

// leaseWriterProc is a running TestHelperLeaseWriter, paused.
type leaseWriterProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bytes.Buffer // its stderr
}

// startLeaseWriter starts the helper and returns once it is paused.
func startLeaseWriter(t *testing.T, spec leaseWriterSpec) *leaseWriterProc {
	t.Helper()
	raw, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperLeaseWriter$", "-test.count=1")
	cmd.Env = append(os.Environ(), leaseWriterEnv+"="+string(raw))
	w := &leaseWriterProc{cmd: cmd, out: &bytes.Buffer{}}
	cmd.Stderr = w.out
	if w.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- line
	}()
	select {
	case line := <-ready:
		if line != "ready\n" {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("lease writer said %q:\n%s", line, w.out)
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("lease writer not ready after 2 minutes:\n%s", w.out)
	}
	return w
}

// kill kills the writer with SIGKILL and returns when it has gone.
func (w *leaseWriterProc) kill(t *testing.T) {
	t.Helper()
	if err := w.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = w.cmd.Wait()
}

// leaseStream is the stream of the lease tests: 20 ticks, the writer
// pausing before tick 10.
var leaseStream = genSpec{agents: 4, days: 1, ticksPerDay: 20, eventsPerTick: 30, seed: 14}

// A writer killed with SIGKILL holds its run on PostgreSQL until its lease
// expires (the run stays "running"; recover and ingest --resume say who
// holds it, rm that it is running), and no longer: then recover marks it
// failed, or ingest --resume from another process takes it over and
// completes it, identical to an uninterrupted ingest. On a DuckDB file
// (the default backend; PostgreSQL through TestCLIBackends) the file lock
// and the lease's host and pid prove the killed writer gone at once, so
// recover and resume need not wait; a live lease held elsewhere is still
// respected there (TestLeaseHeldByAnotherWriter).
func TestLeaseKilledWriter(t *testing.T) {
	dir := t.TempDir()
	stream, config := genStream(t, dir, "lease", leaseStream)
	db := backendOf(t).Database(t, filepath.Join(dir, "db.duckdb"))
	ref := filepath.Join(dir, "ref.duckdb")
	mustCLI(t, "--db", ref, "ingest", "--sim", "ref", "--config", config, stream)
	for _, then := range []string{"recover", "resume"} {
		t.Run(then, func(t *testing.T) {
			sim := "killed-" + then
			w := startLeaseWriter(t, leaseWriterSpec{DB: db, Sim: sim, Stream: stream, Config: config, Lease: testLease.String(), PauseAt: 10})
			pid := w.cmd.Process.Pid
			w.kill(t)
			free := time.Now().Add(testLease + 200*time.Millisecond)
			before := showJSON(t, db, sim).Simulation
			if before.Status != "running" || before.EventCount == 0 || derefInt(before.LastTick) != 9 {
				t.Fatalf("after the kill: %+v, want running through tick 9", before)
			}
			holder := fmt.Sprintf("pid %d", pid)
			held := backendOf(t).Name != "duckdb"
			switch {
			case !held && then == "recover":
				if r := mustCLI(t, "--db", db, "recover"); r.stdout != sim+": marked failed (interrupted)\n" {
					t.Fatalf("recover after the kill: %s", r)
				}
			case !held && then == "resume":
				mustCLI(t, "--db", db, "ingest", "--resume", "--sim", sim, "--config", config, stream)
				if r := cli(t, "--db", db, "diff", sim, "ref", "--db-b", ref); r.code != exitOK || !strings.HasPrefix(r.stdout, "identical") {
					t.Fatalf("diff against the uninterrupted ingest: %s", r)
				}
			case then == "recover":
				r := mustCLI(t, "--db", db, "recover")
				if !strings.Contains(r.stdout, sim+": left running: its lease is live") || !strings.Contains(r.stdout, holder) || strings.Contains(r.stdout, "marked failed") {
					t.Fatalf("recover while the lease is live: %s", r)
				}
				if s := showJSON(t, db, sim).Simulation; s.Status != "running" {
					t.Fatalf("recover failed a run whose lease is live: %+v", s)
				}
				// rm refuses a running run as such, whoever holds it.
				wantFailure(t, cli(t, "--db", db, "rm", sim, "--yes"), "is running")
				time.Sleep(time.Until(free))
				r = mustCLI(t, "--db", db, "recover")
				if r.stdout != sim+": marked failed (interrupted)\n" {
					t.Fatalf("recover once the lease expired: %s", r)
				}
				after := showJSON(t, db, sim).Simulation
				if after.Status != "failed" || derefS(after.ErrorMessage) != "interrupted" || after.EventCount != before.EventCount {
					t.Fatalf("after recover: %+v", after)
				}
			case then == "resume":
				r := cli(t, "--db", db, "ingest", "--resume", "--sim", sim, "--config", config, stream)
				wantFailure(t, r, `simulation "`+sim+`"`, "another writer", holder, "lease expires in")
				if s := showJSON(t, db, sim).Simulation; s.Status != "running" || s.EventCount != before.EventCount {
					t.Fatalf("a refused resume changed the run: %+v", s)
				}
				time.Sleep(time.Until(free))
				r = mustCLI(t, "--db", db, "ingest", "--resume", "--sim", sim, "--config", config, stream)
				if !strings.Contains(r.stdout, fmt.Sprintf("skipped %d events already stored", before.EventCount)) {
					t.Errorf("resume: %s", r)
				}
				if r := cli(t, "--db", db, "diff", sim, "ref", "--db-b", ref); r.code != exitOK || !strings.HasPrefix(r.stdout, "identical") {
					t.Fatalf("diff against the uninterrupted ingest: %s", r)
				}
			}
		})
	}
}

// Two processes on one PostgreSQL database: the writer holds a live run
// (paused longer than its lease: only its heartbeat renews it) while the
// other runs recover, which leaves the run running and names its holder;
// the writer then completes it, identical to an uninterrupted ingest.
func TestLeaseLiveWriterSurvivesRecover(t *testing.T) {
	dsn := testutil.PostgresURL(t)
	dir := t.TempDir()
	stream, config := genStream(t, dir, "live", leaseStream)
	ref := filepath.Join(dir, "ref.duckdb")
	mustCLI(t, "--db", ref, "ingest", "--sim", "ref", "--config", config, stream)
	w := startLeaseWriter(t, leaseWriterSpec{DB: dsn, Sim: "live", Stream: stream, Config: config, Lease: testLease.String(), PauseAt: 10})
	time.Sleep(testLease + time.Second) // no commit meanwhile
	r := mustCLI(t, "--db", dsn, "recover")
	if want := "live: left running: its lease is live"; !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, fmt.Sprintf("pid %d", w.cmd.Process.Pid)) ||
		strings.Contains(r.stdout, "marked failed") {
		t.Fatalf("recover beside a live writer: %s", r)
	}
	if s := showJSON(t, dsn, "live").Simulation; s.Status != "running" {
		t.Fatalf("recover failed a live run: %+v", s)
	}
	if _, err := io.WriteString(w.stdin, "go\n"); err != nil {
		t.Fatal(err)
	}
	if err := w.cmd.Wait(); err != nil {
		t.Fatalf("the writer after recover: %v\n%s", err, w.out)
	}
	if s := showJSON(t, dsn, "live").Simulation; s.Status != "completed" {
		t.Fatalf("after the writer finished: %+v", s)
	}
	if r := cli(t, "--db", dsn, "diff", "live", "ref", "--db-b", ref); r.code != exitOK || !strings.HasPrefix(r.stdout, "identical") {
		t.Fatalf("diff against the uninterrupted ingest: %s", r)
	}
}

// ingest --resume of a run already completed from the same stream has
// nothing to do: exit 0, saying so, the run untouched (a retry loop around
// a worker that finished just before it was killed succeeds). A stream
// that differs — an event changed, one missing, one more — is refused with
// exit 1 naming the difference, the run still untouched. On every backend.
func TestResumeCompletedRun(t *testing.T) {
	dir := t.TempDir()
	stream, config := genStream(t, dir, "done", genSpec{agents: 3, days: 1, ticksPerDay: 10, eventsPerTick: 8, seed: 4})
	db := backendOf(t).Database(t, filepath.Join(dir, "db.duckdb"))
	mustCLI(t, "--db", db, "ingest", "--sim", "done", "--config", config, stream)
	before := showJSON(t, db, "done")
	unchanged := func(t *testing.T) {
		t.Helper()
		after := showJSON(t, db, "done")
		if after.Simulation.Status != "completed" || after.Simulation.EventCount != before.Simulation.EventCount ||
			!after.Simulation.CompletedAt.Equal(*before.Simulation.CompletedAt) || derefInt(after.Simulation.TotalArrivals) != derefInt(before.Simulation.TotalArrivals) {
			t.Fatalf("the completed run changed: %+v, was %+v", after.Simulation, before.Simulation)
		}
	}
	src := readStream(t, stream)
	n := len(src)
	r := mustCLI(t, "--db", db, "ingest", "--resume", "--sim", "done", "--config", config, stream)
	if want := fmt.Sprintf("%q is already completed with these %d events (%d lines checked): nothing to do\n", "done", n, n); r.stdout != want {
		t.Fatalf("resume of the completed run: %s, want stdout %q", r, want)
	}
	unchanged(t)

	changed := slices.Clone(src)
	changed[3].raw = fmt.Appendf(nil, `{"event_type":"EndOfDay","tick":%d}`, changed[3].tick)
	extra := append(slices.Clone(src), srcEvent{raw: fmt.Appendf(nil, `{"event_type":"EndOfDay","tick":%d}`, src[n-1].tick+1)})
	for _, c := range []struct {
		name   string
		events []srcEvent
		want   []string
	}{
		{"changed", changed, []string{":4: tick", "seq 3", "the line is"}},
		{"shorter", src[:n-1], []string{"(end of stream)", fmt.Sprintf("the stored run %d", n)}},
		{"longer", extra, []string{fmt.Sprintf(":%d: tick", n+1), fmt.Sprintf("the stored run has %d events", n)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			file := writeFile(t, filepath.Join(dir, c.name+".jsonl"), joinLines(c.events))
			r := cli(t, "--db", db, "ingest", "--resume", "--sim", "done", file)
			wantFailure(t, r, append([]string{file, "does not match the stored run", `"done" stays completed`}, c.want...)...)
			unchanged(t)
		})
	}
}

func derefInt(p *int64) int64 {
	if p == nil {
		return -1
	}
	return *p
}

// --lease below simdb.MinLease, or not a duration, is a usage error before
// anything is opened.
func TestLeaseFlag(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db.duckdb")
	wantUsage(t, cli(t, "--db", db, "ingest", "--lease", "100ms", "x.jsonl"), "shorter than the minimum, 1s")
	wantUsage(t, cli(t, "--db", db, "ingest", "--lease", "soon", "x.jsonl"), "not a duration")
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("a usage error created the database: %v", err)
	}
}
