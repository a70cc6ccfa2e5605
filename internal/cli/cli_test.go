package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunPublicEntryPoint(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "db.duckdb")
	stream, config := genStream(t, dir, "p", smallGen)
	var out, errb bytes.Buffer
	if code := Run(context.Background(), []string{"--db", db, "ingest", "--config", config, stream}, nil, &out, &errb); code != exitOK {
		t.Fatalf("Run ingest: exit %d, %s", code, errb.String())
	}
	out.Reset()
	if code := Run(context.Background(), []string{"--db", db, "list", "--format", "csv"}, nil, &out, &errb); code != exitOK || !strings.Contains(out.String(), "\np,completed,") {
		t.Errorf("Run list: exit %d, %q %q", code, out.String(), errb.String())
	}
	errb.Reset()
	if code := Run(context.Background(), []string{"--db", db, "nosuch"}, nil, &out, &errb); code != exitUsage {
		t.Errorf("Run with an unknown command: exit %d", code)
	}
}

func TestSIMDBDBEnvironment(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "env.duckdb")
	t.Setenv("SIMDB_DB", db)
	stream, config := genStream(t, dir, "e", smallGen)
	mustCLI(t, "ingest", "--config", config, stream)
	if _, err := os.Stat(db); err != nil {
		t.Fatalf("ingest without --db did not use $SIMDB_DB: %v", err)
	}
	if r := mustCLI(t, "show", "e"); !strings.Contains(r.stdout, "status       completed") {
		t.Errorf("show via $SIMDB_DB: %q", r.stdout)
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help"}, {"ingest", "--help"}, {"events", "--help"}, {"gen", "--help"}, {"diff", "-h"}} {
		r := cli(t, args...)
		if r.code != exitOK || !strings.Contains(r.stdout, "Usage:") || r.stderr != "" {
			t.Errorf("%v: %s", args, r)
		}
	}
	r := cli(t, "gen", "--help")
	for _, flag := range []string{"--agents", "--days", "--ticks-per-day", "--seed", "--events-per-tick", "--out", "--config-out"} {
		if !strings.Contains(r.stdout, flag) {
			t.Errorf("gen --help does not mention %s", flag)
		}
	}
}

// TestUsageErrors: every bad invocation exits 2 with the error on one line,
// before touching the database.
func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	stream, _ := genStream(t, dir, "u", smallGen)
	db := filepath.Join(dir, "never-created.duckdb")
	cases := []struct {
		args     []string
		fragment string
	}{
		{[]string{"bogus"}, `unknown command "bogus"`},
		{[]string{"--bogus", "list"}, "unknown flag: --bogus"},
		{[]string{"events"}, "want one simulation id, got 0 argument(s)"},
		{[]string{"events", "a", "b"}, "want one simulation id, got 2"},
		{[]string{"events", "a", "--format", "xml"}, `unknown --format "xml" (want table, json, jsonl, csv)`},
		{[]string{"events", "a", "--sort", "sideways"}, `unknown --sort "sideways"`},
		{[]string{"events", "a", "--nope"}, "unknown flag: --nope"},
		{[]string{"events", "a", "--limit", "ten"}, "invalid argument"},
		{[]string{"events", "a", "--tick"}, "flag needs an argument"},
		{[]string{"events", "a", "--from", "9", "--to", "3"}, "--from"},
		{[]string{"show"}, "want one simulation id"},
		{[]string{"show", "a", "b"}, "want one simulation id"},
		{[]string{"show", "a", "--format", "csv"}, `unknown --format "csv" (want table, json)`},
		{[]string{"list", "extra"}, "want no arguments, got 1"},
		{[]string{"list", "--format", "yaml"}, `unknown --format "yaml"`},
		{[]string{"list", "--status", "paused"}, `"paused"`},
		{[]string{"export", "a", "--format", "xlsx", "--out", "x"}, `unknown --format "xlsx" (want parquet, csv, jsonl)`},
		{[]string{"export", "a", "--format", "csv"}, "--out PATH is required"},
		{[]string{"export", "a", "--out", "x"}, `unknown --format ""`},
		{[]string{"export"}, "want one simulation id"},
		{[]string{"diff", "a"}, "want two simulation ids, got 1"},
		{[]string{"diff", "a", "b", "c"}, "want two simulation ids, got 3"},
		{[]string{"ingest"}, "want one input FILE"},
		{[]string{"ingest", "a", "b"}, "want one input FILE"},
		{[]string{"ingest", "--ticks-per-day", "5", "-"}, "--sim is required when reading stdin"},
		{[]string{"ingest", "--ticks-per-day", "5", "--iteration", "2", stream}, "--iteration needs --experiment-run"},
		{[]string{"ingest", "--ticks-per-day", "-1", stream}, "--ticks-per-day must be positive"},
		{[]string{"ingest", "--ticks-per-day", "x", stream}, "invalid argument"},
		{[]string{"gen", "--agents", "1"}, "--agents must be at least 2"},
		{[]string{"gen", "--days", "0"}, "at least 1"},
		{[]string{"gen", "extra"}, "want no arguments"},
		{[]string{"recover", "x"}, "want no arguments"},
		// Issue 19: an empty --sim no longer falls back to the file name,
		// a blank one is not an id, and a value DuckDB refuses is a usage
		// error, not a failure to open the database.
		{[]string{"ingest", "--sim", "", "--ticks-per-day", "5", stream}, `--sim "" is empty`},
		{[]string{"ingest", "--sim", "   ", "--ticks-per-day", "5", stream}, `--sim "   " is empty`},
		{[]string{"ingest", "--sim", " run", "--ticks-per-day", "5", stream}, "whitespace at its start or end"},
		{[]string{"--memory-limit", "banana", "list"}, `--memory-limit "banana"`},
		{[]string{"--memory-limit", "banana", "ingest", "--ticks-per-day", "5", stream}, `--memory-limit "banana"`},
		{[]string{"show", "  "}, `simulation id "  " is empty`},
		{[]string{"events", ""}, `simulation id "" is empty`},
		{[]string{"export", "", "--format", "csv", "--out", "x"}, `simulation id "" is empty`},
		{[]string{"demo", "x"}, "want no arguments"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			wantUsage(t, cli(t, append([]string{"--db", db}, c.args...)...), c.fragment)
			if _, err := os.Stat(db); !os.IsNotExist(err) {
				t.Fatalf("a usage error created or touched %s (%v)", db, err)
			}
		})
	}
}

