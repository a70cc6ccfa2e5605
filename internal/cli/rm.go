package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/simcash/simdb"
	"github.com/spf13/cobra"
)

func newRmCmd(e *env) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "rm SIM [--yes]",
		Short: "Remove a completed or failed run and all its rows",
		Long: `Removes SIM from the database: its row, events, register values and
summaries, in one transaction (all or nothing). The id can then be ingested
again, e.g. after a failed ingest.

A running run is refused: if its ingest was interrupted, "simdb ingest
--resume" continues it, or "simdb recover" marks it failed first. rm asks
you to type the id on a terminal; elsewhere (scripts) it needs --yes.`,
		Args: simArgs(1, "one simulation id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !yes && !isTerminal(e.stdin) {
				return usagef("rm deletes %q for good: pass --yes to confirm (stdin is not a terminal to ask on)", args[0])
			}
			return e.rm(args[0], yes)
		},
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "remove without asking")
	return cmd
}

func (e *env) rm(sim string, yes bool) (err error) {
	store, err := e.openWrite(simdb.Options{})
	if err != nil {
		return err
	}
	defer closeStore(store, &err)
	sum, err := requireSimulation(e.ctx, store, sim)
	if err != nil {
		return err
	}
	if sum.Status == "running" {
		return fmt.Errorf("simulation %q is running: continue it with ingest --resume, or mark it failed with recover (after a crash) before removing it", sim)
	}
	if !yes && !confirm(e.stdin, e.stderr, sim, fmt.Sprintf("%s, %d events", sum.Status, sum.EventCount)) {
		return fmt.Errorf("simulation %q not removed", sim)
	}
	n, err := store.DeleteSimulation(e.ctx, sim)
	if errors.Is(err, simdb.ErrSimulationRunning) {
		return fmt.Errorf("simulation %q is running: not removed", sim)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "removed %q (%d events)\n", sim, n)
	return nil
}

// confirm asks on w for the id to be typed on r and reports whether it was.
func confirm(r io.Reader, w io.Writer, sim, what string) bool {
	fmt.Fprintf(w, "remove simulation %q (%s)? type its id to confirm: ", cell(sim), what)
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && line == "" {
		fmt.Fprintln(w)
		return false
	}
	return strings.TrimRight(line, "\r\n") == sim
}

// isTerminal reports whether r is a terminal (a character device).
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
