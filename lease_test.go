package simdb_test

// Writer leases (issue 14) through the public API, on every backend
// (TestBackends). The processes that die holding a lease are in
// internal/cli's lease tests and TestPostgresKilledWriterResumes; here a
// foreign writer's lease is written into the row as a killed writer
// leaves it.

import (
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/testutil"
)

// leaseRow is a run's lease columns.
type leaseRow struct {
	writer, host       sql.NullString
	pid                sql.NullInt64
	heartbeat, expires sql.NullTime
}

func readLease(t *testing.T, db *sql.DB, id string) leaseRow {
	t.Helper()
	var l leaseRow
	err := db.QueryRow(`SELECT writer_id, writer_host, writer_pid, heartbeat_at, lease_expires_at FROM simulations WHERE simulation_id = $1`, id).
		Scan(&l.writer, &l.host, &l.pid, &l.heartbeat, &l.expires)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// A running run records its writer (a random id, this host, this pid) and
// a lease of Options.Lease from its last heartbeat; the Store renews it on
// its timer without any commit, and with each commit; completing the run
// ends it, and so does closing the Store for a run left running.
func TestLeaseRecordedRenewedReleased(t *testing.T) {
	b := setup(t, simdb.Options{Lease: time.Second, Durability: simdb.Durable})
	db := simdb.RawDB(b.store)
	b.start(t, "done")
	b.start(t, "open")
	host, _ := os.Hostname()
	first := readLease(t, db, "done")
	if len(first.writer.String) != 16 || first.host.String != host || first.pid.Int64 != int64(os.Getpid()) ||
		!first.heartbeat.Valid || first.expires.Time.Sub(first.heartbeat.Time) != time.Second {
		t.Fatalf("lease after start: %+v, want a 16-hex writer id, host %s, pid %d, a 1s lease", first, host, os.Getpid())
	}
	time.Sleep(1200 * time.Millisecond) // the lease would have expired without the heartbeat
	beat := readLease(t, db, "done")
	if beat.writer != first.writer || !beat.heartbeat.Time.After(first.heartbeat.Time) || !beat.expires.Time.After(time.Now()) {
		t.Fatalf("no heartbeat renewed the lease: %+v after %+v", beat, first)
	}
	if _, err := b.store.PersistTickEvents(b.ctx, "done", 0, raws(arrival(0, "t0"))); err != nil {
		t.Fatal(err)
	}
	if commit := readLease(t, db, "done"); !commit.heartbeat.Time.After(beat.heartbeat.Time) {
		t.Fatalf("the commit did not renew the lease: %+v after %+v", commit, beat)
	}
	if err := b.store.PersistSimulationComplete(b.ctx, "done", simdb.Metrics{TotalArrivals: 1}); err != nil {
		t.Fatal(err)
	}
	if l := readLease(t, db, "done"); l.writer.Valid || l.host.Valid || l.pid.Valid || l.heartbeat.Valid || l.expires.Valid {
		t.Fatalf("a completed run still holds a lease: %+v", l)
	}
	if l := readLease(t, db, "open"); l.writer != first.writer {
		t.Fatalf("the other run's lease: %+v", l)
	}
	if err := b.store.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := simdb.Open(b.ctx, b.path, simdb.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if l := readLease(t, simdb.RawDB(ro), "open"); l.writer.Valid || l.expires.Valid {
		t.Fatalf("Close left the lease of its running run: %+v", l)
	}
	if sum, err := ro.GetSimulationSummary(b.ctx, "open"); err != nil || sum.Status != "running" {
		t.Fatalf("the run left running: %+v, %v", sum.Simulation, err)
	}
}

// foreignLease writes into the row the lease a writer elsewhere holds (as
// a writer killed a moment ago leaves it), expiring after d.
func foreignLease(t *testing.T, db *sql.DB, id string, d time.Duration) time.Time {
	t.Helper()
	return setLease(t, db, id, "elsewhere", 4242, d)
}

// setLease writes the lease of writer f0f0… on host, process pid.
func setLease(t *testing.T, db *sql.DB, id, host string, pid int, d time.Duration) time.Time {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Microsecond)
	_, err := db.Exec(`UPDATE simulations SET writer_id = 'f0f0f0f0f0f0f0f0', writer_host = $1, writer_pid = $2,
		heartbeat_at = $3, lease_expires_at = $4 WHERE simulation_id = $5`, host, pid, now, now.Add(d), id)
	if err != nil {
		t.Fatal(err)
	}
	return now.Add(d)
}

// While another writer's lease on a run is live, a writer's first call
// (a tick, a resume) is refused with a *LeaseError naming the holder,
// having buffered nothing, and Recover leaves the run alone, saying who
// holds it and why; once the lease has expired the writer takes the run
// over, and a writer whose run another took over fails its next commit
// (nothing of it stored) rather than interleave.
func TestLeaseHeldByAnotherWriter(t *testing.T) {
	b := setup(t, simdb.Options{Durability: simdb.Durable})
	db := simdb.RawDB(b.store)
	b.start(t, "taken")
	if _, err := b.store.PersistTickEvents(b.ctx, "taken", 0, raws(arrival(0, "t0"))); err != nil {
		t.Fatal(err)
	}
	// Another writer took the run over (this Store's lease expired, say,
	// while it stalled): this Store's next commit must not store.
	expires := foreignLease(t, db, "taken", 1500*time.Millisecond)
	_, err := b.store.PersistTickEvents(b.ctx, "taken", 1, raws(arrival(1, "t1")))
	var le *simdb.LeaseError
	if !errors.As(err, &le) || !errors.Is(err, simdb.ErrConcurrentWriter) || le.SimulationID != "taken" ||
		le.Holder.WriterID != "f0f0f0f0f0f0f0f0" || le.Holder.Host != "elsewhere" || le.Holder.PID != 4242 || !le.Holder.ExpiresAt.Equal(expires) {
		t.Fatalf("commit after a takeover: %v (%+v), want a *LeaseError naming the other writer", err, le)
	}
	if !strings.Contains(err.Error(), "writer f0f0f0f0f0f0f0f0 on host elsewhere, pid 4242") {
		t.Errorf("message does not name the holder: %v", err)
	}
	if sum, err := b.store.GetSimulationSummary(b.ctx, "taken"); err != nil || sum.EventCount != 1 {
		t.Fatalf("after the refused commit: %+v, %v", sum.Simulation, err)
	}

	res, err := b.store.Recover(b.ctx)
	if err != nil || len(res.Failed) != 0 || len(res.LeftAlone) != 1 {
		t.Fatalf("recover: %+v, %v; want the run left alone", res, err)
	}
	la := res.LeftAlone[0]
	if la.SimulationID != "taken" || la.Lease.PID != 4242 || la.Reason != "its lease is live" || la.ExpiresIn <= 0 || la.HeartbeatAge < 0 ||
		!strings.Contains(la.String(), "taken: left running: its lease is live (writer f0f0f0f0f0f0f0f0 on host elsewhere, pid 4242; last heartbeat") {
		t.Fatalf("left alone: %+v (%s)", la, la)
	}

	// A resume is refused too (this Store has the run loaded: at its
	// commit; a fresh Store, at its first call).
	_, err = b.store.IngestJSONL(b.ctx, "taken", strings.NewReader(arrival(0, "t0")+"\n"+arrival(1, "t1")+"\n"), simdb.IngestOptions{Resume: true})
	if !errors.As(err, &le) || le.Holder.PID != 4242 {
		t.Fatalf("resume under a live lease: %v", err)
	}

	time.Sleep(time.Until(expires) + 50*time.Millisecond)
	res2, err := b.store.IngestJSONL(b.ctx, "taken", strings.NewReader(arrival(0, "t0")+"\n"+arrival(1, "t1")+"\n"), simdb.IngestOptions{Resume: true})
	if err != nil || res2.Skipped != 1 || res2.Events != 1 {
		t.Fatalf("resume once the lease expired: %+v, %v", res2, err)
	}
	if err := b.store.PersistSimulationComplete(b.ctx, "taken", res2.Metrics); err != nil {
		t.Fatal(err)
	}
	if sum, err := b.store.GetSimulationSummary(b.ctx, "taken"); err != nil || sum.Status != "completed" || sum.EventCount != 2 {
		t.Fatalf("taken over and completed: %+v, %v", sum.Simulation, err)
	}
}

// Recover fails a run whose lease has expired or was never taken (a run
// stored before leases), and the recovering Store's own; it leaves alone a
// live lease held on another host, or on this host by a process that
// runs. A live lease of a process on this host that no longer runs is
// proven void on a DuckDB file only (the file lock says no other process
// writes it); on PostgreSQL it waits out its expiry.
func TestRecoverFailsExpiredLeases(t *testing.T) {
	b := setup(t, simdb.Options{Durability: simdb.Durable})
	db := simdb.RawDB(b.store)
	for _, id := range []string{"expired", "unleased", "live", "own", "local-live", "local-dead"} {
		b.start(t, id)
	}
	foreignLease(t, db, "expired", -time.Second)
	foreignLease(t, db, "live", time.Minute)
	host, _ := os.Hostname()
	setLease(t, db, "local-live", host, os.Getppid(), time.Minute)
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	setLease(t, db, "local-dead", host, dead.Process.Pid, time.Minute)
	if _, err := db.Exec(`UPDATE simulations SET writer_id = NULL, writer_host = NULL, writer_pid = NULL, heartbeat_at = NULL, lease_expires_at = NULL WHERE simulation_id = 'unleased'`); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"expired": "failed", "unleased": "failed", "own": "failed", "live": "running", "local-live": "running", "local-dead": "failed"}
	failed, alone := "expired,local-dead,own,unleased", "live,local-live"
	if backendOf(t).Name != "duckdb" {
		want["local-dead"] = "running"
		failed, alone = "expired,own,unleased", "live,local-dead,local-live"
	}
	res, err := b.store.Recover(b.ctx)
	var left []string
	for _, l := range res.LeftAlone {
		left = append(left, l.SimulationID)
	}
	if err != nil || strings.Join(res.Failed, ",") != failed || strings.Join(left, ",") != alone {
		t.Fatalf("recover: failed %v, left alone %v (%v); want %s and %s", res.Failed, left, err, failed, alone)
	}
	for id, want := range want {
		if sum, err := b.store.GetSimulationSummary(b.ctx, id); err != nil || sum.Status != want {
			t.Errorf("%s: %+v, %v; want %s", id, sum.Simulation, err, want)
		}
	}
}

