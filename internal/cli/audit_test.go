package cli

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Tests for the hostile-input audit's findings (issue 19): each fails on
// the code before its fix.

// An existing file that is not a DuckDB database is refused by every
// command, whatever its extension, and left as it was. ingest used to
// report success and store nothing (DuckDB read runs.jsonl as JSON and ran
// on an in-memory database).
func TestNotADuckDBFileAsDB(t *testing.T) {
	dir := t.TempDir()
	stream, _ := genStream(t, dir, "s", smallGen)
	for name, data := range map[string][]byte{
		"runs.jsonl":   readFile(t, stream),
		"runs.json":    []byte(`{"ticks_per_day":10}`),
		"runs.csv":     []byte("a,b\n1,2\n"),
		"runs.parquet": []byte("PAR1\x15\x04\x15\x10\x15\x14L\x15\x02\x15\x00PAR1"),
		"empty.duckdb": nil,
	} {
		db := writeFile(t, filepath.Join(dir, name), data)
		for _, args := range [][]string{
			{"ingest", "--sim", "z", "--ticks-per-day", "10", stream},
			{"list"}, {"show", "z"}, {"events", "z"}, {"recover"},
			{"export", "z", "--format", "jsonl", "--out", filepath.Join(dir, "out.jsonl")},
			{"diff", "a", "b"},
		} {
			r := cli(t, append([]string{"--db", db}, args...)...)
			wantFailure(t, r, db, "not a DuckDB database file")
			if got := readFile(t, db); !bytes.Equal(got, data) {
				t.Fatalf("%s %v changed the file", name, args)
			}
		}
	}
}

// exportFixture is a database holding one small run, "s".
func exportFixture(t *testing.T) (dir, db string, stream []byte) {
	t.Helper()
	dir = t.TempDir()
	file, config := genStream(t, dir, "s", smallGen)
	db = filepath.Join(dir, "db.duckdb")
	mustCLI(t, "--db", db, "ingest", "--config", config, file)
	return dir, db, readFile(t, file)
}

// export --out naming the database it reads (by its name, another path, a
// symbolic or a hard link) is refused in every format, with or without
// --force, and the database stays intact. It used to overwrite the file
// and report success.
func TestExportRefusesTheDatabase(t *testing.T) {
	dir, db, _ := exportFixture(t)
	before := readFile(t, db)
	sym := filepath.Join(dir, "link.jsonl")
	if err := os.Symlink(db, sym); err != nil {
		t.Fatal(err)
	}
	hard := filepath.Join(dir, "hard.parquet")
	if err := os.Link(db, hard); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{db, filepath.Join(dir, ".", "sub", "..", "db.duckdb"), sym, hard} {
		for _, format := range []string{"jsonl", "csv", "parquet"} {
			for _, force := range [][]string{nil, {"--force"}} {
				args := append([]string{"--db", db, "export", "s", "--format", format, "--out", out}, force...)
				wantFailure(t, cli(t, args...), out, "is the database file", db)
				if !bytes.Equal(readFile(t, db), before) {
					t.Fatalf("%v changed the database", args)
				}
			}
		}
	}
	if lst, err := os.Lstat(sym); err != nil || lst.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the symbolic link was replaced: %v %v", lst, err)
	}
	mustCLI(t, "--db", db, "list")
	noPartial(t, dir)

	// The WAL beside the database is refused too (checked without opening
	// the database: a stray WAL would be replayed).
	wal := writeFile(t, filepath.Join(dir, "x.duckdb.wal"), []byte("wal"))
	if _, err := exportTarget(filepath.Join(dir, "x.duckdb"), wal, true); err == nil || !strings.Contains(err.Error(), "is the database file") {
		t.Errorf("the WAL as --out: %v", err)
	}
}

