package simdb_test

// Tests of what only a shared server allows: writers in several processes
// (or several Stores) on one PostgreSQL database.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/simgen"
	"github.com/simcash/simdb/internal/testutil"
)

// Two Stores — on PostgreSQL, as good as two processes: each has its own
// connections — write one simulation. The first to write it claims it; the
// second's first call fails at once with ErrConcurrentWriter naming the
// run, having buffered nothing, and the first writer's run is whole. Once
// the first has completed the run, it is no one's, and the second finds it
// completed.
func TestPostgresSecondWriterOfOneSimulationFails(t *testing.T) {
	dsn := testutil.PostgresURL(t)
	ctx := context.Background()
	a := openPG(t, dsn, simdb.Options{Durability: simdb.Durable})
	b := openPG(t, dsn, simdb.Options{})
	if err := a.PersistSimulationStart(ctx, "shared", json.RawMessage(testConfig), simdb.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.PersistTickEvents(ctx, "shared", 0, raws(arrival(0, "a0"))); err != nil {
		t.Fatal(err)
	}
	for name, call := range map[string]func() error{
		"tick": func() error {
			_, err := b.PersistTickEvents(ctx, "shared", 1, raws(arrival(1, "b1")))
			return err
		},
		"fail":     func() error { return b.PersistSimulationFailed(ctx, "shared", "not mine") },
		"complete": func() error { return b.PersistSimulationComplete(ctx, "shared", simdb.Metrics{}) },
	} {
		err := call()
		if !errors.Is(err, simdb.ErrConcurrentWriter) || !strings.Contains(err.Error(), `"shared"`) {
			t.Fatalf("second writer's %s: %v, want ErrConcurrentWriter naming the simulation", name, err)
		}
		// Refused by a's claim, it still names a: its lease is live.
		if le := (*simdb.LeaseError)(nil); !errors.As(err, &le) || le.Holder.PID != int64(os.Getpid()) {
			t.Errorf("second writer's %s: %v, want a *LeaseError naming the first writer", name, err)
		}
	}
	if _, err := a.PersistTickEvents(ctx, "shared", 1, raws(arrival(1, "a1"))); err != nil {
		t.Fatal(err)
	}
	if err := a.PersistSimulationComplete(ctx, "shared", simdb.Metrics{TotalArrivals: 2}); err != nil {
		t.Fatal(err)
	}
	var txs []string
	for ev, err := range b.StreamEvents(ctx, "shared", simdb.EventFilter{}) {
		if err != nil {
			t.Fatal(err)
		}
		txs = append(txs, *ev.TxID)
	}
	if strings.Join(txs, ",") != "a0,a1" {
		t.Fatalf("stored events %v, want only the first writer's a0,a1", txs)
	}
	if _, err := b.PersistTickEvents(ctx, "shared", 2, raws(arrival(2, "b2"))); !errors.Is(err, simdb.ErrSimulationNotRunning) {
		t.Fatalf("second writer after completion: %v, want ErrSimulationNotRunning", err)
	}
}

// Many Stores racing to write the same tick of one run: exactly one stores
// it, every other fails with ErrConcurrentWriter, and the run holds it once.
func TestPostgresRacingWritersOneWins(t *testing.T) {
	dsn := testutil.PostgresURL(t)
	ctx := context.Background()
	first := openPG(t, dsn, simdb.Options{Durability: simdb.Durable})
	if err := first.PersistSimulationStart(ctx, "race", json.RawMessage(testConfig), simdb.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	first.Close() // the run is no one's: the writers race for it
	const writers = 6
	stores := make([]*simdb.Store, writers)
	for i := range stores {
		stores[i] = openPG(t, dsn, simdb.Options{})
	}
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() {
			_, errs[i] = s.PersistTickEvents(ctx, "race", 0, raws(arrival(0, fmt.Sprintf("w%d", i))))
			if errs[i] == nil {
				errs[i] = s.Flush(ctx)
			}
		})
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, simdb.ErrConcurrentWriter):
			t.Errorf("writer %d: %v, want nil or ErrConcurrentWriter", i, err)
		}
	}
	sum, err := stores[0].GetSimulationSummary(ctx, "race")
	if won != 1 || err != nil || sum.EventCount != 1 {
		t.Fatalf("%d writers stored the tick, run has %d events (%v); want exactly one", won, sum.EventCount, err)
	}
}