// Options.Lease below MinLease is refused at Open.
func TestLeaseOptionChecked(t *testing.T) {
	_, err := simdb.Open(t.Context(), backendOf(t).Database(t, filepath.Join(t.TempDir(), "lease.duckdb")), simdb.Options{Lease: 500 * time.Millisecond})
	if !errors.Is(err, simdb.ErrInvalidArgument) || !strings.Contains(err.Error(), "Options.Lease") {
		t.Fatalf("open with a 500ms lease: %v", err)
	}
}

// PostgreSQL's claim is a second check beside the lease: a run whose lease
// has expired while its writer's session is still connected (a stalled
// writer, not a dead one) is neither failed by Recover nor taken over.
func TestPostgresStalledWriterKeepsItsRun(t *testing.T) {
	dsn := testutil.PostgresURL(t)
	stalled := openPG(t, dsn, simdb.Options{Durability: simdb.Durable})
	ctx := t.Context()
	if err := stalled.PersistSimulationStart(ctx, "stalled", json.RawMessage(testConfig), simdb.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	// Its heartbeat stopped (it renews every 40 s: not during this test).
	if _, err := simdb.RawDB(stalled).Exec(`UPDATE simulations SET lease_expires_at = heartbeat_at WHERE simulation_id = 'stalled'`); err != nil {
		t.Fatal(err)
	}
	other := openPG(t, dsn, simdb.Options{})
	res, err := other.Recover(ctx)
	if err != nil || len(res.Failed) != 0 || len(res.LeftAlone) != 1 || res.LeftAlone[0].ExpiresIn > 0 ||
		!strings.Contains(res.LeftAlone[0].Reason, "session still holds the run's claim") {
		t.Fatalf("recover beside a stalled writer: %+v, %v", res, err)
	}
	if _, err := other.PersistTickEvents(ctx, "stalled", 0, raws(arrival(0, "x"))); !errors.Is(err, simdb.ErrConcurrentWriter) {
		t.Fatalf("taking over a stalled writer's run: %v", err)
	}
	if _, err := stalled.PersistTickEvents(ctx, "stalled", 0, raws(arrival(0, "s0"))); err != nil {
		t.Fatalf("the stalled writer, awake again: %v", err)
	}
	if err := stalled.PersistSimulationComplete(ctx, "stalled", simdb.Metrics{TotalArrivals: 1}); err != nil {
		t.Fatal(err)
	}
}
