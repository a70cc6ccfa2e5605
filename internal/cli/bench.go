package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"time"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/pgdb"
	"github.com/simcash/simdb/internal/simgen"
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

// newBenchCmd is `simdb bench`, a developer's tool: it is hidden from the
// analyst's command list (`simdb --help`) but runs, with its own --help, as
// BENCHMARKS.md shows. The measurements are in bench_write.go (write side),
// bench_read.go (read side) and bench_report.go (the report).
func newBenchCmd(e *env) *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:    "bench [--input FILE] [--events N] [--format table|json] | bench --queries-on DB --sim ID",
		Short:  "Measure ingest speed against DuckDB's own loaders, in one process",
		Hidden: true,
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
of the rows built in advance, one transaction, the same table and indexes)
and pg-row-insert (one prepared INSERT per event in one transaction), each
in a fresh schema of that database, dropped as soon as it is measured.
When the server runs on this machine (and this role may read its
data_directory setting), each pg-* step also reports the server's CPU per
event: on a machine shared with other work that varies much less than the
wall time.

The Go runtime's soft memory limit is lifted while bench runs: it holds the
whole input in memory, and under the 100 MB limit the collector would
measure itself.

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

const benchSim = "bench"

// liftMemoryLimit lifts the Go runtime's soft memory limit (cmd/simdb sets
// 100 MB) while bench runs, and returns the function that restores it.
// bench holds the whole input preloaded (the lines, the ticks, the rows
// built from them: a few hundred MB for the medium stream); under the
// limit the collector would run all but continuously and mark that heap
// each time, and every step would measure it (the provider's CPU per
// event on PostgreSQL read 13-15 µs instead of 3.3-3.8, the bare COPY's
// 9 instead of 1.3). Without the limit GOGC paces the collector, as it
// does for a program that embeds simdb.
func liftMemoryLimit() (restore func()) {
	limit := debug.SetMemoryLimit(math.MaxInt64)
	return func() { debug.SetMemoryLimit(limit) }
}

func runBench(ctx context.Context, f benchFlags, progress io.Writer) (*benchReport, error) {
	dir, err := os.MkdirTemp("", "simdb-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	say := func(format string, args ...any) { fmt.Fprintf(progress, "bench: "+format+"\n", args...) }

	input, config, pace := f.input, json.RawMessage(`{"ticks_per_day":100}`), f.enginePace
	if input == "" {
		o := simgen.Options{Agents: 40, TicksPerDay: 100, Seed: 1, EventsPerTick: 160}
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
	// Lifted before the stream is loaded: bench holds all of it, and the
	// collector working against the limit would inflate every step's CPU.
	defer liftMemoryLimit()()
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
	// cpuMark is the process's CPU time when the step being measured
	// began: a step's CPU seconds are its user+sys time, DuckDB's threads
	// included, from its setup to its last commit.
	var cpuMark time.Duration
	mark := func() { cpuMark = processCPU() }
	// addServer records a step; server is the database server's CPU over
	// it, or negative when not measured.
	addServer := func(name string, n int64, d, server time.Duration) {
		cpu := (processCPU() - cpuMark).Seconds()
		r := benchResult{Name: name, Events: n, Seconds: d.Seconds(), EventsPerSec: float64(n) / d.Seconds(),
			CPUSeconds: cpu, CPUMicrosPerEvent: cpu * 1e6 / float64(n)}
		msg := ""
		if server >= 0 {
			s, us := server.Seconds(), server.Seconds()*1e6/float64(n)
			r.ServerCPUSeconds, r.ServerCPUMicrosPerEvent = &s, &us
			msg = fmt.Sprintf(" %6.2f µs server CPU/event", us)
		}
		rep.Results = append(rep.Results, r)
		say("%-17s %10.0f events/s %6.2f µs CPU/event%s", name, float64(n)/d.Seconds(), cpu*1e6/float64(n), msg)
	}
	add := func(name string, n int64, d time.Duration) { addServer(name, n, d, -1) }

	dbPath := filepath.Join(dir, "ingest.duckdb")
	mark()
	d, n, err := benchIngest(ctx, dbPath, input, config, f.ingest)
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	rep.Events = n
	add("ingest", rep.Events, d)

	if want("duckdb-read-json") {
		mark()
		if d, err = benchReadJSON(ctx, filepath.Join(dir, "readjson.duckdb"), input); err != nil {
			return nil, fmt.Errorf("duckdb-read-json: %w", err)
		}
		add("duckdb-read-json", rep.Events, d)
	}
	if want("duckdb-insert-floor") {
		mark()
		if d, err = benchInsertFloor(ctx, filepath.Join(dir, "floor.duckdb"), dbPath); err != nil {
			return nil, fmt.Errorf("duckdb-insert-floor: %w", err)
		}
		add("duckdb-insert-floor", rep.Events, d)
	}
	if want("provider") {
		mark()
		if d, err = benchProvider(ctx, filepath.Join(dir, "provider.duckdb"), config, ticks, func() {}); err != nil {
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
			mark()
			if d, err = benchAppender(ctx, filepath.Join(dir, "appender.duckdb"), rows); err != nil {
				return nil, fmt.Errorf("appender-bare: %w", err)
			}
			add("appender-bare", rep.Events, d)
		}
		if want("row-insert") {
			sample := rows[:min(len(rows), f.rowInsertSize)]
			mark()
			if d, err = benchRowInsert(ctx, filepath.Join(dir, "rowinsert.duckdb"), sample, func() {}); err != nil {
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
		if err := benchPostgres(ctx, f.postgres, input, config, f.ingest, ticks, rows, f.rowInsertSize, mark, addServer); err != nil {
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
