package testutil

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/simcash/simdb/internal/duckfile"
)

const holdLockEnv = "SIMDB_TEST_HOLD_LOCK"

// ServeLockHolder is the body of a package's TestHelperHoldLock, which is not
// a test: re-executed by HoldLock with $SIMDB_TEST_HOLD_LOCK set, it opens
// that database for writing, says "ready" and holds the file until its
// stdin is closed. Run normally, it skips.
func ServeLockHolder(t *testing.T) {
	path := os.Getenv(holdLockEnv)
	if path == "" {
		t.Skip("helper process of the locking tests")
	}
	// duckfile, not simdb: testutil must not import packages whose own
	// tests import it (simdb imports internal/event).
	store, err := duckfile.Open(context.Background(), path, duckfile.Options{})
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

// HoldLock re-executes the test binary's TestHelperHoldLock (which must call
// ServeLockHolder) to hold path open for writing from another process, and
// returns that process's PID and a function that makes it close the file
// and exit (also run at cleanup).
func HoldLock(t *testing.T, path string) (pid int, release func()) {
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
