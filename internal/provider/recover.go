package provider

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/simcash/simdb/internal/dbgen"
)

// RecoverResult is what Recover did: the runs it marked failed and those
// it left running, each with why.
type RecoverResult struct {
	// Failed are the runs marked failed ("interrupted"), in id order.
	Failed []string
	// LeftAlone are the running runs another writer still holds.
	LeftAlone []LeftAlone
}

// LeftAlone is a running run Recover did not fail, and why.
type LeftAlone struct {
	SimulationID string
	// Lease is its holder's lease as Recover read it.
	Lease Lease
	// HeartbeatAge is how long before Recover read it the holder last
	// renewed the lease; ExpiresIn how long the lease had left (negative:
	// expired that long ago).
	HeartbeatAge, ExpiresIn time.Duration
	// Reason says why in words: the lease is live, or (PostgreSQL) it has
	// expired but its writer's session is still connected.
	Reason string
}

// Recover marks failed, with reason "interrupted", every running
// simulation whose lease is free (released, never taken: a run stored
// before leases existed) or has expired — its writer is gone — or, on a
// DuckDB file, whose holder is proven gone (provablyGone), and this
// Store's own running runs (call it before starting runs), and reports
// the others, which another writer holds, with the holder and its
// heartbeat's age. On PostgreSQL a run whose lease has expired is also
// left alone while its writer's session still holds the run's advisory
// claim (a stalled writer: see postgresBackend). Safe to run while other
// processes write.
//
// Errors: ErrClosed, ErrReadOnly, ctx's error, and ErrWriteFailed when a
// simulation's buffered ticks fail to commit first (as for a read, the
// failure is also left for that simulation's writer).
func (s *Store) Recover(ctx context.Context) (RecoverResult, error) {
	if err := s.writable(); err != nil {
		return RecoverResult{}, err
	}
	if err := s.flushAll(ctx, false); err != nil {
		return RecoverResult{}, err
	}
	var res RecoverResult
	var claimed []string // claims taken here, given up below
	err := s.writeTx(ctx, func(_ *sql.Conn, tx *sql.Tx) error {
		res = RecoverResult{}
		rows, err := s.q.ListRunningLeases(ctx, tx)
		if err != nil {
			return err
		}
		now := leaseClock()
		for _, row := range rows {
			id := row.SimulationID
			lease := leaseOf(row.WriterID, row.WriterHost, row.WriterPid, row.HeartbeatAt, row.LeaseExpiresAt)
			leftAlone := func(reason string) {
				res.LeftAlone = append(res.LeftAlone, LeftAlone{SimulationID: id, Lease: lease,
					HeartbeatAge: now.Sub(lease.HeartbeatAt), ExpiresIn: lease.ExpiresAt.Sub(now), Reason: reason})
			}
			mine := row.WriterID.Valid && row.WriterID.String == s.lease.id
			var gone sql.NullString
			if !mine && row.LeaseExpiresAt.Valid && row.LeaseExpiresAt.Time.After(now) {
				if !s.provablyGone(lease) {
					leftAlone("its lease is live")
					continue
				}
				gone = row.WriterID // a dead process on this host (DuckDB)
			}
			held := s.be.holds(id)
			if err := s.be.claim(ctx, id); errors.Is(err, ErrConcurrentWriter) {
				leftAlone("its lease has expired, but its writer's session still holds the run's claim (a stalled writer, not a dead one)")
				continue
			} else if err != nil {
				return err
			}
			if !held {
				claimed = append(claimed, id)
			}
			n, err := s.q.FailExpiredSimulation(ctx, tx, dbgen.FailExpiredSimulationParams{
				SimulationID: id,
				CompletedAt:  sql.NullTime{Time: s.opts.Now().UTC(), Valid: true},
				ErrorMessage: sql.NullString{String: "interrupted", Valid: true},
				WriterID:     sql.NullString{String: s.lease.id, Valid: true},
				Now:          sql.NullTime{Time: now, Valid: true},
				GoneWriter:   gone,
			})
			if err != nil {
				return err
			}
			if n == 1 {
				res.Failed = append(res.Failed, id)
			}
		}
		return nil
	})
	for _, id := range claimed {
		s.be.release(id)
	}
	if err != nil {
		return RecoverResult{}, fmt.Errorf("recover interrupted simulations: %w", err)
	}
	for _, id := range res.Failed {
		s.be.release(id) // this Store's own, failed
		s.lease.hold(id, false)
	}
	for _, st := range s.snapshot() {
		st.mu.Lock()
		s.forget(st)
		st.mu.Unlock()
	}
	return res, nil
}
