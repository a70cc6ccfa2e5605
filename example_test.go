package simdb_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/simcash/simdb"
)

// openExampleStore opens a Store on a new file in a fresh temporary folder;
// cleanup closes it and removes the folder.
func openExampleStore(ctx context.Context) (store *simdb.Store, cleanup func()) {
	dir, err := os.MkdirTemp("", "simdb-example-")
	if err != nil {
		log.Fatal(err)
	}
	store, err = simdb.Open(ctx, filepath.Join(dir, "runs.duckdb"), simdb.Options{})
	if err != nil {
		os.RemoveAll(dir)
		log.Fatal(err)
	}
	return store, func() {
		if err := store.Close(); err != nil {
			log.Print(err)
		}
		os.RemoveAll(dir)
	}
}

// exampleTicks are three ticks of a small run, as the engine emits them:
// flat JSON objects with event_type, tick and the event's own fields.
var exampleTicks = [][]json.RawMessage{
	{
		json.RawMessage(`{"event_type":"Arrival","tick":0,"tx_id":"tx-1","sender_id":"BANK_A","receiver_id":"BANK_B","amount":125000,"deadline":10,"priority":5,"is_divisible":false}`),
		json.RawMessage(`{"event_type":"RtgsImmediateSettlement","tick":0,"tx_id":"tx-1","sender":"BANK_A","receiver":"BANK_B","amount":125000,"sender_balance_before":500000,"sender_balance_after":375000}`),
	},
	{
		json.RawMessage(`{"event_type":"Arrival","tick":1,"tx_id":"tx-2","sender_id":"BANK_B","receiver_id":"BANK_C","amount":90000,"deadline":12,"priority":3,"is_divisible":false}`),
		json.RawMessage(`{"event_type":"QueuedRtgs","tick":1,"tx_id":"tx-2","sender_id":"BANK_B"}`),
	},
	{
		json.RawMessage(`{"event_type":"LsmBilateralOffset","tick":2,"agent_a":"BANK_B","agent_b":"BANK_C","tx_ids":["tx-2"],"amount_a":90000,"amount_b":0,"amount":90000}`),
		json.RawMessage(`{"event_type":"CostAccrual","tick":2,"agent_id":"BANK_B","costs":{"liquidity_cost":0,"delay_cost":150,"collateral_cost":0,"penalty_cost":0,"split_friction_cost":0,"total":150}}`),
	},
}

// A run from start to finish: open a file, record the start, persist each
// tick's events, record the final metrics, then read the events back a
// page at a time.
func Example() {
	ctx := context.Background()
	store, cleanup := openExampleStore(ctx)
	defer cleanup()

	config := json.RawMessage(`{"ticks_per_day":10,"num_days":1,"rng_seed":7}`)
	if err := store.PersistSimulationStart(ctx, "run-1", config, simdb.StartOptions{}); err != nil {
		log.Fatal(err)
	}
	for tick, events := range exampleTicks {
		if _, err := store.PersistTickEvents(ctx, "run-1", int64(tick), events); err != nil {
			log.Fatal(err)
		}
	}
	err := store.PersistSimulationComplete(ctx, "run-1", simdb.Metrics{
		TotalArrivals: 2, TotalSettlements: 2, TotalCostCents: 150, DurationSeconds: 0.5,
	})
	if err != nil {
		log.Fatal(err)
	}

	// BANK_C's events, one per page: the agent filter sees every name the
	// engine gives a party (receiver_id, sender, agent_b, agents…), and
	// each page's Next cursor continues where it ended.
	filter := simdb.EventFilter{AgentID: "BANK_C", Limit: 1}
	for {
		page, err := store.GetSimulationEvents(ctx, "run-1", filter)
		if err != nil {
			log.Fatal(err)
		}
		if len(page.Events) == 0 {
			break
		}
		fmt.Printf("page of %d (%d in all):\n", len(page.Events), page.Total)
		for _, ev := range page.Events {
			fmt.Printf("  seq %d tick %d %s %v\n", ev.Seq, ev.Tick, ev.EventType, ev.Agents)
		}
		filter.After = page.Next
	}

	sum, err := store.GetSimulationSummary(ctx, "run-1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %d events, settlement rate %.2f, cost %d cents\n", sum.Status, sum.EventCount, sum.SettlementRate, *sum.TotalCostCents)
	// Output:
	// page of 1 (2 in all):
	//   seq 2 tick 1 Arrival [BANK_B BANK_C]
	// page of 1 (2 in all):
	//   seq 4 tick 2 LsmBilateralOffset [BANK_B BANK_C]
	// completed: 6 events, settlement rate 1.00, cost 150 cents
}

