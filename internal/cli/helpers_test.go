package cli

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/simcash/simdb"
)

var update = flag.Bool("update", false, "rewrite golden files")

// goldenDir is resolved at package initialisation, before any test changes
// the working directory.
var goldenDir = func() string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return filepath.Join(wd, "testdata", "golden")
}()

// fixedNow is the wall clock every command sees unless a test picks another
// instant (list orders runs by started_at).
var fixedNow = time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)

type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", r.code, r.stdout, r.stderr)
}

// runAt runs the command line in-process with the clock fixed at now.
func runAt(t *testing.T, now time.Time, stdin io.Reader, args ...string) result {
	t.Helper()
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var out, errb bytes.Buffer
	e := &env{ctx: context.Background(), stdin: stdin, stdout: &out, stderr: &errb, now: func() time.Time { return now }}
	code := run(e, args)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// cli runs args with the fixed clock and no stdin.
func cli(t *testing.T, args ...string) result {
	t.Helper()
	return runAt(t, fixedNow, nil, args...)
}

// mustCLI runs args and fails the test unless they succeed.
func mustCLI(t *testing.T, args ...string) result {
	t.Helper()
	r := cli(t, args...)
	if r.code != exitOK {
		t.Fatalf("simdb %s: %s", strings.Join(args, " "), r)
	}
	return r
}

// ingestLine is ingest's summary; it carries a duration and a rate, so it is
// matched, never compared byte for byte.
func ingestLineRE(events, ticks int, sim string) *regexp.Regexp {
	return regexp.MustCompile(fmt.Sprintf(`^ingested %d events \(%d ticks\) into %q in ([0-9.]+(h|m|s|ms|µs|ns))+ \((\d+|\+Inf) events/s\)`,
		events, ticks, regexp.QuoteMeta(sim)))
}

// wantFailure checks a failed command: exit 1, nothing on stdout, exactly
// one line on stderr containing every fragment.
func wantFailure(t *testing.T, r result, fragments ...string) {
	t.Helper()
	if r.code != exitFailure {
		t.Fatalf("want exit 1, got %s", r)
	}
	if r.stdout != "" {
		t.Errorf("stdout should be empty on failure, got %q", r.stdout)
	}
	if !strings.HasPrefix(r.stderr, "simdb: ") || !strings.HasSuffix(r.stderr, "\n") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("stderr should be one line \"simdb: ...\", got %q", r.stderr)
	}
	for _, f := range fragments {
		if !strings.Contains(r.stderr, f) {
			t.Errorf("stderr %q does not contain %q", r.stderr, f)
		}
	}
}

// wantUsage checks a usage error: exit 2, nothing on stdout, the error on
// one line followed by the pointer to --help.
func wantUsage(t *testing.T, r result, fragment string) {
	t.Helper()
	if r.code != exitUsage {
		t.Fatalf("want exit 2, got %s", r)
	}
	if r.stdout != "" {
		t.Errorf("stdout should be empty on a usage error, got %q", r.stdout)
	}
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "simdb: ") || lines[1] != "Run 'simdb --help' for usage." {
		t.Errorf("stderr should be the error on one line and the --help hint, got %q", r.stderr)
	}
	if !strings.Contains(lines[0], fragment) {
		t.Errorf("usage error %q does not contain %q", lines[0], fragment)
	}
}

// genSpec are gen's flags.
type genSpec struct {
	agents, days, ticksPerDay, eventsPerTick int
	seed                                     int64
}

func (g genSpec) args() []string {
	return []string{"--agents", fmt.Sprint(g.agents), "--days", fmt.Sprint(g.days), "--ticks-per-day", fmt.Sprint(g.ticksPerDay),
		"--events-per-tick", fmt.Sprint(g.eventsPerTick), "--seed", fmt.Sprint(g.seed)}
}

// genStream writes a stream and its config with `simdb gen` and returns
// their paths (stream.jsonl, stream.config.json under dir).
func genStream(t *testing.T, dir, name string, g genSpec) (stream, config string) {
	t.Helper()
	stream = filepath.Join(dir, name+".jsonl")
	config = filepath.Join(dir, name+".config.json")
	r := mustCLI(t, append([]string{"gen", "--out", stream, "--config-out", config}, g.args()...)...)
	if r.stdout != "" {
		t.Errorf("gen --out printed on stdout: %q", r.stdout)
	}
	if !regexp.MustCompile(`^wrote \d+ events \(\d+ ticks\) to ` + regexp.QuoteMeta(stream) + "\n$").MatchString(r.stderr) {
		t.Errorf("gen --out stderr: %q", r.stderr)
	}
	return stream, config
}

// srcEvent is one line of a stream, decoded independently of simdb.
type srcEvent struct {
	line   int // 1-based
	raw    []byte
	tick   int64
	typ    string
	fields map[string]any
}

func readStream(t *testing.T, path string) []srcEvent {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 1 && data[0] == 0x1f && data[1] == 0x8b {
		data = gunzip(t, data)
	}
	var out []srcEvent
	for i, line := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("%s:%d: %v", path, i+1, err)
		}
		tick, err := m["tick"].(json.Number).Int64()
		if err != nil {
			t.Fatalf("%s:%d: tick: %v", path, i+1, err)
		}
		out = append(out, srcEvent{line: i + 1, raw: line, tick: tick, typ: m["event_type"].(string), fields: m})
	}
	return out
}

func gunzip(t *testing.T, data []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return plain
}

func gzipBytes(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeFile(t *testing.T, path string, data []byte) string {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// joinLines writes events back as a stream.
func joinLines(evs []srcEvent) []byte {
	var b bytes.Buffer
	for _, ev := range evs {
		b.Write(ev.raw)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// showRun returns `simdb show SIM --format json`, decoded.
func showJSON(t *testing.T, db, sim string) showOutput {
	t.Helper()
	r := mustCLI(t, "--db", db, "show", sim, "--format", "json")
	var out showOutput
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("show --format json: %v\n%s", err, r.stdout)
	}
	return out
}

// allEvents returns `simdb events SIM --all --format jsonl [extra...]`,
// decoded.
func allEvents(t *testing.T, db, sim string, extra ...string) []simdb.StoredEvent {
	t.Helper()
	r := mustCLI(t, append([]string{"--db", db, "events", sim, "--all", "--format", "jsonl"}, extra...)...)
	return decodeJSONL(t, r.stdout)
}

func decodeJSONL(t *testing.T, s string) []simdb.StoredEvent {
	t.Helper()
	var out []simdb.StoredEvent
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for sc.Scan() {
		var ev simdb.StoredEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("jsonl line %q: %v", sc.Text(), err)
		}
		out = append(out, ev)
	}
	return out
}

func deref64(p *int64) string {
	if p == nil {
		return "NULL"
	}
	return fmt.Sprint(*p)
}

func derefS(p *string) string {
	if p == nil {
		return "NULL"
	}
	return *p
}
