// Command simdb ingests, queries, compares and exports SimCash simulation
// runs stored in a DuckDB file. It is a thin layer over the simdb package;
// see internal/cli for the commands and `simdb --help` for usage.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/simcash/simdb/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
