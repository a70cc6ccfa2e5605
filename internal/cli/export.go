package cli

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"

	"github.com/simcash/simdb"
	"github.com/spf13/cobra"
)

func newExportCmd(e *env) *cobra.Command {
	var format, out string
	cmd := &cobra.Command{
		Use:   "export SIM --format parquet|csv|jsonl --out PATH",
		Short: "Write a run's events to a Parquet, CSV or JSONL file",
		Long: `Writes the events of SIM in (tick, seq) order to PATH.

parquet and csv are written by DuckDB's own COPY, with the simulation_events
columns. jsonl rebuilds each event exactly as it was ingested: ingest a file,
export it as jsonl, and the bytes equal the (decompressed) input - for
compact JSON lines such as the engine writes; other whitespace is not kept.
The file appears only once complete (written beside PATH, then renamed).`,
		Args: exactArgs(1, "one simulation id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "parquet", "csv", "jsonl"); err != nil {
				return err
			}
			if out == "" {
				return usagef("--out PATH is required")
			}
			return e.export(args[0], format, out)
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "parquet, csv or jsonl (required)")
	cmd.Flags().StringVar(&out, "out", "", "output file (required)")
	return cmd
}

func (e *env) export(sim, format, out string) (err error) {
	store, err := e.openRun(sim)
	if err != nil {
		return err
	}
	defer closeStore(store, &err)
	tmp := filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+".partial")
	defer os.Remove(tmp) // no-op after the rename
	var n int64
	switch format {
	case "jsonl":
		if n, err = exportJSONL(e, store, sim, tmp); err != nil {
			return err
		}
	default:
		if n, err = store.ExportEvents(e.ctx, sim, format, tmp); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, out); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "exported %d events of %q to %s (%s)\n", n, sim, out, format)
	return nil
}

func exportJSONL(e *env, store *simdb.Store, sim, path string) (n int64, err error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	w := bufio.NewWriterSize(f, 1<<20)
	for ev, err := range store.StreamEvents(e.ctx, sim, simdb.EventFilter{}) {
		if err != nil {
			return n, err
		}
		raw, err := ev.Raw()
		if err != nil {
			return n, fmt.Errorf("event seq %d: %w", ev.Seq, err)
		}
		w.Write(raw)
		w.WriteByte('\n')
		n++
	}
	return n, w.Flush()
}
