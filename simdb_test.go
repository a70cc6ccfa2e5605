package simdb_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/testutil"
)

// testBundle is one fresh database per test: a DuckDB file, or a
// PostgreSQL database under TestBackends (backends_test.go).
type testBundle struct {
	ctx   context.Context
	path  string
	store *simdb.Store
}

func setup(t *testing.T, opts simdb.Options) *testBundle {
	t.Helper()
	return openBundle(t, backendOf(t).Database(t, filepath.Join(t.TempDir(), "test.duckdb")), opts)
}

// openBundle opens a Store on path, closed when t ends.
func openBundle(t *testing.T, path string, opts simdb.Options) *testBundle {
	t.Helper()
	ctx := context.Background()
	store, err := simdb.Open(ctx, path, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := store.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return &testBundle{ctx: ctx, path: path, store: store}
}

const testConfig = `{"simulation":{"ticks_per_day":100,"num_days":2,"rng_seed":42},"agents":[{"id":"BANK_A"},{"id":"BANK_B"}]}`

func (b *testBundle) start(t *testing.T, id string) {
	t.Helper()
	if err := b.store.PersistSimulationStart(b.ctx, id, json.RawMessage(testConfig), simdb.StartOptions{}); err != nil {
		t.Fatalf("start %s: %v", id, err)
	}
}

func raws(lines ...string) []json.RawMessage {
	out := make([]json.RawMessage, len(lines))
	for i, l := range lines {
		out[i] = json.RawMessage(l)
	}
	return out
}

func arrival(tick int, tx string) string {
	return fmt.Sprintf(`{"event_type":"Arrival","tick":%d,"tx_id":%q,"sender_id":"BANK_A","receiver_id":"BANK_B","amount":100000,"deadline":%d,"priority":5,"is_divisible":false}`, tick, tx, tick+10)
}

func settlement(tick int, tx string) string {
	return fmt.Sprintf(`{"event_type":"RtgsImmediateSettlement","tick":%d,"tx_id":%q,"sender":"BANK_A","receiver":"BANK_B","amount":100000,"sender_balance_before":500000,"sender_balance_after":400000}`, tick, tx)
}

func (b *testBundle) count(t *testing.T, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := simdb.RawDB(b.store).QueryRowContext(b.ctx, query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// --- Ports of the seed's eight tests ---

// The Go counterpart of the seed's runtime-checkable protocol: the
// compile-time assertion, then the protocol driven through the interface.
var _ simdb.Provider = (*simdb.Store)(nil)

func TestStoreSatisfiesProvider(t *testing.T) {
	b := setup(t, simdb.Options{})
	var p simdb.Provider = b.store
	if err := p.PersistSimulationStart(b.ctx, "via-interface", json.RawMessage(testConfig), simdb.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	if n, err := p.PersistTickEvents(b.ctx, "via-interface", 0, raws(arrival(0, "t1"))); err != nil || n != 1 {
		t.Fatalf("n=%d err=%v", n, err)
	}
	if err := p.PersistSimulationComplete(b.ctx, "via-interface", simdb.Metrics{TotalArrivals: 1}); err != nil {
		t.Fatal(err)
	}
	if got := b.count(t, `SELECT count(*) FROM simulations WHERE status = 'completed' AND event_count = 1`); got != 1 {
		t.Fatalf("completed runs with one event: %d", got)
	}
}

// recordingProvider is a test double: anything with the four methods can
// stand in for the store.
type recordingProvider struct{ calls []string }

func (r *recordingProvider) PersistSimulationStart(_ context.Context, id string, _ json.RawMessage, _ simdb.StartOptions) error {
	r.calls = append(r.calls, "start "+id)
	return nil
}

func (r *recordingProvider) PersistTickEvents(_ context.Context, id string, tick int64, events []json.RawMessage) (int, error) {
	r.calls = append(r.calls, fmt.Sprintf("tick %s %d", id, tick))
	return len(events), nil
}

func (r *recordingProvider) PersistSimulationComplete(_ context.Context, id string, _ simdb.Metrics) error {
	r.calls = append(r.calls, "complete "+id)
	return nil
}

func (r *recordingProvider) PersistSimulationFailed(_ context.Context, id, _ string) error {
	r.calls = append(r.calls, "failed "+id)
	return nil
}

func TestTestDoubleSatisfiesProvider(t *testing.T) {
	rec := &recordingProvider{}
	var p simdb.Provider = rec
	ctx := context.Background()
	_ = p.PersistSimulationStart(ctx, "s", nil, simdb.StartOptions{})
	n, _ := p.PersistTickEvents(ctx, "s", 0, raws(arrival(0, "t1")))
	_ = p.PersistSimulationComplete(ctx, "s", simdb.Metrics{})
	if n != 1 || strings.Join(rec.calls, "|") != "start s|tick s 0|complete s" {
		t.Fatalf("calls = %v, n = %d", rec.calls, n)
	}
}

func TestStartCreatesRecord(t *testing.T) {
	b := setup(t, simdb.Options{})
	b.start(t, "sim-1")
	sum, err := b.store.GetSimulationSummary(b.ctx, "sim-1")
	if err != nil {
		t.Fatal(err)
	}
	if sum.Status != "running" || sum.TicksPerDay != 100 || sum.NumDays != 2 || sum.NumAgents != 2 || sum.TotalTicks != 200 {
		t.Fatalf("row = %+v", sum.Simulation)
	}
	if sum.RngSeed == nil || *sum.RngSeed != 42 {
		t.Fatalf("rng_seed = %v", sum.RngSeed)
	}
	if string(sum.ConfigJSON) != testConfig {
		t.Fatalf("config_json = %s", sum.ConfigJSON)
	}
	if len(sum.ConfigHash) != 64 {
		t.Fatalf("config_hash = %q", sum.ConfigHash)
	}
	if sum.StartedAt.IsZero() || sum.CompletedAt != nil {
		t.Fatalf("timestamps: %v %v", sum.StartedAt, sum.CompletedAt)
	}
}

func TestTickEventsQueryableByTick(t *testing.T) {
	b := setup(t, simdb.Options{})
	b.start(t, "sim-1")
	n, err := b.store.PersistTickEvents(b.ctx, "sim-1", 5, raws(arrival(5, "tx-1"), settlement(5, "tx-1")))
	if err != nil || n != 2 {
		t.Fatalf("persist: n=%d err=%v", n, err)
	}
	page, err := b.store.GetSimulationEvents(b.ctx, "sim-1", simdb.EventFilter{Tick: simdb.Int64(5)})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 2 || len(page.Events) != 2 {
		t.Fatalf("total=%d events=%d", page.Total, len(page.Events))
	}
	if page.Events[0].EventType != "Arrival" || page.Events[1].EventType != "RtgsImmediateSettlement" {
		t.Fatalf("order: %s, %s", page.Events[0].EventType, page.Events[1].EventType)
	}
	if page.Events[0].Seq != 0 || page.Events[1].Seq != 1 || page.Events[0].Day != 0 {
		t.Fatalf("seq/day: %+v", page.Events)
	}
}

func TestCompleteStoresTotals(t *testing.T) {
	b := setup(t, simdb.Options{})
	b.start(t, "sim-1")
	m := simdb.Metrics{TotalArrivals: 200, TotalSettlements: 150, TotalCostCents: 9_007_199_254_740_993, DurationSeconds: 4}
	if err := b.store.PersistSimulationComplete(b.ctx, "sim-1", m); err != nil {
		t.Fatal(err)
	}
	sum, err := b.store.GetSimulationSummary(b.ctx, "sim-1")
	if err != nil {
		t.Fatal(err)
	}
	if sum.Status != "completed" || sum.CompletedAt == nil {
		t.Fatalf("status=%s completed_at=%v", sum.Status, sum.CompletedAt)
	}
	if *sum.TotalArrivals != 200 || *sum.TotalSettlements != 150 || *sum.TotalCostCents != 9_007_199_254_740_993 {
		t.Fatalf("totals: %d %d %d", *sum.TotalArrivals, *sum.TotalSettlements, *sum.TotalCostCents)
	}
	if *sum.DurationSeconds != 4 || *sum.TicksPerSecond != 50 { // 200 ticks / 4 s
		t.Fatalf("duration=%v tps=%v", *sum.DurationSeconds, *sum.TicksPerSecond)
	}
	if sum.SettlementRate != 0.75 {
		t.Fatalf("settlement_rate = %v", sum.SettlementRate)
	}
	if sum.AvgDailyCostCents != 9_007_199_254_740_993/2 {
		t.Fatalf("avg_daily_cost_cents = %d", sum.AvgDailyCostCents)
	}
}

func TestSummaryFindsSimulation(t *testing.T) {
	b := setup(t, simdb.Options{})
	b.start(t, "sim-1")
	sum, err := b.store.GetSimulationSummary(b.ctx, "sim-1")
	if err != nil || sum.SimulationID != "sim-1" {
		t.Fatalf("summary: %+v %v", sum, err)
	}
	if _, err := b.store.GetSimulationSummary(b.ctx, "nope"); !errors.Is(err, simdb.ErrSimulationNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
}

func TestEventsByTickReturnArrival(t *testing.T) {
	b := setup(t, simdb.Options{})
	b.start(t, "sim-1")
	if _, err := b.store.PersistTickEvents(b.ctx, "sim-1", 0, raws(arrival(0, "tx-1"))); err != nil {
		t.Fatal(err)
	}
	page, err := b.store.GetSimulationEvents(b.ctx, "sim-1", simdb.EventFilter{Tick: simdb.Int64(0)})
	if err != nil {
		t.Fatal(err)
	}
	ev := page.Events[0]
	if ev.EventType != "Arrival" || ev.TxID == nil || *ev.TxID != "tx-1" || *ev.Sender != "BANK_A" || *ev.Receiver != "BANK_B" || *ev.Amount != 100000 {
		t.Fatalf("event = %+v", ev)
	}
}

func TestExperimentContextStored(t *testing.T) {
	b := setup(t, simdb.Options{})
	err := b.store.PersistSimulationStart(b.ctx, "exp-1-it-3", json.RawMessage(testConfig),
		simdb.StartOptions{Experiment: &simdb.Experiment{RunID: "exp-1", Iteration: 3}})
	if err != nil {
		t.Fatal(err)
	}
	var run string
	var it int64
	if err := simdb.RawDB(b.store).QueryRowContext(b.ctx,
		`SELECT experiment_run_id, experiment_iteration FROM simulations WHERE simulation_id = $1`, "exp-1-it-3").Scan(&run, &it); err != nil {
		t.Fatal(err)
	}
	if run != "exp-1" || it != 3 {
		t.Fatalf("experiment = %q/%d", run, it)
	}
}

// --- The seed's edge cases ---

func TestEmptyEventsWriteNothing(t *testing.T) {
	b := setup(t, simdb.Options{Durability: simdb.Durable})
	b.start(t, "sim-1")
	n, err := b.store.PersistTickEvents(b.ctx, "sim-1", 0, nil)
	if err != nil || n != 0 {
		t.Fatalf("n=%d err=%v", n, err)
	}
	if got := b.count(t, `SELECT count(*) FROM simulation_events`); got != 0 {
		t.Fatalf("%d rows", got)
	}
	if got := b.count(t, `SELECT count(*) FROM simulations WHERE last_tick IS NULL AND event_count = 0`); got != 1 {
		t.Fatal("progress columns changed by an empty tick")
	}
}

func TestMissingConfigKeysDefault(t *testing.T) {
	b := setup(t, simdb.Options{})
	if err := b.store.PersistSimulationStart(b.ctx, "s", json.RawMessage(`{"ticks_per_day":10}`), simdb.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	sum, err := b.store.GetSimulationSummary(b.ctx, "s")
	if err != nil {
		t.Fatal(err)
	}
	if sum.NumDays != 1 || sum.NumAgents != 0 || sum.RngSeed != nil || sum.TotalTicks != 10 || sum.ConfigFile != nil {
		t.Fatalf("defaults: %+v", sum.Simulation)
	}
}

func TestDuplicateIDRejected(t *testing.T) {
	b := setup(t, simdb.Options{})
	b.start(t, "sim-1")
	err := b.store.PersistSimulationStart(b.ctx, "sim-1", json.RawMessage(`{"ticks_per_day":7}`), simdb.StartOptions{})
	if !errors.Is(err, simdb.ErrSimulationExists) {
		t.Fatalf("err = %v", err)
	}
	sum, _ := b.store.GetSimulationSummary(b.ctx, "sim-1")
	if sum.TicksPerDay != 100 {
		t.Fatalf("existing row changed: ticks_per_day = %d", sum.TicksPerDay)
	}
}

func TestNoExperimentContextIsNull(t *testing.T) {
	b := setup(t, simdb.Options{})
	b.start(t, "sim-1")
	if got := b.count(t, `SELECT count(*) FROM simulations WHERE experiment_run_id IS NULL AND experiment_iteration IS NULL`); got != 1 {
		t.Fatal("experiment columns not NULL")
	}
}

func TestInvalidStartArguments(t *testing.T) {
	b := setup(t, simdb.Options{})
	cases := []struct {
		name, id, config string
		want             error
	}{
		{"empty id", "", testConfig, simdb.ErrInvalidArgument},
		{"zero ticks_per_day", "a", `{"ticks_per_day":0}`, simdb.ErrInvalidConfig},
		{"negative ticks_per_day", "a", `{"ticks_per_day":-5}`, simdb.ErrInvalidConfig},
		{"fractional ticks_per_day", "a", `{"ticks_per_day":1.5}`, simdb.ErrInvalidConfig},
		{"not an object", "a", `[1,2]`, simdb.ErrInvalidConfig},
		{"not JSON", "a", `{ticks_per_day: 3}`, simdb.ErrInvalidConfig},
	}
	for _, c := range cases {
		err := b.store.PersistSimulationStart(b.ctx, c.id, json.RawMessage(c.config), simdb.StartOptions{})
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
	if got := b.count(t, `SELECT count(*) FROM simulations`); got != 0 {
		t.Fatalf("%d rows stored by rejected starts", got)
	}
}

// --- Atomicity ---

func TestInvalidEventStoresNothing(t *testing.T) {
	b := setup(t, simdb.Options{Durability: simdb.Durable})
	b.start(t, "sim-1")
	var lines []string
	for i := 0; i < 60; i++ {
		lines = append(lines, arrival(3, fmt.Sprintf("tx-%d", i)))
	}
	lines[49] = `{"event_type":"Arrival","tick":3,"tx_id":"bad","amount":1.5}`
	_, err := b.store.PersistTickEvents(b.ctx, "sim-1", 3, raws(lines...))
	var evErr *simdb.EventError
	if !errors.Is(err, simdb.ErrInvalidEvent) || !errors.As(err, &evErr) || evErr.Index != 49 {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(err.Error(), `"amount"`) || !strings.Contains(err.Error(), "event 49") || !strings.Contains(err.Error(), "tick 3") {
		t.Fatalf("error does not name the place: %v", err)
	}
	if got := b.count(t, `SELECT count(*) FROM simulation_events`); got != 0 {
		t.Fatalf("%d rows stored", got)
	}
	// The tick was not consumed: the corrected batch goes in.
	lines[49] = arrival(3, "tx-49")
	if n, err := b.store.PersistTickEvents(b.ctx, "sim-1", 3, raws(lines...)); err != nil || n != 60 {
		t.Fatalf("retry: n=%d err=%v", n, err)
	}
}

func registerSet(tick int, agent, key string, v float64) string {
	return fmt.Sprintf(`{"event_type":"StateRegisterSet","tick":%d,"agent_id":%q,"register_key":%q,"old_value":0.0,"new_value":%v,"reason":"test","decision_path":null}`, tick, agent, key, v)
}

func TestRegisterLastValueWins(t *testing.T) {
	for _, d := range []simdb.Durability{simdb.Durable, simdb.Buffered} {
		t.Run(d.String(), func(t *testing.T) {
			b := setup(t, simdb.Options{Durability: d})
			b.start(t, "sim-1")
			if _, err := b.store.PersistTickEvents(b.ctx, "sim-1", 5, raws(
				registerSet(5, "BANK_A", "stress", 1), registerSet(5, "BANK_A", "stress", 2), registerSet(5, "BANK_B", "stress", 7))); err != nil {
				t.Fatal(err)
			}
			if _, err := b.store.PersistTickEvents(b.ctx, "sim-1", 10, raws(registerSet(10, "BANK_A", "stress", 3))); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				agent string
				tick  int64
				want  float64
				have  bool
			}{
				{"BANK_A", 4, 0, false}, {"BANK_A", 5, 2, true}, {"BANK_A", 8, 2, true},
				{"BANK_A", 12, 3, true}, {"BANK_B", 12, 7, true},
			} {
				regs, err := b.store.GetAgentStateRegisters(b.ctx, "sim-1", c.agent, c.tick)
				if err != nil {
					t.Fatal(err)
				}
				v, ok := regs["stress"]
				if ok != c.have || v != c.want {
					t.Errorf("%s at %d: %v %v, want %v %v", c.agent, c.tick, v, ok, c.want, c.have)
				}
			}
			if got := b.count(t, `SELECT count(*) FROM agent_state_registers`); got != 3 {
				t.Fatalf("%d register rows, want 3", got)
			}
		})
	}
}

func TestTickOrderEnforced(t *testing.T) {
	b := setup(t, simdb.Options{})
	b.start(t, "sim-1")
	if _, err := b.store.PersistTickEvents(b.ctx, "sim-1", 4, raws(arrival(4, "a"))); err != nil {
		t.Fatal(err)
	}
	for _, tick := range []int64{4, 3} {
		if _, err := b.store.PersistTickEvents(b.ctx, "sim-1", tick, raws(arrival(int(tick), "b"))); !errors.Is(err, simdb.ErrTickAlreadyPersisted) {
			t.Fatalf("tick %d: err = %v", tick, err)
		}
	}
	if _, err := b.store.PersistTickEvents(b.ctx, "sim-1", 6, raws(arrival(5, "c"))); !errors.Is(err, simdb.ErrInvalidEvent) {
		t.Fatalf("mismatched tick: err = %v", err)
	}
	if _, err := b.store.PersistTickEvents(b.ctx, "nope", 9, raws(arrival(9, "c"))); !errors.Is(err, simdb.ErrSimulationNotFound) {
		t.Fatalf("unknown simulation: err = %v", err)
	}
	if err := b.store.PersistSimulationFailed(b.ctx, "sim-1", "boom"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.PersistTickEvents(b.ctx, "sim-1", 9, raws(arrival(9, "c"))); !errors.Is(err, simdb.ErrSimulationNotRunning) {
		t.Fatalf("failed simulation: err = %v", err)
	}
	if err := b.store.PersistSimulationComplete(b.ctx, "sim-1", simdb.Metrics{}); !errors.Is(err, simdb.ErrSimulationNotRunning) {
		t.Fatalf("complete after failed: err = %v", err)
	}
	sum, _ := b.store.GetSimulationSummary(b.ctx, "sim-1")
	if sum.Status != "failed" || sum.ErrorMessage == nil || *sum.ErrorMessage != "boom" || sum.EventCount != 1 {
		t.Fatalf("row = %+v", sum.Simulation)
	}
}

// --- The real stream, tick by tick ---

func TestSmallStreamRoundTrip(t *testing.T) {
	testutil.SkipUnderMakeRace(t, "the small stream stored and read back tick by tick, one call at a time")
	t.Parallel()
	lines := testutil.ReadLines(t, testutil.CorpusFile(t, "small.jsonl.gz"))
	for name, opts := range map[string]simdb.Options{
		"durable":  {Durability: simdb.Durable},
		"buffered": {},
		// Small groups: many background commits overlap the caller.
		"buffered-small-groups": {FlushEvents: 64},
	} {
		t.Run(name, func(t *testing.T) {
			b := setup(t, opts)
			b.start(t, "small")
			persistByTick(t, b, "small", lines)
			i := 0
			for ev, err := range b.store.StreamEvents(b.ctx, "small", simdb.EventFilter{}) {
				if err != nil {
					t.Fatal(err)
				}
				raw, err := ev.Raw()
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(raw, lines[i]) {
					t.Fatalf("event %d:\n got %s\nwant %s", i, raw, lines[i])
				}
				if ev.Seq != int64(i) {
					t.Fatalf("event %d has seq %d", i, ev.Seq)
				}
				i++
			}
			if i != len(lines) {
				t.Fatalf("read %d events, want %d", i, len(lines))
			}
			gaps := b.count(t, `SELECT count(*) FROM (SELECT seq - lag(seq) OVER (ORDER BY seq) AS d FROM simulation_events WHERE simulation_id = 'small') AS g WHERE d <> 1`)
			if gaps != 0 || b.count(t, `SELECT max(seq) + 1 FROM simulation_events`) != int64(len(lines)) {
				t.Fatal("seq is not gap-free")
			}
		})
	}
}

// persistByTick groups consecutive lines by tick and persists each group.
func persistByTick(t testing.TB, b *testBundle, id string, lines [][]byte) {
	t.Helper()
	var group []json.RawMessage
	tick := int64(-1)
	flush := func() {
		if len(group) == 0 {
			return
		}
		if n, err := b.store.PersistTickEvents(b.ctx, id, tick, group); err != nil || n != len(group) {
			t.Fatalf("tick %d: n=%d err=%v", tick, n, err)
		}
		group = nil
	}
	for _, l := range lines {
		var head struct{ Tick int64 }
		if err := json.Unmarshal(l, &head); err != nil {
			t.Fatal(err)
		}
		if head.Tick != tick {
			flush()
			tick = head.Tick
		}
		group = append(group, l)
	}
	flush()
}
