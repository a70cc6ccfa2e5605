package crashtest

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/cli"
	"github.com/simcash/simdb/internal/provider"
	"github.com/simcash/simdb/internal/simgen"
)

// --- trials ---

// trialSeeds returns one seed per trial: SIMDB_CRASH_SEED alone when set (to
// replay a trial), else SIMDB_CRASH_TRIALS (default 10) seeds from the clock.
func trialSeeds(t *testing.T) []uint64 {
	t.Helper()
	if s := os.Getenv("SIMDB_CRASH_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("SIMDB_CRASH_SEED=%q: %v", s, err)
		}
		return []uint64{v}
	}
	n := 10
	if s := os.Getenv("SIMDB_CRASH_TRIALS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			t.Fatalf("SIMDB_CRASH_TRIALS=%q: want a positive integer", s)
		}
		n = v
	}
	base := uint64(time.Now().UnixNano()) % 1_000_000_000
	seeds := make([]uint64, n)
	for i := range seeds {
		seeds[i] = base + uint64(i)
	}
	return seeds
}

// --- the input stream ---

// stream is a generated event stream on disk and what the checks need to
// know about it.
type stream struct {
	path, configPath string
	ticks            []int64         // distinct ticks, in order
	count            map[int64]int64 // events per tick
	tickIndex        map[int64]int   // position of a tick in ticks
	seqTick          []int64         // tick of the event at each seq
	seqType          []string        // type of the event at each seq
	maxTickEvents    int64           // events of the busiest tick
	registers        int             // StateRegisterSet events
	opts             simgen.Options
}

func (s *stream) total() int64 { return int64(len(s.seqTick)) }

// writeStream generates the stream of o into dir (stream.jsonl and its
// config.json) and indexes it.
func writeStream(t *testing.T, dir string, o simgen.Options) *stream {
	t.Helper()
	s := &stream{
		path: filepath.Join(dir, "stream.jsonl"), configPath: filepath.Join(dir, "config.json"),
		count: map[int64]int64{}, tickIndex: map[int64]int{}, opts: o,
	}
	f, err := os.Create(s.path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := simgen.Write(f, o); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.configPath, simgen.Config(o), 0o644); err != nil {
		t.Fatal(err)
	}
	if f, err = os.Open(s.path); err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = scanEvents(f, func(tick int64, typ string, _ []byte) {
		if _, ok := s.tickIndex[tick]; !ok {
			s.tickIndex[tick] = len(s.ticks)
			s.ticks = append(s.ticks, tick)
		}
		s.count[tick]++
		s.maxTickEvents = max(s.maxTickEvents, s.count[tick])
		s.seqTick = append(s.seqTick, tick)
		s.seqType = append(s.seqType, typ)
		if typ == "StateRegisterSet" {
			s.registers++
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.registers == 0 {
		t.Fatalf("stream of %+v has no StateRegisterSet event", o)
	}
	return s
}

// --- child processes ---

// child is the test binary re-executed in a child role.
type child struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan struct{} // closed when Wait returned
	err            error
}

// command prepares the test binary in role with args.
func command(role string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), childEnv+"="+role)
	return cmd
}

// startChild starts the test binary in role with args, collecting its output.
func startChild(t *testing.T, role string, args ...string) *child {
	t.Helper()
	c := &child{cmd: command(role, args...), done: make(chan struct{})}
	c.cmd.Stdout, c.cmd.Stderr = &c.stdout, &c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		_ = c.cmd.Process.Kill()
		<-c.done
	})
	return c
}

// killAfter sends SIGKILL once d has passed, unless the child exits first,
// and waits for it. It reports whether the kill ended the child.
func (c *child) killAfter(d time.Duration) bool {
	select {
	case <-c.done:
		return false
	case <-time.After(d):
	}
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.done
	return killedBySIGKILL(c.cmd.ProcessState)
}

