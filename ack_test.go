package simdb_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simcash/simdb"
)

// The acknowledgement contract (RELIABILITY.md, "Acknowledgement"): once
// PersistTickEvents has returned nil for a tick, no later call — a failed
// Complete or Failed, a reader's cancelled context, a retry — may end the run
// without that tick while reporting success.

// ackTick is tick n's five events: a register set (so that breakRegisters
// makes its commit fail) and four arrivals.
func ackTick(n int) []json.RawMessage {
	lines := []string{registerSet(n, "BANK_A", "stress", float64(n))}
	for len(lines) < 5 {
		lines = append(lines, arrival(n, fmt.Sprintf("tx-%d-%d", n, len(lines))))
	}
	return raws(lines...)
}

func persistAck(t *testing.T, b *testBundle, id string, n int) {
	t.Helper()
	if got, err := b.store.PersistTickEvents(b.ctx, id, int64(n), ackTick(n)); err != nil || got != 5 {
		t.Fatalf("tick %d: n=%d err=%v", n, got, err)
	}
}

// checkRun compares the run's row with raw SQL (a read through the Store
// would commit its buffer): status, event_count and last_tick (-1: NULL),
// and that the stored rows are exactly seq 0…event_count−1.
func checkRun(t *testing.T, b *testBundle, id, status string, events, lastTick int64) {
	t.Helper()
	var gotStatus string
	var gotEvents, gotLast int64
	err := simdb.RawDB(b.store).QueryRowContext(b.ctx, `SELECT status, event_count, coalesce(last_tick, -1) FROM simulations WHERE simulation_id = $1`, id).
		Scan(&gotStatus, &gotEvents, &gotLast)
	if err != nil {
		t.Fatal(err)
	}
	if gotStatus != status || gotEvents != events || gotLast != lastTick {
		t.Fatalf("run %s: status %s, event_count %d, last_tick %d; want %s, %d, %d", id, gotStatus, gotEvents, gotLast, status, events, lastTick)
	}
	if got := b.count(t, `SELECT count(DISTINCT seq) FROM simulation_events WHERE simulation_id = $1 AND seq BETWEEN 0 AND $2 - 1`, id, events); got != events {
		t.Fatalf("run %s: %d distinct seq in 0..%d", id, got, events-1)
	}
	if got := b.count(t, `SELECT count(*) FROM simulation_events WHERE simulation_id = $1`, id); got != events {
		t.Fatalf("run %s: %d event rows, event_count %d", id, got, events)
	}
}

func cancelledContext() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// lateCancel is a context cancelled just after the call began: the first
// look at it (Err or Done) cancels it, and that first Err still says nil.
// It models a reader giving up while its read barrier commits the writer's
// buffer, without a race.
type lateCancel struct {
	context.Context
	cancel context.CancelFunc
	looked atomic.Bool
}

func newLateCancel() *lateCancel {
	ctx, cancel := context.WithCancel(context.Background())
	return &lateCancel{Context: ctx, cancel: cancel}
}

func (c *lateCancel) Err() error {
	if c.looked.CompareAndSwap(false, true) {
		defer c.cancel()
		return nil
	}
	return c.Context.Err()
}

func (c *lateCancel) Done() <-chan struct{} {
	c.looked.Store(true)
	c.cancel()
	return c.Context.Done()
}

var durabilities = []simdb.Durability{simdb.Buffered, simdb.Durable}

