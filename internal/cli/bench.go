package cli

import (
	"github.com/spf13/cobra"
)

func newBenchCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:    "bench",
		Short:  "Measure ingest speed against DuckDB's own loaders",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usagef("bench is not built yet")
		},
	}
}
