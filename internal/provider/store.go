package provider

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime/trace"
	"sync"
	"sync/atomic"
	"time"

	"github.com/simcash/simdb/internal/cmem"
	"github.com/simcash/simdb/internal/dbgen"
	"github.com/simcash/simdb/internal/duckfile"
	"github.com/simcash/simdb/internal/migrate"
)

// Store is the standard Provider on a DuckDB or PostgreSQL database, plus
// the read side.
//
// A Store is safe for concurrent use by many goroutines: writes of all
// simulations are serialised through one write lock (DuckDB would otherwise
// reject conflicting transactions), reads run in parallel with them and see
// only committed, whole ticks. DuckDB lets one process at a time open a file
// for writing; open a file once per process and share the Store.
type Store struct {
	// dbh is the database handle. It changes only when DuckDB invalidated
	// the database and the writer reopened the file (see recoverHandle);
	// every use loads it afresh through sqlDB.
	dbh  atomic.Pointer[sql.DB]
	be   backend // DuckDB or PostgreSQL: what differs between them
	q    *dbgen.Queries
	sql  eventSQL // the bases of the event queries (db/dynamic)
	opts Options
	path string

	// writeMu serialises write transactions. Lock order: simState.mu, then
	// writeMu.
	writeMu sync.Mutex
	// untrimmed counts the events committed since the C heap was last
	// trimmed (Options.TrimCHeap). Guarded by writeMu.
	untrimmed int
	// memory is DuckDB's memory limit in bytes as the writer last set it
	// (0: unknown, DuckDB's default); raised when a transaction runs out
	// of memory (see writeTx). Guarded by writeMu.
	memory int64
	// fault is why the handle is unusable after a failed reopen; the next
	// write tries to reopen again. Guarded by writeMu.
	fault error
	// checkpointMemory, when set, replaces duckfile.CheckpointMemory as the
	// memory limit checkpoints run under (tests use it to make one fail).
	// Guarded by writeMu.
	checkpointMemory func(limit int64) int64

	mu     sync.Mutex
	sims   map[string]*simState
	closed bool

	stopFlusher chan struct{}
	flusherDone chan struct{}

	// lease is the Store's writer identity, its leases and their
	// heartbeat (lease.go).
	lease *leaser

	// figures keeps the event filters' totals and seq ranges where the
	// database cannot change (unchanging); nil elsewhere (eventfigures.go).
	figures *figuresCache
	// ahead keeps the rows read past a page for the cursor that follows
	// it, where the database cannot change; nil elsewhere (eventahead.go).
	ahead *readAhead
}

// Open opens the database path names — a PostgreSQL database when path is
// a postgres:// or postgresql:// URL (the database must exist; pgdb.Open
// says what failed), else the DuckDB file at path, created if needed
// (":memory:" for a private in-memory one) — and brings its schema up to date unless
// opts.NoAutoMigrate or opts.ReadOnly is set; then a schema behind this
// binary is an error wrapping migrate.ErrSchemaBehind. A schema newer than
// the binary is always an error (migrate.ErrSchemaAhead), never downgraded.
// A file another process holds fails with a *duckfile.LockedError, and so
// does a file this process already has open (InProcess set): open a file
// once and share the Store.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if opts.FlushEvents <= 0 {
		opts.FlushEvents = defaultFlushEvents
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = defaultFlushInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	queries, err := loadEventSQL()
	if err != nil {
		return nil, err
	}
	if opts.Lease == 0 {
		opts.Lease = DefaultLease
	}
	if opts.Lease < MinLease {
		return nil, fmt.Errorf("%w: Options.Lease is %v; it must be at least %v", ErrInvalidArgument, opts.Lease, MinLease)
	}
	lease, err := newLeaser(opts.Lease)
	if err != nil {
		return nil, err
	}
	be, sqldb, name, err := openBackend(ctx, path, opts)
	if err != nil {
		return nil, err
	}
	s := &Store{
		be:          be,
		q:           dbgen.New(),
		sql:         queries,
		opts:        opts,
		path:        name,
		sims:        make(map[string]*simState),
		stopFlusher: make(chan struct{}),
		flusherDone: make(chan struct{}),
		lease:       lease,
	}
	s.dbh.Store(sqldb)
	if s.unchanging() {
		s.figures = newFiguresCache(maxCachedFigures)
		s.ahead = newReadAhead(maxKeptRows)
	}
	if !opts.ReadOnly {
		s.startHeartbeat()
	}
	s.memory, _ = duckfile.ParseMemoryLimit(opts.MemoryLimit)
	if opts.ReadOnly || opts.Durability == Durable {
		close(s.flusherDone)
	} else {
		go s.flushLoop()
	}
	return s, nil
}

func prepareSchema(ctx context.Context, m *migrate.Migrator, opts Options) error {
	if !opts.ReadOnly && !opts.NoAutoMigrate {
		// Refuse a newer schema before goose sees it.
		if err := m.Check(ctx); err != nil && !errors.Is(err, migrate.ErrSchemaBehind) {
			return err
		}
		if _, err := m.Up(ctx); err != nil {
			return fmt.Errorf("apply migrations: %w", err)
		}
	}
	return m.Check(ctx)
}

