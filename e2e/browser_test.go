// Package e2e drives simdb serve's web page in headless Chromium. It is a
// module of its own so that a program importing simdb gets none of the
// browser driver's dependencies.
package e2e

import (
	"compress/gzip"
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/serve"
)

// ScreenshotEnv names a PNG file the test writes the run page to (how
// docs/serve-run.png is made): `make screenshot`.
const ScreenshotEnv = "SIMDB_E2E_SCREENSHOT"

func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium on PATH: the browser test is skipped (apt-get install -y chromium; .ci/run installs it)")
	return ""
}

// smallRun ingests the corpus's small stream into a fresh DuckDB file and
// returns it opened read-only, as simdb serve opens it.
func smallRun(t *testing.T) *simdb.Store {
	dir := os.Getenv("SIMDB_CORPUS")
	if dir == "" {
		t.Skip("SIMDB_CORPUS is not set: the browser test needs the small SimCash stream")
	}
	ctx := context.Background()
	f, err := os.Open(filepath.Join(dir, "small.jsonl.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	meta, err := os.ReadFile(filepath.Join(dir, "small.meta.json"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "small.duckdb")
	w, err := simdb.Open(ctx, path, simdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.PersistSimulationStart(ctx, "small", meta, simdb.StartOptions{ConfigFile: "small.meta.json"}); err != nil {
		t.Fatal(err)
	}
	res, err := w.IngestJSONL(ctx, "small", zr, simdb.IngestOptions{Source: "small.jsonl.gz"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.PersistSimulationComplete(ctx, "small", res.Metrics); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	store, err := simdb.Open(ctx, path, simdb.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

var digits = regexp.MustCompile(`[^0-9]`)

func atoi(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(digits.ReplaceAllString(s, ""), 10, 64)
	if err != nil {
		t.Fatalf("%q holds no number", s)
	}
	return n
}

// The run page of the small SimCash stream shows its 4,488 events by type
// in the chart; filtered by BANK_C, the table's first row is the first
// event BANK_C takes part in, and clicking its transaction shows that
// transaction's whole life.
func TestBrowserRunPage(t *testing.T) {
	browser := chromium(t)
	store := smallRun(t)
	hs := httptest.NewServer(serve.New(store, serve.Options{}))
	defer hs.Close()

	want, err := store.GetSimulationEvents(context.Background(), "small", simdb.EventFilter{AgentID: "BANK_C", Limit: 1})
	if err != nil || len(want.Events) != 1 {
		t.Fatalf("first BANK_C event: %v", err)
	}
	first := want.Events[0]
	life, err := store.GetSimulationEvents(context.Background(), "small", simdb.EventFilter{TxID: *first.TxID, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser), chromedp.NoSandbox,
		chromedp.WindowSize(1366, 1150), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()

	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	run := func(what string, a chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, a); err != nil {
			t.Fatalf("browser, %s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(css(sel), chromedp.NodeVisible))
		if err != nil {
			t.Fatalf("browser, text of %s: %v", sel, err)
		}
		return v
	}
	texts := func(sel string) []string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll(`+strconv.Quote(sel)+`)].map(e => e.textContent)`))
		if err != nil {
			t.Fatalf("browser, texts of %s: %v", sel, err)
		}
		return v
	}

	run("open the run page", chromedp.Navigate(hs.URL+"/#/run/small"))
	run("chart drawn", chromedp.WaitVisible(css("#chart-types-caption")))
	caption := text("#chart-types-caption")
	counts := texts("#type-legend li .n")
	run("table filled", chromedp.WaitVisible(css("#events tbody tr")))
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	// Filter by agent with the form's own controls: the select and the
	// Apply button.
	run("choose BANK_C", chromedp.SetValue(css("#f-agent"), "BANK_C"))
	run("apply", chromedp.Click(css("#apply")))
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector("#page-info").textContent.endsWith("of `+commas(want.Total)+`")`)); err != nil {
		t.Fatalf("filtered page never showed %d events: %v", want.Total, err)
	}
	info := text("#page-info")
	firstRow := texts("#events tbody tr:first-child td")
	run("open the transaction", chromedp.Click(css("#events tbody tr:first-child button.link")))
	run("transaction life", chromedp.WaitVisible(css("#tx-events tbody tr")))
	lifeTitle := text("#tx-life-h")
	lifeCount := text("#tx-life p")
	if !strings.HasPrefix(caption, "4,488 events by type") {
		t.Errorf("chart caption %q", caption)
	}
	var sum int64
	for _, c := range counts {
		sum += atoi(t, c)
	}
	if sum != 4488 || len(counts) != 17 {
		t.Errorf("legend: %d types summing to %d, want 17 summing to 4488", len(counts), sum)
	}
	if len(firstRow) < 5 || firstRow[0] != strconv.FormatInt(first.Tick, 10) || firstRow[1] != strconv.FormatInt(first.Seq, 10) ||
		firstRow[2] != first.EventType || !strings.Contains(firstRow[3], "BANK_C") || !strings.Contains(firstRow[4], *first.TxID) {
		t.Errorf("first row for BANK_C %q, want tick %d seq %d %s %s", firstRow, first.Tick, first.Seq, first.EventType, *first.TxID)
	}
	if !strings.HasPrefix(info, "1–50 of ") {
		t.Errorf("page info %q", info)
	}
	if lifeTitle != "Life of transaction "+*first.TxID || !strings.HasPrefix(lifeCount, strconv.FormatInt(life.Total, 10)+" events") {
		t.Errorf("transaction life: %q, %q (want %d events)", lifeTitle, lifeCount, life.Total)
	}
	if p := os.Getenv(ScreenshotEnv); p != "" {
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// commas formats n as the page does (en-US grouping).
func commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
