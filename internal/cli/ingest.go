package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/duckfile"
	"github.com/spf13/cobra"
)

type ingestFlags struct {
	sim, config, metrics, experimentRun string
	// configName is recorded as config_file instead of config (the demo's
	// config lives in a temporary directory).
	configName  string
	ticksPerDay int64
	iteration   int32
	resume      bool
	allowEmpty  bool
	flushEvents int
	lease       time.Duration
	// simSet says --sim was given (an empty value is then a mistake, not
	// "derive it from the file name").
	simSet bool
}

func newIngestCmd(e *env) *cobra.Command {
	var f ingestFlags
	cmd := &cobra.Command{
		Use:   "ingest [flags] FILE|-",
		Short: "Persist a SimCash event stream (JSONL, plain or gzip) as a run",
		Long: `Reads a SimCash event stream - one flat JSON object per line, plain or gzip
(detected from the content), or stdin for "-" - groups consecutive events by
tick and persists each tick through the provider, then completes the run.

Ticks per day come from --ticks-per-day or the --config file (JSON or YAML,
or a SimCash *.meta.json, whose "scenario" holds them), else 100 as in
SimCash. Days and agents the config does not state are recorded from the
stream when the run ends (see README, "Configs and sizes").
--sim defaults to the file's base name without extensions. Final metrics come
from --metrics (a JSON object with total_arrivals, total_settlements,
total_cost_cents and duration_seconds, or a SimCash *.meta.json, whose
"totals" and "generation_wall_seconds" are used), else they are computed from
the stream (see README, "Metrics computed from a stream").

On a bad line ingest stops, reports FILE:LINE and what is wrong, keeps every
tick before that line's tick, marks the run failed with that reason, and exits
1. An input without any event (empty, or only blank lines) is refused with
exit 1 and nothing stored, unless --allow-empty says an empty run is meant.

Any other failure (a full disk, an interrupt with Ctrl-C) leaves the run
running with every tick committed before it, and the message says how to
continue it. --resume continues a run that is still
running after its last stored tick: the stream's lines of the stored ticks
must be the stored events (checked line by line before anything is
written; a different, shorter or longer stream is refused and the run left
running). --config, --ticks-per-day and --experiment-run, if given, must
match the stored run (a different config is refused, not appended to).
A run another live writer holds is refused, naming it; one whose writer
died is taken over once its lease has expired (--lease, RELIABILITY.md
"Writer leases"). Resuming a run already completed from the same stream
has nothing to do and exits 0; from a stream that differs it is refused
(exit 1, naming the first difference) and the run left as it is.
A failed run cannot be resumed: remove it with "simdb rm" and ingest again.`,
		Args: exactArgs(1, "one input FILE (or - for stdin)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			f.simSet = cmd.Flags().Changed("sim")
			return e.ingest(f, args[0])
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.sim, "sim", "", "simulation id (default: the file's base name without extensions)")
	fl.StringVar(&f.config, "config", "", "the run's config file, JSON or YAML")
	fl.Int64Var(&f.ticksPerDay, "ticks-per-day", 0, "ticks per simulated day (default: the config's, else 100)")
	fl.StringVar(&f.experimentRun, "experiment-run", "", "experiment run id this simulation belongs to")
	fl.Int32Var(&f.iteration, "iteration", 0, "iteration within --experiment-run")
	fl.StringVar(&f.metrics, "metrics", "", "JSON file with the run's final metrics")
	fl.BoolVar(&f.resume, "resume", false, "continue a running simulation after its last stored tick (the stream must match what is stored)")
	fl.BoolVar(&f.allowEmpty, "allow-empty", false, "record a run without events when the input has none (refused otherwise)")
	fl.IntVar(&f.flushEvents, "flush-events", 0, "events per commit group (default 50000); smaller groups hold less memory and ingest more slowly (BENCHMARKS.md)")
	addLeaseFlag(cmd, &f.lease)
	return cmd
}

func (e *env) ingest(f ingestFlags, input string) (err error) {
	if f.simSet {
		switch {
		case strings.TrimSpace(f.sim) == "":
			return usagef("--sim %q is empty: give a simulation id, or leave --sim out to use the file's name", f.sim)
		case strings.TrimSpace(f.sim) != f.sim:
			return usagef("--sim %q has whitespace at its start or end", f.sim)
		}
	}
	if f.sim == "" {
		if input == "-" {
			return usagef("--sim is required when reading stdin")
		}
		f.sim = baseID(input)
	}
	if f.iteration != 0 && f.experimentRun == "" {
		return usagef("--iteration needs --experiment-run")
	}
	if f.flushEvents < 0 {
		return usagef("--flush-events must not be negative, got %d", f.flushEvents)
	}
	if f.ticksPerDay < 0 {
		return usagef("--ticks-per-day must be positive, got %d", f.ticksPerDay)
	}
	var metrics *simdb.Metrics
	if f.metrics != "" {
		m, err := loadMetrics(f.metrics)
		if err != nil {
			return err
		}
		metrics = &m
	}
	config := json.RawMessage("{}")
	if f.config != "" {
		if config, err = loadConfig(f.config); err != nil {
			return err
		}
	}

	in, size, closeIn, err := e.openInput(input)
	if err != nil {
		return err
	}
	defer closeIn()
	counted := &countingReader{r: in}
	stream, err := decompress(counted)
	if err != nil {
		return fmt.Errorf("%s: %w", input, err)
	}
	stream, content := peekContent(stream)
	if !content && !f.allowEmpty {
		return fmt.Errorf("%s: no events (the input is empty or only blank lines); nothing stored: pass --allow-empty to record an empty run", displayName(input))
	}

	opts := e.ingestOptions()
	opts.FlushEvents, opts.Lease = f.flushEvents, f.lease
	store, err := e.openWrite(opts)
	if err != nil {
		return err
	}
	defer closeStore(store, &err)

	if f.resume {
		if err := checkResume(e, store, f, config); err != nil {
			return err
		}
	} else {
		opts := simdb.StartOptions{ConfigFile: f.config, TicksPerDay: f.ticksPerDay}
		if f.configName != "" {
			opts.ConfigFile = f.configName
		}
		if f.experimentRun != "" {
			opts.Experiment = &simdb.Experiment{RunID: f.experimentRun, Iteration: f.iteration}
		}
		if err := store.PersistSimulationStart(e.ctx, f.sim, config, opts); err != nil {
			if errors.Is(err, simdb.ErrSimulationExists) {
				return fmt.Errorf("simulation %q already exists in %s (use --resume to continue a running one, or --sim to pick another id)", f.sim, e.dbPath)
			}
			return err
		}
	}

	started := time.Now()
	progress := newProgressBar(e.stderr, size, counted)
	res, ingestErr := store.IngestJSONL(e.ctx, f.sim, stream, simdb.IngestOptions{
		Source: displayName(input), Resume: f.resume, Progress: progress.update,
	})
	progress.done()
	if ingestErr == nil && res.FirstTick < 0 && res.Skipped == 0 && !f.allowEmpty {
		// More blank input than peekContent looks at.
		ingestErr = fmt.Errorf("%s: no events (the input is only blank lines): pass --allow-empty to record an empty run", displayName(input))
	}
	if ingestErr != nil {
		if errors.Is(ingestErr, simdb.ErrResumeMismatch) {
			// The stored run is intact; the input was the wrong one.
			return resumeMismatch(ingestErr, f.sim, res.Completed)
		}
		if e.ctx.Err() != nil {
			return e.interrupted(store, f, input, ingestErr)
		}
		var evErr *simdb.EventError
		if !errors.As(ingestErr, &evErr) {
			// Not the input's fault (a full disk, an interrupt): the run
			// stays running, resumable after its last stored tick.
			return e.resumable(ingestErr, f, input)
		}
		// Bad input: the run cannot be completed; record why, keeping every
		// tick already handed to the writer.
		if ferr := store.PersistSimulationFailed(e.ctx, f.sim, ingestErr.Error()); ferr != nil &&
			!errors.Is(ferr, simdb.ErrSimulationNotRunning) && !errors.Is(ferr, simdb.ErrSimulationNotFound) {
			return fmt.Errorf("%w (and marking the run failed: %v)", ingestErr, ferr)
		}
		return ingestErr
	}
	if res.Completed {
		fmt.Fprintln(e.stdout, alreadyCompleted(f.sim, res))
		return nil
	}
	m := res.Metrics
	if metrics != nil {
		m = *metrics
	}
	if err := store.PersistSimulationComplete(e.ctx, f.sim, m); err != nil {
		return e.resumable(err, f, input)
	}
	elapsed := time.Since(started)
	rate := float64(res.Events) / elapsed.Seconds()
	msg := fmt.Sprintf("ingested %d events (%d ticks) into %q in %s (%.0f events/s)", res.Events, res.Ticks, f.sim, elapsed.Round(time.Millisecond), rate)
	if res.Skipped > 0 {
		msg += fmt.Sprintf("; skipped %d events already stored", res.Skipped)
	}
	fmt.Fprintln(e.stdout, msg)
	return nil
}

// interrupted explains an ingest stopped by its context (Ctrl-C): the run
// is left running with what was stored, and --resume continues it.
func (e *env) interrupted(store *simdb.Store, f ingestFlags, input string, cause error) error {
	// The command's context is done; these last steps must not be.
	ctx := context.WithoutCancel(e.ctx)
	stored := "nothing stored yet"
	if err := store.Flush(ctx); err == nil {
		if sum, err := store.GetSimulationSummary(ctx, f.sim); err == nil && sum.LastTick != nil {
			stored = fmt.Sprintf("%d events stored through tick %d", sum.EventCount, *sum.LastTick)
		}
	}
	src := shellQuote(input)
	if input == "-" {
		src = "- (the same stream on stdin)"
	}
	return fmt.Errorf("interrupted (%w): run %q is left running, %s; continue it with: simdb --db %s ingest --resume --sim %s %s",
		cause, f.sim, stored, shellQuote(e.dbPath), shellQuote(f.sim), src)
}

// shellQuote quotes s for a POSIX shell when it needs quoting.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@%+,", r))
	}) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// resumable adds to err, which left the run running (a failed commit, an
