package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/testutil"
)

// TestHelperHoldLock is the lock-holding helper process (see
// testutil.HoldLock), not a test.
func TestHelperHoldLock(t *testing.T) { testutil.ServeLockHolder(t) }

func TestLockedDatabase(t *testing.T) {
	dir := t.TempDir()
	stream, config := genStream(t, dir, "lk", smallGen)
	db := filepath.Join(dir, "locked.duckdb")
	mustCLI(t, "--db", db, "ingest", "--config", config, stream)
	other := filepath.Join(dir, "other.duckdb")
	mustCLI(t, "--db", other, "ingest", "--config", config, stream)

	pid, release := testutil.HoldLock(t, db)
	holder := fmt.Sprintf("process %d", pid)
	for _, args := range [][]string{
		{"events", "lk"},
		{"events", "lk", "--all", "--format", "jsonl"},
		{"show", "lk"},
		{"list"},
		{"export", "lk", "--format", "jsonl", "--out", filepath.Join(dir, "x.jsonl")},
		{"diff", "lk", "lk"},
		{"ingest", "--sim", "again", "--config", config, stream},
		{"recover"},
		{"demo"},
	} {
		t.Run(args[0], func(t *testing.T) {
			r := cli(t, append([]string{"--db", db}, args...)...)
			wantFailure(t, r, "database "+db+" is locked by "+holder, "read-only")
		})
	}
	// The locked file as diff's second database.
	wantFailure(t, cli(t, "--db", other, "diff", "lk", "lk", "--db-b", db), db, holder)
	// The library's contract behind those messages: ErrLocked, with the
	// file and the holder's pid, whatever the open mode.
	for _, opts := range []simdb.Options{{}, {ReadOnly: true}} {
		_, err := simdb.Open(context.Background(), db, opts)
		var le *simdb.LockedError
		if !errors.Is(err, simdb.ErrLocked) || !errors.As(err, &le) || le.PID != pid || le.Path != db {
			t.Errorf("open %+v of a held file: err = %v (want ErrLocked naming %s and pid %d)", opts, err, db, pid)
		}
	}

	release()
	r := mustCLI(t, "--db", db, "events", "lk", "--limit", "1", "--format", "jsonl")
	if len(decodeJSONL(t, r.stdout)) != 1 {
		t.Errorf("events after the writer is gone: %q", r.stdout)
	}
	if r := cli(t, "--db", db, "diff", "lk", "lk", "--db-b", other); r.code != exitOK {
		t.Errorf("diff after the writer is gone: %s", r)
	}
}
