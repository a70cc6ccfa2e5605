package simdb_test

// Benchmarks of the query surface on one database of more than a million
// events:
//
//	go test -run '^$' -bench Query -benchtime 3x .
//
// BenchmarkQuery builds the database once (its body runs once per process;
// only its sub-benchmarks are repeated, -count included) by ingesting a
// synthetic stream generated here (~100-2,000 events per tick, 40 agents,
// the engine's event shapes) through IngestJSONL in Buffered mode, then
// times each query kind against it.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/simcash/simdb"
)

const (
	benchSimID       = "bench"
	benchAgents      = 40
	benchMinEvents   = 1_000_000
	benchTicksPerDay = 100
	benchDeepOffset  = 900_000
)

// benchDB is the shared benchmark database.
type benchDB struct {
	store  *simdb.Store
	events int64
	ticks  int64
	agents []string
	txs    []string // a deterministic sample of transaction ids
	// deep is the cursor just before event benchDeepOffset in (tick, seq)
	// order: the keyset twin of Offset benchDeepOffset.
	deep simdb.Cursor
}

// writeBenchStream writes a deterministic synthetic SimCash stream of at
// least minEvents events: each payment is an Arrival, RtgsSubmission and
// PolicySubmit, then an RtgsImmediateSettlement or (one in eight) a
// QueuedRtgs; queued payments get PolicyHold events and are settled by
// LsmBilateralOffset events naming several of them; agents accrue costs; each
// day ends with EndOfDay. sample receives every 997th transaction id.
func writeBenchStream(w io.Writer, minEvents int64, agents []string, sample func(string)) (events, ticks int64, err error) {
	rng := rand.New(rand.NewPCG(20250101, 42))
	bw := bufio.NewWriterSize(w, 1<<20)
	emit := func(format string, args ...any) {
		if err == nil {
			_, err = fmt.Fprintf(bw, format+"\n", args...)
			events++
		}
	}
	var txn int64
	type queued struct{ tx, s, r string }
	var queue []queued
	for tick := int64(0); events < minEvents && err == nil; tick++ {
		target := events + 100 + int64(rng.IntN(1901))
		for events < target {
			txn++
			tx := fmt.Sprintf("tx-%08d", txn)
			if txn%997 == 0 {
				sample(tx)
			}
			si := rng.IntN(len(agents))
			ri := (si + 1 + rng.IntN(len(agents)-1)) % len(agents)
			s, r := agents[si], agents[ri]
			amount := 1000 + rng.Int64N(5_000_000)
			prio := rng.IntN(10)
			emit(`{"event_type":"Arrival","tick":%d,"tx_id":%q,"sender_id":%q,"receiver_id":%q,"amount":%d,"deadline":%d,"priority":%d,"is_divisible":false}`,
				tick, tx, s, r, amount, tick+10+int64(rng.IntN(50)), prio)
			emit(`{"event_type":"RtgsSubmission","tick":%d,"tx_id":%q,"sender":%q,"receiver":%q,"amount":%d,"internal_priority":%d,"rtgs_priority":"Normal"}`,
				tick, tx, s, r, amount, prio)
			emit(`{"event_type":"PolicySubmit","tick":%d,"agent_id":%q,"tx_id":%q}`, tick, s, tx)
			if rng.IntN(8) == 0 {
				emit(`{"event_type":"QueuedRtgs","tick":%d,"tx_id":%q,"sender_id":%q}`, tick, tx, s)
				queue = append(queue, queued{tx, s, r})
			} else {
				emit(`{"event_type":"RtgsImmediateSettlement","tick":%d,"tx_id":%q,"sender":%q,"receiver":%q,"amount":%d,"sender_balance_before":%d,"sender_balance_after":%d}`,
					tick, tx, s, r, amount, 900_000_000, 900_000_000-amount)
			}
		}
		for _, q := range queue {
			if rng.IntN(4) == 0 {
				emit(`{"event_type":"PolicyHold","tick":%d,"agent_id":%q,"tx_id":%q,"reason":"InsufficientLiquidity"}`, tick, q.s, q.tx)
			}
		}
		for len(queue) >= 6 {
			k := 2 + rng.IntN(5)
			ids := ""
			for i, q := range queue[:k] {
				if i > 0 {
					ids += ","
				}
				ids += fmt.Sprintf("%q", q.tx)
			}
			emit(`{"event_type":"LsmBilateralOffset","tick":%d,"agent_a":%q,"agent_b":%q,"tx_ids":[%s],"amount_a":%d,"amount_b":%d,"amount":%d}`,
				tick, queue[0].s, queue[0].r, ids, 1000*k, 2000*k, 3000*k)
			queue = queue[k:]
		}
		for i := 0; i < 5; i++ {
			emit(`{"event_type":"CostAccrual","tick":%d,"agent_id":%q,"costs":{"liquidity_cost":%d,"delay_cost":%d,"collateral_cost":0,"penalty_cost":0,"split_friction_cost":0,"total":%d}}`,
				tick, agents[rng.IntN(len(agents))], 10, 5, 15)
		}
		if tick%benchTicksPerDay == benchTicksPerDay-1 {
			emit(`{"event_type":"EndOfDay","tick":%d,"day":%d,"unsettled_count":%d,"total_penalties":0}`, tick, tick/benchTicksPerDay, len(queue))
		}
		ticks = tick + 1
	}
	if err == nil {
		err = bw.Flush()
	}
	return events, ticks, err
}

