package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/simcash/simdb/internal/duckfile"
)

// persistPadded starts simulation id and persists ticks of perTick Arrival
// events whose details carry pad bytes each, then flushes.
func persistPadded(t *testing.T, s *Store, id string, ticks, perTick, pad int) {
	t.Helper()
	ctx := context.Background()
	if err := s.PersistSimulationStart(ctx, id, json.RawMessage(`{"ticks_per_day":10}`), StartOptions{}); err != nil {
		t.Fatal(err)
	}
	note := strings.Repeat("x", pad)
	for tick := range ticks {
		evs := make([]json.RawMessage, perTick)
		for i := range evs {
			evs[i] = json.RawMessage(fmt.Sprintf(`{"event_type":"Arrival","tick":%d,"tx_id":"tx-%d-%d","sender_id":"A","receiver_id":"B","amount":%d,"note":"%s"}`, tick, tick, i, i, note))
		}
		if _, err := s.PersistTickEvents(ctx, id, int64(tick), evs); err != nil {
			t.Fatalf("tick %d: %v", tick, err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// storedProgress returns the run's stored event count, last tick and the
// number of event rows.
func storedProgress(t *testing.T, s *Store, id string) (count, lastTick, rows int64) {
	t.Helper()
	err := s.sqlDB().QueryRowContext(context.Background(),
		`SELECT event_count, last_tick, (SELECT count(*) FROM simulation_events WHERE simulation_id = $1) FROM simulations WHERE simulation_id = $1`, id).
		Scan(&count, &lastTick, &rows)
	if err != nil {
		t.Fatal(err)
	}
	return count, lastTick, rows
}

// A group that does not fit DuckDB's memory limit is not lost: the
// transaction runs again under a doubled limit until it fits, and the raised
// limit stays. (Before, ingest's 32MB limit failed a commit and the run.)
func TestOutOfMemoryGroupIsRetriedUnderMoreMemory(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "oom.duckdb")
	// 4MB cannot hold one 6MB event's block: the first attempts run out.
	s, err := Open(ctx, path, Options{MemoryLimit: "4MB", Durability: Durable})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	persistPadded(t, s, "big", 3, 1, 6<<20)
	s.writeMu.Lock()
	raised := s.memory
	s.writeMu.Unlock()
	if raised <= 4_000_000 {
		t.Fatalf("memory limit %d bytes: the group was never retried under more memory", raised)
	}
	if count, last, rows := storedProgress(t, s, "big"); count != 3 || last != 2 || rows != 3 {
		t.Fatalf("stored event_count %d, last_tick %d, %d rows; want 3, 2, 3", count, last, rows)
	}
	var n int
	if err := s.sqlDB().QueryRowContext(ctx, `SELECT count(*) FROM simulation_events WHERE length(details) > 6000000`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("%d events with their 6MB details (err %v), want 3", n, err)
	}
}

// Writers never checkpoint inside a commit: the log grows past DuckDB's
// threshold across commits and is folded in between them, under more memory
// than the writer's own limit.
func TestCheckpointsRunBetweenCommits(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ckpt.duckdb")
	s, err := Open(ctx, path, Options{MemoryLimit: "32MB", FlushEvents: 2_000, FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var during []int64
	s.checkpointMemory = func(limit int64) int64 {
		during = append(during, duckfile.CheckpointMemory(limit))
		return duckfile.CheckpointMemory(limit)
	}
	// 60 ticks of 500 events with 600-byte details: ~20MB of log in
	// groups far smaller than a row group, so all of it goes to the log.
	persistPadded(t, s, "wal", 60, 500, 600)
	if len(during) == 0 {
		t.Fatal("no checkpoint ran between commits")
	}
	if during[0] < 256<<20 {
		t.Fatalf("checkpoint ran under %d bytes, want at least 256MB", during[0])
	}
	if w := duckfile.WALSize(path); w >= duckfile.WALCheckpointBytes {
		t.Fatalf("log is %d bytes after the writer's commits, want it folded below %d", w, duckfile.WALCheckpointBytes)
	}
	if count, last, rows := storedProgress(t, s, "wal"); count != 30_000 || last != 59 || rows != 30_000 {
		t.Fatalf("stored event_count %d, last_tick %d, %d rows; want 30000, 59, 30000", count, last, rows)
	}
}

// A checkpoint that runs out of memory makes DuckDB invalidate the
// database. The writer reopens the file: every committed tick is there (the
// log is replayed), the run goes on, and the file opens afterwards.
func TestInvalidatedDatabaseIsReopened(t *testing.T) {
	for _, durability := range []Durability{Buffered, Durable} {
		t.Run(durability.String(), func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "inval.duckdb")
			s, err := Open(ctx, path, Options{MemoryLimit: "64MB", Durability: durability, FlushEvents: 2_000, FlushInterval: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			failed := 0
			s.checkpointMemory = func(limit int64) int64 {
				if failed == 0 {
					// The first checkpoint gets no more memory than DuckDB
					// holds already and no temporary directory to evict
					// to, too little to fold the log: DuckDB invalidates
					// the database.
					failed++
					if _, err := s.sqlDB().ExecContext(ctx, `SET temp_directory = ''`); err != nil {
						t.Error(err)
					}
					var used int64
					if err := s.sqlDB().QueryRowContext(ctx, `SELECT sum(memory_usage_bytes) FROM duckdb_memory()`).Scan(&used); err != nil {
						t.Error(err)
					}
					return used
				}
				return duckfile.CheckpointMemory(limit)
			}
			first := s.sqlDB()
			persistPadded(t, s, "inval", 60, 500, 600)
			if failed == 0 {
				t.Fatal("no checkpoint ran")
			}
			if s.sqlDB() == first {
				t.Fatal("the invalidated handle was never replaced")
			}
			if count, last, rows := storedProgress(t, s, "inval"); count != 30_000 || last != 59 || rows != 30_000 {
				t.Fatalf("stored event_count %d, last_tick %d, %d rows; want 30000, 59, 30000", count, last, rows)
			}
			if err := s.PersistSimulationComplete(ctx, "inval", Metrics{TotalArrivals: 30_000}); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			r, err := Open(ctx, path, Options{ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			sum, err := r.GetSimulationSummary(ctx, "inval")
			if err != nil {
				t.Fatal(err)
			}
			if sum.Status != "completed" || sum.EventCount != 30_000 {
				t.Fatalf("reopened: status %s, %d events; want completed, 30000", sum.Status, sum.EventCount)
			}
		})
	}
}

// A group whose progress row moved meanwhile (stored already, or by another
// writer) is rolled back instead of stored twice.
func TestGroupIsNotStoredTwice(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "twice.duckdb"), Options{Durability: Durable})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	persistPadded(t, s, "twice", 2, 3, 1)
	// Another writer advanced the run behind this Store's back.
	if _, err := s.sqlDB().ExecContext(ctx, `UPDATE simulations SET event_count = 10, last_tick = 5 WHERE simulation_id = 'twice'`); err != nil {
		t.Fatal(err)
	}
	ev := json.RawMessage(`{"event_type":"Arrival","tick":2,"tx_id":"t","sender_id":"A","receiver_id":"B","amount":1}`)
	_, err = s.PersistTickEvents(ctx, "twice", 2, []json.RawMessage{ev})
	if err == nil || !strings.Contains(err.Error(), "another writer") {
		t.Fatalf("persist after the run moved: %v, want a refusal naming another writer", err)
	}
	if _, _, rows := storedProgress(t, s, "twice"); rows != 6 {
		t.Fatalf("%d event rows, want the 6 stored before", rows)
	}
}