// RecoverInterrupted on a shared database fails the runs whose writer is
// gone (its Store closed or its process died, taking its claim along) and
// leaves alone the runs another Store is writing.
func TestPostgresRecoverLeavesLiveRunsAlone(t *testing.T) {
	dsn := testutil.PostgresURL(t)
	ctx := context.Background()
	live := openPG(t, dsn, simdb.Options{Durability: simdb.Durable})
	if err := live.PersistSimulationStart(ctx, "live", json.RawMessage(testConfig), simdb.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	gone := openPG(t, dsn, simdb.Options{Durability: simdb.Durable})
	for _, id := range []string{"orphan-1", "orphan-2"} {
		if err := gone.PersistSimulationStart(ctx, id, json.RawMessage(testConfig), simdb.StartOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := gone.PersistTickEvents(ctx, id, 0, raws(arrival(0, id))); err != nil {
			t.Fatal(err)
		}
	}
	if err := gone.Close(); err != nil {
		t.Fatal(err)
	}
	rec := openPG(t, dsn, simdb.Options{})
	ids, err := rec.RecoverInterrupted(ctx)
	if err != nil || strings.Join(ids, ",") != "orphan-1,orphan-2" {
		t.Fatalf("recovered %v (%v), want the two orphans", ids, err)
	}
	if _, err := live.PersistTickEvents(ctx, "live", 0, raws(arrival(0, "l0"))); err != nil {
		t.Fatalf("the live run after recover: %v", err)
	}
	if err := live.PersistSimulationComplete(ctx, "live", simdb.Metrics{TotalArrivals: 1}); err != nil {
		t.Fatal(err)
	}
	// The recovered runs are the recovering Store's no more: another
	// Store can fail or inspect them, and a second recover finds nothing.
	if ids, err := openPG(t, dsn, simdb.Options{}).RecoverInterrupted(ctx); err != nil || len(ids) != 0 {
		t.Fatalf("second recover: %v, %v", ids, err)
	}
	sum, err := rec.GetSimulationSummary(ctx, "orphan-1")
	if err != nil || sum.Status != "failed" || sum.EventCount != 1 {
		t.Fatalf("orphan-1: %+v, %v", sum.Simulation, err)
	}
}

func openPG(t *testing.T, dsn string, opts simdb.Options) *simdb.Store {
	t.Helper()
	s, err := simdb.Open(context.Background(), dsn, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

const workerEnv = "SIMDB_TEST_PG_WORKER"

// workerLeaseEnv, if set, is the worker's Options.Lease.
const workerLeaseEnv = "SIMDB_TEST_PG_WORKER_LEASE"

// TestHelperPostgresWorker is not a test: re-executed by
// TestPostgresWorkerProcesses with $SIMDB_TEST_PG_WORKER set to
// "DSN|sim=seed,sim=seed" (and "|big" for bigStream), it ingests a
// generated stream per simulation into the database, all at once through
// one Store, and exits 0 when all completed.
func TestHelperPostgresWorker(t *testing.T) {
	spec := os.Getenv(workerEnv)
	if spec == "" {
		t.Skip("helper process of TestPostgresWorkerProcesses")
	}
	dsn, sims, _ := strings.Cut(spec, "|")
	sims, big := strings.CutSuffix(sims, "|big")
	ctx := context.Background()
	lease, _ := time.ParseDuration(os.Getenv(workerLeaseEnv)) // "" is the default
	store, err := simdb.Open(ctx, dsn, simdb.Options{Lease: lease})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	// The process's runs are ingested at once, through its one Store.
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for _, s := range strings.Split(sims, ",") {
		id, seed, _ := strings.Cut(s, "=")
		o := workerStream(seed)
		if big {
			o = bigStream(seed)
		}
		wg.Go(func() {
			if err := ingestGenerated(ctx, store, id, o); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := store.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

func workerStream(seed string) simgen.Options {
	var n int64
	fmt.Sscan(seed, &n)
	return simgen.Options{Agents: 6, Days: 2, TicksPerDay: 50, Seed: n, EventsPerTick: 60}
}

// bigStream is long enough (about 200,000 events, several group commits)
// for a test to kill its writer halfway.
func bigStream(seed string) simgen.Options {
	o := workerStream(seed)
	o.Agents, o.Days, o.TicksPerDay, o.EventsPerTick = 10, 4, 100, 500
	return o
}

func ingestGenerated(ctx context.Context, store *simdb.Store, id string, o simgen.Options) error {
	var stream bytes.Buffer
	if _, err := simgen.Write(&stream, o); err != nil {
		return err
	}
	if err := store.PersistSimulationStart(ctx, id, simgen.Config(o), simdb.StartOptions{}); err != nil {
		return err
	}
	res, err := store.IngestJSONL(ctx, id, &stream, simdb.IngestOptions{})
	if err != nil {
		return fmt.Errorf("ingest %s: %w", id, err)
	}
	return store.PersistSimulationComplete(ctx, id, res.Metrics)
}

// Eight worker processes, each ingesting two runs at once, write into one
// PostgreSQL database together: every run completes with every event, each
// stored exactly as the same stream ingested alone into a DuckDB file.
func TestPostgresWorkerProcesses(t *testing.T) {
	testutil.SkipUnderMakeRace(t, "eight ingest processes")
	dsn := testutil.PostgresURL(t)
	const workers, perWorker = 8, 2
	var cmds []*exec.Cmd
	var outs []*bytes.Buffer
	for w := range workers {
		var sims []string
		for r := range perWorker {
			sims = append(sims, fmt.Sprintf("w%d-r%d=%d", w, r, 100+w*perWorker+r))
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperPostgresWorker$", "-test.count=1")
		cmd.Env = append(os.Environ(), workerEnv+"="+dsn+"|"+strings.Join(sims, ","))
		out := &bytes.Buffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs = append(cmds, cmd), append(outs, out)
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("worker %d: %v\n%s", i, err, outs[i])
		}
	}
	ctx := context.Background()
	pg := openPG(t, dsn, simdb.Options{ReadOnly: true})
	runs, err := pg.ListSimulations(ctx, simdb.ListFilter{Status: "completed"})
	if err != nil || len(runs) != workers*perWorker {
		t.Fatalf("%d completed runs (%v), want %d", len(runs), err, workers*perWorker)
	}
	duck, err := simdb.Open(ctx, filepath.Join(t.TempDir(), "alone.duckdb"), simdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer duck.Close()
	for w := range workers {
		for r := range perWorker {
			id := fmt.Sprintf("w%d-r%d", w, r)
			if err := ingestGenerated(ctx, duck, id, workerStream(fmt.Sprint(100+w*perWorker+r))); err != nil {
				t.Fatal(err)
			}
			want, got := rawStream(t, duck, id), rawStream(t, pg, id)
			if len(want) == 0 || !slices.Equal(got, want) {
				t.Fatalf("%s: PostgreSQL holds %d events, DuckDB %d, or different ones", id, len(got), len(want))
			}
		}
	}
}

// rawStream is every event of the run as the JSON it was persisted as.
func rawStream(t *testing.T, s *simdb.Store, id string) []string {
	t.Helper()
	var out []string
	for ev, err := range s.StreamEvents(context.Background(), id, simdb.EventFilter{}) {
		if err != nil {
			t.Fatal(err)
		}
		raw, err := ev.Raw()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%d %d %s", ev.Seq, ev.Tick, raw))
	}
	return out
}

// A role that may only read and write the tables runs simdb: Open (schema
// already up to date), a whole run, its reads. No superuser, no DDL.
func TestPostgresNeedsNoSuperuser(t *testing.T) {
	dsn := testutil.PostgresURL(t)
	ctx := context.Background()
	openPG(t, dsn, simdb.Options{}).Close() // migrates, as the owner
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	role := "simdb_worker_" + strings.TrimPrefix(u.Path, "/simdb_test_")
	for _, q := range []string{
		"CREATE ROLE " + role + " LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE",
		"GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO " + role,
	} {
		if _, err := admin.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		// Before the database is dropped: a role cannot go while it holds
		// grants there.
		_, _ = admin.ExecContext(ctx, "DROP OWNED BY "+role)
		_, _ = admin.ExecContext(ctx, "DROP ROLE "+role)
	})
	u.User = url.User(role)
	store := openPG(t, u.String(), simdb.Options{Durability: simdb.Durable})
	if err := store.PersistSimulationStart(ctx, "limited", json.RawMessage(testConfig), simdb.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.PersistTickEvents(ctx, "limited", 0, raws(arrival(0, "t1"), registerSet(0, "BANK_A", "k", 1))); err != nil {
		t.Fatal(err)
	}
	if err := store.PersistSimulationComplete(ctx, "limited", simdb.Metrics{TotalArrivals: 1}); err != nil {
		t.Fatal(err)
	}
	page, err := store.GetSimulationEvents(ctx, "limited", simdb.EventFilter{TxID: "t1"})
	if err != nil || page.Total != 1 {
		t.Fatalf("page %+v, %v", page, err)
	}
	// And the role really is limited: it cannot change the schema.
	var super bool
	if err := admin.QueryRowContext(ctx, "SELECT rolsuper FROM pg_roles WHERE rolname = $1", role).Scan(&super); err != nil || super {
		t.Fatalf("rolsuper %v, %v", super, err)
	}
	if _, err := simdb.RawDB(store).ExecContext(ctx, "CREATE TABLE t_not_allowed (x int)"); err == nil {
		t.Fatal("the limited role created a table")
	}
}

// A writer killed with SIGKILL halfway through a run leaves whole ticks
// only (the run ends at its last committed tick), and its claim dies with
// its connection; its lease (2 s here) outlives it: a new writer is
// refused, naming the dead writer, until the lease expires, then resumes
// the run, and the finished run equals the stream ingested alone into
// DuckDB. (Before leases, issue 14, the new writer resumed at once.)
func TestPostgresKilledWriterResumes(t *testing.T) {
	testutil.SkipUnderMakeRace(t, "a writer process, killed, and one resuming")
	dsn := testutil.PostgresURL(t)
	ctx := context.Background()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperPostgresWorker$", "-test.count=1")
	cmd.Env = append(os.Environ(), workerEnv+"="+dsn+"|killed=77|big", workerLeaseEnv+"=2s")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	poll, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer poll.Close()
	var count int64
	for deadline := time.Now().Add(60 * time.Second); count == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no group committed in 60 s:\n%s", out.String())
		}
		// Fails until the child has migrated and started the run.
		_ = poll.QueryRowContext(ctx, `SELECT event_count FROM simulations WHERE simulation_id = 'killed'`).Scan(&count)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	killed := time.Now()
	// At once, while the dead writer's lease is live: refused, naming it
	// (before the stream is read: an empty one will do).
	resume := openPG(t, dsn, simdb.Options{})
	_, err = resume.IngestJSONL(ctx, "killed", strings.NewReader(""), simdb.IngestOptions{Resume: true})
	var le *simdb.LeaseError
	switch {
	case errors.As(err, &le) && errors.Is(err, simdb.ErrConcurrentWriter) && le.Holder.PID == int64(cmd.Process.Pid):
	case time.Since(killed) >= 2*time.Second:
		t.Logf("the lease expired before the first resume could try (%v after the kill): %v", time.Since(killed), err)
	default:
		t.Fatalf("resume while the dead writer's lease is live: %v, want a *LeaseError naming pid %d", err, cmd.Process.Pid)
	}
	watch := openPG(t, dsn, simdb.Options{ReadOnly: true})

	var stream bytes.Buffer
	o := bigStream("77")
	if _, err := simgen.Write(&stream, o); err != nil {
		t.Fatal(err)
	}
	perTick := map[int64]int64{}
	lines := bytes.Split(bytes.TrimSpace(stream.Bytes()), []byte("\n"))
	for _, line := range lines {
		var h struct{ Tick int64 }
		if err := json.Unmarshal(line, &h); err != nil {
			t.Fatal(err)
		}
		perTick[h.Tick]++
	}
	sum, err := watch.GetSimulationSummary(ctx, "killed")
	if err != nil {
		t.Fatal(err)
	}
	var stored, beyond int64
	if err := simdb.RawDB(watch).QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE tick > $1) FROM simulation_events WHERE simulation_id = 'killed'`, *sum.LastTick).Scan(&stored, &beyond); err != nil {
		t.Fatal(err)
	}
	var whole int64
	for tick := int64(0); tick <= *sum.LastTick; tick++ {
		whole += perTick[tick]
	}
	if sum.Status != "running" || stored != sum.EventCount || beyond != 0 || stored != whole || whole == int64(len(lines)) {
		t.Fatalf("after the kill: status %s, %d events stored, event_count %d, %d beyond last tick %d, whole ticks through it hold %d",
			sum.Status, stored, sum.EventCount, beyond, *sum.LastTick, whole)
	}
	t.Logf("killed with %d events stored, through tick %d", stored, *sum.LastTick)

	if le != nil {
		time.Sleep(time.Until(le.Holder.ExpiresAt) + 100*time.Millisecond)
	}
	res, err := resume.IngestJSONL(ctx, "killed", bytes.NewReader(stream.Bytes()), simdb.IngestOptions{Resume: true})
	if err != nil {
		t.Fatalf("resume after the kill: %v", err)
	}
	if err := resume.PersistSimulationComplete(ctx, "killed", res.Metrics); err != nil {
		t.Fatal(err)
	}
	duck, err := simdb.Open(ctx, filepath.Join(t.TempDir(), "alone.duckdb"), simdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer duck.Close()
	if err := ingestGenerated(ctx, duck, "killed", o); err != nil {
		t.Fatal(err)
	}
	if want, got := rawStream(t, duck, "killed"), rawStream(t, resume, "killed"); !slices.Equal(got, want) {
		t.Fatalf("resumed run holds %d events, the stream ingested alone %d, or different ones", len(got), len(want))
	}
}

// PostgreSQL's TEXT cannot hold a NUL character, which DuckDB stores: an
// event naming one in a decoded string (its type, an id) is refused in the
// call, as an *EventError naming the field, before anything is buffered,
// and the run goes on. In details the escape is text and is stored.
func TestPostgresRejectsNULCharacters(t *testing.T) {
	store := openPG(t, testutil.PostgresURL(t), simdb.Options{})
	ctx := context.Background()
	if err := store.PersistSimulationStart(ctx, "nul", json.RawMessage(testConfig), simdb.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	for field, ev := range map[string]string{
		"event_type":         `{"event_type":"Po\u0000licyHold","tick":1}`,
		"agent_id":           `{"event_type":"PolicyHold","tick":1,"agent_id":"BANK\u0000A"}`,
		"tx_id":              `{"event_type":"PolicyHold","tick":1,"tx_id":"tx\u0000"}`,
		"a party (agent) id": `{"event_type":"PolicyHold","tick":1,"sender":"S\u0000"}`,
	} {
		_, err := store.PersistTickEvents(ctx, "nul", 1, raws(arrival(1, "ok"), ev))
		var evErr *simdb.EventError
		if !errors.As(err, &evErr) || evErr.Index != 1 || !strings.Contains(err.Error(), field) || !strings.Contains(err.Error(), "NUL") {
			t.Fatalf("%s with a NUL: %v, want an *EventError naming event 1 and the field", field, err)
		}
	}
	if err := store.Flush(ctx); err != nil {
		t.Fatalf("flush after the refused calls: %v", err)
	}
	inDetails := `{"event_type":"PolicyHold","tick":1,"reason":"a\u0000b"}`
	if _, err := store.PersistTickEvents(ctx, "nul", 1, raws(inDetails)); err != nil {
		t.Fatal(err)
	}
	raw := rawStream(t, store, "nul")
	if len(raw) != 1 || !strings.HasSuffix(raw[0], inDetails) {
		t.Fatalf("stored %q, want only the event with the escape in its details", raw)
	}
}