// Issue 20.1: a failed PersistSimulationComplete/Failed keeps the buffered
// ticks, and the retry commits them with the status change. A cancelled
// context fails before anything is attempted (wrapping context.Canceled,
// not ErrWriteFailed); a commit the database refuses is ErrWriteFailed.
func TestFailedFinishKeepsTicks(t *testing.T) {
	for _, d := range durabilities {
		for _, verb := range []string{"complete", "fail"} {
			t.Run(d.String()+"/"+verb, func(t *testing.T) {
				b := setup(t, simdb.Options{Durability: d, FlushInterval: time.Hour})
				const id = "run"
				b.start(t, id)
				for n := range 10 {
					persistAck(t, b, id, n)
				}
				finish := func(ctx context.Context) error {
					if verb == "complete" {
						return b.store.PersistSimulationComplete(ctx, id, simdb.Metrics{TotalArrivals: 40, TotalSettlements: 40})
					}
					return b.store.PersistSimulationFailed(ctx, id, "boom")
				}
				committed, last := int64(0), int64(-1)
				if d == simdb.Durable {
					committed, last = 50, 9
				}

				err := finish(cancelledContext())
				if !errors.Is(err, context.Canceled) || errors.Is(err, simdb.ErrWriteFailed) {
					t.Fatalf("%s with a cancelled context: err = %v, want context.Canceled and not ErrWriteFailed", verb, err)
				}
				checkRun(t, b, id, "running", committed, last)

				if d == simdb.Buffered {
					// The database refuses the commit (disk full, say).
					breakRegisters(t, b, true)
					err := finish(b.ctx)
					if !errors.Is(err, simdb.ErrWriteFailed) || !strings.Contains(err.Error(), "ticks 0..9 (kept") {
						t.Fatalf("%s refused by the database: err = %v, want ErrWriteFailed keeping ticks 0..9", verb, err)
					}
					breakRegisters(t, b, false)
					checkRun(t, b, id, "running", 0, -1)
				}

				if err := finish(b.ctx); err != nil {
					t.Fatalf("%s retried: %v", verb, err)
				}
				checkRun(t, b, id, map[string]string{"complete": "completed", "fail": "failed"}[verb], 50, 9)
			})
		}
	}
}

// Issue 20.1, the other way a finishing call could lose ticks: a group that
// failed in the background dropped acknowledged ticks. Complete is refused
// (every time, not only once) until they are persisted again, and so is a
// tick after them, which would leave a gap; reads are not blocked.
func TestLostTicksBlockCompleteAndGaps(t *testing.T) {
	b := setup(t, simdb.Options{FlushEvents: 5, FlushInterval: time.Hour})
	const id = "run"
	b.start(t, id)
	persistAck(t, b, id, 0) // fills a group: commits in the background
	if err := b.store.Flush(b.ctx); err != nil {
		t.Fatal(err)
	}
	breakRegisters(t, b, true)
	persistAck(t, b, id, 1) // acknowledged; its group fails in the background
	m := simdb.Metrics{TotalArrivals: 12, TotalSettlements: 0}
	if err := b.store.PersistSimulationComplete(b.ctx, id, m); !errors.Is(err, simdb.ErrWriteFailed) {
		t.Fatalf("Complete after a failed group: err = %v, want ErrWriteFailed", err)
	}
	breakRegisters(t, b, false)
	for range 2 {
		err := b.store.PersistSimulationComplete(b.ctx, id, m)
		if !errors.Is(err, simdb.ErrWriteFailed) || !strings.Contains(err.Error(), "ticks after 0 are not stored") {
			t.Fatalf("Complete with tick 1 still missing: err = %v, want ErrWriteFailed naming the ticks after 0", err)
		}
	}
	if _, err := b.store.PersistTickEvents(b.ctx, id, 2, ackTick(2)); !errors.Is(err, simdb.ErrWriteFailed) {
		t.Fatalf("tick 2 before the lost tick 1 was sent again: err = %v, want ErrWriteFailed", err)
	}
	if sum, err := b.store.GetSimulationSummary(b.ctx, id); err != nil || sum.EventCount != 5 {
		t.Fatalf("a read while tick 1 is missing: event_count %d, err %v; want 5, nil", sum.EventCount, err)
	}
	checkRun(t, b, id, "running", 5, 0)
	persistAck(t, b, id, 1)
	persistAck(t, b, id, 2)
	if err := b.store.PersistSimulationComplete(b.ctx, id, m); err != nil {
		t.Fatal(err)
	}
	checkRun(t, b, id, "completed", 15, 2)
}

