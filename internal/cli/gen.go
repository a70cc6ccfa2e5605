package cli

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/simcash/simdb/internal/simgen"
	"github.com/spf13/cobra"
)

func newGenCmd(e *env) *cobra.Command {
	var o simgen.Options
	var out, configOut string
	cmd := &cobra.Command{
		Use:   "gen [--agents N] [--days D] [--ticks-per-day T] [--seed S] [--events-per-tick R] [--out FILE] [--config-out FILE]",
		Short: "Write a deterministic synthetic SimCash-shaped event stream",
		Long: `Writes a synthetic event stream shaped like the SimCash engine's (its event
types, field names, key order and nesting, in plausible proportions) as JSON
Lines, to --out or stdout. The same flags and seed give identical bytes.
--config-out also writes the matching config, for ingest --config.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Agents < 2 || o.Days < 1 || o.TicksPerDay < 1 || o.EventsPerTick < 1 {
				return usagef("--agents must be at least 2 and --days, --ticks-per-day, --events-per-tick at least 1")
			}
			var w io.Writer = e.stdout
			var f *os.File
			if out != "" && out != "-" {
				var err error
				if f, err = os.Create(out); err != nil {
					return err
				}
				defer f.Close()
				w = f
			}
			bw := bufio.NewWriterSize(w, 1<<20)
			stats, err := simgen.Write(bw, o)
			if err != nil {
				return err
			}
			if err := bw.Flush(); err != nil {
				return err
			}
			if f != nil {
				if err := f.Close(); err != nil {
					return err
				}
				fmt.Fprintf(e.stderr, "wrote %d events (%d ticks) to %s\n", stats.Events, stats.Ticks, out)
			}
			if configOut != "" {
				if err := os.WriteFile(configOut, simgen.Config(o), 0o644); err != nil {
					return err
				}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&o.Agents, "agents", 8, "number of banks")
	fl.IntVar(&o.Days, "days", 1, "simulated days")
	fl.IntVar(&o.TicksPerDay, "ticks-per-day", 100, "ticks per day")
	fl.Int64Var(&o.Seed, "seed", 1, "random seed")
	fl.IntVar(&o.EventsPerTick, "events-per-tick", 40, "average events per tick")
	fl.StringVar(&out, "out", "", "output file (default stdout)")
	fl.StringVar(&configOut, "config-out", "", "also write the matching config (JSON) to this file, for ingest --config")
	return cmd
}

// writeGenerated writes a generated stream and its config into dir and
// returns their paths.
func writeGenerated(dir, name string, o simgen.Options) (stream, config string, err error) {
	stream = filepath.Join(dir, name+".jsonl")
	config = filepath.Join(dir, name+".config.json")
	f, err := os.Create(stream)
	if err != nil {
		return "", "", err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if _, err := simgen.Write(bw, o); err != nil {
		f.Close()
		return "", "", err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return "", "", err
	}
	if err := f.Close(); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(config, simgen.Config(o), 0o644); err != nil {
		return "", "", err
	}
	return stream, config, nil
}
