package cli

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/simcash/simdb/internal/testutil"
)

// TestMain removes the shared corpus database (corpusDB) once every test
// of the package has run.
func TestMain(m *testing.M) {
	code := m.Run()
	sharedCorpus.remove()
	os.Exit(code)
}

// corpusFixture is one DuckDB file holding SimCash corpus streams, each
// ingested at most once per test process. Ingesting the large stream costs
// several CPU-seconds, and TestRoundTripCorpus and TestCopyCorpus ingest it
// the same way, so they share this file. The tests that use it only read
// it (export, diff, show and copy --from open it read-only).
type corpusFixture struct {
	mu     sync.Mutex
	dir    string
	stdout map[string]string // stream name -> ingest's stdout
	failed map[string]bool
}

// sharedCorpus is the package's one corpusFixture: a fixture shared by
// tests has to outlive each of them (TestMain removes it).
var sharedCorpus corpusFixture

// corpusDB returns the shared DuckDB file with the corpus stream name
// (small, medium or large) in it, as run name, and what
// `simdb ingest --ticks-per-day 100 --metrics NAME.meta.json NAME.jsonl.gz`
// printed when it stored it. The first test asking ingests every stream
// (large only without -short), so that from then on the file is only read
// and tests that read it can run in parallel (a writer would lock them
// out). It skips as testutil.CorpusFile does, and fails t if that ingest
// failed (in whichever test ran it).
func corpusDB(t *testing.T, name string) (db, ingestStdout string) {
	t.Helper()
	testutil.CorpusFile(t, name+".jsonl.gz")
	f := &sharedCorpus
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dir == "" {
		dir, err := os.MkdirTemp("", "simdb-cli-corpus-")
		if err != nil {
			t.Fatal(err)
		}
		f.dir, f.stdout, f.failed = dir, map[string]string{}, map[string]bool{}
		streams := []string{"small", "medium", "large"}
		if testing.Short() {
			streams = streams[:2]
		}
		for _, s := range streams {
			f.ingest(t, s)
		}
	}
	if _, ok := f.stdout[name]; !ok && !f.failed[name] {
		f.ingest(t, name) // large under -short, asked for all the same
	}
	if f.failed[name] {
		t.Fatalf("the shared ingest of %s failed in an earlier test", name)
	}
	return f.db(), f.stdout[name]
}

func (f *corpusFixture) db() string { return filepath.Join(f.dir, "corpus.duckdb") }

// ingest stores stream name in the shared file; the caller holds f.mu.
func (f *corpusFixture) ingest(t *testing.T, name string) {
	t.Helper()
	file := testutil.CorpusFile(t, name+".jsonl.gz")
	meta := testutil.CorpusFile(t, name+".meta.json")
	f.failed[name] = true // until it succeeds
	args := []string{"--db", f.db(), "ingest", "--ticks-per-day", "100", "--metrics", meta, file}
	r := cli(t, args...)
	if r.code != exitOK {
		t.Fatalf("simdb %s: %s", strings.Join(args, " "), r)
	}
	f.failed[name], f.stdout[name] = false, r.stdout
}

func (f *corpusFixture) remove() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dir != "" {
		os.RemoveAll(f.dir)
	}
}
