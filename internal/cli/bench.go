package cli

import (
	"bufio"
	"compress/gzip"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/event"
	"github.com/simcash/simdb/internal/gen"
	"github.com/simcash/simdb/internal/pgdb"
	"github.com/simcash/simdb/internal/provider"
	"github.com/spf13/cobra"
)

type benchFlags struct {
	input         string
	events        int
	format        string
	enginePace    time.Duration
	overheadSpan  time.Duration
	rowInsertSize int
	keep          string
	only          []string
	postgres      string // a PostgreSQL URL: also run the pg-* steps there (bench_postgres.go)
	queriesOn     string // database file whose run --sim the read side is measured on
	sim           string
	ingest        simdb.Options // what the ingest step opens the database with
}

func newBenchCmd(e *env) *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "bench [--input FILE] [--events N] [--format table|json] | bench --queries-on DB --sim ID",
		Short: "Measure ingest speed against DuckDB's own loaders, in one process",
		Long: `Measures, in one process and on the same events (the --input file, else a
generated stream of --events events):

  ingest            the file into a fresh database, through the same code as
                    'simdb ingest' (decompression, parsing, validation, commit)
  duckdb-read-json  DuckDB's own read_ndjson_objects load of the same file into
                    a table with event_type, tick, agent_id, tx_id extracted by
                    SQL and details as the JSON text
  provider          PersistTickEvents per tick, events already in memory
  appender-bare     DuckDB's Appender with rows built in advance (no parsing,
                    no validation) into simulation_events
  row-insert        one prepared INSERT per event in one transaction (SimCash's
                    executemany shape), on a sample of --row-insert-sample events
  duckdb-insert-floor
                    DuckDB alone storing simdb's rows: the ingested events,
                    copied into an in-memory table first, inserted into a fresh
                    simulation_events by one INSERT ... SELECT, then CHECKPOINT
                    (no Go, no parsing: what any writer of these columns pays)
  caller-overhead   a producer that spends the engine's time per event (a busy
                    loop; the pace comes from FILE's .meta.json when present,
                    else --engine-pace), once alone and once calling
                    PersistTickEvents each tick: the relative slowdown

and then the read side on the ingested database (page by tick, page by agent,
event summary, full ordered stream) and its size per event.

--postgres URL adds pg-ingest, pg-provider, pg-copy (PostgreSQL's own COPY
of the rows built in advance) and pg-row-insert, each in a fresh schema of
that database, dropped afterwards.

--queries-on DB --sim ID measures only the read side, on run ID of an existing
database (one built by 'simdb ingest', say), opened read-only.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(f.format, "table", "json"); err != nil {
				return err
			}
			if f.input == "" && f.events < 1000 {
				return usagef("--events must be at least 1000")
			}
			if (f.queriesOn == "") != (f.sim == "") {
				return usagef("--queries-on and --sim go together")
			}
			var rep *benchReport
			var err error
			if f.queriesOn != "" {
				rep, err = benchExisting(e.ctx, f.queriesOn, f.sim)
			} else {
				f.ingest = e.ingestOptions()
				rep, err = runBench(e.ctx, f, e.stderr)
			}
			if err != nil {
				return err
			}
			if f.format == "json" {
				return writeJSON(e.stdout, rep)
			}
			printBench(e.stdout, rep)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.input, "input", "", "event stream to measure (JSONL, plain or gzip); default: a generated one")
	fl.IntVar(&f.events, "events", 1_000_000, "events to generate when there is no --input")
	fl.StringVar(&f.format, "format", "table", "table or json")
	fl.DurationVar(&f.enginePace, "engine-pace", time.Millisecond, "engine time per event for caller-overhead when the input has no .meta.json")
	fl.DurationVar(&f.overheadSpan, "overhead-span", 10*time.Second, "how long the caller-overhead producer runs alone")
	fl.IntVar(&f.rowInsertSize, "row-insert-sample", 20_000, "events in the row-insert sample")
	fl.StringVar(&f.keep, "keep", "", "keep the ingested database at this path (for inspection)")
	fl.StringVar(&f.postgres, "postgres", "", "also measure ingest, provider, COPY and row inserts on this PostgreSQL database (postgres:// URL), in scratch schemas")
	fl.StringVar(&f.queriesOn, "queries-on", "", "measure only the read side, on this existing database (with --sim)")
	fl.StringVar(&f.sim, "sim", "", "the run --queries-on measures")
	fl.StringSliceVar(&f.only, "only", nil, "run only these steps (ingest, duckdb-read-json, duckdb-insert-floor, provider, appender-bare, row-insert, caller-overhead, queries); ingest always runs")
	return cmd
}

// benchReport is bench's JSON output.
type benchReport struct {
	Machine benchMachine       `json:"machine"`
	Input   string             `json:"input"`
	Events  int64              `json:"events"`
	Results []benchResult      `json:"results"`
	Ratios  map[string]float64 `json:"ratios"`
	// CallerOverheadPct is null when the caller-overhead step did not run.
	CallerOverheadPct *float64     `json:"caller_overhead_pct"`
	EnginePaceMicros  float64      `json:"engine_pace_us_per_event"`
	Queries           []benchQuery `json:"queries"`
	DBBytesPerEvent   float64      `json:"db_bytes_per_event"`
	GzipBytesPerEvent float64      `json:"gzip_jsonl_bytes_per_event"`
}

type benchMachine struct {
	CPU       string `json:"cpu"`
	Cores     int    `json:"cores"`
	GoVersion string `json:"go"`
	DuckDB    string `json:"duckdb"`
	OS        string `json:"os"`
	// Writer is the event writer of this build (simdb.EventWriter).
	Writer string `json:"writer"`
}

type benchResult struct {
	Name         string  `json:"name"`
	Events       int64   `json:"events"`
	Seconds      float64 `json:"seconds"`
	EventsPerSec float64 `json:"events_per_sec"`
}

type benchQuery struct {
	Name   string  `json:"name"`
	Runs   int     `json:"runs"`
	P50ms  float64 `json:"p50_ms"`
	P95ms  float64 `json:"p95_ms"`
	Events int64   `json:"events,omitempty"`
	Rate   float64 `json:"events_per_sec,omitempty"`
}

const benchSim = "bench"

func runBench(ctx context.Context, f benchFlags, progress io.Writer) (*benchReport, error) {
	dir, err := os.MkdirTemp("", "simdb-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	say := func(format string, args ...any) { fmt.Fprintf(progress, "bench: "+format+"\n", args...) }

	input, config, pace := f.input, json.RawMessage(`{"ticks_per_day":100}`), f.enginePace
	if input == "" {
		o := gen.Options{Agents: 40, TicksPerDay: 100, Seed: 1, EventsPerTick: 160}
		o.Days = max(1, (f.events+o.EventsPerTick*o.TicksPerDay-1)/(o.EventsPerTick*o.TicksPerDay))
		say("generating about %d events", f.events)
		var cfgPath string
		if input, cfgPath, err = writeGenerated(dir, "generated", o); err != nil {
			return nil, err
		}
		if config, err = os.ReadFile(cfgPath); err != nil {
			return nil, err
		}
	} else if p, ok := metaPace(input); ok {
		pace = p
	}
	want := func(step string) bool { return len(f.only) == 0 || slices.Contains(f.only, step) }
	var ticks []tickEvents
	var lines [][]byte
	if want("provider") || want("appender-bare") || want("row-insert") || want("caller-overhead") || f.postgres != "" {
		say("loading %s", input)
		if ticks, lines, err = loadTicks(input); err != nil {
			return nil, err
		}
	}
	rep := &benchReport{Machine: machineInfo(ctx), Input: input, Ratios: map[string]float64{},
		EnginePaceMicros: float64(pace) / float64(time.Microsecond)}
	add := func(name string, n int64, d time.Duration) {
		rep.Results = append(rep.Results, benchResult{Name: name, Events: n, Seconds: d.Seconds(), EventsPerSec: float64(n) / d.Seconds()})
		say("%-17s %10.0f events/s", name, float64(n)/d.Seconds())
	}

	dbPath := filepath.Join(dir, "ingest.duckdb")
	d, n, err := benchIngest(ctx, dbPath, input, config, f.ingest)
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	rep.Events = n
	add("ingest", rep.Events, d)

	if want("duckdb-read-json") {
		if d, err = benchReadJSON(ctx, filepath.Join(dir, "readjson.duckdb"), input); err != nil {
			return nil, fmt.Errorf("duckdb-read-json: %w", err)
		}
		add("duckdb-read-json", rep.Events, d)
	}
	if want("duckdb-insert-floor") {
		if d, err = benchInsertFloor(ctx, filepath.Join(dir, "floor.duckdb"), dbPath); err != nil {
			return nil, fmt.Errorf("duckdb-insert-floor: %w", err)
		}
		add("duckdb-insert-floor", rep.Events, d)
	}
	if want("provider") {
		if d, err = benchProvider(ctx, filepath.Join(dir, "provider.duckdb"), config, ticks); err != nil {
			return nil, fmt.Errorf("provider: %w", err)
		}
		add("provider", rep.Events, d)
	}
	if want("appender-bare") || want("row-insert") {
		rows, err := bareRows(lines)
		if err != nil {
			return nil, err
		}
		if want("appender-bare") {
			if d, err = benchAppender(ctx, filepath.Join(dir, "appender.duckdb"), rows); err != nil {
				return nil, fmt.Errorf("appender-bare: %w", err)
			}
			add("appender-bare", rep.Events, d)
		}
		if want("row-insert") {
			sample := rows[:min(len(rows), f.rowInsertSize)]
			if d, err = benchRowInsert(ctx, filepath.Join(dir, "rowinsert.duckdb"), sample); err != nil {
				return nil, fmt.Errorf("row-insert: %w", err)
			}
			add("row-insert", int64(len(sample)), d)
		}
	}
	if f.postgres != "" {
		rows, err := bareRows(lines)
		if err != nil {
			return nil, err
		}
		say("PostgreSQL steps on %s", pgdb.Redact(f.postgres))
		if err := benchPostgres(ctx, f.postgres, input, config, f.ingest, ticks, rows, f.rowInsertSize, add); err != nil {
			return nil, err
		}
	}
	lines = nil
	if want("caller-overhead") {
		say("caller-overhead at %v per event for about %v", pace, f.overheadSpan)
		pct, err := benchCallerOverhead(ctx, filepath.Join(dir, "caller.duckdb"), config, ticks, pace, f.overheadSpan)
		if err != nil {
			return nil, fmt.Errorf("caller-overhead: %w", err)
		}
		rep.CallerOverheadPct = &pct
	}

	rate := func(name string) float64 {
		for _, r := range rep.Results {
			if r.Name == name {
				return r.EventsPerSec
			}
		}
		return 0
	}
	ratio := func(key, a, b string) {
		if rate(a) > 0 && rate(b) > 0 {
			rep.Ratios[key] = rate(a) / rate(b)
		}
	}
	ratio("ingest_vs_duckdb_read_json", "ingest", "duckdb-read-json")
	ratio("provider_vs_appender_bare", "provider", "appender-bare")
	ratio("provider_vs_row_insert", "provider", "row-insert")
	ratio("pg_provider_vs_pg_copy", "pg-provider", "pg-copy")
	ratio("pg_ingest_vs_pg_copy", "pg-ingest", "pg-copy")
	ratio("pg_provider_vs_pg_row_insert", "pg-provider", "pg-row-insert")

	if want("queries") {
		say("queries on the ingested database")
		var n int64
		if rep.Queries, n, err = benchQueries(ctx, dbPath, benchSim); err != nil {
			return nil, fmt.Errorf("queries: %w", err)
		}
		if n != rep.Events {
			return nil, fmt.Errorf("queries: the run holds %d events, ingest stored %d", n, rep.Events)
		}
	}
	if st, err := os.Stat(dbPath); err == nil {
		rep.DBBytesPerEvent = float64(st.Size()) / float64(rep.Events)
	}
	if gz, err := gzipSize(input); err == nil {
		rep.GzipBytesPerEvent = float64(gz) / float64(rep.Events)
	}
	if f.keep != "" {
		if err := os.Rename(dbPath, f.keep); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// metaPace reads the engine's wall time per event from NAME.meta.json beside
// a corpus file NAME.jsonl.gz.
func metaPace(input string) (time.Duration, bool) {
	base := strings.TrimSuffix(strings.TrimSuffix(input, ".gz"), ".jsonl")
	data, err := os.ReadFile(base + ".meta.json")
	if err != nil {
		return 0, false
	}
	var meta struct {
		Seconds float64 `json:"generation_wall_seconds"`
		Events  int64   `json:"event_count"`
	}
	if json.Unmarshal(data, &meta) != nil || meta.Seconds <= 0 || meta.Events <= 0 {
		return 0, false
	}
	return time.Duration(meta.Seconds / float64(meta.Events) * float64(time.Second)), true
}

// tickEvents are one tick's events in the wire form.
type tickEvents struct {
	tick   int64
	events []json.RawMessage
}

// loadTicks reads the whole stream into memory, grouped by tick.
func loadTicks(path string) ([]tickEvents, [][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	r, err := decompress(f)
	if err != nil {
		return nil, nil, err
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	var ticks []tickEvents
	var lines [][]byte
	for sc.Scan() {
		line := append([]byte(nil), sc.Bytes()...)
		var head struct {
			Tick *int64 `json:"tick"`
		}
		if err := json.Unmarshal(line, &head); err != nil || head.Tick == nil {
			return nil, nil, fmt.Errorf("%s:%d: no tick", path, len(lines)+1)
		}
		if len(ticks) == 0 || ticks[len(ticks)-1].tick != *head.Tick {
			ticks = append(ticks, tickEvents{tick: *head.Tick})
		}
		ticks[len(ticks)-1].events = append(ticks[len(ticks)-1].events, line)
		lines = append(lines, line)
	}
	return ticks, lines, sc.Err()
}

// benchIngest runs the same code as `simdb ingest` (open, start, stream,
// complete, close) and returns its time and the number of events.
func benchIngest(ctx context.Context, dbPath, input string, config json.RawMessage, opts simdb.Options) (time.Duration, int64, error) {
	start := time.Now()
	store, err := simdb.Open(ctx, dbPath, opts)
	if err != nil {
		return 0, 0, err
	}
	res, err := func() (simdb.IngestResult, error) {
		f, err := os.Open(input)
		if err != nil {
			return simdb.IngestResult{}, err
		}
		defer f.Close()
		r, err := decompress(f)
		if err != nil {
			return simdb.IngestResult{}, err
		}
		if err := store.PersistSimulationStart(ctx, benchSim, config, simdb.StartOptions{}); err != nil {
			return simdb.IngestResult{}, err
		}
		res, err := store.IngestJSONL(ctx, benchSim, r, simdb.IngestOptions{Source: input})
		if err != nil {
			return res, err
		}
		return res, store.PersistSimulationComplete(ctx, benchSim, res.Metrics)
	}()
	if cerr := store.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, 0, err
	}
	return time.Since(start), res.Events, nil
}

func benchReadJSON(ctx context.Context, dbPath, input string) (time.Duration, error) {
	db, err := sql.Open("duckdb", dbPath)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	start := time.Now()
	if _, err := db.ExecContext(ctx, `CREATE TABLE raw_events (event_type VARCHAR, tick BIGINT, agent_id VARCHAR, tx_id VARCHAR, details VARCHAR)`); err != nil {
		return 0, err
	}
	q := `INSERT INTO raw_events
	      SELECT json->>'event_type', CAST(json->>'tick' AS BIGINT), json->>'agent_id', json->>'tx_id', CAST(json AS VARCHAR)
	      FROM read_ndjson_objects(` + sqlString(input) + `)`
	if _, err := db.ExecContext(ctx, q); err != nil {
		return 0, err
	}
	if _, err := db.ExecContext(ctx, `CHECKPOINT`); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// benchInsertFloor measures what DuckDB alone spends storing simdb's event
// rows: the events of the ingested database (src) are copied into a
// temporary in-memory table, and the timed part is one INSERT … SELECT of
// them into a fresh simulation_events plus the CHECKPOINT that writes them
// out — no Go code, no parsing, DuckDB's own parallel insert.
func benchInsertFloor(ctx context.Context, dbPath, src string) (time.Duration, error) {
	conn, done, err := openBenchConn(ctx, dbPath)
	if err != nil {
		return 0, err
	}
	defer done()
	for _, q := range []string{
		`ATTACH ` + sqlString(src) + ` AS floor_src (READ_ONLY)`,
		`CREATE TEMP TABLE floor_rows AS SELECT * EXCLUDE (event_id) FROM floor_src.simulation_events`,
		`DETACH floor_src`,
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return 0, err
		}
	}
	start := time.Now()
	for _, q := range []string{`INSERT INTO simulation_events BY NAME SELECT * FROM floor_rows`, `CHECKPOINT`} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}

func benchProvider(ctx context.Context, dbPath string, config json.RawMessage, ticks []tickEvents) (time.Duration, error) {
	store, err := simdb.Open(ctx, dbPath, simdb.Options{})
	if err != nil {
		return 0, err
	}
	if err := store.PersistSimulationStart(ctx, benchSim, config, simdb.StartOptions{}); err != nil {
		store.Close()
		return 0, err
	}
	start := time.Now()
	for _, t := range ticks {
		if _, err := store.PersistTickEvents(ctx, benchSim, t.tick, t.events); err != nil {
			store.Close()
			return 0, err
		}
	}
	if err := store.PersistSimulationComplete(ctx, benchSim, simdb.Metrics{}); err != nil {
		store.Close()
		return 0, err
	}
	if err := store.Close(); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// bareRows builds simulation_events rows in advance for the Appender and
// the row inserts, so those measure only the database.
func bareRows(lines [][]byte) ([][]driver.Value, error) {
	now := time.Now().UTC()
	rows := make([][]driver.Value, len(lines))
	for i, line := range lines {
		ev, err := event.Decode(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		var agentID, txID driver.Value
		if ev.HasAgentID {
			agentID = ev.AgentID
		}
		if ev.HasTxID {
			txID = ev.TxID
		}
		rows[i] = []driver.Value{benchSim, int64(i), ev.Tick, ev.Tick / 100, now,
			ev.Type, string(ev.Details), agentID, txID, now, ev.Agents, ev.TxIDs, ev.Layout}
	}
	return rows, nil
}

// openBenchConn opens a fresh simdb database at dbPath (migrated, as the
// provider opens it) and one connection to it; done closes both.
func openBenchConn(ctx context.Context, dbPath string) (conn *sql.Conn, done func(), err error) {
	// The provider's own Store, for its database handle: bench times raw
	// loads into the schema the provider migrates.
	store, err := provider.Open(ctx, dbPath, provider.Options{})
	if err != nil {
		return nil, nil, err
	}
	if conn, err = store.DB().Conn(ctx); err != nil {
		store.Close()
		return nil, nil, err
	}
	return conn, func() { conn.Close(); store.Close() }, nil
}

func benchAppender(ctx context.Context, dbPath string, rows [][]driver.Value) (time.Duration, error) {
	conn, done, err := openBenchConn(ctx, dbPath)
	if err != nil {
		return 0, err
	}
	defer done()
	start := time.Now()
	err = conn.Raw(func(dc any) error {
		app, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "", "simulation_events")
		if err != nil {
			return err
		}
		for _, r := range rows {
			if err := app.AppendRow(r...); err != nil {
				app.Close()
				return err
			}
		}
		return app.Close()
	})
	if err != nil {
		return 0, err
	}
	if _, err := conn.ExecContext(ctx, `CHECKPOINT`); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

func benchRowInsert(ctx context.Context, dbPath string, rows [][]driver.Value) (time.Duration, error) {
	store, err := provider.Open(ctx, dbPath, provider.Options{})
	if err != nil {
		return 0, err
	}
	defer store.Close()
	db := store.DB()
	start := time.Now()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO simulation_events (simulation_id, seq, tick, day, event_timestamp, event_type, details, agent_id, tx_id, created_at, agents, tx_ids, key_layout)
	      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`)
	if err != nil {
		return 0, err
	}
	defer stmt.Close()
	args := make([]any, 13)
	for _, r := range rows {
		for i, v := range r {
			args[i] = v
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return 0, err
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// benchCallerOverhead replays the first ticks of the stream at the engine's
// pace (a busy loop per event, as a single-threaded engine would spend
// them) for about span, once alone and once persisting each tick, and
// returns the slowdown in percent. Persistence includes the final commit.
func benchCallerOverhead(ctx context.Context, dbPath string, config json.RawMessage, ticks []tickEvents, pace, span time.Duration) (float64, error) {
	var n int
	var budget time.Duration
	for n < len(ticks) && budget < span {
		budget += time.Duration(len(ticks[n].events)) * pace
		n++
	}
	replay := ticks[:n]
	engine := func(events int) {
		deadline := time.Now().Add(time.Duration(events) * pace)
		for time.Now().Before(deadline) {
		}
	}
	start := time.Now()
	for _, t := range replay {
		engine(len(t.events))
	}
	alone := time.Since(start)

	store, err := simdb.Open(ctx, dbPath, simdb.Options{})
	if err != nil {
		return 0, err
	}
	defer store.Close()
	if err := store.PersistSimulationStart(ctx, benchSim, config, simdb.StartOptions{}); err != nil {
		return 0, err
	}
	start = time.Now()
	for _, t := range replay {
		engine(len(t.events))
		if _, err := store.PersistTickEvents(ctx, benchSim, t.tick, t.events); err != nil {
			return 0, err
		}
	}
	if err := store.PersistSimulationComplete(ctx, benchSim, simdb.Metrics{}); err != nil {
		return 0, err
	}
	with := time.Since(start)
	return 100 * (with.Seconds() - alone.Seconds()) / alone.Seconds(), nil
}

// benchQueries times the read side on the ingested database.
// benchExisting measures the read side on run sim of the database at path.
// A PostgreSQL URL has no file to size: its bytes per event are left out.
func benchExisting(ctx context.Context, path, sim string) (*benchReport, error) {
	size, input := int64(-1), pgdb.Redact(path)
	if !pgdb.IsDSN(path) {
		input = path
		st, err := os.Stat(path)
		if err != nil {
			return nil, err
		}
		size = st.Size()
	}
	rep := &benchReport{Machine: machineInfo(ctx), Input: input, Ratios: map[string]float64{}}
	var err error
	if rep.Queries, rep.Events, err = benchQueries(ctx, path, sim); err != nil {
		return nil, err
	}
	if rep.Events > 0 && size >= 0 {
		rep.DBBytesPerEvent = float64(size) / float64(rep.Events)
	}
	return rep, nil
}

func benchQueries(ctx context.Context, dbPath, sim string) ([]benchQuery, int64, error) {
	store, err := simdb.Open(ctx, dbPath, simdb.Options{ReadOnly: true})
	if err != nil {
		return nil, 0, err
	}
	defer store.Close()
	sum, err := store.GetEventSummary(ctx, sim)
	if err != nil {
		return nil, 0, err
	}
	events := sum.TotalEvents
	rng := rand.New(rand.NewPCG(1, 2))
	var out []benchQuery
	timeIt := func(name string, runs int, fn func(i int) error) error {
		d := make([]time.Duration, runs)
		for i := range d {
			start := time.Now()
			if err := fn(i); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			d[i] = time.Since(start)
		}
		slices.Sort(d)
		ms := func(x time.Duration) float64 { return float64(x) / float64(time.Millisecond) }
		out = append(out, benchQuery{Name: name, Runs: runs, P50ms: ms(d[runs/2]), P95ms: ms(d[runs*95/100])})
		return nil
	}
	maxTick := int64(0)
	if sum.MaxTick != nil {
		maxTick = *sum.MaxTick
	}
	if err := timeIt("page-by-tick", 100, func(int) error {
		_, err := store.GetSimulationEvents(ctx, sim, simdb.EventFilter{Tick: simdb.Int64(rng.Int64N(maxTick + 1))})
		return err
	}); err != nil {
		return nil, 0, err
	}
	agents := sum.Agents
	if len(agents) == 0 {
		agents = []string{""}
	}
	if err := timeIt("page-by-agent", 40, func(i int) error {
		_, err := store.GetSimulationEvents(ctx, sim, simdb.EventFilter{AgentID: agents[i%len(agents)]})
		return err
	}); err != nil {
		return nil, 0, err
	}
	if err := timeIt("event-summary", 20, func(int) error {
		_, err := store.GetEventSummary(ctx, sim)
		return err
	}); err != nil {
		return nil, 0, err
	}
	start := time.Now()
	var n int64
	for _, err := range store.StreamEvents(ctx, sim, simdb.EventFilter{}) {
		if err != nil {
			return nil, 0, err
		}
		n++
	}
	d := time.Since(start)
	if n != events {
		return nil, 0, fmt.Errorf("full stream read %d events, want %d", n, events)
	}
	ms := float64(d) / float64(time.Millisecond)
	out = append(out, benchQuery{Name: "full-stream-read", Runs: 1, P50ms: ms, P95ms: ms, Events: n, Rate: float64(n) / d.Seconds()})
	return out, events, nil
}

// gzipSize is the size of the input gzip-compressed (the file's own size
// when it already is).
func gzipSize(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var magic [2]byte
	if _, err := io.ReadFull(f, magic[:]); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		st, err := f.Stat()
		if err != nil {
			return 0, err
		}
		return st.Size(), nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	cw := &countingWriter{}
	zw := gzip.NewWriter(cw)
	if _, err := io.Copy(zw, f); err != nil {
		return 0, err
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	return cw.n, nil
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

func machineInfo(ctx context.Context) benchMachine {
	m := benchMachine{Cores: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH, Writer: simdb.EventWriter}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if db, err := sql.Open("duckdb", ""); err == nil {
		_ = db.QueryRowContext(ctx, `SELECT version()`).Scan(&m.DuckDB)
		db.Close()
	}
	return m
}

func printBench(out io.Writer, rep *benchReport) {
	fmt.Fprintf(out, "machine: %s, %d cores, %s, %s, DuckDB %s, %s event writer\n", rep.Machine.CPU, rep.Machine.Cores, rep.Machine.OS, rep.Machine.GoVersion, rep.Machine.DuckDB, rep.Machine.Writer)
	fmt.Fprintf(out, "input:   %s (%d events)\n\n", rep.Input, rep.Events)
	if len(rep.Results) > 0 {
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "measurement\tevents\tseconds\tevents/s\t")
		for _, r := range rep.Results {
			fmt.Fprintf(tw, "%s\t%d\t%.3f\t%.0f\t\n", r.Name, r.Events, r.Seconds, r.EventsPerSec)
		}
		tw.Flush()
		fmt.Fprintln(out)
	}
	keys := make([]string, 0, len(rep.Ratios))
	for k := range rep.Ratios {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(out, "%-28s %8.2fx\n", k, rep.Ratios[k])
	}
	if p := rep.CallerOverheadPct; p != nil {
		fmt.Fprintf(out, "%-28s %8.2f%%  (engine pace %.0f µs/event)\n", "caller_overhead_pct", *p, rep.EnginePaceMicros)
	}
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "query\truns\tp50 ms\tp95 ms\tevents/s\t")
	for _, q := range rep.Queries {
		rate := ""
		if q.Rate > 0 {
			rate = fmt.Sprintf("%.0f", q.Rate)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t%s\t\n", q.Name, q.Runs, q.P50ms, q.P95ms, rate)
	}
	tw.Flush()
	// A PostgreSQL database has no file to size (DBBytesPerEvent 0).
	var sizes []string
	if rep.DBBytesPerEvent > 0 {
		sizes = append(sizes, fmt.Sprintf("database %.1f bytes/event", rep.DBBytesPerEvent))
	}
	if rep.GzipBytesPerEvent > 0 {
		sizes = append(sizes, fmt.Sprintf("gzip JSONL %.1f bytes/event", rep.GzipBytesPerEvent))
	}
	if len(sizes) > 0 {
		fmt.Fprintf(out, "\n%s\n", strings.Join(sizes, "; "))
	}
}

// sqlString quotes s as a SQL string literal.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