// TestUsageErrorsOnExistingDatabase: flag values the provider would reject
// are usage errors too, whether or not the file exists.
func TestUsageErrorsOnExistingDatabase(t *testing.T) {
	dir := t.TempDir()
	stream, config := genStream(t, dir, "u", smallGen)
	db := filepath.Join(dir, "db.duckdb")
	mustCLI(t, "--db", db, "ingest", "--config", config, stream)
	wantUsage(t, cli(t, "--db", db, "events", "u", "--from", "9", "--to", "3"), "--from")
	wantUsage(t, cli(t, "--db", db, "list", "--status", "paused"), `"paused"`)
	wantUsage(t, cli(t, "--db", db, "events", "u", "--format", "yaml"), "--format")
}

// TestFailures: commands that cannot do their job exit 1 with one line on
// stderr and nothing on stdout.
func TestFailures(t *testing.T) {
	dir := t.TempDir()
	stream, config := genStream(t, dir, "f", smallGen)
	db := filepath.Join(dir, "db.duckdb")
	missing := filepath.Join(dir, "missing.duckdb")
	for _, args := range [][]string{{"events", "f"}, {"show", "f"}, {"list"}, {"export", "f", "--format", "csv", "--out", filepath.Join(dir, "x.csv")}, {"diff", "a", "b"}} {
		wantFailure(t, cli(t, append([]string{"--db", missing}, args...)...), "database "+missing+" does not exist")
		if _, err := os.Stat(missing); !os.IsNotExist(err) {
			t.Fatalf("%v created %s", args, missing)
		}
	}
	mustCLI(t, "--db", db, "ingest", "--config", config, stream)
	notFound := fmt.Sprintf(`simulation "nope" not found in %s`, db)
	wantFailure(t, cli(t, "--db", db, "show", "nope"), notFound)
	wantFailure(t, cli(t, "--db", db, "show", "nope", "--format", "json"), notFound)
	wantFailure(t, cli(t, "--db", db, "events", "nope"), notFound)
	wantFailure(t, cli(t, "--db", db, "events", "nope", "--all"), notFound)
	wantFailure(t, cli(t, "--db", db, "export", "nope", "--format", "jsonl", "--out", filepath.Join(dir, "nope.jsonl")), notFound)
	if _, err := os.Stat(filepath.Join(dir, "nope.jsonl")); !os.IsNotExist(err) {
		t.Errorf("a failed export left its output file")
	}
	wantFailure(t, cli(t, "--db", db, "diff", "f", "nope"), notFound)
	wantFailure(t, cli(t, "--db", db, "diff", "nope", "f"), notFound)
	wantFailure(t, cli(t, "--db", db, "diff", "f", "f", "--db-b", missing), "database "+missing+" does not exist")
	wantFailure(t, cli(t, "--db", db, "ingest", "--ticks-per-day", "5", filepath.Join(dir, "absent.jsonl")), "absent.jsonl")
	// --sim "" is a usage error (issue 19; it used to fall back to the base name).
	wantUsage(t, cli(t, "--db", db, "ingest", "--sim", "", "--ticks-per-day", "5", stream), `--sim "" is empty`)
	wantFailure(t, cli(t, "--db", db, "ingest", "--sim", "bad\x01id", "--ticks-per-day", "5", stream), "control characters")
	// A command's error is a failure whatever it quotes: this one quotes a
	// stream's string that reads like one of cobra's usage complaints.
	quoting := writeFile(t, filepath.Join(dir, "quoting.jsonl"), []byte(`{"event_type":"Arrival","tick":0,"amount":"invalid argument"}`+"\n"))
	wantFailure(t, cli(t, "--db", db, "ingest", "--ticks-per-day", "5", quoting), quoting+":1", `"amount"`, `"invalid argument"`)
	wantFailure(t, cli(t, "--db", filepath.Join(dir, "no", "such", "dir", "x.duckdb"), "ingest", "--ticks-per-day", "5", stream), "x.duckdb")
	// A file that is not a DuckDB database.
	junk := writeFile(t, filepath.Join(dir, "junk.duckdb"), []byte("this is not a database\n"))
	wantFailure(t, cli(t, "--db", junk, "list"), junk)
	wantFailure(t, cli(t, "--db", junk, "ingest", "--ticks-per-day", "5", stream), junk)
}
