package duckfile

import (
	"context"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Options.Threads sets DuckDB's threads; without it ThreadsEnv does, and
// without either DuckDB keeps its default. A value of ThreadsEnv that is
// not a positive number fails Open, naming the variable.
func TestThreadsFromEnvironment(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	threadsOf := func(name string, opts Options) int {
		t.Helper()
		db, err := Open(ctx, filepath.Join(dir, name+".duckdb"), opts)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		defer db.Close()
		var n int
		if err := db.QueryRowContext(ctx, "SELECT current_setting('threads')").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	t.Setenv(ThreadsEnv, "")
	defaults := threadsOf("default", Options{})
	if runtime.NumCPU() > 1 && defaults < 2 {
		t.Fatalf("DuckDB's default is %d threads on %d cores", defaults, runtime.NumCPU())
	}
	t.Setenv(ThreadsEnv, "1")
	if n := threadsOf("env", Options{}); n != 1 {
		t.Fatalf("%s=1: DuckDB runs %d threads", ThreadsEnv, n)
	}
	if n := threadsOf("explicit", Options{Threads: 3}); n != 3 {
		t.Fatalf("Options.Threads 3 under %s=1: DuckDB runs %d threads", ThreadsEnv, n)
	}
	for _, bad := range []string{"0", "-2", "two", "1.5"} {
		t.Setenv(ThreadsEnv, bad)
		_, err := Open(ctx, filepath.Join(dir, "bad.duckdb"), Options{})
		if err == nil || !strings.Contains(err.Error(), ThreadsEnv+`="`+bad+`"`) {
			t.Fatalf("%s=%q: Open gave %v, want an error naming the variable", ThreadsEnv, bad, err)
		}
	}
}
