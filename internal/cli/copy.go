package cli

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/pgdb"
	"github.com/spf13/cobra"
)

// copyFlags are simdb copy's flags.
type copyFlags struct {
	from, to     string
	experiment   string
	all          bool
	allowRunning bool
}

func newCopyCmd(e *env) *cobra.Command {
	var f copyFlags
	cmd := &cobra.Command{
		Use:   "copy --to DB [--from DB] (SIM... | --experiment RUN | --all) [--allow-running]",
		Short: "Copy runs from one database to another (DuckDB file or PostgreSQL, either way)",
		Long: `Copies runs, whole, from --from (default: --db, else $SIMDB_DB, else
simdb.duckdb) to --to, each a DuckDB file or a postgres:// URL, in either
direction: the run's record (config, status and error text, timestamps,
experiment, totals), every event with its seq and bytes, and the register
values and summaries derived from them. Afterwards "simdb diff SIM SIM
--db A --db-b B" says identical and "export --format jsonl" gives the same
bytes from both. The target is created and migrated if needed; the source
is only read.

Select the runs by id, by experiment (--experiment RUN: every run of it) or
--all. Each run is reported on stdout:
  copied   written to the target
  skipped  the target holds it identical already (a second copy changes nothing)
  refused  the target holds a different run of that id (nothing of it is
           changed; the error names the first difference), or the run is still
           running at the source
A run still running at the source is refused unless --allow-running, which
copies the ticks it has committed and leaves the copy running; copying again
later continues it, as it continues a copy cut short (Ctrl-C, a lost
connection). The other runs are copied whatever happens to one; exit 1 when
any was refused or failed.`,
		Args: func(_ *cobra.Command, args []string) error {
			for _, sim := range args {
				if strings.TrimSpace(sim) == "" {
					return usagef("simulation id %q is empty", sim)
				}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("from") {
				f.from = e.dbPath
			}
			return e.copy(f, args)
		},
	}
	cmd.Flags().StringVar(&f.from, "from", "", "database to copy from, a file or a postgres:// URL (default: --db)")
	cmd.Flags().StringVar(&f.to, "to", "", "database to copy to, a file (created if needed) or a postgres:// URL")
	cmd.Flags().StringVar(&f.experiment, "experiment", "", "copy every run of this experiment run id")
	cmd.Flags().BoolVar(&f.all, "all", false, "copy every run of --from")
	cmd.Flags().BoolVar(&f.allowRunning, "allow-running", false, "copy runs still running at the source too (their committed ticks; the copy stays running)")
	return cmd
}

// checkCopyArgs refuses what cannot be meant: no target, the source as the
// target, no selection or two of them.
func checkCopyArgs(f copyFlags, ids []string) error {
	if f.to == "" {
		return usagef("copy needs --to DB (a DuckDB file or a postgres:// URL)")
	}
	if f.from == "" {
		return usagef("--from is empty")
	}
	if sameDatabase(f.from, f.to) {
		return usagef("--from and --to name the same database (%s)", pgdb.Redact(f.to))
	}
	selections := 0
	for _, on := range []bool{len(ids) > 0, f.experiment != "", f.all} {
		if on {
			selections++
		}
	}
	switch {
	case selections == 0:
		return usagef("say which runs to copy: simulation ids, --experiment RUN or --all")
	case selections > 1:
		return usagef("give simulation ids, --experiment RUN or --all, not more than one of them")
	}
	return nil
}

// sameDatabase reports whether two --db values name one database: equal
// URLs, or paths to the same file.
func sameDatabase(a, b string) bool {
	if a == b {
		return true
	}
	if pgdb.IsDSN(a) || pgdb.IsDSN(b) || a == ":memory:" || b == ":memory:" {
		return false
	}
	absA, errA := filepath.Abs(a)
	absB, errB := filepath.Abs(b)
	return errA == nil && errB == nil && absA == absB
}

func (e *env) copy(f copyFlags, ids []string) (err error) {
	if err := checkCopyArgs(f, ids); err != nil {
		return err
	}
	from, err := e.openReadAt(f.from)
	if err != nil {
		return err
	}
	defer closeStore(from, &err)
	switch {
	case f.all || f.experiment != "":
		runs, err := from.ListSimulations(e.ctx, simdb.ListFilter{ExperimentRunID: f.experiment})
		if err != nil {
			return err
		}
		if len(runs) == 0 {
			if f.all {
				fmt.Fprintf(e.stdout, "nothing to copy: %s holds no runs\n", from.Path())
				return nil
			}
			return fmt.Errorf("experiment %q has no runs in %s", f.experiment, from.Path())
		}
		// An experiment's runs come in iteration order; all runs oldest
		// first, so the target fills in the order they were made.
		if f.all {
			slices.Reverse(runs)
		}
		for _, r := range runs {
			ids = append(ids, r.SimulationID)
		}
	}
	opts := e.ingestOptions() // the target is written as ingest writes
	opts.Now = e.now
	to, err := simdb.Open(e.ctx, f.to, opts)
	if err != nil {
		return err
	}
	defer closeStore(to, &err)

	var bar *progressBar
	counted := &countingReader{}
	results, copyErr := simdb.CopyRuns(e.ctx, from, to, ids, simdb.CopyOptions{
		AllowRunning: f.allowRunning,
		Progress: func(p simdb.CopyProgress) {
			if bar == nil || bar.size != p.TotalEvents || p.Events < counted.n.Load() {
				if bar != nil {
					bar.done()
				}
				counted.n.Store(0)
				bar = newProgressBar(e.stderr, p.TotalEvents, counted)
			}
			counted.n.Store(p.Events)
			bar.update(simdb.IngestProgress{Events: p.Events})
		},
	})
	if bar != nil {
		bar.done()
	}
	var notCopied []string
	counts := map[simdb.CopyOutcome]int{}
	for _, r := range results {
		counts[r.Outcome]++
		switch r.Outcome {
		case simdb.CopyCopied:
			fmt.Fprintf(e.stdout, "copied  %s (%d events)\n", cell(r.SimulationID), r.Events)
		case simdb.CopySkipped:
			fmt.Fprintf(e.stdout, "skipped %s: identical at the target\n", cell(r.SimulationID))
		default:
			fmt.Fprintf(e.stdout, "%-7s %s\n", r.Outcome, cell(r.SimulationID))
			fmt.Fprintf(e.stderr, "simdb: %s\n", oneLine(copyErrorText(r.Err, f.to)))
			notCopied = append(notCopied, r.SimulationID)
		}
	}
	fmt.Fprintf(e.stdout, "%d copied, %d skipped, %d refused, %d failed: %s -> %s\n",
		counts[simdb.CopyCopied], counts[simdb.CopySkipped], counts[simdb.CopyRefused], counts[simdb.CopyFailed],
		from.Path(), to.Path())
	if len(results) == 0 && copyErr != nil {
		return copyErr // nothing was tried (the target is read-only, …)
	}
	if len(notCopied) > 0 || copyErr != nil {
		if e.ctx.Err() != nil {
			return fmt.Errorf("copy interrupted: copy again to continue (runs copied in part stay running at %s and are continued)", to.Path())
		}
		return fmt.Errorf("%d of %d run(s) not copied: %s", len(notCopied), len(ids), strings.Join(quoteAll(notCopied), ", "))
	}
	return nil
}

// copyErrorText is a refused or failed run's error, with what to do for
// the failures a user can act on.
func copyErrorText(err error, to string) string {
	msg := err.Error()
	if errors.Is(err, simdb.ErrCopyConflict) {
		return msg + " (remove it there with simdb --db " + pgdb.Redact(to) + " rm, or keep it)"
	}
	return msg
}

func quoteAll(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = cell(fmt.Sprintf("%q", id))
	}
	return out
}
