// Package cli is the simdb command line: ingest, events, show, list, export, copy,
// diff, gen, recover and demo over the public simdb package, plus bench, a
// developer's tool hidden from --help. Run is the whole program, so tests
// drive it in-process.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/trace"
	"strings"
	"time"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/duckfile"
	"github.com/simcash/simdb/internal/pgdb"
	"github.com/spf13/cobra"
)

// Exit codes.
const (
	exitOK        = 0
	exitFailure   = 1 // also "different" for diff
	exitUsage     = 2
	defaultDBFile = "simdb.duckdb"
)

// usageError marks a bad invocation (exit 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// exitError carries a specific exit code with an already printed outcome
// (diff's "different").
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// env is what every command shares.
type env struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	dbPath string
	// memoryLimit caps DuckDB's memory for every command (--memory-limit);
	// memoryLimitSet says the user gave it (ingest has its own default).
	memoryLimit    string
	memoryLimitSet bool
	// traceFile is --trace; stopTrace ends the trace once the command has
	// run (nil when none was started).
	traceFile string
	stopTrace func() error
	// now is the wall clock written into rows (nil: time.Now); tests fix it
	// so golden outputs are stable.
	now func() time.Time
	// serveReady, when set, receives the address simdb serve listens on
	// (tests listen on port 0).
	serveReady chan<- string
	// running is set once cobra has parsed the flags and arguments and
	// starts the command: from then on only a usageError is a usage error.
	running bool
}

// Run executes the simdb command line with args (without the program name)
// and returns the exit code: 0 success, 1 failure (or "different" for
// diff), 2 usage error. Errors are printed to stderr as one line.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return run(&env{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr}, args)
}

func run(e *env, args []string) int {
	ctx, stdin, stdout, stderr := e.ctx, e.stdin, e.stdout, e.stderr
	root := newRoot(e)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if e.stopTrace != nil {
		if terr := e.stopTrace(); err == nil && terr != nil {
			err = fmt.Errorf("--trace %s: %w", e.traceFile, terr)
		}
	}
	if err == nil {
		return exitOK
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintf(stderr, "simdb: %s\n", oneLine(err.Error()))
	// cobra's own complaints (unknown command, ...) are recognised by their
	// text, but only before the command runs: a command's error may quote
	// anything (a stream's "invalid argument" string, an EINVAL).
	var ue usageError
	if errors.As(err, &ue) || (!e.running && isCobraUsage(err)) {
		fmt.Fprintln(stderr, "Run 'simdb --help' for usage.")
		return exitUsage
	}
	return exitFailure
}

// isCobraUsage recognises cobra's own argument and flag errors.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "flag needs an argument", "invalid argument", "accepts ", "requires at least", "required flag"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// oneLine puts a message on one line, its other control characters
// escaped (an error may quote a stream's event type).
func oneLine(s string) string { return cell(strings.ReplaceAll(strings.TrimSpace(s), "\n", "; ")) }

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "simdb",
		Short: "Store, query, compare and export SimCash simulation runs in a DuckDB file",
		Long: `simdb keeps SimCash payment-system simulation runs in one embedded DuckDB
file: ingest event streams, query the timeline, compare runs, export them.

The database file is --db, else $SIMDB_DB, else simdb.duckdb. Read-only
commands (events, show, list, export, diff, serve; copy's source) open it
read-only, so several of them can run at once, but none while a writer
(ingest, recover, rm, demo; copy's target) holds the file. A postgres://
or postgresql:// URL in --db names a PostgreSQL database instead, which any
number of commands and processes use at once.`,
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	def := os.Getenv("SIMDB_DB")
	if def == "" {
		def = defaultDBFile
	}
	root.PersistentFlags().StringVar(&e.dbPath, "db", def, "DuckDB database file or postgres:// URL ($SIMDB_DB sets the default)")
	root.PersistentFlags().StringVar(&e.memoryLimit, "memory-limit", "256MB", `DuckDB's memory limit ("" for DuckDB's default, 80% of RAM); ingest and events --all use `+ingestMemoryLimit+` unless this is given`)
	root.PersistentFlags().StringVar(&e.traceFile, "trace", "", "write a Go execution trace of the command to `FILE`, for performance work: go tool trace FILE shows simdb's steps (storing, committing, a writer's waits) under \"User-defined regions\"")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		e.running = true
		if e.traceFile != "" {
			if err := e.startTrace(); err != nil {
				return err
			}
		}
		e.memoryLimitSet = cmd.Flags().Changed("memory-limit")
		if e.memoryLimitSet && e.memoryLimit != "" {
			return checkMemoryLimit(e.ctx, e.memoryLimit)
		}
		return nil
	}
	root.AddCommand(
		newIngestCmd(e), newEventsCmd(e), newShowCmd(e), newListCmd(e), newExportCmd(e),
		newDiffCmd(e), newCopyCmd(e), newGenCmd(e), newRecoverCmd(e), newRmCmd(e), newDemoCmd(e), newServeCmd(e), newBenchCmd(e),
	)
	return root
}

