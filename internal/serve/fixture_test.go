package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/testutil"
)

// backend is a database the server's tests run against: every test of
// onEveryBackend runs once per backend (PostgreSQL skipped with a message
// when SIMDB_TEST_POSTGRES is unset; scripts/pgtest.sh sets it).
type backend struct {
	name     string
	database func(t *testing.T) string
}

var backends = []backend{
	{"duckdb", func(t *testing.T) string { return filepath.Join(t.TempDir(), "serve.duckdb") }},
	{"postgres", func(t *testing.T) string { return testutil.PostgresURL(t) }},
}

// eachBackend runs test once per backend as a subtest.
func eachBackend(t *testing.T, test func(t *testing.T, dsn string)) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) { test(t, be.database(t)) })
	}
}

// fixtureTicks are the events of run "r1" (ticks_per_day 2: tick 2 is day
// 1). tx2 is named by an LSM offset's tx_ids only at tick 2, BANK_C by a
// PolicyHold's agent_id and as the receiver of tx2.
var fixtureTicks = [][]string{
	{
		`{"event_type":"Arrival","tick":0,"tx_id":"tx1","sender_id":"BANK_A","receiver_id":"BANK_B","amount":100,"deadline":5,"priority":3,"is_divisible":false}`,
		`{"event_type":"Arrival","tick":0,"tx_id":"tx2","sender_id":"BANK_B","receiver_id":"BANK_C","amount":250,"deadline":6,"priority":5,"is_divisible":false}`,
		`{"event_type":"StateRegisterSet","tick":0,"agent_id":"BANK_A","register_key":"k","old_value":0.0,"new_value":1.5,"reason":"r","decision_path":null}`,
		`{"event_type":"CostAccrual","tick":0,"agent_id":"BANK_A","costs":{"liquidity_cost":7,"delay_cost":0,"collateral_cost":0,"penalty_cost":0,"split_friction_cost":0,"total":7}}`,
	},
	{
		`{"event_type":"RtgsImmediateSettlement","tick":1,"tx_id":"tx1","sender":"BANK_A","receiver":"BANK_B","amount":100,"sender_balance_before":1000,"sender_balance_after":900}`,
		`{"event_type":"StateRegisterSet","tick":1,"agent_id":"BANK_A","register_key":"k","old_value":1.5,"new_value":2.5,"reason":"r","decision_path":null}`,
		`{"event_type":"PolicyHold","tick":1,"agent_id":"BANK_C","tx_id":"tx3","reason":"wait"}`,
	},
	{
		`{"event_type":"LsmBilateralOffset","tick":2,"agent_a":"BANK_B","agent_b":"BANK_C","amount_a":250,"amount_b":40,"amount":40,"tx_ids":["tx2","tx3"]}`,
		`{"event_type":"CostAccrual","tick":2,"agent_id":"BANK_B","costs":{"liquidity_cost":5,"delay_cost":0,"collateral_cost":0,"penalty_cost":0,"split_friction_cost":0,"total":5}}`,
		`{"event_type":"EndOfDay","tick":2,"day":1,"unsettled_count":0,"total_penalties":0}`,
	},
}

func fixtureLines() []string {
	var out []string
	for _, tick := range fixtureTicks {
		out = append(out, tick...)
	}
	return out
}

// fixture writes runs r1 (completed, the events above), r2 (failed, no
// events) and e1, e2 (experiment "exp", iterations 1 and 0) into dsn,
// closes the writer and returns the database opened read-only, as simdb
// serve opens it.
func fixture(t *testing.T, dsn string) *simdb.Store {
	t.Helper()
	ctx := context.Background()
	w, err := simdb.Open(ctx, dsn, simdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := json.RawMessage(`{"ticks_per_day":2,"num_days":2,"agents":[{"id":"BANK_A"},{"id":"BANK_B"},{"id":"BANK_C"}]}`)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.PersistSimulationStart(ctx, "r1", cfg, simdb.StartOptions{}))
	for tick, lines := range fixtureTicks {
		raws := make([]json.RawMessage, len(lines))
		for i, l := range lines {
			raws[i] = json.RawMessage(l)
		}
		_, err := w.PersistTickEvents(ctx, "r1", int64(tick), raws)
		must(err)
	}
	must(w.PersistSimulationComplete(ctx, "r1", simdb.Metrics{TotalArrivals: 2, TotalSettlements: 1, TotalCostCents: 12, DurationSeconds: 1}))
	must(w.PersistSimulationStart(ctx, "r2", cfg, simdb.StartOptions{}))
	must(w.PersistSimulationFailed(ctx, "r2", "boom"))
	for i, id := range []string{"e1", "e2"} {
		must(w.PersistSimulationStart(ctx, id, cfg, simdb.StartOptions{Experiment: &simdb.Experiment{RunID: "exp", Iteration: int32(1 - i)}}))
		must(w.PersistSimulationComplete(ctx, id, simdb.Metrics{}))
	}
	must(w.Close())
	return openRead(t, dsn)
}

func openRead(t *testing.T, dsn string) *simdb.Store {
	t.Helper()
	store, err := simdb.Open(context.Background(), dsn, simdb.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

// harness is a server over a store behind a real HTTP listener (so
// deadlines, aborts and disconnects behave as in production).
type harness struct {
	srv  *Server
	http *httptest.Server
}

func newHarness(t *testing.T, store *simdb.Store, opts Options) *harness {
	t.Helper()
	if opts.TempDir == "" {
		opts.TempDir = t.TempDir()
	}
	s := New(store, opts)
	hs := httptest.NewUnstartedServer(s)
	hs.Config = s.HTTPServer("")
	hs.Start()
	t.Cleanup(hs.Close)
	return &harness{srv: s, http: hs}
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) json(t *testing.T, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("answer is not JSON (%v): %s", err, r.body)
	}
}

// detail checks an error answer: the status and SimCash's {"detail": …}
// containing want.
func (r reply) detail(t *testing.T, status int, want string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	var e map[string]any
	r.json(t, &e)
	d, ok := e["detail"].(string)
	if !ok || len(e) != 1 || !strings.Contains(d, want) {
		t.Fatalf("error body %s: want only a detail containing %q", r.body, want)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("error Content-Type %q", ct)
	}
}

func (h *harness) get(t *testing.T, path string, q url.Values, hdr ...string) reply {
	t.Helper()
	u := h.http.URL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return h.do(t, req)
}

func (h *harness) do(t *testing.T, req *http.Request) reply {
	t.Helper()
	c := &http.Client{Timeout: time.Minute}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", req.URL, err)
	}
	return reply{resp.StatusCode, resp.Header, b}
}

func vals(kv ...string) url.Values {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Add(kv[i], kv[i+1])
	}
	return q
}

func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

type netConn = net.Conn

func listenLoopback() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }
