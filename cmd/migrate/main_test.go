package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/db"
	"github.com/simcash/simdb/internal/duckfile"
	"github.com/simcash/simdb/internal/testutil"
)

type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", r.code, r.stdout, r.stderr)
}

func migrateCmd(t *testing.T, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, terminal{in: strings.NewReader("")}, &out, &errb)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

func mustMigrate(t *testing.T, args ...string) result {
	t.Helper()
	r := migrateCmd(t, args...)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("migrate %s: %s", strings.Join(args, " "), r)
	}
	return r
}

// migrations lists the embedded migration files in version order.
func migrations(t *testing.T) []string {
	t.Helper()
	names, err := fs.Glob(db.Migrations(), "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) < 2 {
		t.Fatalf("want at least two migrations to test with, have %v", names)
	}
	slices.Sort(names)
	return names
}

// okLines matches goose's result lines, whose durations vary.
func okLines(t *testing.T, out string, want ...string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("output has %d lines, want %d:\n%s", len(lines), len(want), out)
	}
	for i, w := range want {
		re := regexp.QuoteMeta(w)
		if strings.HasPrefix(w, "OK ") {
			f := strings.Fields(w)
			re = `OK +` + regexp.QuoteMeta(f[1]) + ` ` + regexp.QuoteMeta(f[2]) + ` \([0-9.]+(ns|µs|ms|s)\)`
		}
		if !regexp.MustCompile("^" + re + "$").MatchString(lines[i]) {
			t.Errorf("line %d %q, want %q", i+1, lines[i], w)
		}
	}
}

