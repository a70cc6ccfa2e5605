package cli

import (
	"bufio"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/duckfile"
	"github.com/simcash/simdb/internal/event"
	"github.com/simcash/simdb/internal/provider"
)

// metaPace reads the engine's wall time per event from NAME.meta.json beside
// a corpus file NAME.jsonl.gz.
func metaPace(input string) (time.Duration, bool) {
	base := strings.TrimSuffix(strings.TrimSuffix(input, ".gz"), ".jsonl")
	data, err := os.ReadFile(base + ".meta.json")
	if err != nil {
		return 0, false
	}
	var meta struct {
		Seconds float64 `json:"generation_wall_seconds"`
		Events  int64   `json:"event_count"`
	}
	if json.Unmarshal(data, &meta) != nil || meta.Seconds <= 0 || meta.Events <= 0 {
		return 0, false
	}
	return time.Duration(meta.Seconds / float64(meta.Events) * float64(time.Second)), true
}

// tickEvents are one tick's events in the wire form.
type tickEvents struct {
	tick   int64
	events []json.RawMessage
}

// loadTicks reads the whole stream into memory, grouped by tick.
func loadTicks(path string) ([]tickEvents, [][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	r, err := decompress(f)
	if err != nil {
		return nil, nil, err
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	var ticks []tickEvents
	var lines [][]byte
	for sc.Scan() {
		line := append([]byte(nil), sc.Bytes()...)
		var head struct {
			Tick *int64 `json:"tick"`
		}
		if err := json.Unmarshal(line, &head); err != nil || head.Tick == nil {
			return nil, nil, fmt.Errorf("%s:%d: no tick", path, len(lines)+1)
		}
		if len(ticks) == 0 || ticks[len(ticks)-1].tick != *head.Tick {
			ticks = append(ticks, tickEvents{tick: *head.Tick})
		}
		ticks[len(ticks)-1].events = append(ticks[len(ticks)-1].events, line)
		lines = append(lines, line)
	}
	return ticks, lines, sc.Err()
}

// benchIngest runs the same code as `simdb ingest` (open, start, stream,
// complete, close) and returns its time and the number of events.
func benchIngest(ctx context.Context, dbPath, input string, config json.RawMessage, opts simdb.Options) (time.Duration, int64, error) {
	start := time.Now()
	store, err := simdb.Open(ctx, dbPath, opts)
	if err != nil {
		return 0, 0, err
	}
	res, err := func() (simdb.IngestResult, error) {
		f, err := os.Open(input)
		if err != nil {
			return simdb.IngestResult{}, err
		}
		defer f.Close()
		r, err := decompress(f)
		if err != nil {
			return simdb.IngestResult{}, err
		}
		if err := store.PersistSimulationStart(ctx, benchSim, config, simdb.StartOptions{}); err != nil {
			return simdb.IngestResult{}, err
		}
		res, err := store.IngestJSONL(ctx, benchSim, r, simdb.IngestOptions{Source: input})
		if err != nil {
			return res, err
		}
		return res, store.PersistSimulationComplete(ctx, benchSim, res.Metrics)
	}()
	if cerr := store.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, 0, err
	}
	return time.Since(start), res.Events, nil
}

func benchReadJSON(ctx context.Context, dbPath, input string) (time.Duration, error) {
	db, err := sql.Open("duckdb", dbPath)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	start := time.Now()
	if _, err := db.ExecContext(ctx, `CREATE TABLE raw_events (event_type VARCHAR, tick BIGINT, agent_id VARCHAR, tx_id VARCHAR, details VARCHAR)`); err != nil {
		return 0, err
	}
	q := `INSERT INTO raw_events
	      SELECT json->>'event_type', CAST(json->>'tick' AS BIGINT), json->>'agent_id', json->>'tx_id', CAST(json AS VARCHAR)
	      FROM read_ndjson_objects(` + duckfile.StringLiteral(input) + `)`
	if _, err := db.ExecContext(ctx, q); err != nil {
		return 0, err
	}
	if _, err := db.ExecContext(ctx, `CHECKPOINT`); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// benchInsertFloor measures what DuckDB alone spends storing simdb's event
// rows: the events of the ingested database (src) are copied into a
// temporary in-memory table, and the timed part is one INSERT … SELECT of
// them into a fresh simulation_events plus the CHECKPOINT that writes them
// out — no Go code, no parsing, DuckDB's own parallel insert.
func benchInsertFloor(ctx context.Context, dbPath, src string) (time.Duration, error) {
	conn, done, err := openBenchConn(ctx, dbPath)
	if err != nil {
		return 0, err
	}
	defer done()
	for _, q := range []string{
		`ATTACH ` + duckfile.StringLiteral(src) + ` AS floor_src (READ_ONLY)`,
		`CREATE TEMP TABLE floor_rows AS SELECT * EXCLUDE (event_id) FROM floor_src.simulation_events`,
		`DETACH floor_src`,
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return 0, err
		}
	}
	start := time.Now()
	for _, q := range []string{`INSERT INTO simulation_events BY NAME SELECT * FROM floor_rows`, `CHECKPOINT`} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}

// benchProvider times PersistTickEvents per tick (and the Complete and
// Close that commit the last group), events already in memory; began is
// called as the timed part starts.
func benchProvider(ctx context.Context, dbPath string, config json.RawMessage, ticks []tickEvents, began func()) (time.Duration, error) {
	store, err := simdb.Open(ctx, dbPath, simdb.Options{})
	if err != nil {
		return 0, err
	}
	if err := store.PersistSimulationStart(ctx, benchSim, config, simdb.StartOptions{}); err != nil {
		store.Close()
		return 0, err
	}
	began()
	start := time.Now()
	for _, t := range ticks {
		if _, err := store.PersistTickEvents(ctx, benchSim, t.tick, t.events); err != nil {
			store.Close()
			return 0, err
		}
	}
	if err := store.PersistSimulationComplete(ctx, benchSim, simdb.Metrics{}); err != nil {
		store.Close()
		return 0, err
	}
	if err := store.Close(); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// bareRows builds simulation_events rows in advance for the Appender and
// the row inserts, so those measure only the database.
func bareRows(lines [][]byte) ([][]driver.Value, error) {
	now := time.Now().UTC()
	rows := make([][]driver.Value, len(lines))
	for i, line := range lines {
		ev, err := event.Decode(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		var agentID, txID driver.Value
		if ev.HasAgentID {
			agentID = ev.AgentID
		}
		if ev.HasTxID {
			txID = ev.TxID
		}
		rows[i] = []driver.Value{benchSim, int64(i), ev.Tick, ev.Tick / 100, now,
			ev.Type, string(ev.Details), agentID, txID, now, ev.Agents, ev.TxIDs, ev.Layout}
	}
	return rows, nil
}

// openBenchConn opens a fresh simdb database at dbPath (migrated, as the
// provider opens it) and one connection to it; done closes both.
func openBenchConn(ctx context.Context, dbPath string) (conn *sql.Conn, done func(), err error) {
	// The provider's own Store, for its database handle: bench times raw
	// loads into the schema the provider migrates.
	store, err := provider.Open(ctx, dbPath, provider.Options{})
	if err != nil {
		return nil, nil, err
	}
	if conn, err = store.DB().Conn(ctx); err != nil {
		store.Close()
		return nil, nil, err
	}
	return conn, func() { conn.Close(); store.Close() }, nil
}

func benchAppender(ctx context.Context, dbPath string, rows [][]driver.Value) (time.Duration, error) {
	conn, done, err := openBenchConn(ctx, dbPath)
	if err != nil {
		return 0, err
	}
	defer done()
	start := time.Now()
	err = conn.Raw(func(dc any) error {
		app, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "", "simulation_events")
		if err != nil {
			return err
		}
		for _, r := range rows {
			if err := app.AppendRow(r...); err != nil {
				app.Close()
				return err
			}
		}
		return app.Close()
	})
	if err != nil {
		return 0, err
	}
	if _, err := conn.ExecContext(ctx, `CHECKPOINT`); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// benchRowInsert times one prepared INSERT per row in one transaction
// (SimCash's executemany shape) into a migrated simulation_events; began is
// called as the timed part starts.
func benchRowInsert(ctx context.Context, dbPath string, rows [][]driver.Value, began func()) (time.Duration, error) {
	store, err := provider.Open(ctx, dbPath, provider.Options{})
	if err != nil {
		return 0, err
	}
	defer store.Close()
	db := store.DB()
	began()
	start := time.Now()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO simulation_events (simulation_id, seq, tick, day, event_timestamp, event_type, details, agent_id, tx_id, created_at, agents, tx_ids, key_layout)
	      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`)
	if err != nil {
		return 0, err
	}
	defer stmt.Close()
	args := make([]any, 13)
	for _, r := range rows {
		for i, v := range r {
			args[i] = v
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return 0, err
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// benchCallerOverhead replays the first ticks of the stream at the engine's
// pace (a busy loop per event, as a single-threaded engine would spend
// them) for about span, once alone and once persisting each tick, and
// returns the slowdown in percent. Persistence includes the final commit.
func benchCallerOverhead(ctx context.Context, dbPath string, config json.RawMessage, ticks []tickEvents, pace, span time.Duration) (float64, error) {
	var n int
	var budget time.Duration
	for n < len(ticks) && budget < span {
		budget += time.Duration(len(ticks[n].events)) * pace
		n++
	}
	replay := ticks[:n]
	engine := func(events int) {
		deadline := time.Now().Add(time.Duration(events) * pace)
		for time.Now().Before(deadline) {
		}
	}
	start := time.Now()
	for _, t := range replay {
		engine(len(t.events))
	}
	alone := time.Since(start)

	store, err := simdb.Open(ctx, dbPath, simdb.Options{})
	if err != nil {
		return 0, err
	}
	defer store.Close()
	if err := store.PersistSimulationStart(ctx, benchSim, config, simdb.StartOptions{}); err != nil {
		return 0, err
	}
	start = time.Now()
	for _, t := range replay {
		engine(len(t.events))
		if _, err := store.PersistTickEvents(ctx, benchSim, t.tick, t.events); err != nil {
			return 0, err
		}
	}
	if err := store.PersistSimulationComplete(ctx, benchSim, simdb.Metrics{}); err != nil {
		return 0, err
	}
	with := time.Since(start)
	return 100 * (with.Seconds() - alone.Seconds()) / alone.Seconds(), nil
}
