package cli

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/simcash/simdb/internal/duckfile"
	"github.com/simcash/simdb/internal/provider"
)

// TestIngestLeavesACoreToTheDecoder: ingest gives DuckDB one thread fewer
// than the machine's cores (at least one), and a Store opened with that
// count runs DuckDB with it; SIMDB_DUCKDB_THREADS, when set, decides
// instead.
func TestIngestLeavesACoreToTheDecoder(t *testing.T) {
	t.Setenv(duckfile.ThreadsEnv, "")
	for cores, want := range map[int]int{1: 1, 2: 1, 4: 3, 16: 15} {
		if got := ingestThreads(cores); got != want {
			t.Errorf("ingestThreads(%d) = %d, want %d", cores, got, want)
		}
	}
	e := &env{}
	opts := e.ingestOptions()
	if want := ingestThreads(runtime.NumCPU()); opts.Threads != want {
		t.Fatalf("ingestOptions().Threads = %d, want %d", opts.Threads, want)
	}
	ctx := context.Background()
	s, err := provider.Open(ctx, filepath.Join(t.TempDir(), "t.duckdb"), provider.Options{Threads: opts.Threads, MemoryLimit: opts.MemoryLimit})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var threads int
	if err := s.DB().QueryRowContext(ctx, "SELECT current_setting('threads')").Scan(&threads); err != nil {
		t.Fatal(err)
	}
	if threads != opts.Threads {
		t.Fatalf("DuckDB runs with %d threads, want %d", threads, opts.Threads)
	}

	t.Setenv(duckfile.ThreadsEnv, "3")
	if opts := e.ingestOptions(); opts.Threads != 0 {
		t.Fatalf("under %s=3, ingestOptions().Threads = %d, want 0 (the variable decides)", duckfile.ThreadsEnv, opts.Threads)
	}
}
