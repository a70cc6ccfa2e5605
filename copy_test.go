package simdb_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/testutil"
)

// openAt opens a Store on path for the test, closed when it ends.
func openAt(t *testing.T, path string, opts simdb.Options) *simdb.Store {
	t.Helper()
	s, err := simdb.Open(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// writeRun records a run of ticks 0..ticks-1 in s: arrivals, settlements
// and a register set per tick, then ends it as status says ("completed",
// "failed" or "running").
func writeRun(t *testing.T, s *simdb.Store, id string, exp *simdb.Experiment, ticks int, status string) {
	t.Helper()
	ctx := context.Background()
	if err := s.PersistSimulationStart(ctx, id, json.RawMessage(testConfig), simdb.StartOptions{Experiment: exp, ConfigFile: "cfg.yaml"}); err != nil {
		t.Fatal(err)
	}
	for tick := 0; tick < ticks; tick++ {
		tx := fmt.Sprintf("%s-tx%d", id, tick)
		evs := raws(arrival(tick, tx), settlement(tick, tx), registerSet(tick, "BANK_A", "mood", float64(tick)+0.5))
		if _, err := s.PersistTickEvents(ctx, id, int64(tick), evs); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	switch status {
	case "completed":
		err = s.PersistSimulationComplete(ctx, id, simdb.Metrics{TotalArrivals: int64(ticks), TotalSettlements: int64(ticks), TotalCostCents: 1234, DurationSeconds: 0.25})
	case "failed":
		err = s.PersistSimulationFailed(ctx, id, "engine crashed:\nstack …")
	default:
		err = s.Flush(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// sameRun fails t unless the run is the same in both Stores, every column
// of its row and of every event compared, wall clocks included, and its
// registers and event summary alike.
func sameRun(t *testing.T, a, b *simdb.Store, id string) {
	t.Helper()
	ctx := context.Background()
	sa, err := a.GetSimulationSummary(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := b.GetSimulationSummary(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(sa, sb) {
		t.Fatalf("run %s differs:\nsource %+v\ncopy   %+v", id, sa.Simulation, sb.Simulation)
	}
	var ea, eb []simdb.StoredEvent
	for ev, err := range a.StreamEvents(ctx, id, simdb.EventFilter{}) {
		if err != nil {
			t.Fatal(err)
		}
		ea = append(ea, ev)
	}
	for ev, err := range b.StreamEvents(ctx, id, simdb.EventFilter{}) {
		if err != nil {
			t.Fatal(err)
		}
		eb = append(eb, ev)
	}
	if len(ea) != len(eb) || int64(len(ea)) != sa.EventCount {
		t.Fatalf("run %s: %d events at the source (record says %d), %d in the copy", id, len(ea), sa.EventCount, len(eb))
	}
	for i := range ea {
		if !reflect.DeepEqual(ea[i], eb[i]) {
			t.Fatalf("run %s event %d differs:\nsource %+v\ncopy   %+v", id, i, ea[i], eb[i])
		}
	}
	qa, err := a.GetEventSummary(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	qb, err := b.GetEventSummary(ctx, id)
	if err != nil || !reflect.DeepEqual(qa, qb) {
		t.Fatalf("event summary of %s: source %+v, copy %+v (%v)", id, qa, qb, err)
	}
	if sa.LastTick != nil {
		ra, err := a.GetAgentStateRegisters(ctx, id, "BANK_A", *sa.LastTick)
		if err != nil {
			t.Fatal(err)
		}
		rb, err := b.GetAgentStateRegisters(ctx, id, "BANK_A", *sa.LastTick)
		if err != nil || !reflect.DeepEqual(ra, rb) {
			t.Fatalf("registers of %s: source %v, copy %v (%v)", id, ra, rb, err)
		}
	}
}

func outcomes(res []simdb.CopyResult) string {
	var parts []string
	for _, r := range res {
		parts = append(parts, fmt.Sprintf("%s=%s/%d", r.SimulationID, r.Outcome, r.Events))
	}
	return strings.Join(parts, " ")
}

// CopyRuns gives the target every column of a completed, a failed and an
// experiment's run — both timestamps of every event included, which the
// target's clock would otherwise set — and its register values and
// summaries; the target's own clock writes nothing. A second copy skips
// every run and writes nothing. Runs on the test's backend as the target,
// and back from it to a DuckDB file.
func TestCopyRunsKeepsEveryColumn(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := openAt(t, filepath.Join(dir, "src.duckdb"), simdb.Options{Now: testutil.SteppingClock(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)), FlushEvents: 7})
	writeRun(t, src, "done", nil, 30, "completed")
	writeRun(t, src, "broken", &simdb.Experiment{RunID: "exp", Iteration: 2}, 5, "failed")
	writeRun(t, src, "empty", nil, 0, "completed")
	ids := []string{"done", "broken", "empty", "done"} // a repeat is copied once

	// The target's clock is elsewhere: nothing of it may reach the copy.
	mid := openAt(t, backendOf(t).Database(t, filepath.Join(t.TempDir(), "target.duckdb")), simdb.Options{Now: testutil.SteppingClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)), FlushEvents: 11})
	res, err := simdb.CopyRuns(ctx, src, mid, ids, simdb.CopyOptions{})
	if err != nil || outcomes(res) != "done=copied/90 broken=copied/15 empty=copied/0" {
		t.Fatalf("copy: %s, %v", outcomes(res), err)
	}
	// A finished copy names no writer: the run's lease ended with it.
	var leased int
	if err := simdb.RawDB(mid).QueryRowContext(ctx, `SELECT count(*) FROM simulations WHERE writer_id IS NOT NULL OR lease_expires_at IS NOT NULL`).Scan(&leased); err != nil || leased != 0 {
		t.Fatalf("%d finished copies still hold a lease (%v)", leased, err)
	}
	back := openAt(t, filepath.Join(dir, "back.duckdb"), simdb.Options{})
	if res, err = simdb.CopyRuns(ctx, mid, back, ids[:3], simdb.CopyOptions{}); err != nil || outcomes(res) != "done=copied/90 broken=copied/15 empty=copied/0" {
		t.Fatalf("copy back: %s, %v", outcomes(res), err)
	}
	for _, id := range ids[:3] {
		sameRun(t, src, mid, id)
		sameRun(t, src, back, id)
	}
	sum, err := back.GetSimulationSummary(ctx, "broken")
	if err != nil || sum.Status != "failed" || sum.ErrorMessage == nil || *sum.ErrorMessage != "engine crashed:\nstack …" ||
		sum.ExperimentRunID == nil || *sum.ExperimentRunID != "exp" {
		t.Fatalf("failed run copied as %+v (%v)", sum.Simulation, err)
	}
	runs, err := back.ListSimulations(ctx, simdb.ListFilter{ExperimentRunID: "exp"})
	if err != nil || len(runs) != 1 || runs[0].SimulationID != "broken" {
		t.Fatalf("experiment runs at the copy: %v (%v)", runs, err)
	}

	var calls int
	res, err = simdb.CopyRuns(ctx, src, mid, ids, simdb.CopyOptions{Progress: func(simdb.CopyProgress) { calls++ }})
	if err != nil || outcomes(res) != "done=skipped/0 broken=skipped/0 empty=skipped/0" || calls == 0 {
		t.Fatalf("second copy: %s, %v (%d progress calls)", outcomes(res), err, calls)
	}
	sameRun(t, src, mid, "done")
}

// A run the target holds different — other totals, another event, one
// event more — is refused with ErrCopyConflict naming the run and the
// difference, and nothing of it changes at the target; the other runs are
// copied all the same. A run still running at the source is refused unless
// AllowRunning, and an unknown one fails naming it.
func TestCopyRunsRefusesADifferentRun(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := openAt(t, filepath.Join(dir, "src.duckdb"), simdb.Options{})
	writeRun(t, src, "totals", nil, 3, "completed")
	writeRun(t, src, "events", nil, 3, "completed")
	writeRun(t, src, "longer", nil, 3, "completed")
	writeRun(t, src, "fine", nil, 3, "completed")
	writeRun(t, src, "live", nil, 2, "running")

	dst := openAt(t, backendOf(t).Database(t, filepath.Join(t.TempDir(), "target.duckdb")), simdb.Options{})
	writeRun(t, dst, "longer", nil, 4, "completed")
	// "totals": the source's events, other totals; "events": the source's
	// totals, another transaction at tick 1.
	for _, id := range []string{"totals", "events"} {
		if err := dst.PersistSimulationStart(ctx, id, json.RawMessage(testConfig), simdb.StartOptions{ConfigFile: "cfg.yaml"}); err != nil {
			t.Fatal(err)
		}
		for tick := 0; tick < 3; tick++ {
			tx := fmt.Sprintf("%s-tx%d", id, tick)
			if id == "events" && tick == 1 {
				tx = "other"
			}
			if _, err := dst.PersistTickEvents(ctx, id, int64(tick), raws(arrival(tick, tx), settlement(tick, tx), registerSet(tick, "BANK_A", "mood", float64(tick)+0.5))); err != nil {
				t.Fatal(err)
			}
		}
		m := simdb.Metrics{TotalArrivals: 3, TotalSettlements: 3, TotalCostCents: 1234, DurationSeconds: 0.25}
		if id == "totals" {
			m.TotalSettlements = 2
		}
		if err := dst.PersistSimulationComplete(ctx, id, m); err != nil {
			t.Fatal(err)
		}
	}
	before := map[string]simdb.SimulationSummary{}
	for _, id := range []string{"totals", "events", "longer"} {
		s, err := dst.GetSimulationSummary(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		before[id] = s
	}

	res, err := simdb.CopyRuns(ctx, src, dst, []string{"totals", "events", "longer", "fine", "live", "ghost"}, simdb.CopyOptions{})
	want := "totals=refused/0 events=refused/0 longer=refused/0 fine=copied/9 live=refused/0 ghost=failed/0"
	if outcomes(res) != want {
		t.Fatalf("outcomes %s, want %s", outcomes(res), want)
	}
	for _, c := range []struct {
		i    int
		is   error
		text string
	}{
		{0, simdb.ErrCopyConflict, `copy "totals": simulation differs at the target: total_settlements is 3 at the source, 2 at the target`},
		{1, simdb.ErrCopyConflict, `copy "events": simulation differs at the target: tick 1 seq 3: tx_id is "events-tx1" at the source, "other" at the target`},
		{2, simdb.ErrCopyConflict, `copy "longer": simulation differs at the target: event_count is 9 at the source, 12 at the target`},
		{4, simdb.ErrSimulationRunning, `copy "live": simulation is running at the source`},
		{5, simdb.ErrSimulationNotFound, `copy "ghost": not in ` + filepath.Join(dir, "src.duckdb")},
	} {
		if e := res[c.i].Err; !errors.Is(e, c.is) || !strings.HasPrefix(e.Error(), c.text) {
			t.Errorf("%s: error %v, want %v starting %q", res[c.i].SimulationID, e, c.is, c.text)
		}
	}
	if err == nil || !errors.Is(err, simdb.ErrCopyConflict) || !strings.Contains(err.Error(), `"ghost"`) {
		t.Errorf("joined error %v", err)
	}
	for id, s := range before {
		after, err := dst.GetSimulationSummary(ctx, id)
		if err != nil || !reflect.DeepEqual(after, s) {
			t.Errorf("refused run %s changed at the target: %+v -> %+v (%v)", id, s.Simulation, after.Simulation, err)
		}
	}
	sameRun(t, src, dst, "fine")
	if _, err := dst.GetSimulationSummary(ctx, "live"); !errors.Is(err, simdb.ErrSimulationNotFound) {
		t.Errorf("refused running run at the target: %v", err)
	}
}

// A run copied while running (AllowRunning) stays running at the target
// with the ticks its source had committed; copied again unchanged it is
// skipped, and once the source has ended, a copy continues it to the end.
// A copy cut short (its context cancelled mid-run) leaves whole ticks at
// the target, and the next copy continues from them: the result is the
// source's run, every column of it.
func TestCopyRunsContinues(t *testing.T) {
	ctx := context.Background()
	src := openAt(t, filepath.Join(t.TempDir(), "src.duckdb"), simdb.Options{})
	dst := openAt(t, backendOf(t).Database(t, filepath.Join(t.TempDir(), "target.duckdb")), simdb.Options{FlushEvents: 5})
	writeRun(t, src, "grow", nil, 4, "running")
	res, err := simdb.CopyRuns(ctx, src, dst, []string{"grow"}, simdb.CopyOptions{AllowRunning: true})
	if err != nil || outcomes(res) != "grow=copied/12" {
		t.Fatalf("copy of a running run: %s, %v", outcomes(res), err)
	}
	sameRun(t, src, dst, "grow")
	if res, err = simdb.CopyRuns(ctx, src, dst, []string{"grow"}, simdb.CopyOptions{AllowRunning: true}); err != nil || outcomes(res) != "grow=skipped/0" {
		t.Fatalf("copy of an unchanged running run: %s, %v", outcomes(res), err)
	}
	for tick := 4; tick < 6; tick++ {
		tx := fmt.Sprintf("grow-tx%d", tick)
		if _, err := src.PersistTickEvents(ctx, "grow", int64(tick), raws(arrival(tick, tx), settlement(tick, tx), registerSet(tick, "BANK_A", "mood", float64(tick)+0.5))); err != nil {
			t.Fatal(err)
		}
	}
	if err := src.PersistSimulationComplete(ctx, "grow", simdb.Metrics{TotalArrivals: 6}); err != nil {
		t.Fatal(err)
	}
	if res, err = simdb.CopyRuns(ctx, src, dst, []string{"grow"}, simdb.CopyOptions{}); err != nil || outcomes(res) != "grow=copied/6" {
		t.Fatalf("copy of the run once ended: %s, %v", outcomes(res), err)
	}
	sameRun(t, src, dst, "grow")

	writeRun(t, src, "big", nil, 20, "completed")
	writeRun(t, src, "after", nil, 1, "completed")
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	res, err = simdb.CopyRuns(cctx, src, dst, []string{"big", "after"}, simdb.CopyOptions{Progress: func(p simdb.CopyProgress) {
		if p.Events >= 30 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) || len(res) != 1 || res[0].Outcome != simdb.CopyFailed || res[0].Events < 30 || res[0].Events >= 60 {
		t.Fatalf("cancelled copy: %s, %v", outcomes(res), err)
	}
	cut, err := dst.GetSimulationSummary(ctx, "big")
	if err != nil || cut.Status != "running" || cut.EventCount != res[0].Events || cut.EventCount%3 != 0 {
		t.Fatalf("run cut short at the target: %+v (%v), %d events written", cut.Simulation, err, res[0].Events)
	}
	res, err = simdb.CopyRuns(ctx, src, dst, []string{"big", "after"}, simdb.CopyOptions{})
	if err != nil || outcomes(res) != fmt.Sprintf("big=copied/%d after=copied/3", 60-cut.EventCount) {
		t.Fatalf("copy after the cut: %s, %v", outcomes(res), err)
	}
	sameRun(t, src, dst, "big")
	sameRun(t, src, dst, "after")
}

// CopyRuns refuses a Store as its own target, and a read-only target,
// before any run.
func TestCopyRunsBadStores(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openAt(t, filepath.Join(dir, "a.duckdb"), simdb.Options{})
	writeRun(t, s, "r", nil, 1, "completed")
	if _, err := simdb.CopyRuns(ctx, s, s, []string{"r"}, simdb.CopyOptions{}); !errors.Is(err, simdb.ErrInvalidArgument) {
		t.Errorf("copy onto itself: %v", err)
	}
	openAt(t, filepath.Join(dir, "ro.duckdb"), simdb.Options{}).Close()
	ro := openAt(t, filepath.Join(dir, "ro.duckdb"), simdb.Options{ReadOnly: true})
	if res, err := simdb.CopyRuns(ctx, s, ro, []string{"r"}, simdb.CopyOptions{}); !errors.Is(err, simdb.ErrReadOnly) || len(res) != 0 {
		t.Errorf("copy to a read-only Store: %s, %v", outcomes(res), err)
	}
}
