// Package duckfile opens DuckDB database files for simdb and turns DuckDB's
// file-lock failure into an error that names the file and the process that
// holds it.
package duckfile

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"database/sql/driver"

	// The DuckDB database/sql driver (also registered as "duckdb").
	duckdb "github.com/duckdb/duckdb-go/v2"
)

// ErrLocked is returned (wrapped in a *LockedError) when another process
// holds the database file. DuckDB allows one writing process per file, and
// while it runs no other process can open the file, not even read-only.
var ErrLocked = errors.New("database file is locked by another process")

// ErrNotDatabase is returned when the path names an existing file that is
// not a DuckDB database (a JSONL stream, a CSV, an empty file, a
// directory). DuckDB's ATTACH would pick a reader by the file's extension
// for some of them and quietly run on an in-memory database instead, so
// Open refuses such a file before DuckDB sees it and writes nothing to it.
var ErrNotDatabase = errors.New("not a DuckDB database file")

// LockedError says which file is locked and by which process.
type LockedError struct {
	Path string
	PID  int // 0 when DuckDB did not name it
	// InProcess is set when this process already has the file open.
	InProcess bool
}

func (e *LockedError) Error() string {
	if e.InProcess {
		return fmt.Sprintf("database %s is already open in this process: open it once and share the handle "+
			"(a Store is safe for concurrent use); two handles would be two DuckDB instances writing one file", e.Path)
	}
	holder := "another process"
	if e.PID > 0 {
		holder = "process " + strconv.Itoa(e.PID)
	}
	return fmt.Sprintf("database %s is locked by %s (DuckDB allows one writer per file): "+
		"wait for it to finish, then retry; read-only commands can open the file once the writer is gone", e.Path, holder)
}

// Unwrap makes errors.Is(err, ErrLocked) hold.
func (e *LockedError) Unwrap() error { return ErrLocked }

// Options tune how a file is opened.
type Options struct {
	// ReadOnly opens the file in DuckDB's read_only access mode: several
	// read-only processes may share a file, but not with a writer.
	ReadOnly bool
	// Threads caps DuckDB's worker threads. 0: ThreadsEnv's value when it
	// is set, else DuckDB's default, one per core.
	Threads int
	// MemoryLimit caps DuckDB's buffer manager, e.g. "256MB" ("" = DuckDB's
	// default, 80% of RAM). DuckDB keeps written blocks cached up to the
	// limit, so a long ingest grows to it; below it DuckDB evicts or spills.
	MemoryLimit string
}

// ThreadsEnv names the environment variable that sets DuckDB's threads
// for every database a process opens without a thread count of its own
// (Options.Threads 0): a process-wide setting, like GOMAXPROCS, for the
// operator of a busy or CPU-limited machine. DuckDB's default of one
// thread per core is what its parallel queries want on an idle machine;
// where many databases share the cores (make test runs a dozen test
// processes on two), each query's thread spins waiting for the pool's
// workers instead (BENCHMARKS.md, "make test").
const ThreadsEnv = "SIMDB_DUCKDB_THREADS"

// threadsFromEnv is ThreadsEnv's value, 0 when it is unset or empty; any
// other value that is not a positive integer is an error naming it.
func threadsFromEnv() (int, error) {
	v := os.Getenv(ThreadsEnv)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%s=%q: want a positive number of DuckDB threads", ThreadsEnv, v)
	}
	return n, nil
}

// RowGroupSize is the row group size simdb writes with (DuckDB's default is
// 122,880). A transaction's rows are written straight into compressed row
// groups once they fill one, and only the remainder goes through the WAL to
// be compressed again at the next checkpoint; with simdb's commit groups of
// up to 50,000 events, DuckDB's default meant every event took the second
// path. Measured writing the medium stream's rows three times over in
// 50,000-row transactions: 1.9–2.0 s and a 74 MB file with the default,
// 1.2–1.5 s and 51–60 MB with 8k–32k-row groups (BENCHMARKS.md has these
// and the 1M ingest by row group size). Smaller row groups also give tick
// filters finer zone maps. Files stay ordinary DuckDB files: any client
// reads them, whatever row group size it writes with.
const RowGroupSize = 32768