// DB returns the underlying database for read-only SQL of the caller's own
// (the CLI's export uses DuckDB's COPY). Writing through it bypasses the
// provider's guarantees.
func (s *Store) DB() *sql.DB { return s.sqlDB() }

// sqlDB is the current database handle.
func (s *Store) sqlDB() *sql.DB { return s.dbh.Load() }

// Path is the file the Store was opened on (a PostgreSQL URL without its
// password).
func (s *Store) Path() string { return s.path }

// Flush commits every buffered tick of every simulation and returns once
// they are durable. A failed commit, or an earlier one not yet reported to
// its simulation's writer, is returned here and only here (errors.Join of
// one ErrWriteFailed per simulation): the writer's next correct call — the
// ticks after the stored last tick, sent again — succeeds. A context already
// done returns its error and commits nothing (the buffer stays); once a
// simulation's commit has begun, cancellation does not cut it short, because
// its ticks were acknowledged. ErrClosed after Close; on a read-only Store
// there is never anything to commit.
func (s *Store) Flush(ctx context.Context) error {
	if s.isClosed() {
		return ErrClosed
	}
	return s.flushAll(ctx, true)
}

// flushAll commits every simulation's buffer, as its writer (Flush, Close:
// failures are reported here) or as a reader (ListSimulations,
// RecoverInterrupted: failures stay recorded for each writer, see
// barrierLocked).
func (s *Store) flushAll(ctx context.Context, asWriter bool) error {
	var errs []error
	for _, st := range s.snapshot() {
		if err := ctx.Err(); err != nil {
			errs = append(errs, fmt.Errorf("flush: %w", err))
			break
		}
		st.mu.Lock()
		var err error
		if asWriter {
			err = s.flushLocked(context.WithoutCancel(ctx), st)
		} else {
			err = s.barrierLocked(ctx, st)
		}
		st.mu.Unlock()
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Close flushes buffered ticks and closes the database; its error includes
// any commit failure not yet reported (as Flush). Simulations still running
// stay "running" (their stored ticks are the resume point). Every later call
// returns ErrClosed; Close itself returns nil again.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	select {
	case <-s.flusherDone:
	default:
		close(s.stopFlusher)
		<-s.flusherDone
	}
	s.stopHeartbeat()
	err := s.flushAll(context.Background(), true)
	// Before the checkpoint (so the file holds it) and before the claims
	// go (so no writer finds a run unclaimed but leased).
	s.releaseLeases()
	if !s.opts.ReadOnly && s.be.embedded() {
		// DuckDB checkpoints when the last connection closes, under the
		// memory limit in force; give it the room a checkpoint gets
		// between commits. A failure here loses nothing: the log is
		// replayed when the file is next opened.
		s.writeMu.Lock()
		if duckfile.WALSize(s.path) > 0 {
			region := trace.StartRegion(context.Background(), "simdb: checkpoint")
			_ = duckfile.Checkpoint(context.Background(), s.sqlDB(), s.path, s.checkpointLimit(), s.memory)
			region.End()
		}
		s.writeMu.Unlock()
	}
	if cerr := s.be.close(); err == nil {
		err = cerr
	}
	if cerr := s.sqlDB().Close(); err == nil {
		err = cerr
	}
	return err
}

func (s *Store) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Store) snapshot() []*simState {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*simState, 0, len(s.sims))
	for _, st := range s.sims {
		out = append(out, st)
	}
	return out
}

// flushLoop commits buffers whose oldest event has waited FlushInterval.
func (s *Store) flushLoop() {
	defer close(s.flusherDone)
	t := time.NewTicker(s.opts.FlushInterval / 4)
	defer t.Stop()
	for {
		select {
		case <-s.stopFlusher:
			return
		case <-t.C:
		}
		now := time.Now()
		for _, st := range s.snapshot() {
			if !st.mu.TryLock() {
				continue // a caller is writing it; it will come round again
			}
			s.reap(st, false)
			if len(st.pending) > 0 && now.Sub(st.pendingSince) >= s.opts.FlushInterval && st.inflight == nil {
				if err := s.flushAsync(st); err != nil {
					st.err = err
				}
			}
			st.mu.Unlock()
		}
	}
}

