package simdb_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/testutil"
)

// deletedTables are the tables DeleteSimulation clears.
var deletedTables = []string{"simulations", "simulation_events", "agent_state_registers", "simulation_event_types", "simulation_agents"}

// DeleteSimulation removes every row of a finished run, in every table,
// and nothing of the other runs; a running run is refused; the id can be
// used again.
func TestDeleteSimulation(t *testing.T) {
	b := setup(t, simdb.Options{Durability: simdb.Durable})
	// Every table with a simulation_id column must be one DeleteSimulation
	// clears: a new table added by a migration fails here until it does.
	tables := testutil.QueryStrings(t, b.ctx, simdb.RawDB(b.store), `SELECT DISTINCT table_name FROM duckdb_columns() WHERE column_name = 'simulation_id' AND database_name = current_database() ORDER BY 1`)
	if want := slices.Sorted(slices.Values(deletedTables)); !slices.Equal(tables, want) {
		t.Fatalf("tables with simulation_id: %v; DeleteSimulation clears %v", tables, want)
	}

	for _, id := range []string{"done", "broken", "live"} {
		b.start(t, id)
		for tick := range 3 {
			if _, err := b.store.PersistTickEvents(b.ctx, id, int64(tick), raws(arrival(tick, id), registerSet(tick, "BANK_A", "k", 1))); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := b.store.PersistSimulationComplete(b.ctx, "done", simdb.Metrics{TotalArrivals: 3}); err != nil {
		t.Fatal(err)
	}
	if err := b.store.PersistSimulationFailed(b.ctx, "broken", "bad line"); err != nil {
		t.Fatal(err)
	}
	others := func() []string {
		var out []string
		for _, table := range deletedTables {
			out = append(out, tableState(t, b, table, "done"))
		}
		return out
	}
	before := others()
	n, err := b.store.DeleteSimulation(b.ctx, "done")
	if err != nil || n != 6 {
		t.Fatalf("DeleteSimulation(done) = %d, %v; want 6 events", n, err)
	}
	for _, table := range deletedTables {
		if c := b.count(t, `SELECT count(*) FROM `+table+` WHERE simulation_id = 'done'`); c != 0 {
			t.Errorf("%s keeps %d rows of the deleted run", table, c)
		}
	}
	if after := others(); !slices.Equal(after, before) {
		t.Errorf("other runs changed: %v -> %v", before, after)
	}
	if _, err := b.store.GetSimulationSummary(b.ctx, "done"); !errors.Is(err, simdb.ErrSimulationNotFound) {
		t.Errorf("summary of a deleted run: %v", err)
	}
	if n, err := b.store.DeleteSimulation(b.ctx, "broken"); err != nil || n != 6 {
		t.Errorf("DeleteSimulation(broken) = %d, %v", n, err)
	}

	liveBefore := tableState(t, b, "simulation_events", "")
	for _, c := range []struct {
		id   string
		want error
	}{{"live", simdb.ErrSimulationRunning}, {"done", simdb.ErrSimulationNotFound}, {"", simdb.ErrInvalidArgument}} {
		if _, err := b.store.DeleteSimulation(b.ctx, c.id); !errors.Is(err, c.want) {
			t.Errorf("DeleteSimulation(%q): %v, want %v", c.id, err, c.want)
		}
	}
	if got := tableState(t, b, "simulation_events", ""); got != liveBefore {
		t.Errorf("a refused delete changed the events: %s -> %s", liveBefore, got)
	}
	// The id is free again.
	b.start(t, "done")
	if _, err := b.store.PersistTickEvents(b.ctx, "done", 0, raws(arrival(0, "again"))); err != nil {
		t.Fatal(err)
	}
	if err := b.store.PersistSimulationComplete(b.ctx, "done", simdb.Metrics{}); err != nil {
		t.Fatal(err)
	}
	if sum, err := b.store.GetSimulationSummary(b.ctx, "done"); err != nil || sum.EventCount != 1 {
		t.Errorf("the run stored again under the id: %+v, %v", sum, err)
	}
}