// Catalog is the name the database file is attached under (see Open).
const Catalog = "simdb"

// Open opens the DuckDB database at path (":memory:" or "" for an in-memory
// database) and checks that it is usable. A file held by another process
// gives a *LockedError.
//
// The file is not DuckDB's main database but attached, as Catalog, to an
// in-memory instance, and made every connection's default catalog: the row
// group size is an ATTACH option DuckDB does not store in the file, so it has
// to be given each time the file is opened. Temporary files (spills) go to
// path + ".tmp", where DuckDB puts them for a main database file. A file
// this process already has open gives a *LockedError with InProcess set
// (see holdFile), unless both handles are read-only. An existing file that
// does not carry DuckDB's header fails with ErrNotDatabase, before anything
// reads or writes it, whatever its name.
func Open(ctx context.Context, path string, opts Options) (*sql.DB, error) {
	if opts.Threads == 0 {
		n, err := threadsFromEnv()
		if err != nil {
			return nil, err
		}
		opts.Threads = n
	}
	var params []string
	if opts.Threads > 0 {
		params = append(params, "threads="+strconv.Itoa(opts.Threads))
	}
	if opts.MemoryLimit != "" {
		params = append(params, "memory_limit="+url.QueryEscape(opts.MemoryLimit))
	}
	inMemory := path == "" || path == ":memory:"
	if !inMemory {
		params = append(params, "temp_directory="+url.QueryEscape(path+".tmp"))
	}
	if !inMemory && !opts.ReadOnly {
		// No automatic checkpoint inside a commit: one that runs out of
		// memory there invalidates the database. The writer checkpoints
		// between commits instead (Checkpoint).
		params = append(params, "checkpoint_threshold=1TB")
	}
	dsn := ""
	if len(params) > 0 {
		dsn = "?" + strings.Join(params, "&")
	}
	var init func(driver.ExecerContext) error
	if !inMemory {
		if err := checkHeader(path); err != nil {
			return nil, err
		}
		// TYPE duckdb: without it DuckDB chooses a reader by the file's
		// extension (runs.jsonl, runs.csv) and attaches an in-memory
		// database that is never written to the file.
		attach := "ATTACH IF NOT EXISTS " + StringLiteral(path) + " AS " + Catalog + " (TYPE duckdb, ROW_GROUP_SIZE " + strconv.Itoa(RowGroupSize)
		if opts.ReadOnly {
			attach += ", READ_ONLY"
		}
		attach += ")"
		// The file is created (when missing) once, by the pool's first
		// connection: a later one must not put an empty database at a
		// path whose file was removed while the instance has it open.
		var (
			create    sync.Once
			createErr error
		)
		// Runs for every new connection of the pool: the first one
		// creates and attaches the file (instance-wide), each one makes
		// it its default.
		init = func(execer driver.ExecerContext) error {
			if !opts.ReadOnly {
				create.Do(func() { createErr = createIfMissing(execer, path) })
				if createErr != nil {
					return createErr
				}
			}
			if _, err := execer.ExecContext(context.Background(), attach, nil); err != nil {
				return err
			}
			_, err := execer.ExecContext(context.Background(), "USE "+Catalog, nil)
			return err
		}
	}
	connector, err := duckdb.NewConnector(dsn, init)
	if err != nil {
		return nil, explain(path, err)
	}
	c := &fileConnector{Connector: connector}
	db := sql.OpenDB(c)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, explain(path, err)
	}
	if !inMemory && !opts.ReadOnly {
		// Nor a checkpoint when the instance shuts down: a handle the
		// writer closed and reopened after a failure may outlive the
		// reopen while a reader finishes, and must not write the file
		// then. The Store checkpoints before it closes; otherwise the log
		// is replayed when the file is next opened.
		if _, err := db.ExecContext(ctx, "PRAGMA disable_checkpoint_on_shutdown"); err != nil {
			_ = db.Close()
			return nil, explain(path, err)
		}
	}
	if !inMemory {
		if c.hold, err = holdFile(path, opts.ReadOnly); err != nil {
			_ = db.Close()
			return nil, err
		}
	}
	return db, nil
}

