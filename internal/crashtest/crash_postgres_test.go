package crashtest

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/simgen"
)

// pgStream is what each PostgreSQL worker ingests, under its own
// simulation id: 60,000 events in 200 ticks, StateRegisterSet included,
// so that writing, not opening, fills most of a worker's life.
var pgStream = simgen.Options{Agents: 12, Days: 2, TicksPerDay: 100, EventsPerTick: 300, Seed: 13}

// pgWorkerCount is how many `simdb ingest` processes write one PostgreSQL
// database at once in each trial.
const pgWorkerCount = 4

// The PostgreSQL trial counts are issue 14's and do not scale with
// SIMDB_CRASH_TRIALS (SIMDB_CRASH_SEED still replays one trial).
const (
	pgKillTrials      = 10
	pgRestartTrials   = 5
	pgTerminateTrials = 5
)

// pgFault is what a PostgreSQL trial does to the workers or the server.
type pgFault string

const (
	// faultKill: every worker gets SIGKILL at a random moment of its own.
	faultKill pgFault = "sigkill"
	// faultRestart: `pg_ctl restart -m immediate` at a random moment.
	faultRestart pgFault = "restart"
	// faultTerminate: pg_terminate_backend on the connection of a worker
	// in the middle of a commit group (its COPY done, its commit not).
	faultTerminate pgFault = "terminate"
)

// TestCrashPostgres runs four `simdb ingest` workers, each writing its
// own run of one stream into one PostgreSQL database, and in each trial
// strikes them at a random moment: SIGKILL of every worker (10 trials), an
// immediate server restart (5), pg_terminate_backend of one worker's
// connection mid-group (5). Then, for every run:
//   - a worker that did not finish exited 1 with ErrWriteFailed and the
//     `ingest --resume` command (server faults), or was killed;
//   - the run holds whole ticks only, the stream's first ones, seq
//     gap-free, registers matching the stored events (checkRun);
//   - `ingest --resume` (or, when the start record was never committed, a
//     fresh ingest) finishes it, and `simdb diff` against the same stream
//     ingested uninterrupted into DuckDB says identical.
//
// The cluster is the test's own (startCluster): it is restarted, which no
// shared server should be.
func TestCrashPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("crash trials take minutes; run `make test-crash`")
	}
	c := startCluster(t)
	dir := t.TempDir()
	s := writeStream(t, dir, pgStream)
	ref := filepath.Join(dir, "ref.duckdb")
	if code, _ := runCLI(t, "--db", ref, "ingest", "--config", s.configPath, "--sim", "ref", s.path); code != 0 {
		t.Fatalf("reference ingest into DuckDB: exit %d", code)
	}

	// An uninterrupted four-worker ingest: its wall time sizes the delays,
	// and its runs must already equal the reference.
	dsn := c.createDB(t, "uninterrupted")
	began := time.Now()
	ws := startWorkers(t, dsn, s, 50_000)
	for _, w := range ws {
		<-w.c.done
		if w.c.err != nil {
			t.Fatalf("uninterrupted worker %s: %v", w.id, w.c)
		}
	}
	full := time.Since(began)
	for _, w := range ws {
		diffRef(t, dsn, w.id, ref)
	}
	t.Logf("stream: %d events in %d ticks per worker, %d workers; uninterrupted ingest: %v",
		s.total(), len(s.ticks), pgWorkerCount, full.Round(time.Millisecond))

	for _, tc := range []struct {
		fault  pgFault
		trials int
	}{{faultKill, pgKillTrials}, {faultRestart, pgRestartTrials}, {faultTerminate, pgTerminateTrials}} {
		t.Run(string(tc.fault), func(t *testing.T) {
			tally := map[string]int{}
			var hits int
			for _, seed := range pgSeeds(t, tc.trials) {
				t.Run("seed="+strconv.FormatUint(seed, 10), func(t *testing.T) {
					hit, outcomes := pgTrial(t, c, s, ref, full, seed, tc.fault)
					if hit {
						hits++
					}
					for _, o := range outcomes {
						tally[o]++
					}
				})
			}
			t.Logf("%s: %d trials, %d struck a worker mid-run; runs after the fault: %v", tc.fault, tc.trials, hits, tally)
			if hits == 0 && !t.Failed() && os.Getenv("SIMDB_CRASH_SEED") == "" {
				t.Errorf("no %s trial struck a worker mid-run: the trials tested nothing", tc.fault)
			}
		})
	}
}

// pgSeeds returns n seeds from the clock, or SIMDB_CRASH_SEED alone.
func pgSeeds(t *testing.T, n int) []uint64 {
	t.Helper()
	if os.Getenv("SIMDB_CRASH_SEED") != "" {
		return trialSeeds(t)
	}
	base := uint64(time.Now().UnixNano()) % 1_000_000_000
	seeds := make([]uint64, n)
	for i := range seeds {
		seeds[i] = base + uint64(i)
	}
	return seeds
}