// Issue 20.2: a reader's cancelled context may end the read, never the
// writer's commit. Each read runs with a context cancelled before the call
// or just after it began (while its barrier commits the writer's buffer);
// the writer then goes on and completes a run holding every tick.
func TestReaderCancellationKeepsWriterTicks(t *testing.T) {
	type read func(ctx context.Context, b *testBundle) error
	reads := map[string]read{
		"GetSimulationSummary": func(ctx context.Context, b *testBundle) error {
			_, err := b.store.GetSimulationSummary(ctx, "run")
			return err
		},
		"GetEventSummary": func(ctx context.Context, b *testBundle) error {
			_, err := b.store.GetEventSummary(ctx, "run")
			return err
		},
		"GetAgentStateRegisters": func(ctx context.Context, b *testBundle) error {
			_, err := b.store.GetAgentStateRegisters(ctx, "run", "BANK_A", 1000)
			return err
		},
		"GetSimulationEvents": func(ctx context.Context, b *testBundle) error {
			_, err := b.store.GetSimulationEvents(ctx, "run", simdb.EventFilter{})
			return err
		},
		"StreamEvents": func(ctx context.Context, b *testBundle) error {
			for _, err := range b.store.StreamEvents(ctx, "run", simdb.EventFilter{}) {
				if err != nil {
					return err
				}
			}
			return nil
		},
		"ListSimulations": func(ctx context.Context, b *testBundle) error {
			_, err := b.store.ListSimulations(ctx, simdb.ListFilter{})
			return err
		},
		"CompareSimulations": func(ctx context.Context, b *testBundle) error {
			_, err := b.store.CompareSimulations(ctx, "run", "run")
			return err
		},
		"Flush": func(ctx context.Context, b *testBundle) error { return b.store.Flush(ctx) },
	}
	for _, d := range durabilities {
		t.Run(d.String(), func(t *testing.T) {
			b := setup(t, simdb.Options{Durability: d, FlushInterval: time.Hour})
			b.start(t, "run")
			tick := 0
			for name, read := range reads {
				for _, ctx := range []context.Context{cancelledContext(), newLateCancel()} {
					persistAck(t, b, "run", tick)
					tick++
					// The read may fail with ctx's error; what matters is
					// what happens to the writer's ticks.
					if err := read(ctx, b); err != nil && !errors.Is(err, context.Canceled) {
						t.Fatalf("%s with a cancelled context: err = %v, want nil or context.Canceled", name, err)
					}
				}
			}
			persistAck(t, b, "run", tick) // the writer's next call is not told of any failure
			if err := b.store.PersistSimulationComplete(b.ctx, "run", simdb.Metrics{}); err != nil {
				t.Fatal(err)
			}
			checkRun(t, b, "run", "completed", int64(5*(tick+1)), int64(tick))
		})
	}
}