// headerMagic is what every DuckDB database file holds at headerOffset
// (after the first block's checksum).
const (
	headerMagic  = "DUCK"
	headerOffset = 8
)

// checkHeader returns an error wrapping ErrNotDatabase when path exists and
// is not a regular file holding DuckDB's header magic. A missing path is
// fine (Open creates it, or ATTACH says it is missing); a file that cannot
// be read is left to ATTACH to explain.
func checkHeader(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return nil
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("open database %s: %w: it is a %s, not a regular file", path, ErrNotDatabase, fileKind(st.Mode()))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	head := make([]byte, headerOffset+len(headerMagic))
	n, _ := io.ReadFull(f, head)
	if n < len(head) || string(head[headerOffset:]) != headerMagic {
		what := fmt.Sprintf("%d bytes without DuckDB's header", st.Size())
		if st.Size() == 0 {
			what = "an empty file"
		}
		return fmt.Errorf("open database %s: %w (%s); refusing to read or write it: give a DuckDB file, or a path that does not exist yet", path, ErrNotDatabase, what)
	}
	return nil
}

func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeDevice != 0 || m&fs.ModeCharDevice != 0:
		return "device"
	case m&fs.ModeSocket != 0:
		return "socket"
	}
	return "special file"
}

// createIfMissing puts a valid, empty DuckDB database at path when nothing is
// there, so that path never holds a half-created file: DuckDB creates a
// database by creating the file and then writing its headers, and a process
// killed in between leaves a file no DuckDB client opens again ("not a
// valid DuckDB database file"). Here the database is created under a
// temporary name beside path and linked into place only once complete; a
// kill leaves at most the temporary file (PATH.creating-PID), never a broken
// PATH. When another process creates path first, its database is kept.
// The temporary database is attached to and detached from the instance
// that is about to attach path (execer is one of its connections), not to
// a DuckDB instance of its own, which doubled the cost of opening a new
// file (BenchmarkOpenNewFile).
func createIfMissing(execer driver.ExecerContext, path string) error {
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		return nil // there already (or unreadable: ATTACH will say why)
	}
	tmp := path + ".creating-" + strconv.Itoa(os.Getpid())
	removeDB := func(p string) { _ = os.Remove(p); _ = os.Remove(p + ".wal") }
	removeDB(tmp) // left by an earlier process with this pid
	defer removeDB(tmp)
	if _, err := execer.ExecContext(context.Background(), "ATTACH "+StringLiteral(tmp)+" AS simdb_new (TYPE duckdb); DETACH simdb_new", nil); err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	// A hard link never replaces a file another process put at path
	// meanwhile; where links are unsupported, rename (which would).
	if err := os.Link(tmp, path); err != nil && !errors.Is(err, fs.ErrExist) {
		if rerr := os.Rename(tmp, path); rerr != nil {
			return fmt.Errorf("create %s: %w", path, rerr)
		}
	}
	return nil
}

// fileConnector is the DuckDB connector plus the file handle that marks the
// database as open in this process; database/sql closes both with the DB.
type fileConnector struct {
	*duckdb.Connector
	hold io.Closer // nil for an in-memory database
}

func (c *fileConnector) Close() error {
	err := c.Connector.Close()
	if c.hold != nil {
		if cerr := c.hold.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// StringLiteral returns s as a DuckDB string literal ('…', quotes doubled;
// a backslash is an ordinary character), for the statements that take no
// bound parameters: ATTACH, SET, COPY … TO, read_parquet(…).
func StringLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

var lockPID = regexp.MustCompile(`Conflicting lock is held in .*\(PID (\d+)\)`)

// explain turns DuckDB's lock failure into a *LockedError and wraps any
// other error with the file name.
func explain(path string, err error) error {
	msg := err.Error()
	if strings.Contains(msg, "Could not set lock on file") || strings.Contains(msg, "Conflicting lock is held") {
		le := &LockedError{Path: path}
		if m := lockPID.FindStringSubmatch(msg); m != nil {
			le.PID, _ = strconv.Atoi(m[1])
		}
		return le
	}
	return fmt.Errorf("open database %s: %w", path, err)
}
