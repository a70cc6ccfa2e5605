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
// each in a fresh schema of its own (dropped afterwards), on the same
// events as the DuckDB steps:
//
//	pg-ingest      the input through the same code as 'simdb ingest'
//	pg-provider    PersistTickEvents per tick, events already in memory
//	pg-copy        PostgreSQL's own COPY FROM (pgx's binary CopyFrom) of
//	               the rows built in advance, in one transaction: the
//	               physical limit of that server for these rows
//	pg-row-insert  one prepared INSERT per event in one transaction, on
//	               the row-insert sample
func benchPostgres(ctx context.Context, dsn, input string, config json.RawMessage, opts simdb.Options,
	ticks []tickEvents, rows [][]driver.Value, sample int, add func(string, int64, time.Duration)) error {
	admin, err := pgdb.Open(ctx, dsn, pgdb.Options{})
	if err != nil {
		return err
	}
	defer admin.Close()
	var b [4]byte
	_, _ = rand.Read(b[:])
	prefix := "simdb_bench_" + hex.EncodeToString(b[:]) + "_"
	// schema returns dsn with a fresh schema first in its search_path;
	// pgx sends URL parameters it does not know as run-time settings.
	schema := func(step string) (string, error) {
		name := prefix + step
		if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+name); err != nil {
			return "", fmt.Errorf("%s: %w", step, err)
		}
		u, err := url.Parse(dsn)
		if err != nil {
			return "", err
		}
		q := u.Query()
		q.Set("search_path", name)
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	defer func() {
		for _, step := range []string{"ingest", "provider", "copy", "rowinsert"} {
			_, _ = admin.ExecContext(context.Background(), "DROP SCHEMA IF EXISTS "+prefix+step+" CASCADE")
		}
	}()

	db, err := schema("ingest")
	if err != nil {
		return err
	}
	opts.TrimCHeap, opts.MemoryLimit = false, ""
	d, n, err := benchIngest(ctx, db, input, config, opts)
	if err != nil {
		return fmt.Errorf("pg-ingest: %w", err)
	}
	add("pg-ingest", n, d)

	if db, err = schema("provider"); err != nil {
		return err
	}
	if d, err = benchProvider(ctx, db, config, ticks); err != nil {
		return fmt.Errorf("pg-provider: %w", err)
	}
	add("pg-provider", n, d)

	if db, err = schema("copy"); err != nil {
		return err
	}
	if d, err = benchPGCopy(ctx, db, rows); err != nil {
		return fmt.Errorf("pg-copy: %w", err)
	}
	add("pg-copy", int64(len(rows)), d)

	if db, err = schema("rowinsert"); err != nil {
		return err
	}
	part := rows[:min(len(rows), sample)]
	if d, err = benchRowInsert(ctx, db, part); err != nil {
		return fmt.Errorf("pg-row-insert: %w", err)
	}
	add("pg-row-insert", int64(len(part)), d)
	return nil
}

// benchPGCopy stores rows (built in advance, eventColumns' order) into a
// migrated simulation_events by one binary COPY in one transaction.
func benchPGCopy(ctx context.Context, dsn string, rows [][]driver.Value) (time.Duration, error) {
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