// Issue 20.3: every write on a read-only Store fails at once with
// ErrReadOnly (it used to acknowledge ticks it could never commit); reads
// work, Flush has nothing to do, Close succeeds, and the file is unchanged.
func TestReadOnlyStoreRefusesWrites(t *testing.T) {
	for _, d := range durabilities {
		t.Run(d.String(), func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "ro.duckdb")
			w, err := simdb.Open(ctx, path, simdb.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.PersistSimulationStart(ctx, "run", json.RawMessage(testConfig), simdb.StartOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := w.PersistTickEvents(ctx, "run", 0, ackTick(0)); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}

			ro, err := simdb.Open(ctx, path, simdb.Options{ReadOnly: true, Durability: d})
			if err != nil {
				t.Fatal(err)
			}
			writes := map[string]func() error{
				"PersistSimulationStart": func() error {
					return ro.PersistSimulationStart(ctx, "new", json.RawMessage(testConfig), simdb.StartOptions{})
				},
				"PersistTickEvents": func() error {
					_, err := ro.PersistTickEvents(ctx, "run", 1, ackTick(1))
					return err
				},
				"PersistSimulationComplete": func() error {
					return ro.PersistSimulationComplete(ctx, "run", simdb.Metrics{})
				},
				"PersistSimulationFailed": func() error { return ro.PersistSimulationFailed(ctx, "run", "boom") },
				"RecoverInterrupted": func() error {
					_, err := ro.RecoverInterrupted(ctx)
					return err
				},
				"IngestJSONL": func() error {
					_, err := ro.IngestJSONL(ctx, "run", strings.NewReader(arrival(1, "tx-i")+"\n"), simdb.IngestOptions{Resume: true})
					return err
				},
			}
			for name, write := range writes {
				if err := write(); !errors.Is(err, simdb.ErrReadOnly) {
					t.Errorf("%s on a read-only Store: err = %v, want ErrReadOnly", name, err)
				}
			}
			if err := ro.Flush(ctx); err != nil {
				t.Errorf("Flush on a read-only Store: %v", err)
			}
			if sum, err := ro.GetSimulationSummary(ctx, "run"); err != nil || sum.EventCount != 5 || sum.Status != "running" {
				t.Errorf("read on a read-only Store: %+v, %v", sum, err)
			}
			if err := ro.Close(); err != nil {
				t.Fatalf("Close of the read-only Store: %v", err)
			}
			b := &testBundle{ctx: ctx, path: path}
			if b.store, err = simdb.Open(ctx, path, simdb.Options{}); err != nil {
				t.Fatal(err)
			}
			defer b.store.Close()
			checkRun(t, b, "run", "running", 5, 0)
			if got := b.count(t, `SELECT count(*) FROM simulations`); got != 1 {
				t.Fatalf("%d runs after the read-only session, want 1", got)
			}
		})
	}
}

// Issue 21.2: a failed commit is reported once — here by Flush — so the
// caller's first correct retry (the ticks after the stored last tick, sent
// again) succeeds; in Durable mode the call itself reports it, and the
// message does not speak of a buffer.
func TestFailedCommitReportedOnce(t *testing.T) {
	for _, d := range durabilities {
		t.Run(d.String(), func(t *testing.T) {
			b := setup(t, simdb.Options{Durability: d, FlushInterval: time.Hour})
			const id = "run"
			b.start(t, id)
			persistAck(t, b, id, 0)
			if err := b.store.Flush(b.ctx); err != nil {
				t.Fatal(err)
			}
			breakRegisters(t, b, true)
			var err error
			if d == simdb.Buffered {
				persistAck(t, b, id, 1)
				persistAck(t, b, id, 2)
				err = b.store.Flush(b.ctx)
				if !errors.Is(err, simdb.ErrWriteFailed) || !strings.Contains(err.Error(), "ticks 1..2") || !strings.Contains(err.Error(), "stored events end at tick 0") {
					t.Fatalf("Flush of a failing group: err = %v, want ErrWriteFailed naming ticks 1..2 and tick 0", err)
				}
			} else {
				_, err = b.store.PersistTickEvents(b.ctx, id, 1, ackTick(1))
				if !errors.Is(err, simdb.ErrWriteFailed) || !strings.Contains(err.Error(), "tick 1 of") || strings.Contains(err.Error(), "buffer") {
					t.Fatalf("a Durable tick whose commit fails: err = %v, want ErrWriteFailed naming tick 1, without \"buffer\"", err)
				}
			}
			breakRegisters(t, b, false)
			checkRun(t, b, id, "running", 5, 0)
			// The first correct retry succeeds: the failure is not reported
			// again.
			persistAck(t, b, id, 1)
			persistAck(t, b, id, 2)
			if err := b.store.Flush(b.ctx); err != nil {
				t.Fatalf("Flush after the retry: %v", err)
			}
			if err := b.store.PersistSimulationComplete(b.ctx, id, simdb.Metrics{}); err != nil {
				t.Fatal(err)
			}
			checkRun(t, b, id, "completed", 15, 2)
		})
	}
}
