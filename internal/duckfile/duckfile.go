// Package duckfile opens DuckDB database files for simdb and turns DuckDB's
// file-lock failure into an error that names the file and the process that
// holds it.
package duckfile

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	// The DuckDB database/sql driver, registered as "duckdb".
	_ "github.com/duckdb/duckdb-go/v2"
)

// ErrLocked is returned (wrapped in a *LockedError) when another process
// holds the database file. DuckDB allows one writing process per file, and
// while it runs no other process can open the file, not even read-only.
var ErrLocked = errors.New("database file is locked by another process")

// LockedError says which file is locked and by which process.
type LockedError struct {
	Path string
	PID  int // 0 when DuckDB did not name it
}

func (e *LockedError) Error() string {
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
	// Threads caps DuckDB's worker threads (0 = DuckDB's default, one per
	// core).
	Threads int
	// MemoryLimit caps DuckDB's buffer manager, e.g. "256MB" ("" = DuckDB's
	// default, 80% of RAM). DuckDB keeps written blocks cached up to the
	// limit, so a long ingest grows to it; below it DuckDB evicts or spills.
	MemoryLimit string
}

// Open opens the DuckDB database at path (":memory:" or "" for an in-memory
// database) and checks that it is usable. A file held by another process
// gives a *LockedError.
func Open(ctx context.Context, path string, opts Options) (*sql.DB, error) {
	dsn := path
	if path == ":memory:" {
		dsn = ""
	}
	var params []string
	if opts.ReadOnly && dsn != "" {
		params = append(params, "access_mode=read_only")
	}
	if opts.Threads > 0 {
		params = append(params, "threads="+strconv.Itoa(opts.Threads))
	}
	if opts.MemoryLimit != "" {
		params = append(params, "memory_limit="+url.QueryEscape(opts.MemoryLimit))
	}
	if len(params) > 0 {
		dsn += "?" + strings.Join(params, "&")
	}
	db, err := sql.Open("duckdb", dsn)
	if err != nil {
		return nil, explain(path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, explain(path, err)
	}
	return db, nil
}

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
