package cli

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/simgen"
	"github.com/spf13/cobra"
)

func newDemoCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "Generate a small run, ingest it into --db, and show it",
		Long: `Generates a small synthetic run (4 banks, 1 day of 100 ticks), ingests it
into the database through the same path as 'simdb ingest', then prints the
run as 'simdb show' does and its first events. Each demo run gets the next
free id demo-1, demo-2, ...`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error { return e.demo() },
	}
}

func (e *env) demo() error {
	dir, err := os.MkdirTemp("", "simdb-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	o := simgen.Options{Agents: 4, Days: 1, TicksPerDay: 100, Seed: 1, EventsPerTick: 30}
	stream, config, err := writeGenerated(dir, "demo", o)
	if err != nil {
		return err
	}
	id, err := e.nextDemoID()
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "$ simdb --db %s ingest --sim %s --config %s %s\n", e.dbPath, id, "demo.config.json", "demo.jsonl")
	if err := e.ingest(ingestFlags{sim: id, config: config, configName: "demo.config.json"}, stream); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\n$ simdb --db %s show %s\n", e.dbPath, id)
	if err := e.show(id, "table"); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\n$ simdb --db %s events %s --limit 10\n", e.dbPath, id)
	return e.events(id, simdb.EventFilter{Limit: 10}, false, "table")
}

// nextDemoID returns the first demo-N not in the database.
func (e *env) nextDemoID() (id string, err error) {
	store, err := e.openWrite(simdb.Options{})
	if err != nil {
		return "", err
	}
	defer closeStore(store, &err)
	for n := 1; ; n++ {
		id = "demo-" + strconv.Itoa(n)
		if _, err := store.GetSimulationSummary(e.ctx, id); errors.Is(err, simdb.ErrSimulationNotFound) {
			return id, nil
		} else if err != nil {
			return "", err
		}
	}
}
