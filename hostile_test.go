package simdb_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/testutil"
)

// Hostile input through the provider. Every case runs on a fresh durable
// database holding one running simulation (hostileSim, tick 0 committed
// with an Arrival and a StateRegisterSet). A case that must fail checks the
// sentinel (errors.Is), that the message names the place (event index, line,
// tick, field, byte offset) and that the database holds exactly what it held
// before the call. A case that must succeed checks what was stored.

const hostileSim = "sim-1"

// evil is SQL-looking text that must be stored and matched literally.
const evil = "'; DROP TABLE simulations; --"

type hostileCase struct {
	name string
	// durability overrides the default Durable store.
	durability *simdb.Durability
	// prepare builds the state the case needs, before the snapshot.
	prepare func(t *testing.T, b *testBundle)
	// call is the hostile call.
	call func(t *testing.T, b *testBundle) error
	// want is the sentinel the error must match; nil: the call must succeed.
	want error
	// alsoWant are further errors the error must match.
	alsoWant []error
	// where are substrings the error message must contain.
	where []string
	// check verifies the stored state after a successful call, or replaces
	// the unchanged-state check for a failing call that keeps earlier work
	// (a truncated stream).
	check func(t *testing.T, b *testBundle, before dbState)
}

func TestHostileInputs(t *testing.T) {
	testutil.SkipUnderMakeRace(t, "over a hundred hostile inputs, each one call on a database of its own")
	t.Parallel()
	var cases []hostileCase
	cases = append(cases, hostileEventCases()...)
	cases = append(cases, hostileValueCases()...)
	cases = append(cases, hostileLifecycleCases()...)
	cases = append(cases, hostileIngestCases()...)
	cases = append(cases, hostileFilterCases()...)
	if len(cases) < 30 {
		t.Fatalf("only %d cases", len(cases))
	}
	template := hostileTemplate(t)
	seen := map[string]bool{}
	for _, c := range cases {
		if seen[c.name] {
			t.Fatalf("duplicate case name %q", c.name)
		}
		seen[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			t.Parallel() // each case has a database of its own
			d := simdb.Durable
			if c.durability != nil {
				d = *c.durability
			}
			b := hostileSetup(t, template, d)
			if c.prepare != nil {
				c.prepare(t, b)
			}
			before := snapshot(t, b)
			err := c.call(t, b)
			if err != nil {
				t.Logf("error: %.400v", err)
			}
			if c.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
			} else {
				if !errors.Is(err, c.want) {
					t.Fatalf("err = %v, want %v", err, c.want)
				}
				var evErr *simdb.EventError
				if errors.Is(c.want, simdb.ErrInvalidEvent) && !errors.As(err, &evErr) {
					t.Fatalf("invalid event error is not an *EventError: %#v", err)
				}
				for _, w := range c.alsoWant {
					if !errors.Is(err, w) {
						t.Fatalf("err = %v, want it to match %v as well", err, w)
					}
				}
				for _, w := range c.where {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("message does not name %q: %v", w, err)
					}
				}
			}
			if c.check != nil {
				c.check(t, b, before)
			} else if c.want != nil {
				if err := b.store.Flush(b.ctx); err != nil {
					t.Fatalf("flush: %v", err)
				}
				if after := snapshot(t, b); after != before {
					t.Fatalf("database changed by a rejected call:\nbefore %+v\nafter  %+v", before, after)
				}
			}
			if n := b.count(t, `SELECT count(*) FROM simulations`); n < 1 {
				t.Fatalf("simulations table lost its rows: %d", n)
			}
		})
	}
}

// hostileTemplate returns the path of an empty database with the schema
// in place, in t's folder. Each case's database starts as a copy of it:
// creating a file and running the migrations is a fifth of a case's work
// under -race, and no case is about them (a new file is migrated by every
// other test's setup, and TestOpen* test it).
func hostileTemplate(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "template.duckdb")
	store, err := simdb.Open(context.Background(), path, simdb.Options{})
	if err != nil {
		t.Fatalf("open template: %v", err)
	}
	if err := store.Close(); err != nil {
		t.Fatalf("close template: %v", err)
	}
	if _, err := os.Stat(path + ".wal"); err == nil {
		t.Fatal("the template's write-ahead log outlived Close: a copy of the file alone would miss it")
	}
	return path
}

