package cli

import (
	"bytes"
	"fmt"
	"iter"
	"slices"
	"strconv"

	"github.com/simcash/simdb"
	"github.com/spf13/cobra"
)

func newDiffCmd(e *env) *cobra.Command {
	var dbB string
	cmd := &cobra.Command{
		Use:   "diff SIM_A SIM_B [--db-b FILE]",
		Short: "Compare two runs event by event (the INV-11 check)",
		Long: `Compares two runs - in the same database, or SIM_B in --db-b - on everything
but wall-clock columns: the run rows' config hash, shape and totals, then
every event in (tick, seq) order (type, tick, day, agent_id, tx_id, details,
participants and the exact original object).

Exit 0 and "identical (N events)" when they match; exit 1 and the first
divergence (tick, seq, field, both values) otherwise.`,
		Args: simArgs(2, "two simulation ids"),
		RunE: func(cmd *cobra.Command, args []string) error { return e.diff(args[0], args[1], dbB) },
	}
	cmd.Flags().StringVar(&dbB, "db-b", "", "database of SIM_B, a file or a postgres:// URL (default: --db)")
	return cmd
}

func (e *env) diff(a, b, dbB string) (err error) {
	storeA, err := e.openRead()
	if err != nil {
		return err
	}
	defer closeStore(storeA, &err)
	storeB := storeA
	if dbB != "" && dbB != e.dbPath {
		if storeB, err = e.openReadAt(dbB); err != nil {
			return err
		}
		defer closeStore(storeB, &err)
	}
	sa, err := requireSimulation(e.ctx, storeA, a)
	if err != nil {
		return err
	}
	sb, err := requireSimulation(e.ctx, storeB, b)
	if err != nil {
		return err
	}
	if field, va, vb, differ := diffRuns(sa, sb); differ {
		fmt.Fprintf(e.stdout, "different: run %s: %s=%s, %s=%s\n", field, a, cell(va), b, cell(vb))
		return exitError{exitFailure}
	}
	nextA, stopA := iter.Pull2(storeA.StreamEvents(e.ctx, a, simdb.EventFilter{}))
	defer stopA()
	nextB, stopB := iter.Pull2(storeB.StreamEvents(e.ctx, b, simdb.EventFilter{}))
	defer stopB()
	var n int64
	for {
		ea, errA, okA := nextA()
		eb, errB, okB := nextB()
		if errA != nil {
			return errA
		}
		if errB != nil {
			return errB
		}
		switch {
		case !okA && !okB:
			fmt.Fprintf(e.stdout, "identical (%d events)\n", n)
			return nil
		case !okA || !okB:
			longer, ev := b, eb
			if okA {
				longer, ev = a, ea
			}
			fmt.Fprintf(e.stdout, "different: %s has more events, from tick %d seq %d (%s)\n", longer, ev.Tick, ev.Seq, cell(ev.EventType))
			return exitError{exitFailure}
		}
		if field, va, vb, differ := diffEvents(ea, eb); differ {
			fmt.Fprintf(e.stdout, "different: tick %d seq %d field %s: %s=%s, %s=%s\n", ea.Tick, ea.Seq, field, a, cell(va), b, cell(vb))
			return exitError{exitFailure}
		}
		n++
	}
}

// diffRuns compares the run rows on everything but wall-clock columns.
func diffRuns(a, b simdb.SimulationSummary) (field, va, vb string, differ bool) {
	fields := []struct {
		name   string
		va, vb string
	}{
		{"config_hash", a.ConfigHash, b.ConfigHash},
		{"ticks_per_day", itoa(a.TicksPerDay), itoa(b.TicksPerDay)},
		{"num_days", itoa(a.NumDays), itoa(b.NumDays)},
		{"num_agents", itoa(a.NumAgents), itoa(b.NumAgents)},
		{"rng_seed", optInt(a.RngSeed), optInt(b.RngSeed)},
		{"status", a.Status, b.Status},
		{"event_count", itoa(a.EventCount), itoa(b.EventCount)},
		{"last_tick", optInt(a.LastTick), optInt(b.LastTick)},
		{"total_arrivals", optInt(a.TotalArrivals), optInt(b.TotalArrivals)},
		{"total_settlements", optInt(a.TotalSettlements), optInt(b.TotalSettlements)},
		{"total_cost_cents", optInt(a.TotalCostCents), optInt(b.TotalCostCents)},
	}
	for _, f := range fields {
		if f.va != f.vb {
			return f.name, orDash(f.va), orDash(f.vb), true
		}
	}
	return "", "", "", false
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// diffEvents compares two stored events on everything but wall-clock
// columns and the run's own id.
func diffEvents(a, b simdb.StoredEvent) (field, va, vb string, differ bool) {
	switch {
	case a.Seq != b.Seq:
		return "seq", itoa(a.Seq), itoa(b.Seq), true
	case a.Tick != b.Tick:
		return "tick", itoa(a.Tick), itoa(b.Tick), true
	case a.Day != b.Day:
		return "day", itoa(a.Day), itoa(b.Day), true
	case a.EventType != b.EventType:
		return "event_type", a.EventType, b.EventType, true
	case deref(a.AgentID) != deref(b.AgentID) || (a.AgentID == nil) != (b.AgentID == nil):
		return "agent_id", dash(a.AgentID), dash(b.AgentID), true
	case deref(a.TxID) != deref(b.TxID) || (a.TxID == nil) != (b.TxID == nil):
		return "tx_id", dash(a.TxID), dash(b.TxID), true
	case !bytes.Equal(a.Details, b.Details):
		return "details", string(a.Details), string(b.Details), true
	case !slices.Equal(a.Agents, b.Agents):
		return "agents", fmt.Sprint(a.Agents), fmt.Sprint(b.Agents), true
	case !slices.Equal(a.TxIDs, b.TxIDs):
		return "tx_ids", fmt.Sprint(a.TxIDs), fmt.Sprint(b.TxIDs), true
	}
	ra, errA := a.Raw()
	rb, errB := b.Raw()
	if errA != nil || errB != nil || !bytes.Equal(ra, rb) {
		return "event", string(ra), string(rb), true
	}
	return "", "", "", false
}