// --out - (or /dev/stdout) writes the export to stdout itself, in every
// format, with the summary on stderr; /dev/stdout is never replaced. It
// used to write a temporary file and rename it over /dev/stdout.
func TestExportToStdout(t *testing.T) {
	dir, db, stream := exportFixture(t)
	for _, out := range []string{"-", "/dev/stdout"} {
		r := mustCLI(t, "--db", db, "export", "s", "--format", "jsonl", "--out", out)
		if r.stdout != string(stream) {
			t.Errorf("--out %s: stdout is not the stream (%d bytes, want %d)", out, len(r.stdout), len(stream))
		}
		if want := fmt.Sprintf("exported %d events of \"s\" to stdout (jsonl)\n", bytes.Count(stream, []byte("\n"))); r.stderr != want {
			t.Errorf("--out %s: stderr %q, want %q", out, r.stderr, want)
		}
	}
	if lst, err := os.Lstat("/dev/stdout"); err == nil && lst.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("/dev/stdout is no longer a symbolic link: %v", lst.Mode())
	}
	r := mustCLI(t, "--db", db, "export", "s", "--format", "parquet", "--out", "-")
	pq := writeFile(t, filepath.Join(dir, "from-stdout.parquet"), []byte(r.stdout))
	if n := parquetCount(t, pq); n != int64(bytes.Count(stream, []byte("\n"))) {
		t.Errorf("parquet from stdout holds %d rows", n)
	}
	r = mustCLI(t, "--db", db, "export", "s", "--format", "csv", "--out", "-")
	if recs := readCSV(t, r.stdout); len(recs) != bytes.Count(stream, []byte("\n"))+1 {
		t.Errorf("csv from stdout: %d records", len(recs))
	}
	left, _ := filepath.Glob(filepath.Join(os.TempDir(), "simdb-export-*"))
	for _, l := range left {
		if st, err := os.Stat(l); err == nil && time.Since(st.ModTime()) < time.Minute {
			t.Errorf("export to stdout left %s", l)
		}
	}
}

// --out must be a regular file or not exist: devices, FIFOs and
// directories are refused and left as they are; an existing file needs
// --force; a symbolic link is followed (the link stays, its file is
// replaced); a new file gets the umask's permissions.
func TestExportOutputFiles(t *testing.T) {
	dir, db, stream := exportFixture(t)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{"/dev/null", fifo, dir} {
		wantFailure(t, cli(t, "--db", db, "export", "s", "--format", "jsonl", "--out", out, "--force"), out, "not a regular file")
	}
	if st, err := os.Lstat(fifo); err != nil || st.Mode()&fs.ModeNamedPipe == 0 {
		t.Errorf("the FIFO was replaced: %v %v", st, err)
	}
	if st, err := os.Lstat("/dev/null"); err != nil || st.Mode()&fs.ModeCharDevice == 0 {
		t.Errorf("/dev/null was replaced: %v %v", st, err)
	}

	old := writeFile(t, filepath.Join(dir, "old.jsonl"), []byte("keep me\n"))
	link := filepath.Join(dir, "link.jsonl")
	if err := os.Symlink(old, link); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{old, link} {
		wantFailure(t, cli(t, "--db", db, "export", "s", "--format", "jsonl", "--out", out), out, "already exists", "--force")
		if got := string(readFile(t, old)); got != "keep me\n" {
			t.Fatalf("refused export changed %s: %q", out, got)
		}
	}
	mustCLI(t, "--db", db, "export", "s", "--format", "jsonl", "--out", link, "--force")
	if lst, err := os.Lstat(link); err != nil || lst.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("--force replaced the link itself: %v %v", lst, err)
	}
	if !bytes.Equal(readFile(t, old), stream) {
		t.Error("--force through a link did not replace the file it points to")
	}

	made := filepath.Join(dir, "made-by-create")
	f, err := os.Create(made)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	want, _ := os.Stat(made)
	for _, format := range []string{"jsonl", "csv", "parquet"} {
		out := filepath.Join(dir, "new."+format)
		mustCLI(t, "--db", db, "export", "s", "--format", format, "--out", out)
		if st, err := os.Stat(out); err != nil || st.Mode().Perm() != want.Mode().Perm() {
			t.Errorf("%s: mode %v, want %v like any new file", out, st.Mode().Perm(), want.Mode().Perm())
		}
	}
	noPartial(t, dir)
}
