package provider

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"testing"

	"github.com/simcash/simdb/internal/testutil"
)

// killSessions terminates every backend of the Store's database but the
// caller's own, as a server restart would: every connection the Store
// holds (its pool and the session that holds its claims) is dead, and the
// Store does not know it yet.
func killSessions(t *testing.T, dsn string) int {
	t.Helper()
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var n int
	if err := admin.QueryRowContext(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A Store whose connections all died while idle (the server restarted, or
// an operator terminated them) goes on once the server is back: a
// transaction whose BEGIN meets a dead pooled connection runs on a fresh
// one, a new run can be started — its claim taken on a new session, so
// another writer is still refused it — and Close reports nothing, since
// nothing was lost. Buffered and Durable.
func TestPostgresStoreOutlivesItsConnections(t *testing.T) {
	for _, d := range []Durability{Durable, Buffered} {
		t.Run(d.String(), func(t *testing.T) {
			dsn := testutil.PostgresURL(t)
			ctx := context.Background()
			s, err := Open(ctx, dsn, Options{Durability: d})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			cfg := json.RawMessage(`{"ticks_per_day":10,"num_days":1}`)
			ev := func(tick int) []json.RawMessage {
				return []json.RawMessage{json.RawMessage(`{"event_type":"PolicyHold","tick":` + string(rune('0'+tick)) + `,"agent_id":"A"}`)}
			}
			if err := s.PersistSimulationStart(ctx, "a", cfg, StartOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.PersistTickEvents(ctx, "a", 0, ev(0)); err != nil {
				t.Fatal(err)
			}
			if err := s.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if n := killSessions(t, dsn); n < 2 {
				t.Fatalf("terminated %d backends; the Store should hold at least its claim session and a pooled connection", n)
			}

			// Tick 1 meets a dead pooled connection at BEGIN, where nothing
			// of its transaction was done: it runs on a fresh one.
			if _, err := s.PersistTickEvents(ctx, "a", 1, ev(1)); err != nil {
				t.Fatalf("the first write after the connections died: %v", err)
			}
			if err := s.Flush(ctx); err != nil {
				t.Fatalf("flush of the first write after the connections died: %v", err)
			}
			if _, err := s.PersistTickEvents(ctx, "a", 2, ev(2)); err != nil {
				t.Fatalf("tick 2: %v", err)
			}
			if err := s.PersistSimulationComplete(ctx, "a", Metrics{}); err != nil {
				t.Fatalf("complete: %v", err)
			}
			sum, err := s.GetSimulationSummary(ctx, "a")
			if err != nil || sum.EventCount != 3 || sum.Status != "completed" {
				t.Fatalf("run a: %+v, %v; want completed with 3 events", sum, err)
			}

			// A new run after the kill is claimed on a live session.
			if err := s.PersistSimulationStart(ctx, "b", cfg, StartOptions{}); err != nil {
				t.Fatalf("start of a new run after the connections died: %v", err)
			}
			if _, err := s.PersistTickEvents(ctx, "b", 0, ev(0)); err != nil {
				t.Fatalf("tick of the new run: %v", err)
			}
			other, err := Open(ctx, dsn, Options{Durability: Durable})
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			if _, err := other.PersistTickEvents(ctx, "b", 1, ev(1)); !errors.Is(err, ErrConcurrentWriter) {
				t.Fatalf("another Store writing the new run: %v, want ErrConcurrentWriter (the claim must be held)", err)
			}
			if err := s.PersistSimulationComplete(ctx, "b", Metrics{}); err != nil {
				t.Fatalf("complete the new run: %v", err)
			}

			// The connections die again, now with nothing left to write:
			// the claims went with the sessions, nothing was lost, and
			// Close says so (it failed with "sql: connection is already
			// closed", making a completed ingest exit 1).
			killSessions(t, dsn)
			if err := s.Close(); err != nil {
				t.Fatalf("close with a claim session the server ended: %v", err)
			}
			if err := other.Close(); err != nil {
				t.Fatalf("close of a Store that claimed nothing, its session ended: %v", err)
			}
		})
	}
}
