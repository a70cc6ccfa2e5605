package simdb_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simcash/simdb"
)

func TestOpenWithoutAutoMigrateNamesVersions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fresh.duckdb")
	_, err := simdb.Open(context.Background(), path, simdb.Options{NoAutoMigrate: true})
	if !errors.Is(err, simdb.ErrSchemaBehind) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"version 0", "needs 5", "migrate up"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestOpenRefusesNewerSchemaAndKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "newer.duckdb")
	store, err := simdb.Open(ctx, path, simdb.Options{Durability: simdb.Durable})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.PersistSimulationStart(ctx, "keep", json.RawMessage(testConfig), simdb.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.PersistTickEvents(ctx, "keep", 0, raws(arrival(0, "t"))); err != nil {
		t.Fatal(err)
	}
	if _, err := simdb.RawDB(store).ExecContext(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES (6, true)`); err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	for _, opts := range []simdb.Options{{}, {NoAutoMigrate: true}, {ReadOnly: true}} {
		if _, err := simdb.Open(ctx, path, opts); !errors.Is(err, simdb.ErrSchemaAhead) || !strings.Contains(err.Error(), "version 6") {
			t.Fatalf("open %+v: err = %v", opts, err)
		}
	}
	// Remove the future version again: nothing was dropped or rewritten.
	if _, err := simdb.Open(ctx, path, simdb.Options{NoAutoMigrate: true, Durability: simdb.Durable}); err == nil {
		t.Fatal("open succeeded with a newer schema")
	}
	raw, err := openRaw(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`DELETE FROM goose_db_version WHERE version_id = 6`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	store, err = simdb.Open(ctx, path, simdb.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	page, err := store.GetSimulationEvents(ctx, "keep", simdb.EventFilter{})
	if err != nil || page.Total != 1 {
		t.Fatalf("data after refused opens: total=%d err=%v", page.Total, err)
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "reopen.duckdb")
	for i := 0; i < 3; i++ {
		store, err := simdb.Open(ctx, path, simdb.Options{})
		if err != nil {
			t.Fatal(err)
		}
		id := "run-" + string(rune('a'+i))
		if err := store.PersistSimulationStart(ctx, id, json.RawMessage(testConfig), simdb.StartOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := store.PersistTickEvents(ctx, id, 1, raws(arrival(1, id))); err != nil {
			t.Fatal(err)
		}
		if err := store.Close(); err != nil { // Close flushes the buffer
			t.Fatal(err)
		}
	}
	store, err := simdb.Open(ctx, path, simdb.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	runs, err := store.ListSimulations(ctx, simdb.ListFilter{})
	if err != nil || len(runs) != 3 {
		t.Fatalf("runs = %d, %v", len(runs), err)
	}
	for _, r := range runs {
		if r.EventCount != 1 || r.LastTick == nil || *r.LastTick != 1 {
			t.Fatalf("run %s: %d events, last tick %v", r.SimulationID, r.EventCount, r.LastTick)
		}
	}
}

// openRaw opens the file with the plain driver, bypassing simdb's checks.
func openRaw(path string) (*sql.DB, error) { return sql.Open("duckdb", path) }

// ":memory:" is a private in-memory database shared by all of the Store's
// connections: what one call writes, the next reads.
func TestOpenInMemory(t *testing.T) {
	ctx := context.Background()
	for _, d := range []simdb.Durability{simdb.Durable, simdb.Buffered} {
		store, err := simdb.Open(ctx, ":memory:", simdb.Options{Durability: d})
		if err != nil {
			t.Fatal(err)
		}
		if err := store.PersistSimulationStart(ctx, "m", json.RawMessage(testConfig), simdb.StartOptions{}); err != nil {
			t.Fatal(err)
		}
		for tick := 0; tick < 3; tick++ {
			if _, err := store.PersistTickEvents(ctx, "m", int64(tick), raws(arrival(tick, "t"+strings.Repeat("x", tick)))); err != nil {
				t.Fatal(err)
			}
		}
		page, err := store.GetSimulationEvents(ctx, "m", simdb.EventFilter{})
		if err != nil || page.Total != 3 {
			t.Fatalf("%s: total=%d err=%v", d, page.Total, err)
		}
		if err := store.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// After Close every call fails with ErrClosed instead of touching a closed
// database; Close itself is idempotent.
func TestClosedStore(t *testing.T) {
	ctx := context.Background()
	store, err := simdb.Open(ctx, filepath.Join(t.TempDir(), "closed.duckdb"), simdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.PersistSimulationStart(ctx, "c", json.RawMessage(testConfig), simdb.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := store.PersistTickEvents(ctx, "c", 0, raws(arrival(0, "t"))); !errors.Is(err, simdb.ErrClosed) {
		t.Errorf("PersistTickEvents after Close: %v", err)
	}
	if err := store.PersistSimulationStart(ctx, "d", json.RawMessage(testConfig), simdb.StartOptions{}); !errors.Is(err, simdb.ErrClosed) {
		t.Errorf("PersistSimulationStart after Close: %v", err)
	}
	if err := store.PersistSimulationComplete(ctx, "c", simdb.Metrics{}); !errors.Is(err, simdb.ErrClosed) {
		t.Errorf("PersistSimulationComplete after Close: %v", err)
	}
	// Every other call too, reads and recovery included (they used to
	// reach the closed database: "sql: database is closed").
	calls := map[string]func() error{
		"PersistSimulationFailed": func() error { return store.PersistSimulationFailed(ctx, "c", "boom") },
		"RecoverInterrupted": func() error {
			_, err := store.RecoverInterrupted(ctx)
			return err
		},
		"IngestJSONL": func() error {
			_, err := store.IngestJSONL(ctx, "c", strings.NewReader(arrival(0, "t")+"\n"), simdb.IngestOptions{})
			return err
		},
		"Flush": func() error { return store.Flush(ctx) },
		"GetSimulationSummary": func() error {
			_, err := store.GetSimulationSummary(ctx, "c")
			return err
		},
		"ListSimulations": func() error {
			_, err := store.ListSimulations(ctx, simdb.ListFilter{})
			return err
		},
		"GetEventSummary": func() error {
			_, err := store.GetEventSummary(ctx, "c")
			return err
		},
		"GetAgentStateRegisters": func() error {
			_, err := store.GetAgentStateRegisters(ctx, "c", "BANK_A", 0)
			return err
		},
		"GetSimulationEvents": func() error {
			_, err := store.GetSimulationEvents(ctx, "c", simdb.EventFilter{})
			return err
		},
		"StreamEvents": func() error {
			for _, err := range store.StreamEvents(ctx, "c", simdb.EventFilter{}) {
				return err
			}
			return nil
		},
		"CompareSimulations": func() error {
			_, err := store.CompareSimulations(ctx, "c", "c")
			return err
		},
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, simdb.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
}

// A file is opened once per process: a second handle would be a second
// DuckDB instance writing the same file (DuckDB's own lock belongs to the
// process, so it would not stop it). The second Open fails with ErrLocked
// naming this process, readers can share the file with each other, and the
// file opens again once the first handle is closed.
func TestOpenTwiceInOneProcessIsRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "once.duckdb")
	first, err := simdb.Open(ctx, path, simdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, opts := range []simdb.Options{{}, {ReadOnly: true}} {
		second, err := simdb.Open(ctx, path, opts)
		var le *simdb.LockedError
		if !errors.Is(err, simdb.ErrLocked) || !errors.As(err, &le) || !le.InProcess || !strings.Contains(err.Error(), "already open in this process") {
			if second != nil {
				second.Close()
			}
			t.Fatalf("second Open %+v while a writer is open: err = %v", opts, err)
		}
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	r1, err := simdb.Open(ctx, path, simdb.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r1.Close()
	r2, err := simdb.Open(ctx, path, simdb.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("two readers in one process: %v", err)
	}
	defer r2.Close()
	if _, err := simdb.Open(ctx, path, simdb.Options{}); !errors.Is(err, simdb.ErrLocked) {
		t.Fatalf("writer Open while readers are open: err = %v", err)
	}
}
