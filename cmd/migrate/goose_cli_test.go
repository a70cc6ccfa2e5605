package main

import (
	"context"
	"encoding/json"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/db"
	"github.com/simcash/simdb/internal/testutil"
)

// gooseEnv names the goose CLI binary TestGooseCLIAgrees runs; `make
// migrations-roundtrip-postgres` builds it from tools/go.mod (the version
// go.mod's goose library is at) and sets it.
const gooseEnv = "SIMDB_GOOSE"

// A DBA's goose CLI (`goose -dir db/postgres/migrations postgres "$DSN"
// …`) and cmd/migrate read and write the same state of a PostgreSQL
// database: each sees the other's up, down and reset, their statuses agree
// migration by migration, and a database goose migrated opens in simdb
// without migrating.
func TestGooseCLIAgrees(t *testing.T) {
	goose := os.Getenv(gooseEnv)
	if goose == "" {
		t.Skipf("%s names no goose binary: skipping the goose CLI check (make migrations-roundtrip-postgres builds goose from tools/go.mod and sets it)", gooseEnv)
	}
	dsn := testutil.PostgresURL(t)
	files, err := fs.Glob(db.PostgresMigrations(), "*.sql")
	if err != nil || len(files) < 2 {
		t.Fatalf("postgres migrations: %v, %v", files, err)
	}
	slices.Sort(files)
	n := len(files)
	gooseRun := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(goose, append([]string{"-dir", "../../db/postgres/migrations", "postgres", dsn}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("goose %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	// agree checks that both tools list every migration file, applied
	// exactly through version want.
	agree := func(when string, want int) {
		t.Helper()
		g := applied(t, gooseRun("status"))
		m := applied(t, mustMigrate(t, "-db", dsn, "status").stdout)
		expect := map[string]bool{}
		for i, f := range files {
			expect[f] = i < want
		}
		if !maps.Equal(g, expect) || !maps.Equal(m, expect) {
			t.Fatalf("%s: want migrations 1..%d applied of %v\ngoose status: %v\ncmd/migrate status: %v", when, want, files, g, m)
		}
		if v := mustMigrate(t, "-db", dsn, "version").stdout; !strings.HasPrefix(v, "version "+strconv.Itoa(want)) {
			t.Fatalf("%s: cmd/migrate version says %q, want %d", when, v, want)
		}
		if v := gooseRun("version"); !strings.Contains(v, "version "+strconv.Itoa(want)) {
			t.Fatalf("%s: goose version says %q, want %d", when, v, want)
		}
	}

	agree("empty database", 0)
	mustMigrate(t, "-db", dsn, "up")
	agree("after cmd/migrate up", n)
	gooseRun("down")
	agree("after goose down", n-1)
	gooseRun("up")
	agree("after goose up", n)
	gooseRun("reset")
	agree("after goose reset", 0)
	gooseRun("up")
	agree("after goose up from nothing", n)

	// The schema goose built is simdb's: a Store opens it without
	// migrating and records a run.
	ctx := context.Background()
	store, err := simdb.Open(ctx, dsn, simdb.Options{NoAutoMigrate: true})
	if err != nil {
		t.Fatalf("open the database goose migrated, without migrating: %v", err)
	}
	defer store.Close()
	if err := store.PersistSimulationStart(ctx, "goose", json.RawMessage(`{"ticks_per_day":10,"num_days":1}`), simdb.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.PersistTickEvents(ctx, "goose", 0, []json.RawMessage{json.RawMessage(`{"event_type":"EndOfDay","tick":0}`)}); err != nil {
		t.Fatal(err)
	}
	if err := store.PersistSimulationComplete(ctx, "goose", simdb.Metrics{}); err != nil {
		t.Fatal(err)
	}
}

// applied reads a status listing (goose's or cmd/migrate's: one line per
// migration, "Pending" or when it was applied, then the file's name), file
// by file.
func applied(t *testing.T, status string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for line := range strings.Lines(status) {
		fields := strings.Fields(line)
		if len(fields) < 2 || !strings.HasSuffix(fields[len(fields)-1], ".sql") {
			continue
		}
		out[fields[len(fields)-1]] = !strings.Contains(line, "Pending")
	}
	if len(out) == 0 {
		t.Fatalf("no migration in the status:\n%s", status)
	}
	return out
}
