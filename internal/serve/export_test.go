package serve

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/simgen"
)

// The whole run downloads as JSONL (the events byte for byte, as ingested),
// CSV and Parquet (the columns of ExportColumns), on both backends; the
// temporary files are gone afterwards.
func TestServeExport(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		tmp := t.TempDir()
		h := newHarness(t, fixture(t, dsn), Options{TempDir: tmp})

		r := h.get(t, "/simulations/r1/export", vals("format", "jsonl"))
		want := strings.Join(fixtureLines(), "\n") + "\n"
		if r.status != 200 || string(r.body) != want {
			t.Fatalf("jsonl: %d\n%s\nwant\n%s", r.status, r.body, want)
		}
		if r.header.Get("Content-Type") != "application/x-ndjson" || r.header.Get("Content-Disposition") != `attachment; filename=r1.jsonl` {
			t.Fatalf("jsonl headers %v", r.header)
		}
		if d := h.get(t, "/simulations/r1/export", nil); !bytes.Equal(d.body, r.body) {
			t.Fatal("export without a format is not the jsonl")
		}
		if r := h.get(t, "/simulations/r2/export", nil); r.status != 200 || len(r.body) != 0 {
			t.Fatalf("run without events: %d %q", r.status, r.body)
		}

		r = h.get(t, "/simulations/r1/export", vals("format", "csv"))
		rows, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
		if r.status != 200 || err != nil || len(rows) != 11 || !slices.Equal(rows[0], simdb.ExportColumns()) {
			t.Fatalf("csv: %d %v %d rows, header %v", r.status, err, len(rows), rows[0])
		}

		r = h.get(t, "/simulations/r1/export", vals("format", "parquet"))
		if r.status != 200 || !bytes.HasPrefix(r.body, []byte("PAR1")) || r.header.Get("Content-Length") != fmt.Sprint(len(r.body)) {
			t.Fatalf("parquet: %d, %d bytes, header %v", r.status, len(r.body), r.header)
		}
		pq := filepath.Join(t.TempDir(), "r1.parquet")
		if err := os.WriteFile(pq, r.body, 0o600); err != nil {
			t.Fatal(err)
		}
		db, err := sql.Open("duckdb", "")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n, cost int64
		if err := db.QueryRow(`SELECT count(*), count(*) FILTER (event_type = 'CostAccrual') FROM read_parquet('`+pq+`')`).Scan(&n, &cost); err != nil || n != 10 || cost != 2 {
			t.Fatalf("parquet rows %d (CostAccrual %d): %v", n, cost, err)
		}

		h.get(t, "/simulations/r1/export", vals("format", "xml")).detail(t, 400, `format="xml" is not jsonl, csv or parquet`)
		h.get(t, "/simulations/nope/export", vals("format", "csv")).detail(t, 404, "Simulation not found: nope")
		if left := tempFiles(t, tmp); len(left) != 0 {
			t.Fatalf("temporary files left: %v", left)
		}
	})
}

// With a token, API requests need it (header or access_token); the page's
// own files do not.
func TestServeToken(t *testing.T) {
	h := newHarness(t, fixture(t, filepath.Join(t.TempDir(), "t.duckdb")), Options{Token: "s3cret"})
	for _, hdr := range [][]string{nil, {"Authorization", "Bearer wrong"}, {"Authorization", "Basic s3cret"}, {"Authorization", "Bearer"}} {
		r := h.get(t, "/simulations", nil, hdr...)
		r.detail(t, 401, "bearer token")
		if r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("401 without WWW-Authenticate")
		}
	}
	h.get(t, "/simulations/nope", nil).detail(t, 401, "bearer token")
	h.get(t, "/simulations/r1/export", vals("access_token", "nope")).detail(t, 401, "bearer token")
	if r := h.get(t, "/simulations", nil, "Authorization", "Bearer s3cret"); r.status != 200 {
		t.Fatalf("with the token: %d %s", r.status, r.body)
	}
	if r := h.get(t, "/simulations/r1/export", vals("access_token", "s3cret")); r.status != 200 || len(r.body) == 0 {
		t.Fatalf("download with access_token: %d", r.status)
	}
	for _, p := range []string{"/", "/assets/app.js", "/assets/app.css"} {
		if r := h.get(t, p, nil); r.status != 200 {
			t.Fatalf("%s without the token: %d", p, r.status)
		}
	}
}

