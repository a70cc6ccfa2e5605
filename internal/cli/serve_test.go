package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// served runs `simdb serve` with args in-process until the test ends and
// returns its base URL.
func served(t *testing.T, vars map[string]string, args ...string) string {
	t.Helper()
	for k, v := range vars {
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	var out, errb bytes.Buffer
	e := &env{ctx: ctx, stdin: strings.NewReader(""), stdout: &out, stderr: &errb, serveReady: ready}
	done := make(chan int, 1)
	go func() { done <- run(e, append([]string{"serve"}, args...)) }()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != exitOK {
			t.Errorf("serve ended with exit %d: %s", code, errb.String())
		}
	})
	select {
	case addr := <-ready:
		return "http://" + addr
	case code := <-done:
		done <- code
		t.Fatalf("serve exited %d before listening: %s", code, errb.String())
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start listening within 30s")
	}
	return ""
}

func httpGet(t *testing.T, url string, hdr ...string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(hdr) == 2 {
		req.Header.Set(hdr[0], hdr[1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// The JSONL that simdb serve streams is `simdb export --format jsonl`, byte
// for byte (run on every backend by TestCLIBackends).
func TestServeJSONLEqualsExport(t *testing.T) {
	dir := t.TempDir()
	db := backendOf(t).Database(t, filepath.Join(dir, "db.duckdb"))
	stream, config := genStream(t, dir, "run1", genSpec{agents: 5, days: 2, ticksPerDay: 20, eventsPerTick: 40, seed: 9})
	mustCLI(t, "--db", db, "ingest", "--sim", "run/1", "--config", config, stream)
	exported := mustCLI(t, "--db", db, "export", "run/1", "--format", "jsonl", "--out", "-").stdout
	if exported != string(readFile(t, stream)) {
		t.Fatal("export --format jsonl is not the ingested stream")
	}
	base := served(t, nil, "--db", db, "--listen", "127.0.0.1:0")
	code, body := httpGet(t, base+"/simulations/run%2F1/export?format=jsonl")
	if code != 200 || string(body) != exported {
		t.Fatalf("served jsonl: status %d, %d bytes, equal %v (export %d bytes)", code, len(body), string(body) == exported, len(exported))
	}
	code, body = httpGet(t, base+"/simulations/nope")
	if code != 404 || string(body) != `{"detail":"Simulation not found: nope"}`+"\n" {
		t.Fatalf("unknown run: %d %s", code, body)
	}
}

// Off loopback, serve refuses to start without a token; with one (flag or
// environment), a request without it gets 401.
func TestServeNonLoopbackNeedsToken(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db.duckdb")
	mustCLI(t, "--db", db, "demo")
	t.Setenv("SIMDB_SERVE_TOKEN", "")
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "example.com:0"} {
		wantUsage(t, cli(t, "--db", db, "serve", "--listen", addr), "is not a loopback address: give a bearer token (--token or $SIMDB_SERVE_TOKEN)")
	}
	wantUsage(t, cli(t, "--db", db, "serve", "--listen", "nonsense"), `--listen "nonsense" is not host:port`)
	wantFailure(t, cli(t, "--db", filepath.Join(t.TempDir(), "none.duckdb"), "serve"), "does not exist")

	for _, c := range []struct {
		env  map[string]string
		args []string
	}{
		{nil, []string{"--token", "flag-token"}},
		{map[string]string{"SIMDB_SERVE_TOKEN": "flag-token"}, nil},
	} {
		base := served(t, c.env, append([]string{"--db", db, "--listen", "0.0.0.0:0"}, c.args...)...)
		base = strings.Replace(base, "0.0.0.0", "127.0.0.1", 1)
		if code, body := httpGet(t, base+"/simulations"); code != 401 || !strings.Contains(string(body), `"detail"`) {
			t.Fatalf("without the token: %d %s", code, body)
		}
		if code, body := httpGet(t, base+"/simulations", "Authorization", "Bearer flag-token"); code != 200 || !strings.Contains(string(body), `"simulations":[{`) {
			t.Fatalf("with the token: %d %s", code, body)
		}
	}
}
