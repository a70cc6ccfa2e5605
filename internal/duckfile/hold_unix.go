//go:build unix

package duckfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// holdFile marks path as open in this process, exclusively for a writer,
// shared for readers, and fails with a *LockedError (InProcess) when that
// conflicts with a handle this process already holds.
//
// DuckDB's own lock on the file is a POSIX record lock, which belongs to the
// whole process: it keeps other processes out but lets a second in-process
// instance attach the same file, and two instances writing one file corrupt
// it. (A file opened as DuckDB's main database goes through the driver's
// instance cache, which shares one instance; an attached file does not.)
// flock locks belong to the open file, so a second handle in the same
// process conflicts, and on Linux they are independent of DuckDB's POSIX
// lock.
func holdFile(path string, readOnly bool) (io.Closer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	how := syscall.LOCK_EX
	if readOnly {
		how = syscall.LOCK_SH
	}
	if err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &LockedError{Path: path, PID: os.Getpid(), InProcess: true}
		}
		return nil, fmt.Errorf("open database %s: lock: %w", path, err)
	}
	return f, nil
}