// checkMemoryLimit asks DuckDB (an in-memory instance) whether it takes
// limit as memory_limit, so a bad --memory-limit is a usage error rather
// than a failure to open the database.
func checkMemoryLimit(ctx context.Context, limit string) error {
	db, err := duckfile.Open(ctx, ":memory:", duckfile.Options{MemoryLimit: limit})
	if err != nil {
		return usagef("--memory-limit %q is not a size DuckDB accepts (e.g. 256MB, 2GiB): %s", limit, strings.TrimPrefix(err.Error(), "open database :memory:: "))
	}
	return db.Close()
}

// exactArgs is cobra.ExactArgs with a usage error.
func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("want %s, got %d argument(s)", names, len(args))
		}
		return nil
	}
}

// openRead opens the database read-only, without migrating. A missing file
// is reported as such rather than as DuckDB's read-only message.
func (e *env) openRead() (*simdb.Store, error) {
	return e.openReadAt(e.dbPath)
}

func (e *env) openReadAt(path string) (*simdb.Store, error) {
	return e.openReadLimit(path, e.memoryLimit)
}

// openReadLimit is openReadAt under DuckDB memory limit limit.
func (e *env) openReadLimit(path, limit string) (*simdb.Store, error) {
	if path != ":memory:" && !pgdb.IsDSN(path) {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("database %s does not exist", path)
		}
	}
	return simdb.Open(e.ctx, path, simdb.Options{ReadOnly: true, MemoryLimit: limit})
}

// openRun opens the database read-only for commands about one run, and
// fails with a clear message when the run is not in it.
func (e *env) openRun(sim string) (*simdb.Store, error) {
	return e.openRunWith(sim, e.memoryLimit)
}

// streamMemoryLimit is DuckDB's memory limit for `events --all` unless
// --memory-limit says otherwise. A stream reads each block of the run once,
// so DuckDB's buffer cache only grows with the run: under a small limit a
// whole 1M-event run streams in under 150 MB resident (BENCHMARKS.md).
const streamMemoryLimit = "32MB"

// openRunWith is openRun under DuckDB memory limit limit, unless the user
// gave --memory-limit.
func (e *env) openRunWith(sim, limit string) (*simdb.Store, error) {
	if e.memoryLimitSet {
		limit = e.memoryLimit
	}
	store, err := e.openReadLimit(e.dbPath, limit)
	if err != nil {
		return nil, err
	}
	if _, err := requireSimulation(e.ctx, store, sim); err != nil {
		store.Close()
		return nil, err
	}
	return store, nil
}

// openWrite opens the database for writing, migrating it if needed.
func (e *env) openWrite(opts simdb.Options) (*simdb.Store, error) {
	if opts.Now == nil {
		opts.Now = e.now
	}
	if opts.MemoryLimit == "" {
		opts.MemoryLimit = e.memoryLimit
	}
	// This process is the CLI's own: giving the C heap's free memory back
	// is its call to make (simdb.Options.TrimCHeap).
	opts.TrimCHeap = true
	return simdb.Open(e.ctx, e.dbPath, opts)
}

// requireSimulation returns the run's summary, or an error naming the run
// and the database when the run is not there.
func requireSimulation(ctx context.Context, store *simdb.Store, id string) (simdb.SimulationSummary, error) {
	sum, err := store.GetSimulationSummary(ctx, id)
	if errors.Is(err, simdb.ErrSimulationNotFound) {
		return sum, fmt.Errorf("simulation %q not found in %s", id, store.Path())
	}
	return sum, err
}

func closeStore(store *simdb.Store, err *error) {
	if cerr := store.Close(); cerr != nil && *err == nil {
		*err = cerr
	}
}

// simArgs is exactArgs for n simulation ids, refusing an id that is empty
// or only whitespace: it can only be a quoting mistake (an empty shell
// variable), and it would otherwise read as "not found".
func simArgs(n int, names string) cobra.PositionalArgs {
	count := exactArgs(n, names)
	return func(cmd *cobra.Command, args []string) error {
		if err := count(cmd, args); err != nil {
			return err
		}
		for _, sim := range args {
			if strings.TrimSpace(sim) == "" {
				return usagef("simulation id %q is empty", sim)
			}
		}
		return nil
	}
}

func checkFormat(format string, allowed ...string) error {
	for _, a := range allowed {
		if format == a {
			return nil
		}
	}
	return usagef("unknown --format %q (want %s)", format, strings.Join(allowed, ", "))
}

// startTrace starts the Go execution trace --trace asked for; run stops it
// when the command returns. The trace is the process's: a second one (a
// test binary's own -test.trace) is refused by the runtime.
func (e *env) startTrace() error {
	f, err := os.Create(e.traceFile)
	if err != nil {
		return fmt.Errorf("--trace: %w", err)
	}
	if err := trace.Start(f); err != nil {
		f.Close()
		return fmt.Errorf("--trace %s: %w", e.traceFile, err)
	}
	e.stopTrace = func() error {
		trace.Stop()
		return f.Close()
	}
	return nil
}