// hostileSetup opens a store on a copy of template with hostileSim running
// and tick 0 committed.
func hostileSetup(t *testing.T, template string, d simdb.Durability) *testBundle {
	t.Helper()
	data, err := os.ReadFile(template)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "test.duckdb")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	b := openBundle(t, path, simdb.Options{Durability: d})
	b.start(t, hostileSim)
	if n, err := b.store.PersistTickEvents(b.ctx, hostileSim, 0, raws(arrival(0, "tx-0"), registerSet(0, "BANK_A", "stress", 1.5))); err != nil || n != 2 {
		t.Fatalf("baseline tick: n=%d err=%v", n, err)
	}
	if err := b.store.Flush(b.ctx); err != nil {
		t.Fatal(err)
	}
	if b.count(t, `SELECT count(*) FROM simulation_events`) != 2 || b.count(t, `SELECT count(*) FROM agent_state_registers`) != 1 {
		t.Fatal("baseline tick not committed")
	}
	return b
}

// dbState is a fingerprint of every table the provider writes (the three
// core tables and the two summary tables): row count and the sum
// of a hash of every whole row (all columns), per table.
type dbState struct {
	events, sims, regs, types, agents string
}

func snapshot(t *testing.T, b *testBundle) dbState {
	t.Helper()
	return dbState{
		events: tableState(t, b, "simulation_events", ""),
		sims:   tableState(t, b, "simulations", ""),
		regs:   tableState(t, b, "agent_state_registers", ""),
		types:  tableState(t, b, "simulation_event_types", ""),
		agents: tableState(t, b, "simulation_agents", ""),
	}
}

// tableState fingerprints a table, leaving out the rows of simulation skip.
func tableState(t *testing.T, b *testBundle, table, skip string) string {
	t.Helper()
	var n int64
	var h string
	q := `SELECT count(*), coalesce(sum(hash(x))::VARCHAR, '0') FROM ` + table + ` x WHERE simulation_id <> $1`
	if err := simdb.RawDB(b.store).QueryRowContext(b.ctx, q, skip).Scan(&n, &h); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return fmt.Sprintf("%d rows, hash %s", n, h)
}

// persist returns a call persisting lines as tick of hostileSim.
func persist(tick int64, lines ...string) func(*testing.T, *testBundle) error {
	return func(_ *testing.T, b *testBundle) error {
		n, err := b.store.PersistTickEvents(b.ctx, hostileSim, tick, raws(lines...))
		if err != nil && n != 0 {
			return fmt.Errorf("failed call reports %d events stored: %w", n, err)
		}
		return err
	}
}

// badAt persists a valid Arrival followed by bad as tick 1: the bad event is
// event 1 of the call.
func badAt(bad string) func(*testing.T, *testBundle) error {
	return persist(1, arrival(1, "tx-ok"), bad)
}

// offsetOf is the byte offset of sub in s, as the decoder reports it.
func offsetOf(s, sub string) string {
	i := strings.Index(s, sub)
	if i < 0 {
		panic("offsetOf: " + sub + " not in " + s)
	}
	return fmt.Sprintf("byte %d", i)
}

// storedOnly returns the only event of sim matching f and checks Raw() gives
// want back byte for byte.
func storedOnly(t *testing.T, b *testBundle, sim string, f simdb.EventFilter, want string) simdb.StoredEvent {
	t.Helper()
	page, err := b.store.GetSimulationEvents(b.ctx, sim, f)
	if err != nil {
		t.Fatalf("GetSimulationEvents(%+v): %v", f, err)
	}
	if page.Total != 1 || len(page.Events) != 1 {
		t.Fatalf("filter %+v: total %d, %d events, want exactly 1", f, page.Total, len(page.Events))
	}
	ev := page.Events[0]
	raw, err := ev.Raw()
	if err != nil {
		t.Fatalf("Raw: %v", err)
	}
	if string(raw) != want {
		t.Fatalf("Raw() differs from the event persisted:\n got %.300q\nwant %.300q", raw, want)
	}
	return ev
}

