package cli

import (
	"fmt"
	"time"

	"github.com/simcash/simdb"
	"github.com/spf13/cobra"
)

// leaseValue is --lease: a duration of at least simdb.MinLease (0, the
// default, is simdb.DefaultLease). A shorter one is a usage error.
type leaseValue struct{ d *time.Duration }

func (v leaseValue) String() string {
	if v.d == nil || *v.d == 0 {
		return simdb.DefaultLease.String()
	}
	return v.d.String()
}

func (v leaseValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("not a duration (e.g. 2m, 30s): %q", s)
	}
	if d < simdb.MinLease {
		return fmt.Errorf("%v is shorter than the minimum, %v", d, simdb.MinLease)
	}
	*v.d = d
	return nil
}

func (leaseValue) Type() string { return "duration" }

// addLeaseFlag defines --lease on a command that writes runs.
func addLeaseFlag(cmd *cobra.Command, d *time.Duration) {
	cmd.Flags().Var(leaseValue{d}, "lease", "how long this writer's hold on its run outlives its last heartbeat (renewed every third of it): "+
		"another writer, ingest --resume or recover takes the run only once it has expired (RELIABILITY.md, \"Writer leases\")")
}

// alreadyCompleted is what ingest --resume says of a run that was already
// completed from the same stream.
func alreadyCompleted(sim string, res simdb.IngestResult) string {
	return fmt.Sprintf("%q is already completed with these %d events (%d lines checked): nothing to do", sim, res.Skipped, res.Lines)
}

// resumeMismatch is ingest --resume's error for a stream that is not the
// stored run's: nothing was written, and the run is as it was — still
// running (resume it with the right stream), or completed (a differing
// stream is refused rather than ignored: it is another run's, or the run
// was recorded from another).
func resumeMismatch(err error, sim string, completed bool) error {
	if completed {
		return fmt.Errorf("%w; nothing was written and %q stays completed as stored: this stream is not the one it was completed from", err, sim)
	}
	return fmt.Errorf("%w; nothing was written and %q is still running: resume it with the stream it was ingested from", err, sim)
}