func killedBySIGKILL(ps *os.ProcessState) bool {
	ws, ok := ps.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

func (c *child) String() string {
	return fmt.Sprintf("%v: %v\n--- stdout\n%s--- stderr\n%s", c.cmd.Args[1:], c.err, c.stdout.String(), c.stderr.String())
}

// runCLI runs the simdb command line in this process.
func runCLI(t *testing.T, args ...string) (code int, stdout string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = cli.Run(context.Background(), args, strings.NewReader(""), &out, &errb)
	if code != 0 {
		t.Logf("simdb %s: exit %d\n--- stdout\n%s--- stderr\n%s", strings.Join(args, " "), code, out.String(), errb.String())
	}
	return code, out.String()
}

// copyDB copies a DuckDB file and its write-ahead log, if any, to dst.
func copyDB(t *testing.T, src, dst string) {
	t.Helper()
	for _, suffix := range []string{"", ".wal"} {
		in, err := os.Open(src + suffix)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(dst + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			t.Fatal(err)
		}
		in.Close()
		if err := out.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// --- what a killed process left behind ---

// runState is the stored state of the run in a crashed (or finished) file.
type runState struct {
	fileExists   bool
	exists       bool // the run's row is stored
	status       string
	errorMessage *string
	eventCount   int64
	lastTick     *int64
	ticks        int // distinct ticks stored
	registers    int // agent_state_registers rows
}

func (r runState) String() string {
	if !r.exists {
		return fmt.Sprintf("no run (file exists: %v)", r.fileExists)
	}
	lt := "NULL"
	if r.lastTick != nil {
		lt = strconv.FormatInt(*r.lastTick, 10)
	}
	return fmt.Sprintf("status %s, %d events in %d ticks (last_tick %s), %d register rows", r.status, r.eventCount, r.ticks, lt, r.registers)
}

// inspect opens the database at path the way a reader would (read-only,
// through the provider simdb.Open wraps, for its raw handle) and checks that the run in it is a consistent prefix
// of s; see checkRun. A file killed before its migrations committed is
// opened for writing instead (which migrates it) and must hold nothing.
func inspect(t *testing.T, path string, s *stream) runState {
	t.Helper()
	ctx := context.Background()
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return runState{}
	}
	store, err := provider.Open(ctx, path, provider.Options{ReadOnly: true})
	if errors.Is(err, simdb.ErrSchemaBehind) {
		t.Logf("killed before the schema was committed (%v): opening for writing", err)
		store, err = provider.Open(ctx, path, provider.Options{})
	}
	if err != nil {
		t.Fatalf("the crashed database does not open: %v", err)
	}
	defer func() {
		if err := store.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}()
	st := checkRun(t, store.DB(), s, runID)
	st.fileExists = true
	if n := queryInt(t, store.DB(), `SELECT count(*) FROM simulation_events WHERE simulation_id <> $1`, runID) +
		queryInt(t, store.DB(), `SELECT count(*) FROM agent_state_registers WHERE simulation_id <> $1`, runID); n != 0 {
		t.Errorf("%d rows of other simulations", n)
	}
	return st
}

// checkRun checks the run id in db against the stream s:
//   - no run row: no row of it in any table;
//   - every stored tick holds exactly the stream's events of that tick, and
//     the stored ticks are exactly the stream's ticks up to last_tick;
//   - seq is 0..event_count-1 without gap or duplicate, and the event at
//     each seq has the stream's tick and type at that position;
//   - agent_state_registers holds, for each (tick, agent, key) of a stored
//     StateRegisterSet, the last new_value set, and nothing else.
func checkRun(t *testing.T, db *sql.DB, s *stream, runID string) runState {
	t.Helper()
	ctx := context.Background()
	var st runState
	var lastTick sql.NullInt64
	var errMsg sql.NullString
	err := db.QueryRowContext(ctx, `SELECT status, error_message, event_count, last_tick FROM simulations WHERE simulation_id = $1`, runID).
		Scan(&st.status, &errMsg, &st.eventCount, &lastTick)
	if errors.Is(err, sql.ErrNoRows) {
		for _, table := range []string{"simulations", "simulation_events", "agent_state_registers"} {
			if n := queryInt(t, db, `SELECT count(*) FROM `+table+` WHERE simulation_id = $1`, runID); n != 0 {
				t.Errorf("no run row, yet %s holds %d rows", table, n)
			}
		}
		return st
	}
	if err != nil {
		t.Fatalf("read the run row: %v", err)
	}
	st.exists = true
	if errMsg.Valid {
		st.errorMessage = &errMsg.String
	}
	if lastTick.Valid {
		st.lastTick = &lastTick.Int64
	}

	// Whole ticks, and exactly the stream's ticks up to last_tick.
	rows, err := db.QueryContext(ctx, `SELECT tick, count(*) FROM simulation_events WHERE simulation_id = $1 GROUP BY tick ORDER BY tick`, runID)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for rows.Next() {
		var tick, n int64
		if err := rows.Scan(&tick, &n); err != nil {
			t.Fatal(err)
		}
		i, ok := s.tickIndex[tick]
		switch {
		case !ok:
			t.Errorf("tick %d is stored but not in the stream", tick)
		case i != st.ticks:
			t.Errorf("stored ticks are not a prefix of the stream's: tick %d is stored after %d earlier ticks, the stream's tick %d is missing", tick, st.ticks, s.ticks[st.ticks])
		case n != s.count[tick]:
			t.Errorf("tick %d is partial: %d events stored, the stream has %d", tick, n, s.count[tick])
		}
		if st.lastTick == nil || tick > *st.lastTick {
			t.Errorf("tick %d is stored beyond last_tick %v", tick, lastTick)
		}
		st.ticks++
		sum += n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if sum != st.eventCount {
		t.Errorf("%d events stored, event_count says %d", sum, st.eventCount)
	}
	switch {
	case st.lastTick == nil && st.ticks != 0:
		t.Errorf("last_tick is NULL with %d ticks stored", st.ticks)
	case st.lastTick != nil && (st.ticks == 0 || s.ticks[st.ticks-1] != *st.lastTick):
		t.Errorf("last_tick is %d but the stored ticks are the stream's first %d", *st.lastTick, st.ticks)
	}

	// seq: gap-free, and the stream's events in the stream's order.
	rows, err = db.QueryContext(ctx, `SELECT seq, tick, event_type, event_id FROM simulation_events WHERE simulation_id = $1 ORDER BY seq`, runID)
	if err != nil {
		t.Fatal(err)
	}
	var i int64
	for rows.Next() {
		var seq, tick int64
		var typ, id string
		if err := rows.Scan(&seq, &tick, &typ, &id); err != nil {
			t.Fatal(err)
		}
		switch {
		case seq != i:
			t.Fatalf("seq %d where %d was due: seq is not gap-free and unique", seq, i)
		case i >= s.total():
			t.Fatalf("seq %d is beyond the stream's %d events", seq, s.total())
		case tick != s.seqTick[i] || typ != s.seqType[i]:
			t.Fatalf("seq %d is %s at tick %d, the stream's event %d is %s at tick %d", seq, typ, tick, i, s.seqType[i], s.seqTick[i])
		case id != runID+":"+strconv.FormatInt(seq, 10):
			t.Fatalf("seq %d has event_id %q", seq, id)
		}
		i++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if i != st.eventCount {
		t.Errorf("seq runs 0..%d, event_count is %d", i-1, st.eventCount)
	}

	// Registers: exactly the last value per (tick, agent, key) of the stored
	// StateRegisterSet events.
	type regKey struct {
		tick       int64
		agent, key string
	}
	want := map[regKey]float64{}
	rows, err = db.QueryContext(ctx, `SELECT tick, agent_id, details FROM simulation_events
		WHERE simulation_id = $1 AND event_type = 'StateRegisterSet' ORDER BY seq`, runID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var tick int64
		var agent, details string
		if err := rows.Scan(&tick, &agent, &details); err != nil {
			t.Fatal(err)
		}
		var d struct {
			Key   string      `json:"register_key"`
			Value json.Number `json:"new_value"`
		}
		dec := json.NewDecoder(strings.NewReader(details))
		dec.UseNumber()
		if err := dec.Decode(&d); err != nil {
			t.Fatalf("details %s: %v", details, err)
		}
		v, err := strconv.ParseFloat(d.Value.String(), 64)
		if err != nil {
			t.Fatalf("new_value in %s: %v", details, err)
		}
		want[regKey{tick, agent, d.Key}] = v
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	rows, err = db.QueryContext(ctx, `SELECT tick, agent_id, register_key, register_value FROM agent_state_registers WHERE simulation_id = $1`, runID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k regKey
		var v float64
		if err := rows.Scan(&k.tick, &k.agent, &k.key, &v); err != nil {
			t.Fatal(err)
		}
		w, ok := want[k]
		switch {
		case !ok:
			t.Errorf("register %+v = %v is stored without a stored StateRegisterSet", k, v)
		case w != v:
			t.Errorf("register %+v = %v, the last stored StateRegisterSet says %v", k, v, w)
		}
		delete(want, k)
		st.registers++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	for k, v := range want {
		t.Errorf("register %+v = %v was set by a stored event but is not stored", k, v)
	}
	return st
}

func queryInt(t *testing.T, db *sql.DB, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}
