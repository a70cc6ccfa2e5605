package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/simcash/simdb"
	"github.com/spf13/cobra"
)

func newExportCmd(e *env) *cobra.Command {
	var format, out string
	var force bool
	cmd := &cobra.Command{
		Use:   "export SIM --format parquet|csv|jsonl --out PATH|- [--force]",
		Short: "Write a run's events to a Parquet, CSV or JSONL file",
		Long: `Writes the events of SIM in (tick, seq) order to PATH, or to stdout for
"--out -" (also /dev/stdout).

parquet and csv are written by DuckDB's own COPY, with the simulation_events
columns. jsonl rebuilds each event exactly as it was ingested: ingest a file,
export it as jsonl, and the bytes equal the (decompressed) input - for
compact JSON lines such as the engine writes; other whitespace is not kept.

The file appears only once complete (written beside PATH, then renamed).
An existing PATH is kept unless --force is given (then it is replaced once
the new file is complete; a symbolic link is followed and the file it
points to replaced). PATH must be a regular file or not exist: devices,
pipes and directories are refused, and so is the database file itself (or
its .wal), under any name or link.`,
		Args: simArgs(1, "one simulation id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "parquet", "csv", "jsonl"); err != nil {
				return err
			}
			if out == "" {
				return usagef("--out PATH is required (- for stdout)")
			}
			return e.export(args[0], format, out, force)
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "parquet, csv or jsonl (required)")
	cmd.Flags().StringVar(&out, "out", "", "output file, or - for stdout (required)")
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing output file")
	return cmd
}

// stdoutAliases are paths that name the process's stdout. Writing them
// through a temporary file and a rename would replace the link (or, with
// stdout redirected to a file, the file behind the shell's back) instead of
// writing to stdout, so they are treated as "-".
var stdoutAliases = []string{"/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"}

func (e *env) export(sim, format, out string, force bool) (err error) {
	toStdout := out == "-"
	for _, a := range stdoutAliases {
		if filepath.Clean(out) == a {
			toStdout = true
		}
	}
	target := out
	if !toStdout {
		// Checked before the database is opened, so a refused --out
		// leaves everything as it was.
		if target, err = exportTarget(e.dbPath, out, force); err != nil {
			return err
		}
	}
	store, err := e.openRun(sim)
	if err != nil {
		return err
	}
	defer closeStore(store, &err)

	dir, base := filepath.Dir(target), "."+filepath.Base(target)+".*.partial"
	if toStdout {
		dir, base = os.TempDir(), "simdb-export-*."+format
	}
	var n int64
	if toStdout && format == "jsonl" {
		if n, err = exportJSONL(e, store, sim, e.stdout); err != nil {
			return err
		}
	} else {
		tmp, err := createTemp(dir, base)
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		defer os.Remove(tmp.Name()) // no-op after the rename
		if format == "jsonl" {
			n, err = exportJSONL(e, store, sim, tmp)
			if cerr := tmp.Close(); err == nil {
				err = cerr
			}
		} else {
			tmp.Close()
			n, err = store.ExportEvents(e.ctx, sim, format, tmp.Name())
		}
		if err != nil {
			return err
		}
		if toStdout {
			err = copyFileTo(e.stdout, tmp.Name())
		} else {
			err = place(tmp.Name(), target, out, force)
		}
		if err != nil {
			return err
		}
	}
	if toStdout {
		fmt.Fprintf(e.stderr, "exported %d events of %q to stdout (%s)\n", n, sim, format)
	} else {
		fmt.Fprintf(e.stdout, "exported %d events of %q to %s (%s)\n", n, sim, out, format)
	}
	return nil
}

// exportTarget returns the file an export to out writes: out itself, or
// the file a symbolic link out points to. It refuses a target that is not
// a regular file, that is the database db (or its WAL) under any name,
// or that exists when force is not set.
func exportTarget(db, out string, force bool) (string, error) {
	target := out
	if lst, err := os.Lstat(out); err == nil && lst.Mode()&fs.ModeSymlink != 0 {
		if target, err = filepath.EvalSymlinks(out); err != nil {
			return "", fmt.Errorf("--out %s is a symbolic link that does not resolve: %w", out, err)
		}
	}
	st, err := os.Stat(target)
	if errors.Is(err, fs.ErrNotExist) {
		return target, nil
	}
	if err != nil {
		return "", fmt.Errorf("--out %s: %w", out, err)
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("--out %s is not a regular file (%s): export writes regular files only; use --out - for stdout", out, st.Mode().Type())
	}
	if db != ":memory:" {
		for _, p := range []string{db, db + ".wal"} {
			if dst, err := os.Stat(p); err == nil && os.SameFile(st, dst) {
				return "", fmt.Errorf("--out %s is the database file %s being exported from: refusing to overwrite it", out, p)
			}
		}
	}
	if !force {
		return "", fmt.Errorf("--out %s already exists: use --force to replace it", out)
	}
	return target, nil
}

// createTemp creates a new file in dir named by pattern, its "*" replaced
// by a random number. Unlike os.CreateTemp (0600) it asks for 0666, so the
// exported file gets the permissions the umask gives a new file.
func createTemp(dir, pattern string) (*os.File, error) {
	prefix, suffix, _ := strings.Cut(pattern, "*")
	for {
		name := filepath.Join(dir, prefix+strconv.FormatUint(rand.Uint64(), 36)+suffix)
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if !errors.Is(err, fs.ErrExist) {
			return f, err
		}
	}
}

// place moves the finished temporary file tmp to target. Without force it
// never replaces a file: a hard link fails if target appeared meanwhile
// (where links are unsupported, it checks and renames).
func place(tmp, target, out string, force bool) error {
	if !force {
		err := os.Link(tmp, target)
		if err == nil {
			return nil
		}
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("--out %s already exists: use --force to replace it", out)
		}
		if _, serr := os.Lstat(target); serr == nil {
			return fmt.Errorf("--out %s already exists: use --force to replace it", out)
		}
	}
	if err := os.Rename(tmp, target); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

func copyFileTo(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.Copy(w, f); err != nil {
		return fmt.Errorf("export to stdout: %w", err)
	}
	return nil
}

func exportJSONL(e *env, store *simdb.Store, sim string, out io.Writer) (n int64, err error) {
	w := bufio.NewWriterSize(out, 1<<20)
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
	if err := w.Flush(); err != nil {
		return n, fmt.Errorf("export: %w", err)
	}
	return n, nil
}
