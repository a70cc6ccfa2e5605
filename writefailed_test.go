package simdb_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/simcash/simdb"
)

// TestFailedGroupCommitStoresNothing makes buffered group commits fail
// halfway (the events are appended, then the register upsert fails because
// agent_state_registers has been renamed away behind the Store's back) and
// checks the error contract: nothing of the failed group is stored, the
// run's progress stays at its last committed tick, the writer's next
// PersistTickEvents reports ErrWriteFailed, whoever triggered the commit (a
// reader's ListSimulations, which flushes every run; or a background group),
// and once the cause is gone the writer continues after last_tick with a
// gap-free seq.
func TestFailedGroupCommitStoresNothing(t *testing.T) {
	// FlushEvents 4: a tick of 4 events fills a group, which commits in the
	// background; a long interval keeps the timer out of the way.
	b := setup(t, simdb.Options{FlushEvents: 4, FlushInterval: time.Hour})
	const id = "sim-1"
	b.start(t, id)
	// tick is n's events: a register set (value n) and arrivals, 2 or 4.
	tick := func(n, size int) []json.RawMessage {
		lines := []string{registerSet(n, "BANK_A", "stress", float64(n))}
		for len(lines) < size {
			lines = append(lines, arrival(n, fmt.Sprintf("tx-%d-%d", n, len(lines))))
		}
		return raws(lines...)
	}
	persist := func(n, size int) error {
		_, err := b.store.PersistTickEvents(b.ctx, id, int64(n), tick(n, size))
		return err
	}
	// stored checks the committed state with raw SQL (a read through the
	// Store would commit the buffer, or report the failure itself).
	stored := func(wantEvents, wantTick int64) {
		t.Helper()
		var events, last int64
		if err := simdb.RawDB(b.store).QueryRowContext(b.ctx, `SELECT event_count, last_tick FROM simulations WHERE simulation_id = $1`, id).Scan(&events, &last); err != nil {
			t.Fatal(err)
		}
		if events != wantEvents || last != wantTick {
			t.Fatalf("event_count %d, last_tick %d; want %d, %d", events, last, wantEvents, wantTick)
		}
		if got := b.count(t, `SELECT count(*) FROM simulation_events WHERE simulation_id = $1`, id); got != wantEvents {
			t.Fatalf("%d events stored, want %d", got, wantEvents)
		}
		if got := b.count(t, `SELECT count(*) FROM simulation_events WHERE simulation_id = $1 AND tick > $2`, id, wantTick); got != 0 {
			t.Fatalf("%d events stored after tick %d", got, wantTick)
		}
	}
	breakRegisters := func(broken bool) { t.Helper(); breakRegisters(t, b, broken) }

	if err := persist(0, 2); err != nil {
		t.Fatal(err)
	}
	if err := b.store.Flush(b.ctx); err != nil {
		t.Fatal(err)
	}
	stored(2, 0)

	// A reader's ListSimulations commits the pending tick 1 and fails: the
	// reader gets the error, and so does the writer's next call.
	breakRegisters(true)
	if err := persist(1, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.ListSimulations(b.ctx, simdb.ListFilter{}); !errors.Is(err, simdb.ErrWriteFailed) {
		t.Fatalf("ListSimulations: err = %v, want ErrWriteFailed", err)
	}
	breakRegisters(false)
	stored(2, 0)
	if err := persist(2, 2); !errors.Is(err, simdb.ErrWriteFailed) {
		t.Fatalf("the writer's next call after its tick 1 was lost: err = %v, want ErrWriteFailed", err)
	}
	stored(2, 0)
	if err := persist(1, 2); err != nil {
		t.Fatalf("tick 1 again: %v", err)
	}
	if err := b.store.Flush(b.ctx); err != nil {
		t.Fatal(err)
	}
	stored(4, 1)

	// A background group fails: the call that started it succeeded, the
	// next call reports the failure, and neither tick is stored.
	breakRegisters(true)
	if err := persist(2, 4); err != nil {
		t.Fatalf("tick 2 (fills a group): %v", err)
	}
	if err := persist(3, 4); !errors.Is(err, simdb.ErrWriteFailed) {
		t.Fatalf("tick 3 after a failed background group: err = %v, want ErrWriteFailed", err)
	}
	breakRegisters(false)
	stored(4, 1)

	// The writer resumes after the last committed tick.
	for n := 2; n <= 3; n++ {
		if err := persist(n, 2); err != nil {
			t.Fatalf("tick %d after recovery: %v", n, err)
		}
	}
	if err := b.store.PersistSimulationComplete(b.ctx, id, simdb.Metrics{}); err != nil {
		t.Fatal(err)
	}
	stored(8, 3)
	if got := b.count(t, `SELECT count(DISTINCT seq) FROM simulation_events WHERE simulation_id = $1 AND seq BETWEEN 0 AND 7`, id); got != 8 {
		t.Fatalf("seq is not 0..7 (%d distinct)", got)
	}
	if got := b.count(t, `SELECT count(*) FROM agent_state_registers WHERE simulation_id = $1 AND register_value = tick`, id); got != 4 {
		t.Fatalf("%d register rows, want 4", got)
	}
}

// breakRegisters makes every commit that writes a register fail halfway (the
// events are appended, then the register upsert finds no table), or, with
// broken false, undoes it. It renames agent_state_registers behind the
// Store's back, so the failure is the database's own.
func breakRegisters(t *testing.T, b *testBundle, broken bool) {
	t.Helper()
	q := `ALTER TABLE agent_state_registers RENAME TO registers_away`
	if !broken {
		q = `ALTER TABLE registers_away RENAME TO agent_state_registers`
	}
	if _, err := simdb.RawDB(b.store).ExecContext(b.ctx, q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}
