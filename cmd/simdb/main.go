// Command simdb ingests, queries, compares and exports SimCash simulation
// runs stored in a DuckDB file. It is a thin layer over the simdb package;
// see internal/cli for the commands and `simdb --help` for usage.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"

	"github.com/simcash/simdb/internal/cli"
)

// goHeapSoftLimit is the Go runtime's soft memory limit for the simdb
// process unless GOMEMLIMIT says otherwise. simdb's live Go heap is small (an
// ingest holds two commit groups, a read command at most three 20k-event
// windows), but without a limit the collector lets the heap grow to twice
// its live size before it runs; the limit keeps the resident set down
// (BENCHMARKS.md, "Peak RSS"). It is soft: a larger live heap is still
// allowed. It is set in main, not in the library, because it is a
// process-wide setting the program owns.
const goHeapSoftLimit = 100 << 20

func main() {
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(goHeapSoftLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
