// Package testutil holds helpers shared by simdb's tests: finding the real
// SimCash streams and opening gzip JSONL. It is imported only from _test
// files.
package testutil

import (
	"bufio"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// CorpusFile returns the path of a file of the SimCash event corpus named by
// $SIMDB_CORPUS, or skips the test with a message when the variable is
// unset. A set variable naming a missing file fails the test: CI sets it, so
// a missing file there is a broken setup, not a reason to skip.
//
// With $SIMDB_RACE_SKIPS_CORPUS=1 in a -race build, the medium and large
// streams skip too: make test's race step sets it, and its corpus step runs
// those tests (CORPUS_TESTS in the Makefile) without -race, since they
// decode a million events on one goroutine, where the race detector finds
// nothing and costs several times the time.
func CorpusFile(t testing.TB, name string) string {
	t.Helper()
	dir := os.Getenv("SIMDB_CORPUS")
	if dir == "" {
		t.Skipf("SIMDB_CORPUS is not set; set it to ../shared/data/simcash-events to run this test on %s", name)
	}
	if RaceEnabled && os.Getenv("SIMDB_RACE_SKIPS_CORPUS") == "1" && !strings.HasPrefix(name, "small.") {
		t.Skipf("%s is read without -race: make test's corpus step runs this test (CORPUS_TESTS in the Makefile)", name)
	}
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("SIMDB_CORPUS=%s: %v", dir, err)
	}
	return p
}

// SkipUnderMakeRace skips t in make test's race step ($SIMDB_RACE_SKIPS_CORPUS=1
// in a -race build) for a test whose work the race detector only slows
// down, several times over: work that runs in child processes, or one call
// at a time over a big input or many small ones. why says what that work
// is. make test's corpus step runs the test without -race instead
// (CORPUS_TESTS in the Makefile).
func SkipUnderMakeRace(t testing.TB, why string) {
	t.Helper()
	if RaceEnabled && os.Getenv("SIMDB_RACE_SKIPS_CORPUS") == "1" {
		t.Skipf("%s, where -race finds nothing: make test's corpus step runs this test without -race (CORPUS_TESTS in the Makefile)", why)
	}
}

// OpenGzip returns the decompressed content of a gzip file; the file is
// closed when the test ends.
func OpenGzip(t testing.TB, path string) io.Reader {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	return zr
}

// ReadLines returns every line of a gzip JSONL file.
func ReadLines(t testing.TB, path string) [][]byte {
	t.Helper()
	sc := bufio.NewScanner(OpenGzip(t, path))
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	var lines [][]byte
	for sc.Scan() {
		lines = append(lines, append([]byte(nil), sc.Bytes()...))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}