// Streaming a whole run: StreamEvents yields every event in (tick, seq)
// order, however many there are, without paging, and each one gives back
// the object the engine emitted, byte for byte.
func ExampleStore_StreamEvents() {
	ctx := context.Background()
	store, cleanup := openExampleStore(ctx)
	defer cleanup()

	config := json.RawMessage(`{"ticks_per_day":10,"num_days":1}`)
	if err := store.PersistSimulationStart(ctx, "run-1", config, simdb.StartOptions{}); err != nil {
		log.Fatal(err)
	}
	var emitted []json.RawMessage
	for tick, events := range exampleTicks {
		if _, err := store.PersistTickEvents(ctx, "run-1", int64(tick), events); err != nil {
			log.Fatal(err)
		}
		emitted = append(emitted, events...)
	}

	same := 0
	for ev, err := range store.StreamEvents(ctx, "run-1", simdb.EventFilter{}) {
		if err != nil {
			log.Fatal(err)
		}
		raw, err := ev.Raw()
		if err != nil {
			log.Fatal(err)
		}
		if string(raw) == string(emitted[ev.Seq]) {
			same++
		}
		fmt.Printf("%d %d %s tx=%v\n", ev.Seq, ev.Tick, ev.EventType, ev.TxIDs)
	}
	fmt.Printf("%d of %d events rebuilt byte for byte\n", same, len(emitted))
	// Output:
	// 0 0 Arrival tx=[tx-1]
	// 1 0 RtgsImmediateSettlement tx=[tx-1]
	// 2 1 Arrival tx=[tx-2]
	// 3 1 QueuedRtgs tx=[tx-2]
	// 4 2 LsmBilateralOffset tx=[tx-2]
	// 5 2 CostAccrual tx=[]
	// 6 of 6 events rebuilt byte for byte
}

// An experiment's runs: each iteration is recorded with its experiment run
// and iteration number, and ListSimulations returns the experiment's runs in
// iteration order, whatever order they were started in.
func ExampleStore_ListSimulations() {
	ctx := context.Background()
	store, cleanup := openExampleStore(ctx)
	defer cleanup()

	config := json.RawMessage(`{"ticks_per_day":10,"num_days":1}`)
	for _, it := range []int32{2, 0, 1} {
		id := fmt.Sprintf("exp-7-it%d", it)
		opts := simdb.StartOptions{Experiment: &simdb.Experiment{RunID: "exp-7", Iteration: it}}
		if err := store.PersistSimulationStart(ctx, id, config, opts); err != nil {
			log.Fatal(err)
		}
		err := store.PersistSimulationComplete(ctx, id, simdb.Metrics{
			TotalArrivals: 10, TotalSettlements: 6 + int64(it), TotalCostCents: 1000 * int64(it+1), DurationSeconds: 1,
		})
		if err != nil {
			log.Fatal(err)
		}
	}
	// A run outside the experiment is not among its runs.
	if err := store.PersistSimulationStart(ctx, "standalone", config, simdb.StartOptions{}); err != nil {
		log.Fatal(err)
	}

	runs, err := store.ListSimulations(ctx, simdb.ListFilter{ExperimentRunID: "exp-7"})
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range runs {
		fmt.Printf("iteration %d: %s %s, settlement rate %.1f, cost %d cents\n",
			*r.ExperimentIteration, r.SimulationID, r.Status, r.SettlementRate, *r.TotalCostCents)
	}
	// Output:
	// iteration 0: exp-7-it0 completed, settlement rate 0.6, cost 1000 cents
	// iteration 1: exp-7-it1 completed, settlement rate 0.7, cost 2000 cents
	// iteration 2: exp-7-it2 completed, settlement rate 0.8, cost 3000 cents
}