// interrupt, metrics Complete refused), how to finish it. Errors that leave
// no run to resume (unknown id, not running) are returned as they are.
func (e *env) resumable(err error, f ingestFlags, input string) error {
	if errors.Is(err, simdb.ErrSimulationNotFound) || errors.Is(err, simdb.ErrSimulationNotRunning) {
		return err
	}
	src := shellQuote(input)
	if input == "-" {
		src = "- (the same stream on stdin)"
	}
	return fmt.Errorf("%w; the run %q stays running with every tick committed before the failure: once the cause is fixed, finish it with simdb --db %s ingest --resume --sim %s %s",
		err, f.sim, shellQuote(e.dbPath), shellQuote(f.sim), src)
}

// checkResume refuses a resume whose flags describe another run than the
// stored one: the stream would be appended to the wrong simulation.
func checkResume(e *env, store *simdb.Store, f ingestFlags, config json.RawMessage) error {
	sum, err := requireSimulation(e.ctx, store, f.sim)
	if err != nil {
		return err
	}
	if f.config != "" {
		hash, err := simdb.ConfigHash(config)
		if err != nil {
			return err
		}
		if hash != sum.ConfigHash {
			return fmt.Errorf("--config %s is not the config of %q (config_hash %.12s, stored %.12s)", f.config, f.sim, hash, sum.ConfigHash)
		}
	}
	if f.ticksPerDay != 0 && f.ticksPerDay != sum.TicksPerDay {
		return fmt.Errorf("--ticks-per-day %d, but %q has %d", f.ticksPerDay, f.sim, sum.TicksPerDay)
	}
	if f.experimentRun != "" {
		stored := ""
		if sum.ExperimentRunID != nil {
			stored = *sum.ExperimentRunID
		}
		if stored != f.experimentRun || (sum.ExperimentIteration != nil && *sum.ExperimentIteration != f.iteration) {
			return fmt.Errorf("--experiment-run %s --iteration %d do not match %q", f.experimentRun, f.iteration, f.sim)
		}
	}
	return nil
}

