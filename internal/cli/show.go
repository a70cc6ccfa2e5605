package cli

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/simcash/simdb"
	"github.com/spf13/cobra"
)

func newShowCmd(e *env) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "show SIM [--format table|json]",
		Short: "Show a run: status, config, experiment, totals and its events by type",
		Args:  simArgs(1, "one simulation id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "table", "json"); err != nil {
				return err
			}
			return e.show(args[0], format)
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	return cmd
}

// showOutput is show's JSON form.
type showOutput struct {
	Simulation simdb.SimulationSummary `json:"simulation"`
	Events     simdb.EventSummary      `json:"events"`
}

func (e *env) show(sim, format string) (err error) {
	store, err := e.openRead()
	if err != nil {
		return err
	}
	defer closeStore(store, &err)
	sum, err := requireSimulation(e.ctx, store, sim)
	if err != nil {
		return err
	}
	evs, err := store.GetEventSummary(e.ctx, sim)
	if err != nil {
		return err
	}
	if format == "json" {
		return writeJSON(e.stdout, showOutput{Simulation: sum, Events: evs})
	}
	printSummary(e.stdout, sum, evs)
	return nil
}

func printSummary(out io.Writer, s simdb.SimulationSummary, evs simdb.EventSummary) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, cell(v)) }
	row("simulation", s.SimulationID)
	status := s.Status
	if s.ErrorMessage != nil {
		status += ": " + *s.ErrorMessage
	}
	row("status", status)
	if s.ConfigFile != nil {
		row("config file", *s.ConfigFile)
	}
	seed := "-"
	if s.RngSeed != nil {
		seed = strconv.FormatInt(*s.RngSeed, 10)
	}
	row("config", fmt.Sprintf("%d agents, %d day(s) x %d ticks/day (%d ticks), seed %s, hash %.12s", s.NumAgents, s.NumDays, s.TicksPerDay, s.TotalTicks, seed, s.ConfigHash))
	if s.ExperimentRunID != nil {
		it := "-"
		if s.ExperimentIteration != nil {
			it = strconv.Itoa(int(*s.ExperimentIteration))
		}
		row("experiment", fmt.Sprintf("%s iteration %s", *s.ExperimentRunID, it))
	}
	row("started", s.StartedAt.Format(time.RFC3339))
	if s.CompletedAt != nil {
		row("finished", s.CompletedAt.Format(time.RFC3339))
	}
	lastTick := "-"
	if s.LastTick != nil {
		lastTick = strconv.FormatInt(*s.LastTick, 10)
	}
	row("stored", fmt.Sprintf("%d events through tick %s", s.EventCount, lastTick))
	if s.TotalArrivals != nil {
		row("arrivals", strconv.FormatInt(*s.TotalArrivals, 10))
		row("settlements", fmt.Sprintf("%d (rate %.4f)", *s.TotalSettlements, s.SettlementRate))
		row("total cost", fmt.Sprintf("%s (avg/day %s)", cents(*s.TotalCostCents), cents(s.AvgDailyCostCents)))
	}
	switch {
	case s.DurationSeconds != nil && *s.DurationSeconds > 0:
		row("duration", fmt.Sprintf("%.3fs (%.1f ticks/s)", *s.DurationSeconds, *s.TicksPerSecond))
	case s.DurationSeconds != nil:
		row("duration", "not recorded")
	}
	tw.Flush()
	fmt.Fprintln(out)
	fmt.Fprintf(out, "events by type (%d in all):\n", evs.TotalEvents)
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	for _, c := range evs.ByType {
		fmt.Fprintf(tw, "  %d\t  %s\t\n", c.Count, cell(c.EventType))
	}
	tw.Flush()
	fmt.Fprintf(out, "agents (%d): %s\n", len(evs.Agents), cell(strings.Join(evs.Agents, ", ")))
}

// cents renders integer cents as units with two decimals, exactly.
func cents(c int64) string {
	sign := ""
	u := uint64(c)
	if c < 0 {
		sign, u = "-", uint64(-(c+1))+1
	}
	return fmt.Sprintf("%s%d.%02d", sign, u/100, u%100)
}

func newListCmd(e *env) *cobra.Command {
	var status, experiment, format string
	cmd := &cobra.Command{
		Use:   "list [--status S] [--experiment RUN] [--format table|json|csv]",
		Short: "List runs, newest first (an experiment's runs by iteration)",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			if err := checkFormat(format, "table", "json", "csv"); err != nil {
				return err
			}
			switch status {
			case "", "running", "completed", "failed":
			default:
				return usagef("unknown --status %q (want running, completed or failed)", status)
			}
			store, err := e.openRead()
			if err != nil {
				return err
			}
			defer closeStore(store, &err)
			runs, err := store.ListSimulations(e.ctx, simdb.ListFilter{Status: status, ExperimentRunID: experiment})
			if err != nil {
				return err
			}
			return printRuns(e.stdout, runs, format)
		},
	}
	cmd.Flags().StringVar(&status, "status", "", "only runs with this status (running, completed, failed)")
	cmd.Flags().StringVar(&experiment, "experiment", "", "only the runs of this experiment run, by iteration")
	cmd.Flags().StringVar(&format, "format", "table", "table, json or csv")
	return cmd
}

func printRuns(out io.Writer, runs []simdb.SimulationSummary, format string) error {
	if format == "json" {
		if runs == nil {
			runs = []simdb.SimulationSummary{}
		}
		return writeJSON(out, runs)
	}
	header := []string{"simulation_id", "status", "started_at", "ticks", "events", "arrivals", "settlements", "settlement_rate", "total_cost_cents", "experiment_run_id", "iteration"}
	rows := make([][]string, 0, len(runs))
	for _, r := range runs {
		rows = append(rows, []string{
			r.SimulationID, r.Status, r.StartedAt.Format(time.RFC3339), strconv.FormatInt(r.TotalTicks, 10),
			strconv.FormatInt(r.EventCount, 10), optInt(r.TotalArrivals), optInt(r.TotalSettlements),
			strconv.FormatFloat(r.SettlementRate, 'f', 4, 64), optInt(r.TotalCostCents), deref(r.ExperimentRunID), optInt32(r.ExperimentIteration),
		})
	}
	if format == "csv" {
		cw := csv.NewWriter(out)
		_ = cw.Write(header)
		_ = cw.WriteAll(rows)
		return cw.Error()
	}
	if len(rows) == 0 {
		_, err := fmt.Fprintln(out, "no simulations")
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.ToUpper(strings.Join(header, "\t")))
	for _, r := range rows {
		for i := range r {
			r[i] = cell(orDash(r[i]))
		}
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

func optInt(v *int64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatInt(*v, 10)
}

func optInt32(v *int32) string {
	if v == nil {
		return ""
	}
	return strconv.Itoa(int(*v))
}
