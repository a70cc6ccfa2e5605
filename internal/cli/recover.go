package cli

import (
	"fmt"

	"github.com/simcash/simdb"
	"github.com/spf13/cobra"
)

func newRecoverCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "recover",
		Short: "Mark the runs whose writer is gone as failed (interrupted); list the ones left running",
		Long: `A run that is still 'running' names its writer (host, pid, writer id) and
holds a lease, which that writer renews while it runs and gives up when it
closes (RELIABILITY.md, "Writer leases"). recover marks failed, with reason
"interrupted", each running run whose lease was given up or has expired -
its writer crashed or was killed - and lists them; it leaves alone the runs
whose lease is live and says, for each, who holds it, how old its last
heartbeat is and when the lease expires. So it is safe to run while other
processes write, on a file or on a shared PostgreSQL database. On
PostgreSQL a writer killed outright holds its run until its lease expires
(ingest --lease, default 2m): run recover again after that. On a DuckDB
file a writer of this host whose process is gone frees its run at once.
(To finish such a run instead, use ingest --resume.)`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			store, err := e.openWrite(simdb.Options{})
			if err != nil {
				return err
			}
			defer closeStore(store, &err)
			res, err := store.Recover(e.ctx)
			if err != nil {
				return err
			}
			for _, id := range res.Failed {
				fmt.Fprintf(e.stdout, "%s: marked failed (interrupted)\n", id)
			}
			for _, l := range res.LeftAlone {
				fmt.Fprintln(e.stdout, cell(l.String()))
			}
			if len(res.Failed) == 0 && len(res.LeftAlone) == 0 {
				fmt.Fprintln(e.stdout, "no interrupted simulations")
			} else if len(res.Failed) == 0 {
				fmt.Fprintln(e.stdout, "no interrupted simulations (the runs left running have live writers)")
			}
			return nil
		},
	}
}
