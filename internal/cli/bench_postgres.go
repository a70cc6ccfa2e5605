package cli

import (
	"context"
	"crypto/rand"
	"database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/pgdb"
	"github.com/simcash/simdb/internal/provider"
)

// benchPostgres runs bench's PostgreSQL steps on the database dsn names,
// each in a fresh schema of its own, on the same events as the DuckDB
// steps:
//
//	pg-ingest      the input through the same code as 'simdb ingest'
//	pg-provider    PersistTickEvents per tick, events already in memory
//	pg-copy        PostgreSQL's own COPY FROM (pgx's binary CopyFrom) of
//	               the rows built in advance, in one transaction, into the
//	               same migrated table (same key and indexes): the
//	               physical limit of that server for these rows
//	pg-row-insert  one prepared INSERT per event in one transaction, on
//	               the row-insert sample (SimCash's executemany shape)
//
// Each step's schema is dropped as soon as it is measured, and a
// CHECKPOINT (where the role may run one) precedes each step, so no step
// meets the autovacuum or the checkpoint of the rows of the one before.
// add gets the server's CPU over each step's timed part when the server
// runs on this machine (pgServerCPU), else -1.
func benchPostgres(ctx context.Context, dsn, input string, config json.RawMessage, opts simdb.Options,
	ticks []tickEvents, rows [][]driver.Value, sample int, mark func(), add func(string, int64, time.Duration, time.Duration)) error {
	admin, err := pgdb.Open(ctx, dsn, pgdb.Options{})
	if err != nil {
		return err
	}
	defer admin.Close()
	serverCPU := pgServerCPU(ctx, admin)
	var b [4]byte
	_, _ = rand.Read(b[:])
	prefix := "simdb_bench_" + hex.EncodeToString(b[:]) + "_"
	drop := func(step string) {
		_, _ = admin.ExecContext(context.WithoutCancel(ctx), "DROP SCHEMA IF EXISTS "+prefix+step+" CASCADE")
	}
	// step measures run in a fresh schema: run gets dsn with that schema
	// first in its search_path (pgx sends URL parameters it does not know
	// as run-time settings) and calls began as its timed part starts.
	step := func(name, schema string, run func(db string, began func()) (int64, time.Duration, error)) error {
		if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+prefix+schema); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		defer drop(schema)
		u, err := url.Parse(dsn)
		if err != nil {
			return err
		}
		q := u.Query()
		q.Set("search_path", prefix+schema)
		u.RawQuery = q.Encode()
		_, _ = admin.ExecContext(ctx, "CHECKPOINT") // needs pg_checkpoint; a step without it only varies more
		var server0 time.Duration
		began := func() {
			if serverCPU != nil {
				server0 = serverCPU()
			}
		}
		mark()
		n, d, err := run(u.String(), began)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		server := time.Duration(-1)
		if serverCPU != nil {
			server = serverCPU() - server0
		}
		add(name, n, d, server)
		return nil
	}

	var events int64
	opts.TrimCHeap, opts.MemoryLimit = false, ""
	if err := step("pg-ingest", "ingest", func(db string, began func()) (int64, time.Duration, error) {
		began()
		d, n, err := benchIngest(ctx, db, input, config, opts)
		events = n
		return n, d, err
	}); err != nil {
		return err
	}
	if err := step("pg-provider", "provider", func(db string, began func()) (int64, time.Duration, error) {
		d, err := benchProvider(ctx, db, config, ticks, began)
		return events, d, err
	}); err != nil {
		return err
	}
	if err := step("pg-copy", "copy", func(db string, began func()) (int64, time.Duration, error) {
		d, err := benchPGCopy(ctx, db, rows, began)
		return int64(len(rows)), d, err
	}); err != nil {
		return err
	}
	part := rows[:min(len(rows), sample)]
	return step("pg-row-insert", "rowinsert", func(db string, began func()) (int64, time.Duration, error) {
		d, err := benchRowInsert(ctx, db, part, began)
		return int64(len(part)), d, err
	})
}

// benchPGCopy stores rows (built in advance, eventColumns' order) into a
// migrated simulation_events by one binary COPY in one transaction; began
// is called as the timed part starts.
func benchPGCopy(ctx context.Context, dsn string, rows [][]driver.Value, began func()) (time.Duration, error) {
	store, err := provider.Open(ctx, dsn, provider.Options{})
	if err != nil {
		return 0, err
	}
	defer store.Close()
	conn, err := store.DB().Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	src := make([][]any, len(rows))
	for i, r := range rows {
		src[i] = make([]any, len(r))
		for j, v := range r {
			if l, ok := v.([]string); ok && l == nil {
				v = []string{} // the list columns are NOT NULL
			}
			src[i][j] = v
		}
	}
	cols := []string{"simulation_id", "seq", "tick", "day", "event_timestamp", "event_type",
		"details", "agent_id", "tx_id", "created_at", "agents", "tx_ids", "key_layout"}
	began()
	start := time.Now()
	err = conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		tx, err := pc.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx)
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"simulation_events"}, cols, pgx.CopyFromRows(src)); err != nil {
			return err
		}
		return tx.Commit(ctx)
	})
	if err != nil {
		return 0, err
	}
	return time.Since(start), nil
}
