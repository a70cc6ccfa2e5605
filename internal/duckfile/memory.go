package duckfile

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unicode"
)

// WALCheckpointBytes is the write-ahead log size past which Checkpoint folds
// the log into the database file: DuckDB's own default checkpoint_threshold.
// Files opened for writing have DuckDB's automatic checkpoint turned off (see
// Open), so that a checkpoint never runs inside a commit, where running out
// of memory invalidates the whole database; the writer checks
// NeedsCheckpoint after its commits and calls Checkpoint instead.
const WALCheckpointBytes = 16 << 20

// checkpointMemoryFloor is the least memory limit a checkpoint runs under.
// A checkpoint compresses what the log holds, and under ingest's 32MB limit
// it ran out of memory in about two test runs of three under -race.
const checkpointMemoryFloor = 256 << 20

// IsOutOfMemory reports whether err is DuckDB running out of its memory
// limit ("Out of Memory Error", "could not allocate block", "failed to pin
// block"). Inside a transaction that is not fatal: the transaction rolls back
// and may be retried under a higher limit.
func IsOutOfMemory(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "Out of Memory Error") ||
		strings.Contains(msg, "could not allocate block") ||
		strings.Contains(msg, "failed to pin block")
}

// IsInvalidated reports whether err says DuckDB invalidated the database
// (a checkpoint or a log write failed): every later statement on that
// instance fails, and only closing and reopening the file recovers it.
// Committed transactions survive in the log and come back on reopen.
func IsInvalidated(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "has been invalidated")
}

// ParseMemoryLimit returns the bytes a DuckDB memory_limit setting such as
// "32MB", "1.5GB", "256MiB" or "1000000" stands for, with DuckDB's units
// (KB/MB/GB/TB are powers of 1000, KiB/MiB/GiB/TiB of 1024). ok is false for
// "" (DuckDB's default, 80% of RAM) and for anything else it cannot read.
func ParseMemoryLimit(s string) (bytes int64, ok bool) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return !unicode.IsDigit(r) && r != '.' })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v <= 0 {
		return 0, false
	}
	mult := map[string]float64{
		"": 1, "b": 1, "bytes": 1,
		"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
		"k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12,
		"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
	}[unit]
	if mult == 0 {
		return 0, false
	}
	return int64(v * mult), true
}

// FormatMemoryLimit spells bytes as a memory_limit DuckDB accepts, in MB.
func FormatMemoryLimit(bytes int64) string {
	return strconv.FormatInt((bytes+999_999)/1_000_000, 10) + "MB"
}

// SetMemoryLimit changes the instance's memory limit (bytes).
func SetMemoryLimit(ctx context.Context, db *sql.DB, bytes int64) error {
	if _, err := db.ExecContext(ctx, "SET memory_limit = "+StringLiteral(FormatMemoryLimit(bytes))); err != nil {
		return fmt.Errorf("set DuckDB memory limit to %s: %w", FormatMemoryLimit(bytes), err)
	}
	return nil
}

// WALSize is the size of the write-ahead log beside the database file at
// path, 0 when there is none.
func WALSize(path string) int64 {
	fi, err := os.Stat(path + ".wal")
	if err != nil {
		return 0
	}
	return fi.Size()
}

// CheckpointMemory is the memory limit Checkpoint should run under for an
// instance whose limit is limit bytes: four times it, and at least 256MB
// (0 when limit is 0, unknown: DuckDB's default needs no raising).
func CheckpointMemory(limit int64) int64 {
	if limit <= 0 {
		return 0
	}
	return max(4*limit, checkpointMemoryFloor)
}

// NeedsCheckpoint reports whether the write-ahead log beside the file at
// path has grown past WALCheckpointBytes.
func NeedsCheckpoint(path string) bool {
	return path != "" && path != ":memory:" && WALSize(path) >= WALCheckpointBytes
}

// Checkpoint folds the write-ahead log of the file at path into the file,
// with the memory limit set to during bytes for the checkpoint and to after
// bytes once it is done (0 leaves the limit alone). Run it outside any
// transaction, between commits. An error for which IsInvalidated holds
// means the handle must be closed and the file reopened; the log keeps
// every committed transaction.
func Checkpoint(ctx context.Context, db *sql.DB, path string, during, after int64) error {
	if path == "" || path == ":memory:" {
		return nil
	}
	if during > 0 {
		if err := SetMemoryLimit(ctx, db, during); err != nil {
			return err
		}
	}
	_, err := db.ExecContext(ctx, "CHECKPOINT")
	if after > 0 && !IsInvalidated(err) {
		// DuckDB evicts cached blocks to come back under the limit; it
		// refuses only when they cannot be evicted, and then the raised
		// limit simply stays.
		_ = SetMemoryLimit(ctx, db, after)
	}
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return nil
}
