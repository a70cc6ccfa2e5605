package simdb_test

import (
	"bufio"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/testutil"
)

// The agent and transaction filters find every event that names the agent
// or transaction, ScenarioEventExecuted's details_json included, on the
// large real stream: each total equals a count made from the raw lines
// with encoding/json by the documented keys.
func TestFiltersCountScenarioParties(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("large stream skipped in -short mode")
	}
	path := testutil.CorpusFile(t, "large.jsonl.gz")
	b := setup(t, simdb.Options{})
	b.start(t, "large")
	if _, err := b.store.IngestJSONL(b.ctx, "large", testutil.OpenGzip(t, path), simdb.IngestOptions{Source: path}); err != nil {
		t.Fatal(err)
	}

	agents, txs, scenarioAgents, scenarioTxs, txShapes, scenarioEvents := refCounts(t, path)
	if scenarioEvents == 0 {
		t.Fatal("no ScenarioEventExecuted event names a party: the test proves nothing")
	}
	t.Logf("%d ScenarioEventExecuted events name a party inside details_json", scenarioEvents)
	total := func(f simdb.EventFilter) int64 {
		t.Helper()
		f.Limit = 1
		page, err := b.store.GetSimulationEvents(b.ctx, "large", f)
		if err != nil {
			t.Fatal(err)
		}
		return page.Total
	}
	scenario := []string{"ScenarioEventExecuted"}
	for _, a := range countKeys(agents) {
		if got := total(simdb.EventFilter{AgentID: a}); got != agents[a] {
			t.Errorf("agent %s: the filter finds %d events, the raw lines name it in %d", a, got, agents[a])
		}
		if got := total(simdb.EventFilter{AgentID: a, EventTypes: scenario}); got != scenarioAgents[a] {
			t.Errorf("agent %s: the filter finds %d ScenarioEventExecuted events, the raw lines name it in %d", a, got, scenarioAgents[a])
		}
	}
	// The transactions a scenario names, each in the places of the stream
	// that name it (an event type and key): the first of every distinct
	// set of places, then every sixteenth. Those with the same places
	// differ only in their ids, and each query is two scans of the run.
	seen := map[string]bool{}
	var sample []string
	for i, tx := range countKeys(scenarioTxs) {
		if shape := txShapes[tx]; !seen[shape] || i%16 == 0 {
			seen[shape] = true
			sample = append(sample, tx)
		}
	}
	t.Logf("%d transactions named by a scenario, in %d distinct sets of places; %d checked", len(scenarioTxs), len(seen), len(sample))
	for _, tx := range sample {
		if got := total(simdb.EventFilter{TxID: tx}); got != txs[tx] {
			t.Errorf("tx %s: the filter finds %d events, the raw lines name it in %d", tx, got, txs[tx])
		}
		if got := total(simdb.EventFilter{TxID: tx, EventTypes: scenario}); got != scenarioTxs[tx] {
			t.Errorf("tx %s: the filter finds %d ScenarioEventExecuted events, the raw lines name it in %d", tx, got, scenarioTxs[tx])
		}
	}
}

// refCounts reads the stream with encoding/json and counts, per agent and
// per transaction, the events that name it (each event once) — all events,
// and ScenarioEventExecuted's alone — and how many scenario events name
// anyone, by the reference rules of refParties. txShapes holds, per
// transaction, the sorted places that name it (refPartiesAt), joined.
func refCounts(t *testing.T, path string) (agents, txs, scenarioAgents, scenarioTxs map[string]int64, txShapes map[string]string, scenarioEvents int) {
	t.Helper()
	agents, txs = map[string]int64{}, map[string]int64{}
	scenarioAgents, scenarioTxs = map[string]int64{}, map[string]int64{}
	places := map[string][]string{}
	sc := bufio.NewScanner(testutil.OpenGzip(t, path))
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for sc.Scan() {
		var obj map[string]any
		if err := json.Unmarshal(sc.Bytes(), &obj); err != nil {
			t.Fatal(err)
		}
		as, ts := refPartiesAt(obj, func(tx, where string) {
			if !slices.Contains(places[tx], where) {
				places[tx] = append(places[tx], where)
			}
		})
		isScenario := obj["event_type"] == "ScenarioEventExecuted"
		if isScenario && len(as)+len(ts) > 0 {
			scenarioEvents++
		}
		for a := range as {
			agents[a]++
			if isScenario {
				scenarioAgents[a]++
			}
		}
		for tx := range ts {
			txs[tx]++
			if isScenario {
				scenarioTxs[tx]++
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	txShapes = map[string]string{}
	for tx, ws := range places {
		slices.Sort(ws)
		txShapes[tx] = strings.Join(ws, " ")
	}
	return agents, txs, scenarioAgents, scenarioTxs, txShapes, scenarioEvents
}

func countKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
