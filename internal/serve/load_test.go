package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simcash/simdb"
)

// Load environment: the benchmark runs only when SIMDB_SERVE_LOAD_DB names
// a database holding the run SIMDB_SERVE_LOAD_SIM (BENCHMARKS.md has the
// commands that make a 1M-event one).
const (
	loadDBEnv       = "SIMDB_SERVE_LOAD_DB"
	loadSimEnv      = "SIMDB_SERVE_LOAD_SIM"
	loadClientsEnv  = "SIMDB_SERVE_LOAD_CLIENTS"  // default 50
	loadDurationEnv = "SIMDB_SERVE_LOAD_DURATION" // default 30s
)

// BenchmarkServeLoad: concurrent clients page a run through the events
// endpoint for a fixed time, each from a random tick forward with the
// cursor (one in eight filtered by an agent, another one in eight by an
// event type), 100 events a page. It reports the latency percentiles per page,
// the errors (any non-200 or transport error fails it), and the server
// process's Go heap and resident size sampled each second: the first and
// last five seconds' averages show whether memory stays flat. The server
// runs in the benchmark's process, so the resident size includes the
// clients' own (small, constant) share.
func BenchmarkServeLoad(b *testing.B) {
	dsn, sim := os.Getenv(loadDBEnv), os.Getenv(loadSimEnv)
	if dsn == "" || sim == "" {
		b.Skipf("%s and %s are not set: the load benchmark needs a large run (BENCHMARKS.md)", loadDBEnv, loadSimEnv)
	}
	clients, dur := 50, 30*time.Second
	if v, err := strconv.Atoi(os.Getenv(loadClientsEnv)); err == nil && v > 0 {
		clients = v
	}
	if v, err := time.ParseDuration(os.Getenv(loadDurationEnv)); err == nil && v > 0 {
		dur = v
	}
	ctx := context.Background()
	// Opened as simdb serve opens it (its --memory-limit default).
	store, err := simdb.Open(ctx, dsn, simdb.Options{ReadOnly: true, MemoryLimit: "256MB"})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	sum, err := store.GetEventSummary(ctx, sim)
	if err != nil {
		b.Fatal(err)
	}
	maxTick := *sum.MaxTick
	cc := &connCounter{open: map[any]bool{}}
	base := newServerWithHook(b, New(store, Options{}), cc)
	tr := &http.Transport{MaxIdleConnsPerHost: clients}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	var mu sync.Mutex
	var lat []time.Duration
	var pages, events int64
	var errs []string
	samples := sampleMemory(dur)
	deadline := time.Now().Add(dur)
	b.ResetTimer()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(c), 7))
			var mine []time.Duration
			var n int64
			q := url.Values{}
			lastSeq := int64(-1)
			for time.Now().Before(deadline) {
				if q.Get("after") == "" {
					q = url.Values{"limit": {"100"}, "tick_min": {strconv.FormatInt(rng.Int64N(maxTick+1), 10)}}
					switch {
					case c%8 == 0:
						q.Set("event_type", sum.ByType[rng.IntN(min(3, len(sum.ByType)))].EventType)
					case c%4 == 0:
						q.Set("agent_id", sum.Agents[rng.IntN(len(sum.Agents))])
					}
				}
				t0 := time.Now()
				resp, err := client.Get(base + "/simulations/" + url.PathEscape(sim) + "/events?" + q.Encode())
				// A client reads each page whole and checks what it can
				// of it cheaply: the filter's type and tick_min, and seq
				// order within and across its pages.
				var p struct {
					Events     []loadEvent `json:"events"`
					NextCursor string      `json:"next_cursor"`
				}
				if err == nil {
					if resp.StatusCode != 200 {
						body, _ := io.ReadAll(resp.Body)
						err = fmt.Errorf("status %d: %s", resp.StatusCode, body)
					} else if err = json.NewDecoder(resp.Body).Decode(&p); err == nil {
						err = checkPage(q, lastSeq, p.Events)
					}
					resp.Body.Close()
				}
				mine = append(mine, time.Since(t0))
				if err != nil {
					mu.Lock()
					errs = append(errs, err.Error())
					mu.Unlock()
					q.Del("after")
					continue
				}
				n += int64(len(p.Events))
				if len(p.Events) > 0 {
					lastSeq = p.Events[len(p.Events)-1].Seq
				}
				q.Set("after", p.NextCursor)
			}
			mu.Lock()
			lat = append(lat, mine...)
			pages += int64(len(mine))
			events += n
			mu.Unlock()
		})
	}
	wg.Wait()
	b.StopTimer()
	mem := <-samples
	tr.CloseIdleConnections()

	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(float64(len(lat))*p))] }
	b.ReportMetric(float64(pages)/dur.Seconds(), "pages/s")
	b.ReportMetric(float64(pct(0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(pct(0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(float64(len(errs)), "errors")
	b.Logf("%d clients, %v: %d pages (%d events), p50 %v p99 %v max %v, %d errors",
		clients, dur, pages, events, pct(0.50), pct(0.99), lat[len(lat)-1], len(errs))
	b.Logf("memory, first 5 s → last 5 s: Go heap %s → %s MiB, RSS %s → %s MiB (samples %d)",
		mem.heapFirst, mem.heapLast, mem.rssFirst, mem.rssLast, mem.n)
	if len(errs) > 0 {
		b.Fatalf("%d errors, first: %s", len(errs), errs[0])
	}
	eventually(b, "connections closed after the load", func() bool { return cc.n() == 0 })
}

type memSummary struct {
	n                                      int
	heapFirst, heapLast, rssFirst, rssLast string
}

// sampleMemory samples the Go heap and the resident size each second for
// dur and sends the first and last five seconds' averages.
func sampleMemory(dur time.Duration) <-chan memSummary {
	out := make(chan memSummary, 1)
	go func() {
		var heap, rss []float64
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for end := time.Now().Add(dur); time.Now().Before(end); <-tick.C {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			heap = append(heap, float64(ms.HeapAlloc)/(1<<20))
			rss = append(rss, residentMiB())
		}
		avg := func(xs []float64, last bool) string {
			k := min(5, len(xs))
			if last {
				xs = xs[len(xs)-k:]
			} else {
				xs = xs[:k]
			}
			var s float64
			for _, x := range xs {
				s += x
			}
			return strconv.FormatFloat(s/float64(max(k, 1)), 'f', 0, 64)
		}
		out <- memSummary{len(heap), avg(heap, false), avg(heap, true), avg(rss, false), avg(rss, true)}
	}()
	return out
}

// residentMiB is the process's resident size (Linux; 0 elsewhere).
func residentMiB() float64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseFloat(f[1], 64)
	return pages * float64(os.Getpagesize()) / (1 << 20)
}

// loadEvent is what a load client reads of each event.
type loadEvent struct {
	Seq       int64  `json:"seq"`
	Tick      int64  `json:"tick"`
	EventType string `json:"event_type"`
}

// checkPage checks a load client's page of the query q, which follows a
// page ending at lastSeq when q has a cursor: ascending seq after it, the
// ticks from tick_min on, the type asked for.
func checkPage(q url.Values, lastSeq int64, events []loadEvent) error {
	tickMin, _ := strconv.ParseInt(q.Get("tick_min"), 10, 64)
	prev := int64(-1)
	if q.Get("after") != "" {
		prev = lastSeq
	}
	for _, ev := range events {
		if ev.Seq <= prev || ev.Tick < tickMin || (q.Has("event_type") && ev.EventType != q.Get("event_type")) {
			return fmt.Errorf("page of %s: event seq %d tick %d type %s after seq %d", q.Encode(), ev.Seq, ev.Tick, ev.EventType, prev)
		}
		prev = ev.Seq
	}
	return nil
}
