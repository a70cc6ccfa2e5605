package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/simcash/simdb"
)

const holdLockEnv = "SIMDB_TEST_HOLD_LOCK"

// TestHelperHoldLock is not a test: re-executed by holdLock with
// $SIMDB_TEST_HOLD_LOCK set, it opens that database for writing, says
// "ready" and holds the file until its stdin is closed.
func TestHelperHoldLock(t *testing.T) {
	path := os.Getenv(holdLockEnv)
	if path == "" {
		t.Skip("helper process of the locking tests")
	}
	store, err := simdb.Open(context.Background(), path, simdb.Options{})
	if err != nil {
		fmt.Printf("error: %v\n", err)
		os.Exit(3)
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := store.Close(); err != nil {
		fmt.Printf("error: %v\n", err)
		os.Exit(3)
	}
	os.Exit(0)
}

// holdLock starts a process that holds path open for writing and returns
// its PID and a function that makes it close the file and exit.
func holdLock(t *testing.T, path string) (pid int, release func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldLock$", "-test.count=1")
	cmd.Env = append(os.Environ(), holdLockEnv+"="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			stdin.Close()
			_, _ = io.Copy(io.Discard, stdout)
			if err := cmd.Wait(); err != nil {
				t.Errorf("lock holder: %v\n%s", err, stderr.String())
			}
		})
	}
	t.Cleanup(release)
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		switch line := sc.Text(); {
		case line == "ready":
			return cmd.Process.Pid, release
		case strings.HasPrefix(line, "error: "):
			t.Fatalf("lock holder: %s", line)
		}
	}
	t.Fatalf("lock holder exited before it was ready: %v\n%s", sc.Err(), stderr.String())
	return 0, nil
}

func TestLockedDatabase(t *testing.T) {
	dir := t.TempDir()
	stream, config := genStream(t, dir, "lk", smallGen)
	db := filepath.Join(dir, "locked.duckdb")
	mustCLI(t, "--db", db, "ingest", "--config", config, stream)
	other := filepath.Join(dir, "other.duckdb")
	mustCLI(t, "--db", other, "ingest", "--config", config, stream)

	pid, release := holdLock(t, db)
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