func statusRows(t *testing.T, out string) (applied, pending []string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) < 2 || strings.Join(strings.Fields(lines[0]), " ") != "Applied At Migration" || strings.Join(strings.Fields(lines[1]), " ") != "========== =========" {
		t.Fatalf("status header:\n%s", out)
	}
	stamp := regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +(\S+)$`)
	for _, l := range lines[2:] {
		if m := stamp.FindStringSubmatch(l); m != nil {
			applied = append(applied, m[1])
		} else if f := strings.Fields(l); len(f) == 2 && f[0] == "Pending" {
			pending = append(pending, f[1])
		} else {
			t.Errorf("status row %q", l)
		}
	}
	return applied, pending
}

func TestMigrateVerbs(t *testing.T) {
	names := migrations(t)
	last := int64(len(names))
	dir := t.TempDir()
	path := filepath.Join(dir, "m.duckdb")
	version := func(v int64) string { return fmt.Sprintf("version %d (this binary knows up to %d)\n", v, last) }
	at := func(v int64) string { return fmt.Sprintf("database is at version %d", v) }

	// A missing file: status and version report an empty schema without
	// creating it.
	for _, verb := range []string{"status", "version"} {
		r := migrateCmd(t, "-db", path, verb)
		if r.code != 0 || r.stderr != fmt.Sprintf("migrate: %s does not exist yet; showing an empty database\n", path) {
			t.Errorf("%s of a missing file: %s", verb, r)
		}
		if verb == "version" && r.stdout != version(0) {
			t.Errorf("version of a missing file: %q", r.stdout)
		}
		if verb == "status" {
			if applied, pending := statusRows(t, r.stdout); len(applied) != 0 || !slices.Equal(pending, names) {
				t.Errorf("status of a missing file: applied %v pending %v", applied, pending)
			}
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Fatalf("%s created %s", verb, path)
		}
	}

	var ups []string
	for _, n := range names {
		ups = append(ups, "OK up "+n)
	}
	okLines(t, mustMigrate(t, "-db", path, "up").stdout, append(ups, at(last))...)
	applied, pending := statusRows(t, mustMigrate(t, "-db", path, "status").stdout)
	if !slices.Equal(applied, names) || len(pending) != 0 {
		t.Errorf("status after up: applied %v pending %v", applied, pending)
	}
	if r := mustMigrate(t, "-db", path, "version"); r.stdout != version(last) {
		t.Errorf("version after up: %q", r.stdout)
	}
	okLines(t, mustMigrate(t, "-db", path, "up").stdout, "no migrations to run", at(last))
	// The migrated file is what simdb expects, without auto-migration.
	openNoMigrate(t, path, nil)

	okLines(t, mustMigrate(t, "-db", path, "down").stdout, "OK down "+names[last-1], at(last-1))
	applied, pending = statusRows(t, mustMigrate(t, "-db", path, "status").stdout)
	if !slices.Equal(applied, names[:last-1]) || !slices.Equal(pending, names[last-1:]) {
		t.Errorf("status after down: applied %v pending %v", applied, pending)
	}
	openNoMigrate(t, path, simdb.ErrSchemaBehind)

	okLines(t, mustMigrate(t, "-db", path, "redo").stdout, "OK down "+names[last-2], "OK up "+names[last-2], at(last-1))
	okLines(t, mustMigrate(t, "-db", path, "up-by-one").stdout, "OK up "+names[last-1], at(last))
	okLines(t, mustMigrate(t, "-db", path, "up-by-one").stdout, "no migrations to run")
	okLines(t, mustMigrate(t, "-db", path, "redo").stdout, "OK down "+names[last-1], "OK up "+names[last-1], at(last))

	// Rolling back 00002 drops the runs' experiment context, and 00001
	// every run: --yes (TestMigrateRefusesToDropData).
	okLines(t, mustMigrate(t, "-db", path, "down-to", "1", "--yes").stdout, append(reversed(downs(names[1:])), at(1))...)
	if r := mustMigrate(t, "-db", path, "version"); r.stdout != version(1) {
		t.Errorf("version after down-to 1: %q", r.stdout)
	}
	okLines(t, mustMigrate(t, "-db", path, "down-to", "1").stdout, "no migrations to run", at(1))
	okLines(t, mustMigrate(t, "-db", path, "up-to", "2").stdout, "OK up "+names[1], at(2))
	okLines(t, mustMigrate(t, "-db", path, "up-to", "2").stdout, "no migrations to run", at(2))

	okLines(t, mustMigrate(t, "-db", path, "--yes", "reset").stdout, append(reversed(downs(names[:2])), at(0))...)
	applied, pending = statusRows(t, mustMigrate(t, "-db", path, "status").stdout)
	if len(applied) != 0 || !slices.Equal(pending, names) {
		t.Errorf("status after reset: applied %v pending %v", applied, pending)
	}
	okLines(t, mustMigrate(t, "-db", path, "reset").stdout, "no migrations to run", at(0))
	okLines(t, mustMigrate(t, "-db", path, "down").stdout, "no migrations to run")
	okLines(t, mustMigrate(t, "-db", path, "up-to", "1").stdout, "OK up "+names[0], at(1))
	okLines(t, mustMigrate(t, "-db", path, "up").stdout, append(ups[1:], at(last))...)
	openNoMigrate(t, path, nil)
}

func downs(names []string) []string {
	var out []string
	for _, n := range names {
		out = append(out, "OK down "+n)
	}
	return out
}

func reversed(s []string) []string {
	s = slices.Clone(s)
	slices.Reverse(s)
	return s
}

// openNoMigrate opens path with simdb, auto-migration off, and checks the
// outcome.
func openNoMigrate(t *testing.T, path string, want error) {
	t.Helper()
	store, err := simdb.Open(context.Background(), path, simdb.Options{NoAutoMigrate: true})
	if want == nil {
		if err != nil {
			t.Fatalf("simdb.Open after migrate: %v", err)
		}
		if err := store.Close(); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("simdb.Open: %v, want %v", err, want)
	}
}

func TestMigrateDefaultDB(t *testing.T) {
	path := filepath.Join(t.TempDir(), "env.duckdb")
	t.Setenv("SIMDB_DB", path)
	mustMigrate(t, "up")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("up without -db did not use $SIMDB_DB: %v", err)
	}
	if r := mustMigrate(t, "version"); !strings.HasPrefix(r.stdout, fmt.Sprintf("version %d ", len(migrations(t)))) {
		t.Errorf("version: %q", r.stdout)
	}
}

func TestMigrateUsage(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "never.duckdb")
	for _, c := range []struct {
		args     []string
		fragment string
	}{
		{nil, ""},
		{[]string{"-db", path}, ""},
		{[]string{"-db", path, "sideways"}, `migrate: unknown command "sideways"`},
		{[]string{"-db", path, "up-to"}, `migrate: wrong arguments for "up-to"`},
		{[]string{"-db", path, "down-to"}, `migrate: wrong arguments for "down-to"`},
		{[]string{"-db", path, "up-to", "1", "2"}, `migrate: wrong arguments for "up-to"`},
		{[]string{"-db", path, "up", "now"}, `migrate: wrong arguments for "up"`},
		{[]string{"-db", path, "status", "-v"}, `migrate: wrong arguments for "status"`},
		{[]string{"-db", path, "up-to", "x"}, `migrate: up-to: version must be a non-negative integer, got "x"`},
		{[]string{"-db", path, "down-to", "-1"}, `migrate: down-to: version must be a non-negative integer, got "-1"`},
		{[]string{"-nope", "up"}, "flag provided but not defined: -nope"},
		{[]string{"-db"}, "flag needs an argument: -db"},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			r := migrateCmd(t, c.args...)
			if r.code != 2 || r.stdout != "" {
				t.Fatalf("want exit 2 and no output: %s", r)
			}
			if !strings.HasPrefix(r.stderr, c.fragment) {
				t.Errorf("stderr does not start with %q:\n%s", c.fragment, r.stderr)
			}
			if !strings.Contains(r.stderr, "usage: migrate [-db FILE|URL] [--yes] COMMAND") && !strings.Contains(r.stderr, "version must be") {
				t.Errorf("stderr lacks the usage:\n%s", r.stderr)
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Fatalf("a usage error created %s", path)
			}
		})
	}
}

func TestMigrateHelp(t *testing.T) {
	for _, arg := range []string{"-h", "-help", "--help"} {
		r := migrateCmd(t, arg)
		if r.code != 0 || !strings.Contains(r.stderr, "usage: migrate [-db FILE|URL] [--yes] COMMAND") {
			t.Errorf("migrate %s: %s", arg, r)
		}
	}
}

func TestMigrateFailure(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.duckdb")
	if err := os.WriteFile(junk, []byte("not a database\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"up", "status"} {
		r := migrateCmd(t, "-db", junk, verb)
		if r.code != 1 || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "migrate: ") || !strings.Contains(r.stderr, junk) {
			t.Errorf("%s of a file that is not a database: %s", verb, r)
		}
	}
}

// TestHelperHoldLock is the lock-holding helper process (see
// testutil.HoldLock), not a test.
func TestHelperHoldLock(t *testing.T) { testutil.ServeLockHolder(t) }

func TestMigrateLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locked.duckdb")
	mustMigrate(t, "-db", path, "up")
	pid, release := testutil.HoldLock(t, path)
	for _, verb := range [][]string{{"status"}, {"version"}, {"up"}, {"down"}, {"up-to", "1"}, {"reset"}} {
		r := migrateCmd(t, append([]string{"-db", path}, verb...)...)
		want := fmt.Sprintf("migrate: database %s is locked by process %d ", path, pid)
		if r.code != 1 || r.stdout != "" || !strings.HasPrefix(r.stderr, want) || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "read-only") {
			t.Errorf("%v on a locked file: %s\nwant one line starting %q and suggesting read-only access", verb, r, want)
		}
	}
	release()
	if r := mustMigrate(t, "-db", path, "version"); !strings.HasPrefix(r.stdout, fmt.Sprintf("version %d ", len(migrations(t)))) {
		t.Errorf("version after the writer is gone: %q", r.stdout)
	}
}

// storeRun persists one completed run with experiment context, events and
// a register through simdb, on a fully migrated file.
func storeRun(t *testing.T, path string) {
	t.Helper()
	ctx := context.Background()
	store, err := simdb.Open(ctx, path, simdb.Options{Durability: simdb.Durable})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	cfg := json.RawMessage(`{"ticks_per_day":10,"num_days":1}`)
	if err := store.PersistSimulationStart(ctx, "run-1", cfg, simdb.StartOptions{Experiment: &simdb.Experiment{RunID: "exp", Iteration: 2}}); err != nil {
		t.Fatal(err)
	}
	events := []json.RawMessage{
		json.RawMessage(`{"event_type":"Arrival","tick":0,"tx_id":"t1","sender_id":"A","receiver_id":"B","amount":5}`),
		json.RawMessage(`{"event_type":"StateRegisterSet","tick":0,"agent_id":"A","register_key":"k","old_value":0.0,"new_value":1.5,"reason":"r"}`),
		json.RawMessage(`{"event_type":"LsmBilateralOffset","tick":0,"agent_a":"A","agent_b":"B","tx_ids":["t1"],"amount_a":5,"amount_b":5,"amount":5}`),
	}
	if _, err := store.PersistTickEvents(ctx, "run-1", 0, events); err != nil {
		t.Fatal(err)
	}
	if err := store.PersistSimulationComplete(ctx, "run-1", simdb.Metrics{TotalArrivals: 1, TotalSettlements: 1, DurationSeconds: 1}); err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
}

// Rolling back a migration whose Down drops stored data needs --yes or a
// typed confirmation; without it the command exits 2, says what would be
// dropped and how much the file holds, and changes nothing. Downs that drop
// nothing stored run as before.
func TestMigrateRefusesToDropData(t *testing.T) {
	names := migrations(t)
	path := filepath.Join(t.TempDir(), "m.duckdb")
	mustMigrate(t, "-db", path, "up")
	storeRun(t, path)
	versionIs := func(v int) {
		t.Helper()
		if r := mustMigrate(t, "-db", path, "version"); !strings.HasPrefix(r.stdout, fmt.Sprintf("version %d ", v)) {
			t.Fatalf("version: %q, want %d", r.stdout, v)
		}
	}
	// 00004 rebuilds the event table and 00003 drops derived counts: no
	// question asked.
	mustMigrate(t, "-db", path, "down-to", "2")
	versionIs(2)
	for _, c := range []struct {
		args  []string
		drops []string // migrations the message must name
	}{
		{[]string{"down"}, names[1:2]},
		{[]string{"redo"}, names[1:2]},
		{[]string{"down-to", "1"}, names[1:2]},
		{[]string{"down-to", "0"}, names[:2]},
		{[]string{"reset"}, names[:2]},
	} {
		r := migrateCmd(t, append([]string{"-db", path}, c.args...)...)
		if r.code != 2 || r.stdout != "" {
			t.Fatalf("%v without --yes: want exit 2 and no output: %s", c.args, r)
		}
		for _, want := range append(c.drops, "holds 1 run(s), 3 event(s)", "--yes", "Nothing was changed", "migrate "+c.args[0]+" would drop stored data") {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("%v: stderr lacks %q:\n%s", c.args, want, r.stderr)
			}
		}
		if !slices.Equal(c.drops, names[1:2]) && !strings.Contains(r.stderr, "every run with its events and registers") {
			t.Errorf("%v: stderr does not say every run is dropped:\n%s", c.args, r.stderr)
		}
		versionIs(2)
	}

	// A terminal user must type the file's name.
	ask := func(answer string, args ...string) result {
		t.Helper()
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"-db", path}, args...), terminal{in: strings.NewReader(answer), interactive: true}, &out, &errb)
		return result{code: code, stdout: out.String(), stderr: errb.String()}
	}
	for _, answer := range []string{"", "\n", "yes\n", "y\n", "m.duck"} {
		r := ask(answer, "reset")
		if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, "Type the database file's name (m.duckdb) to proceed: ") ||
			!strings.HasSuffix(r.stderr, "migrate reset: not confirmed; nothing was changed.\n") {
			t.Errorf("answer %q: %s", answer, r)
		}
		versionIs(2)
	}
	// The data survived every refusal.
	mustMigrate(t, "-db", path, "up")
	ctx := context.Background()
	store, err := simdb.Open(ctx, path, simdb.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	sim, err := store.GetSimulationSummary(ctx, "run-1")
	if err != nil || sim.ExperimentRunID == nil || *sim.ExperimentRunID != "exp" || sim.EventCount != 3 {
		t.Fatalf("run after the refusals: %+v, %v", sim, err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}

	r := ask("m.duckdb\n", "down-to", "1")
	if r.code != 0 || !strings.Contains(r.stdout, "database is at version 1") {
		t.Fatalf("confirmed down-to 1: %s", r)
	}
	okLines(t, mustMigrate(t, "-db", path, "reset", "--yes").stdout, "OK down "+names[0], "database is at version 0")
}

// Each migration's `-- simdb:down-drops` marker (read by the guard) must
// match what its Down does: redo (Down, then Up) of a marked migration
// loses stored rows or values, of an unmarked one gives back every table
// as it was.
func TestDownDropsMarkersMatchBehaviour(t *testing.T) {
	names := migrations(t)
	path := filepath.Join(t.TempDir(), "m.duckdb")
	mustMigrate(t, "-db", path, "up")
	storeRun(t, path)
	for v := len(names); v >= 1; v-- {
		name := names[v-1]
		drops, err := downDrops(db.Migrations(), name)
		if err != nil {
			t.Fatal(err)
		}
		before := fingerprint(t, path)
		mustMigrate(t, "-db", path, "redo", "--yes")
		after := fingerprint(t, path)
		if lost := before != after; lost != (drops != "") {
			t.Errorf("%s: its Down loses data: %v; its marker says it drops %q", name, lost, drops)
		}
		mustMigrate(t, "-db", path, "down", "--yes")
	}
}

// fingerprint is every row of every table but goose's, as text.
func fingerprint(t *testing.T, path string) string {
	t.Helper()
	ctx := context.Background()
	sqldb, err := duckfile.Open(ctx, path, duckfile.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sqldb.Close()
	tables := testutil.QueryStrings(t, ctx, sqldb, `SELECT table_name FROM duckdb_tables() WHERE table_name <> 'goose_db_version' ORDER BY table_name`)
	var b strings.Builder
	for _, tbl := range tables {
		var text string
		q := fmt.Sprintf(`SELECT coalesce(string_agg(CAST(t AS VARCHAR), chr(10) ORDER BY CAST(t AS VARCHAR)), '') FROM %s AS t`, tbl)
		if err := sqldb.QueryRowContext(ctx, q).Scan(&text); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s:\n%s\n", tbl, text)
	}
	return b.String()
}