// ingestMemoryLimit is DuckDB's memory limit for ingest unless
// --memory-limit says otherwise. Ingest writes each commit group straight
// into compressed row groups and reads nothing back, so DuckDB's buffer
// cache does it little good, and a small limit keeps a 10M-event ingest
// under 300 MB resident (BENCHMARKS.md). It cannot make an ingest fail:
// the provider checkpoints between commits with more memory and retries a
// group that runs out under a doubled limit (Options.MemoryLimit).
const ingestMemoryLimit = "32MB"

// ingestThreads is DuckDB's thread count for an ingest on a machine with
// cores cores: one fewer than the cores, so that decoding the stream (Go,
// one goroutine) keeps a core while DuckDB stores the previous commit
// group. With as many threads as cores, the query thread of each insert
// spins waiting for DuckDB's worker while competing with the decoder: on 2
// cores that cost 15–20% more CPU for no shorter ingest (BENCHMARKS.md).
func ingestThreads(cores int) int {
	return max(1, cores-1)
}

// ingestOptions are the Options `simdb ingest` opens the database with:
// ingestMemoryLimit unless --memory-limit was given, the C heap trimmed
// after large commits, and DuckDB kept to ingestThreads unless
// SIMDB_DUCKDB_THREADS sets the threads of the whole process. bench's
// ingest step uses them too, so it measures the same thing.
func (e *env) ingestOptions() simdb.Options {
	opts := simdb.Options{MemoryLimit: ingestMemoryLimit, TrimCHeap: true}
	if os.Getenv(duckfile.ThreadsEnv) == "" {
		opts.Threads = ingestThreads(runtime.NumCPU())
	}
	if e.memoryLimitSet {
		opts.MemoryLimit = e.memoryLimit
	}
	return opts
}