// buildBenchDB creates the benchmark database in b.TempDir().
func buildBenchDB(b *testing.B) *benchDB {
	b.Helper()
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "bench.duckdb")
	store, err := simdb.Open(ctx, path, simdb.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := store.Close(); err != nil {
			b.Errorf("close: %v", err)
		}
	})
	d := &benchDB{store: store}
	for i := 0; i < benchAgents; i++ {
		d.agents = append(d.agents, fmt.Sprintf("BANK_%02d", i))
	}
	config := fmt.Sprintf(`{"ticks_per_day":%d,"num_days":50,"num_agents":%d}`, benchTicksPerDay, benchAgents)
	if err := store.PersistSimulationStart(ctx, benchSimID, []byte(config), simdb.StartOptions{}); err != nil {
		b.Fatal(err)
	}

	began := time.Now()
	pr, pw := io.Pipe()
	type genResult struct {
		events, ticks int64
		err           error
	}
	gen := make(chan genResult, 1)
	go func() {
		events, ticks, err := writeBenchStream(pw, benchMinEvents, d.agents, func(tx string) { d.txs = append(d.txs, tx) })
		pw.CloseWithError(err)
		gen <- genResult{events, ticks, err}
	}()
	res, err := store.IngestJSONL(ctx, benchSimID, pr, simdb.IngestOptions{Source: "synthetic"})
	pr.CloseWithError(io.ErrClosedPipe) // unblocks the generator if ingestion stopped early
	g := <-gen
	if err != nil {
		b.Fatalf("ingest: %v", err)
	}
	if g.err != nil {
		b.Fatalf("generate: %v", g.err)
	}
	if err := store.PersistSimulationComplete(ctx, benchSimID, res.Metrics); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(began)
	if res.Events != g.events || g.events < benchMinEvents {
		b.Fatalf("ingested %d of %d generated events", res.Events, g.events)
	}
	d.events, d.ticks = g.events, g.ticks
	b.Logf("benchmark database: %d events, %d ticks, %d agents, built in %v (%.0f events/s)",
		d.events, d.ticks, benchAgents, elapsed.Round(time.Millisecond), float64(d.events)/elapsed.Seconds())

	// The cursor twin of the deep offset, and a check that both reach the
	// same page.
	before, err := store.GetSimulationEvents(ctx, benchSimID, simdb.EventFilter{Offset: benchDeepOffset - 1, Limit: 1})
	if err != nil || before.Next == nil {
		b.Fatalf("cursor page: %v", err)
	}
	d.deep = *before.Next
	byOffset, err := store.GetSimulationEvents(ctx, benchSimID, simdb.EventFilter{Offset: benchDeepOffset})
	if err != nil {
		b.Fatal(err)
	}
	byCursor, err := store.GetSimulationEvents(ctx, benchSimID, simdb.EventFilter{After: &d.deep})
	if err != nil {
		b.Fatal(err)
	}
	if len(byOffset.Events) != 100 || len(byCursor.Events) != 100 || byOffset.Events[0].Seq != byCursor.Events[0].Seq || byOffset.Events[99].Seq != byCursor.Events[99].Seq {
		b.Fatal("offset and cursor pages at the same depth differ")
	}
	return d
}

