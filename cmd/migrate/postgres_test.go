package main

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/db"
	"github.com/simcash/simdb/internal/testutil"
)

// The round trip make check runs on DuckDB files, on PostgreSQL: up, reset,
// up, status, every step through goose's postgres dialect; then simdb opens
// the result without migrating anything and stores a run in it.
func TestPostgresUpResetUp(t *testing.T) {
	dsn := testutil.PostgresURL(t)
	n := len(migrations(t))
	r := mustMigrate(t, "-db", dsn, "status")
	if strings.Count(r.stdout, "Pending") != n {
		t.Fatalf("status of an empty database: want %d pending migrations\n%s", n, r)
	}
	mustMigrate(t, "-db", dsn, "up")
	if r := mustMigrate(t, "-db", dsn, "version"); !strings.Contains(r.stdout, "version 5") {
		t.Fatalf("after up: %s", r)
	}
	// Rolling back what drops stored data needs --yes here as on a file:
	// without it nothing changes and the message says what would go.
	if r := migrateCmd(t, "-db", dsn, "reset"); r.code != 2 || !strings.Contains(r.stderr, "drops every run") || !strings.Contains(r.stderr, "--yes") {
		t.Fatalf("reset without --yes: %s", r)
	}
	if r := mustMigrate(t, "-db", dsn, "version"); !strings.Contains(r.stdout, "version 5") {
		t.Fatalf("after a refused reset: %s", r)
	}
	mustMigrate(t, "-db", dsn, "reset", "--yes")
	if r := mustMigrate(t, "-db", dsn, "version"); !strings.HasPrefix(r.stdout, "version 0") {
		t.Fatalf("after reset: %s", r)
	}
	mustMigrate(t, "-db", dsn, "up")
	if r := mustMigrate(t, "-db", dsn, "status"); strings.Contains(r.stdout, "Pending") || strings.Count(r.stdout, ".sql") != n {
		t.Fatalf("after up again:\n%s", r)
	}
	ctx := context.Background()
	store, err := simdb.Open(ctx, dsn, simdb.Options{NoAutoMigrate: true})
	if err != nil {
		t.Fatalf("open the migrated database without migrating: %v", err)
	}
	defer store.Close()
	cfg := json.RawMessage(`{"ticks_per_day":10,"num_days":1}`)
	if err := store.PersistSimulationStart(ctx, "after-roundtrip", cfg, simdb.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.PersistTickEvents(ctx, "after-roundtrip", 0, []json.RawMessage{json.RawMessage(`{"event_type":"EndOfDay","tick":0}`)}); err != nil {
		t.Fatal(err)
	}
	if err := store.PersistSimulationComplete(ctx, "after-roundtrip", simdb.Metrics{}); err != nil {
		t.Fatal(err)
	}
}

// A refused connection and a missing database say so, with the sentinel
// simdb.Open's callers branch on; the password never appears.
func TestPostgresConnectionErrors(t *testing.T) {
	dsn := testutil.PostgresURL(t)
	u, _ := url.Parse(dsn)
	u.User = url.UserPassword(u.User.Username(), "s3cret")

	missing := *u
	missing.Path = "/simdb_no_such_database"
	r := migrateCmd(t, "-db", missing.String(), "up")
	if r.code != 1 || !strings.Contains(r.stderr, `database "simdb_no_such_database"`) || !strings.Contains(r.stderr, "create it first") {
		t.Fatalf("missing database: %s", r)
	}
	if strings.Contains(r.stderr, "s3cret") {
		t.Fatalf("the password is in the message: %s", r)
	}
	_, err := simdb.Open(context.Background(), missing.String(), simdb.Options{})
	if !errors.Is(err, simdb.ErrNoDatabase) {
		t.Fatalf("Open of a missing database: %v, want ErrNoDatabase", err)
	}

	// A loopback port nobody listens on: bind one, then close it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := *u
	closed.Host = l.Addr().String()
	l.Close()
	r = migrateCmd(t, "-db", closed.String(), "status")
	if r.code != 1 || !strings.Contains(r.stderr, "refused") || !strings.Contains(r.stderr, closed.Host) || strings.Contains(r.stderr, "s3cret") {
		t.Fatalf("refused connection: %s", r)
	}
	_, err = simdb.Open(context.Background(), closed.String(), simdb.Options{})
	if !errors.Is(err, simdb.ErrUnreachable) {
		t.Fatalf("Open of a closed port: %v, want ErrUnreachable", err)
	}
}

// Both dialects declare the same data-dropping Downs, so migrate asks for
// the same confirmations on a file and on PostgreSQL.
func TestDownDropsMarkersMatchAcrossDialects(t *testing.T) {
	for _, name := range migrations(t) {
		duck, err := downDrops(db.Migrations(), name)
		if err != nil {
			t.Fatal(err)
		}
		pg, err := downDrops(db.PostgresMigrations(), name)
		if err != nil {
			t.Fatalf("%s on PostgreSQL: %v", name, err)
		}
		if duck != pg {
			t.Errorf("%s: DuckDB's Down drops %q, PostgreSQL's %q", name, duck, pg)
		}
	}
}
