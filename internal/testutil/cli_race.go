package testutil

import (
	"os"
	"testing"
)

// SkipSerialUnderMakeRace skips t in make test's race step
// ($SIMDB_RACE_SKIPS_CORPUS=1 in a -race build), as SkipUnderMakeRace does,
// for a test whose work is one goroutine at a time over a big input: the
// race detector finds nothing there that the race step's other tests do
// not reach, and slows it several times over. why says what the work is;
// make test's corpus step runs the test without -race (CORPUS_TESTS in the
// Makefile).
func SkipSerialUnderMakeRace(t testing.TB, why string) {
	t.Helper()
	if RaceEnabled && os.Getenv("SIMDB_RACE_SKIPS_CORPUS") == "1" {
		t.Skipf("%s, where -race finds nothing: make test's corpus step runs this test without -race (CORPUS_TESTS in the Makefile)", why)
	}
}