// writeTx runs fn in one transaction on a dedicated connection (the event
// writer must use the transaction's connection), holding the write lock.
// A failed statement fails the transaction: DuckDB aborts it but would still
// report a later Commit as successful.
//
// DuckDB running out of its memory limit is not final: the transaction
// rolls back and runs again under twice the limit, up to memoryRetries
// times, and the raised limit stays (the work needed it). Before it runs
// again, the file is closed and reopened (as is a database DuckDB
// invalidated): the log keeps every committed transaction, and nothing a
// failed one left in memory survives, so only fn's own transaction runs
// again. fn must therefore
// depend on nothing but the database and its inputs.
//
// On PostgreSQL none of that upkeep applies: the transaction runs once and
// a failure is final.
func (s *Store) writeTx(ctx context.Context, fn func(conn *sql.Conn, tx *sql.Tx) error) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if !s.be.embedded() {
		return s.be.txError(s.runTx(ctx, fn))
	}
	for attempt := 0; ; attempt++ {
		err := s.fault
		if err != nil {
			err = s.recoverHandle(ctx)
		}
		if err == nil {
			err = s.runTx(ctx, fn)
		}
		if err == nil {
			s.afterCommit(ctx)
			return nil
		}
		if attempt == memoryRetries || ctx.Err() != nil {
			return err
		}
		switch {
		case duckfile.IsInvalidated(err) && s.path != "" && s.path != ":memory:":
			s.fault = err
		case duckfile.IsOutOfMemory(err) && s.memory > 0:
			// A transaction that failed for memory can leave DuckDB's
			// in-memory state wrong (an Appender's column one row long,
			// a primary key still indexed), so the retry runs on the file
			// reopened under the doubled limit, as after an invalidation;
			// an in-memory database can only raise its limit.
			s.memory *= 2
			if s.path == "" || s.path == ":memory:" {
				if serr := duckfile.SetMemoryLimit(ctx, s.sqlDB(), s.memory); serr != nil {
					return fmt.Errorf("%w (and raising the memory limit: %v)", err, serr)
				}
			} else {
				s.fault = err
			}
		default:
			return err
		}
	}
}

// memoryRetries is how often writeTx doubles DuckDB's memory limit for one
// transaction: enough to take ingest's 32MB to 1GB.
const memoryRetries = 5

func (s *Store) runTx(ctx context.Context, fn func(conn *sql.Conn, tx *sql.Tx) error) (err error) {
	conn, tx, err := s.beginTx(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
	}()
	if err := fn(conn, tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	defer trace.StartRegion(ctx, "simdb: commit").End()
	return tx.Commit()
}

// afterCommit does the upkeep a commit leaves: trimming the C heap
// (Options.TrimCHeap) and folding a grown log into the file. A checkpoint
// that fails cannot undo the commit; one that invalidated the database
// has the file reopened at once (or, if that fails, by the next write).
func (s *Store) afterCommit(ctx context.Context) {
	if s.opts.TrimCHeap && s.untrimmed >= trimEvents {
		cmem.Trim()
		s.untrimmed = 0
	}
	if !duckfile.NeedsCheckpoint(s.path) {
		return
	}
	region := trace.StartRegion(ctx, "simdb: checkpoint")
	err := duckfile.Checkpoint(context.WithoutCancel(ctx), s.sqlDB(), s.path, s.checkpointLimit(), s.memory)
	region.End()
	if duckfile.IsInvalidated(err) {
		// Reopen now, so that readers do not fail until the next write.
		s.fault = err
		if s.recoverHandle(ctx) == nil {
			_ = duckfile.Checkpoint(context.WithoutCancel(ctx), s.sqlDB(), s.path, s.checkpointLimit(), s.memory)
		}
	}
}

// checkpointLimit is the memory limit checkpoints run under. The caller
// holds writeMu.
func (s *Store) checkpointLimit() int64 {
	if s.checkpointMemory != nil {
		return s.checkpointMemory(s.memory)
	}
	return duckfile.CheckpointMemory(s.memory)
}

// recoverHandle closes a database DuckDB invalidated and opens the file
// again with the same options and the current memory limit; DuckDB replays
// the log, so every committed transaction is there. Readers that loaded
// the old handle finish with an error; later calls use the new one. The
// caller holds writeMu.
func (s *Store) recoverHandle(ctx context.Context) error {
	cause := s.fault
	_ = s.sqlDB().Close()
	opts := duckfile.Options{Threads: s.opts.Threads, MemoryLimit: s.opts.MemoryLimit}
	if s.memory > 0 {
		opts.MemoryLimit = duckfile.FormatMemoryLimit(s.memory)
	}
	db, err := duckfile.Open(context.WithoutCancel(ctx), s.path, opts)
	if err != nil {
		return fmt.Errorf("%w: DuckDB invalidated the database (%v) and reopening %s failed: %v; "+
			"committed ticks are kept: close the store, reopen the file (simdb ingest --resume continues a run)",
			ErrWriteFailed, cause, s.path, err)
	}
	s.dbh.Store(db)
	s.fault = nil
	return nil
}

// trimEvents is how many events Options.TrimCHeap lets commit between two
// trims: one 32k-row row group's worth, so a durable writer's small
// commits do not each pay for a trim.
const trimEvents = 32_768

// unchanging reports a database no process can change while this Store has
// it open: a DuckDB file opened ReadOnly, which DuckDB's file lock keeps
// every writer out of. What is read from it stays true until Close.
func (s *Store) unchanging() bool { return s.opts.ReadOnly && s.be.embedded() }
