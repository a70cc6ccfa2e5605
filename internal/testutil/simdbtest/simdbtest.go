// Package simdbtest holds test helpers that need simdb's public types. It
// is apart from testutil because testutil must not import simdb: the tests
// of simdb's own dependencies (internal/event, internal/provider) import
// testutil.
package simdbtest

import "github.com/simcash/simdb"

// Seqs returns the Seq of each event, in order.
func Seqs(evs []simdb.StoredEvent) []int64 {
	out := make([]int64, len(evs))
	for i, ev := range evs {
		out[i] = ev.Seq
	}
	return out
}

// RunIDs returns the SimulationID of each run, in order.
func RunIDs(runs []simdb.SimulationSummary) []string {
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = r.SimulationID
	}
	return ids
}
