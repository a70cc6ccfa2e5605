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
// process unless GOMEMLIMIT says otherwise. An ingest's live Go heap is two
// commit groups plus the stream-metrics set (~60 MB at 10M events);
// without a limit the collector lets the heap reach twice that before it
// runs. With a 64MB DuckDB limit a 10M-event ingest peaked at 310 MB
// resident under 100 MiB against 367 MB under 160 MiB (BENCHMARKS.md,
// "Peak RSS"); read commands hold at most three 20k-event windows. The limit is soft: a larger live heap is still
// allowed (the runtime then caps GC at half the CPU rather than failing).
// Measured in BENCHMARKS.md. Set here, in the process's main, not in the
// library: it is a process-wide setting that the program, not a package,
// owns.
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