// bigRun stores a generated run of about n events in a DuckDB file and
// returns it opened read-only.
func bigRun(t *testing.T, sim string, n int) *simdb.Store {
	t.Helper()
	ctx := context.Background()
	dsn := filepath.Join(t.TempDir(), "big.duckdb")
	w, err := simdb.Open(ctx, dsn, simdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := simgen.Options{Agents: 8, Days: 1, TicksPerDay: n / 200, EventsPerTick: 200, Seed: 1}
	var buf bytes.Buffer
	if _, err := simgen.Write(&buf, o); err != nil {
		t.Fatal(err)
	}
	if err := w.PersistSimulationStart(ctx, sim, simgen.Config(o), simdb.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := w.IngestJSONL(ctx, sim, &buf, simdb.IngestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.PersistSimulationComplete(ctx, sim, res.Metrics); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return openRead(t, dsn)
}

// connCounter counts the server's open connections.
type connCounter struct {
	mu   sync.Mutex
	open map[any]bool
}

func (c *connCounter) hook(conn any, st http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st == http.StateClosed || st == http.StateHijacked {
		delete(c.open, conn)
	} else {
		c.open[conn] = true
	}
}

func (c *connCounter) n() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.open)
}

// eventually polls cond for up to 10 s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("after 10s: %s", what)
}

// A client that leaves mid-stream, and one that stops reading, leave
// nothing behind: the server's goroutines, connections and heavy slots
// return to what they were. A slow client that keeps reading gets the
// whole stream however long it takes: the WriteTimeout does not cut it.
// Heavy requests past the cap get 503 with a detail.
func TestServeStreamsLeaveNothingBehind(t *testing.T) {
	store := bigRun(t, "big", 200_000)
	cc := &connCounter{open: map[any]bool{}}
	tmp := t.TempDir()
	s := New(store, Options{TempDir: tmp, StreamIdle: 2 * time.Second, WriteTimeout: 300 * time.Millisecond, MaxHeavy: 1})
	hs := newServerWithHook(t, s, cc)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	get := func(q string) *http.Response {
		resp, err := client.Get(hs + "/simulations/big/export?" + q)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	// Warm up: the store's connection pool and the runtime's own
	// goroutines exist before the baseline is taken.
	resp := get("format=jsonl")
	full, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || bytes.Count(full, []byte{'\n'}) < 190_000 {
		t.Fatalf("full stream: %d bytes, %v", len(full), err)
	}
	eventually(t, "connections closed after the warm-up", func() bool { return cc.n() == 0 })
	base := runtime.NumGoroutine()
	settled := func(what string) {
		eventually(t, what+": goroutines, connections and heavy slots back to the baseline", func() bool {
			return runtime.NumGoroutine() <= base && cc.n() == 0 && len(s.heavy) == 0
		})
	}

	// 1. The client reads a little and hangs up.
	for _, format := range []string{"jsonl", "csv"} {
		resp = get("format=" + format)
		if _, err := io.ReadFull(resp.Body, make([]byte, 4096)); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		settled("client gone mid-" + format)
	}
	// 2. The client stops reading: cut after StreamIdle (a slow machine
	// stalls a steady reader for less than that).
	// (The client's own goroutines live until it closes the body, so the
	// server's side is checked first.)
	resp = get("format=jsonl")
	eventually(t, "a stalled client's connection cut and its slot freed", func() bool { return cc.n() == 0 && len(s.heavy) == 0 })
	resp.Body.Close()
	settled("client stopped reading")
	// 3. A slow reader outlives the WriteTimeout and gets every byte.
	resp = get("format=jsonl")
	br := bufio.NewReader(resp.Body)
	var got bytes.Buffer
	start := time.Now()
	for lines := 0; ; lines++ {
		line, err := br.ReadBytes('\n')
		got.Write(line)
		if err != nil {
			break
		}
		if lines%2000 == 0 && time.Since(start) < time.Second {
			time.Sleep(20 * time.Millisecond)
		}
	}
	resp.Body.Close()
	if time.Since(start) < 300*time.Millisecond || !bytes.Equal(got.Bytes(), full) {
		t.Fatalf("slow reader got %d of %d bytes in %v", got.Len(), len(full), time.Since(start))
	}
	// 4. Past the cap: 503 with a detail, at once.
	resp = get("format=jsonl")
	busy := get("format=csv")
	if _, err := io.ReadFull(resp.Body, make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(busy.Body)
	busy.Body.Close()
	if busy.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), `"detail":"Too many exports`) || busy.Header.Get("Retry-After") == "" {
		t.Fatalf("second heavy request: %d %s", busy.StatusCode, b)
	}
	resp.Body.Close()
	settled("after the cap")
	if left := tempFiles(t, tmp); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

// newServerWithHook starts s on a loopback port with cc counting its
// connections and returns its base URL.
func newServerWithHook(t testing.TB, s *Server, cc *connCounter) string {
	t.Helper()
	hs := s.HTTPServer("127.0.0.1:0")
	hs.ConnState = func(c netConn, st http.ConnState) { cc.hook(c, st) }
	ln, err := listenLoopback()
	if err != nil {
		t.Fatal(err)
	}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return "http://" + ln.Addr().String()
}
