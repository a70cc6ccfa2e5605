package simdb

import (
	"context"

	"github.com/simcash/simdb/internal/provider"
)

// CopyOptions tune CopyRuns. The zero value copies finished runs only.
type CopyOptions struct {
	// AllowRunning copies a run still running at the source: the whole
	// ticks it has committed when the copy reads it. The copy stays
	// running at the target, and a later CopyRuns continues it. Without
	// it such a run is refused with ErrSimulationRunning: its writer may be
	// live, and the copy would be a snapshot of a run that goes on.
	AllowRunning bool
	// Progress, when set, is called as each run's events are checked or
	// written (at least once per tick), from the calling goroutine.
	Progress func(CopyProgress)
}

// CopyProgress is how far CopyRuns has come.
type CopyProgress struct {
	SimulationID string
	Run, Runs    int   // the run (1-based) of how many
	Events       int64 // events of the run checked against the target or written to it
	TotalEvents  int64 // the run's events at the source
}

// CopyOutcome is what CopyRuns did with one run.
type CopyOutcome string

const (
	// CopyCopied: the run was written to the target (or, when the target
	// held the first ticks of it still running, completed there).
	CopyCopied CopyOutcome = "copied"
	// CopySkipped: the target holds the run identical already.
	CopySkipped CopyOutcome = "skipped"
	// CopyRefused: the run differs at the target (ErrCopyConflict) or is
	// still running at the source (ErrSimulationRunning); nothing of it
	// was written.
	CopyRefused CopyOutcome = "refused"
	// CopyFailed: anything else (not at the source, a read or a write
	// failed). Whole ticks already written stay, the run running at the
	// target, and copying again continues it.
	CopyFailed CopyOutcome = "failed"
)

// CopyResult is what CopyRuns did with one run.
type CopyResult struct {
	SimulationID string
	Outcome      CopyOutcome
	// Events is how many events this call wrote to the target.
	Events int64
	// Err says why, for CopyRefused and CopyFailed; it names the run.
	Err error
}

// CopyRuns copies the runs ids names (each once) from one Store to
// another — DuckDB to PostgreSQL, PostgreSQL to DuckDB, or alike — through
// the target's own write path, so that afterwards `simdb diff` across the
// two says identical and a JSONL export of either gives the same bytes. A
// run goes over whole: its row column for column (config, sizes, status,
// totals, error text, experiment, started_at and completed_at), every
// event with its seq, bytes and both timestamps, and the register values
// and event summaries the writer derives from them. Events are read with
// StreamEvents and committed in the target's groups (Options.FlushEvents),
// so memory stays flat whatever a run's size. To select runs, list them:
// ListSimulations with an ExperimentRunID gives an experiment's.
//
// A run the target already has is compared first, event by event, on
// everything but the wall-clock columns (what `simdb diff` compares, plus
// config text and file, experiment, duration and error text): identical,
// it is skipped (CopySkipped); different, it is refused with
// ErrCopyConflict and left as it is. A target run still running whose
// events are the source's first ones — a copy cut short — is continued and
// finished. A run running at the source is refused (ErrSimulationRunning)
// unless opts.AllowRunning. One run's refusal or failure does not stop the
// others; the results say what happened to each, in order.
//
// The error joins the error of every refused and failed run (each naming
// its run); nil when every run was copied or skipped. Before any run:
// ErrInvalidArgument when from and to are the same Store, ErrReadOnly or
// ErrClosed for the target. A done ctx stops the copy: the run in hand
// keeps the whole ticks it has at the target, still running, and the runs
// after it are not tried.
func CopyRuns(ctx context.Context, from, to *Store, ids []string, opts CopyOptions) ([]CopyResult, error) {
	po := provider.CopyOptions{AllowRunning: opts.AllowRunning}
	if opts.Progress != nil {
		po.Progress = func(p provider.CopyProgress) { opts.Progress(CopyProgress(p)) }
	}
	res, err := provider.CopyRuns(ctx, from.p, to.p, ids, po)
	out := make([]CopyResult, len(res))
	for i, r := range res {
		out[i] = CopyResult{SimulationID: r.SimulationID, Outcome: CopyOutcome(r.Outcome), Events: r.Events, Err: publicError(r.Err)}
	}
	return out, publicError(err)
}