func detailsText(t *testing.T, b *testBundle, sim string, tick int64) string {
	t.Helper()
	var s string
	if err := simdb.RawDB(b.store).QueryRowContext(b.ctx,
		`SELECT details FROM simulation_events WHERE simulation_id = $1 AND tick = $2`, sim, tick).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// --- Filters ---

func hostileFilterCases() []hostileCase {
	query := func(f simdb.EventFilter, check func(t *testing.T, page simdb.EventPage)) func(*testing.T, *testBundle) error {
		return func(t *testing.T, b *testBundle) error {
			page, err := b.store.GetSimulationEvents(b.ctx, hostileSim, f)
			if err == nil && check != nil {
				check(t, page)
			}
			return err
		}
	}
	expect := func(total int64, events, limit, offset int) func(t *testing.T, page simdb.EventPage) {
		return func(t *testing.T, page simdb.EventPage) {
			if page.Total != total || len(page.Events) != events || page.Limit != limit || page.Offset != offset {
				t.Fatalf("page: total %d, %d events, limit %d, offset %d; want %d, %d, %d, %d",
					page.Total, len(page.Events), page.Limit, page.Offset, total, events, limit, offset)
			}
		}
	}
	return []hostileCase{
		{name: "filter: SQL-looking agent, tx and type match nothing", call: query(simdb.EventFilter{AgentID: evil, TxID: evil, EventTypes: []string{evil}}, expect(0, 0, 100, 0)),
			check: func(t *testing.T, b *testBundle, before dbState) {
				if after := snapshot(t, b); after != before {
					t.Fatalf("a query changed the database: %+v -> %+v", before, after)
				}
			}},
		{name: "filter: limit MaxInt clamped", call: query(simdb.EventFilter{Limit: math.MaxInt}, expect(2, 2, simdb.MaxEventLimit, 0))},
		{name: "filter: limit MinInt clamped", call: query(simdb.EventFilter{Limit: math.MinInt}, expect(2, 1, 1, 0))},
		{name: "filter: offset MaxInt", call: query(simdb.EventFilter{Offset: math.MaxInt, Limit: math.MaxInt}, func(t *testing.T, page simdb.EventPage) {
			if page.Total != 2 || len(page.Events) != 0 || page.Limit != simdb.MaxEventLimit || page.Next != nil {
				t.Fatalf("page: total %d, %d events, limit %d", page.Total, len(page.Events), page.Limit)
			}
		})},
		{name: "filter: offset MinInt clamped", call: query(simdb.EventFilter{Offset: math.MinInt, Limit: 1, Sort: simdb.SortTickDesc}, expect(2, 1, 1, 0))},
		{name: "filter: extreme ticks", call: query(simdb.EventFilter{TickMin: simdb.Int64(math.MinInt64), TickMax: simdb.Int64(math.MaxInt64), Day: simdb.Int64(0)}, expect(2, 2, 100, 0))},
		{name: "filter: tick MinInt64", call: query(simdb.EventFilter{Tick: simdb.Int64(math.MinInt64)}, expect(0, 0, 100, 0))},
		{name: "filter: cursor at the extremes", call: query(simdb.EventFilter{After: &simdb.Cursor{Tick: math.MaxInt64, Seq: math.MaxInt64}, Sort: simdb.SortTickDesc}, expect(2, 2, 100, 0))},
		{name: "filter: tick_min > tick_max", call: query(simdb.EventFilter{TickMin: simdb.Int64(5), TickMax: simdb.Int64(3)}, nil),
			want: simdb.ErrInvalidFilter, where: []string{"tick_min 5", "tick_max 3"}},
		{name: "filter: tick_min MaxInt64 > tick_max MinInt64", call: query(simdb.EventFilter{TickMin: simdb.Int64(math.MaxInt64), TickMax: simdb.Int64(math.MinInt64)}, nil),
			want: simdb.ErrInvalidFilter, where: []string{"tick_min", "tick_max"}},
		{name: "filter: comma-separated event types in one element", call: query(simdb.EventFilter{EventTypes: []string{"Arrival", "Arrival,RtgsImmediateSettlement"}}, nil),
			want: simdb.ErrInvalidFilter, where: []string{`"Arrival,RtgsImmediateSettlement"`, "comma"}},
		{name: "filter: SQL-looking sort", call: query(simdb.EventFilter{Sort: "tick; DROP TABLE simulations"}, nil),
			want: simdb.ErrInvalidFilter, where: []string{"DROP TABLE"}},
		{name: "list: SQL-looking status", call: func(_ *testing.T, b *testBundle) error {
			_, err := b.store.ListSimulations(b.ctx, simdb.ListFilter{Status: evil})
			return err
		}, want: simdb.ErrInvalidFilter, where: []string{"DROP TABLE"}},
	}
}