func BenchmarkQuery(b *testing.B) {
	d := buildBenchDB(b)
	ctx := context.Background()
	store := d.store

	page := func(name string, filter func(i int) simdb.EventFilter, minEvents int) {
		b.Run(name, func(b *testing.B) {
			var events int
			for i := 0; b.Loop(); i++ {
				p, err := store.GetSimulationEvents(ctx, benchSimID, filter(i))
				if err != nil {
					b.Fatal(err)
				}
				if len(p.Events) < minEvents {
					b.Fatalf("%d events (total %d) for %+v", len(p.Events), p.Total, filter(i))
				}
				events += len(p.Events)
			}
			b.ReportMetric(float64(events)/float64(b.N), "events/op")
		})
	}
	page("PageByTick", func(i int) simdb.EventFilter {
		return simdb.EventFilter{Tick: simdb.Int64(int64(i*7919) % d.ticks)}
	}, 100)
	page("PageByAgent", func(i int) simdb.EventFilter {
		return simdb.EventFilter{AgentID: d.agents[i%len(d.agents)]}
	}, 100)
	page("PageByAgentInTickRange", func(i int) simdb.EventFilter {
		lo := int64(i*7919) % (d.ticks - 10)
		return simdb.EventFilter{AgentID: d.agents[i%len(d.agents)], TickMin: simdb.Int64(lo), TickMax: simdb.Int64(lo + 9)}
	}, 100)
	page("PageByTx", func(i int) simdb.EventFilter {
		return simdb.EventFilter{TxID: d.txs[(i*31)%len(d.txs)]}
	}, 3)
	page("PageByType", func(i int) simdb.EventFilter {
		return simdb.EventFilter{EventTypes: []string{"LsmBilateralOffset", "EndOfDay"}, Offset: (i * 100) % 1000}
	}, 100)
	page("DeepOffsetPage", func(int) simdb.EventFilter {
		return simdb.EventFilter{Offset: benchDeepOffset}
	}, 100)
	page("KeysetPageSameDepth", func(int) simdb.EventFilter {
		return simdb.EventFilter{After: &d.deep}
	}, 100)
	page("KeysetPageSameDepthDesc", func(int) simdb.EventFilter {
		return simdb.EventFilter{After: &simdb.Cursor{Tick: d.deep.Tick, Seq: d.deep.Seq}, Sort: simdb.SortTickDesc}
	}, 100)

	b.Run("EventSummary", func(b *testing.B) {
		for b.Loop() {
			sum, err := store.GetEventSummary(ctx, benchSimID)
			if err != nil {
				b.Fatal(err)
			}
			if sum.TotalEvents != d.events || len(sum.Agents) != benchAgents {
				b.Fatalf("summary: %d events, %d agents", sum.TotalEvents, len(sum.Agents))
			}
		}
	})

	b.Run("StreamAll", func(b *testing.B) {
		for b.Loop() {
			var n int64
			for _, err := range store.StreamEvents(ctx, benchSimID, simdb.EventFilter{}) {
				if err != nil {
					b.Fatal(err)
				}
				n++
			}
			if n != d.events {
				b.Fatalf("streamed %d of %d events", n, d.events)
			}
		}
		b.ReportMetric(float64(d.events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}