// worker is one `simdb ingest` child writing the run id.
type worker struct {
	id string
	c  *child
}

// startWorkers starts pgWorkerCount ingests of s into dsn, runs w0…w3, each
// with its own application_name (the run's id) so that its backends can be
// found in pg_stat_activity.
func startWorkers(t *testing.T, dsn string, s *stream, flushEvents int) []worker {
	t.Helper()
	ws := make([]worker, pgWorkerCount)
	for i := range ws {
		id := "w" + strconv.Itoa(i)
		ws[i] = worker{id: id, c: startChild(t, "cli", "--db", withApp(dsn, id), "ingest", "--config", s.configPath,
			"--sim", id, "--flush-events", strconv.Itoa(flushEvents), "--lease", pgTrialLease.String(), s.path)}
	}
	return ws
}

// pgTrial runs one trial; it reports whether the fault struck a worker
// before it finished, and what each run was left as.
func pgTrial(t *testing.T, c *pgCluster, s *stream, ref string, full time.Duration, seed uint64, fault pgFault) (bool, []string) {
	rng := rand.New(rand.NewPCG(seed, 3))
	flushEvents := []int{2000, 10_000, 50_000}[rng.IntN(3)]
	dsn := c.createDB(t, fmt.Sprintf("%s_%d", fault, seed))
	db := c.open(t, dsn)
	defer db.Close()
	ws := startWorkers(t, dsn, s, flushEvents)

	var hit bool
	victim := ""
	switch fault {
	case faultKill:
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, w := range ws {
			frac := 0.05 + 0.9*rng.Float64()
			delay := time.Duration(frac * float64(full))
			t.Logf("seed %d: %s gets SIGKILL after %v (%.0f%% of an uninterrupted ingest), FlushEvents %d; replay with SIMDB_CRASH_SEED=%d",
				seed, w.id, delay.Round(time.Millisecond), 100*frac, flushEvents, seed)
			wg.Add(1)
			go func() {
				defer wg.Done()
				if w.c.killAfter(delay) {
					mu.Lock()
					hit = true
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	case faultRestart:
		frac := 0.2 + 0.7*rng.Float64()
		delay := time.Duration(frac * float64(full))
		t.Logf("seed %d: pg_ctl restart -m immediate after %v (%.0f%% of an uninterrupted ingest), FlushEvents %d; replay with SIMDB_CRASH_SEED=%d",
			seed, delay.Round(time.Millisecond), 100*frac, flushEvents, seed)
		time.Sleep(delay)
		running := 0
		for _, w := range ws {
			select {
			case <-w.c.done:
			default:
				running++
			}
		}
		took := c.restartImmediate(t)
		hit = running > 0
		t.Logf("restarted with %d of %d workers still running; the restart took %v", running, len(ws), took.Round(time.Millisecond))
	case faultTerminate:
		frac := 0.2 + 0.6*rng.Float64()
		delay := time.Duration(frac * float64(full))
		t.Logf("seed %d: pg_terminate_backend of a connection mid-group from %v on (%.0f%% of an uninterrupted ingest), FlushEvents %d; replay with SIMDB_CRASH_SEED=%d",
			seed, delay.Round(time.Millisecond), 100*frac, flushEvents, seed)
		time.Sleep(delay)
		victim = terminateMidGroup(t, db, ws)
		hit = victim != ""
	}
	for _, w := range ws {
		<-w.c.done
	}

	// What each worker said.
	for _, w := range ws {
		killed := killedBySIGKILL(w.c.cmd.ProcessState)
		if w.c.err != nil && !killed {
			t.Logf("%s: %s", w.id, lastLine(w.c.stderr.String()))
		}
		switch {
		case w.c.err == nil:
			if w.id == victim {
				// The backend was past its commit when the signal came, and
				// the next BEGIN met the dead connection: that BEGIN runs on
				// a fresh one (Store.beginTx), so nothing failed.
				t.Logf("%s: its connection ended between two transactions; the next ran on a fresh connection", w.id)
				hit = false
			}
		case fault == faultKill && killed:
		case fault == faultTerminate && w.id != victim:
			t.Errorf("%s failed, though only %s's connection was terminated: %v", w.id, victim, w.c)
		default:
			// A server fault: the write that met it reports ErrWriteFailed
			// and says how to resume; or, before the run existed (a fault
			// during the open or the start record), the start or open fails.
			msg := w.c.stderr.String()
			if !strings.Contains(msg, simdb.ErrWriteFailed.Error()) || !strings.Contains(msg, "ingest --resume") {
				if stored := queryInt(t, db, `SELECT count(*) FROM simulations WHERE simulation_id = $1`, w.id); stored != 0 {
					t.Errorf("%s: the run is stored, but the worker's error is not ErrWriteFailed with the resume command: %v", w.id, w.c)
				} else {
					t.Logf("%s failed before its start record was committed", w.id)
				}
			}
		}
	}

	// What each run holds, then each finished and compared.
	waitForBackends(t, db)
	var outcomes []string
	for _, w := range ws {
		st := checkRun(t, db, s, w.id)
		t.Logf("%s: exit %v; stored: %v", w.id, w.c.err, st)
		if t.Failed() {
			t.FailNow()
		}
		args := []string{"--db", dsn, "ingest", "--config", s.configPath, "--sim", w.id, s.path}
		switch {
		case !st.exists:
			outcomes = append(outcomes, "not started")
		case st.status == "completed":
			if st.eventCount != s.total() {
				t.Fatalf("%s completed with %d of %d events", w.id, st.eventCount, s.total())
			}
			outcomes = append(outcomes, "completed")
			args = nil
		case st.status == "running":
			outcomes = append(outcomes, "resumed")
			args = append(args[:3], append([]string{"--resume"}, args[3:]...)...)
			waitOutLease(t, db, w.id)
		default:
			t.Fatalf("%s: status %q after the fault; want running or completed", w.id, st.status)
		}
		if args != nil {
			if code, _ := runCLI(t, args...); code != 0 {
				t.Fatalf("%s: %v: exit %d", w.id, args[3:], code)
			}
		}
		diffRef(t, dsn, w.id, ref)
	}
	return hit, outcomes
}

// terminateMidGroup waits for a worker's connection to be inside a commit
// group — a transaction that has run its COPY and not yet committed — and
// terminates that backend. It returns the worker whose connection it was,
// or "" when every worker finished first.
func terminateMidGroup(t *testing.T, db *sql.DB, ws []worker) string {
	t.Helper()
	ctx := context.Background()
	for {
		var pid int
		var app string
		err := db.QueryRowContext(ctx, `SELECT pid, application_name FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid()
			  AND backend_xid IS NOT NULL AND query ILIKE 'copy%' LIMIT 1`).Scan(&pid, &app)
		if err == nil {
			var ok bool
			if err := db.QueryRowContext(ctx, `SELECT pg_terminate_backend($1)`, pid).Scan(&ok); err != nil {
				t.Fatalf("pg_terminate_backend(%d): %v", pid, err)
			}
			if ok {
				t.Logf("terminated backend %d of %s mid-group", pid, app)
				return app
			}
			continue
		}
		if err != sql.ErrNoRows {
			t.Fatalf("look for a backend mid-group: %v", err)
		}
		alive := false
		for _, w := range ws {
			select {
			case <-w.c.done:
			default:
				alive = true
			}
		}
		if !alive {
			t.Logf("every worker finished before a group could be struck")
			return ""
		}
		time.Sleep(time.Millisecond)
	}
}

// waitForBackends waits until no worker's backend is left: a killed
// client's backend ends when the server reads the closed socket, and its
// claim on the run (a session advisory lock) goes with it.
func waitForBackends(t *testing.T, db *sql.DB) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		n := queryInt(t, db, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name LIKE 'w%'`)
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d backends of the workers still there 30 s after they exited", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// diffRef requires `simdb diff` to find run id in dsn identical to the
// reference run in the DuckDB file ref.
func diffRef(t *testing.T, dsn, id, ref string) {
	t.Helper()
	code, out := runCLI(t, "--db", dsn, "diff", id, "ref", "--db-b", ref)
	if code != 0 || !strings.HasPrefix(out, "identical") {
		t.Fatalf("diff %s against the uninterrupted ingest: exit %d: %s", id, code, out)
	}
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// pgTrialLease is the workers' writer lease (ingest --lease): a killed
// worker's run can be resumed by another process once it has expired.
const pgTrialLease = time.Second

// waitOutLease waits until the run's writer lease, if any, has expired, as
// an operator's retry would: on PostgreSQL a killed writer holds its run
// for up to one lease (RELIABILITY.md, "Writer leases").
func waitOutLease(t *testing.T, db *sql.DB, id string) {
	t.Helper()
	var expires sql.NullTime
	if err := db.QueryRow(`SELECT lease_expires_at FROM simulations WHERE simulation_id = $1`, id).Scan(&expires); err != nil {
		t.Fatalf("%s: read its lease: %v", id, err)
	}
	if expires.Valid {
		time.Sleep(time.Until(expires.Time) + 100*time.Millisecond)
	}
}
