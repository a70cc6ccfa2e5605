package provider

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/simcash/simdb/internal/dbgen"
)

// failUnclaimed is RecoverInterrupted's work on PostgreSQL, inside tx: of
// the runs still "running", it fails those no live Store claims (their
// writer crashed or was killed, and its session and claim went with it)
// and this Store's own, and leaves alone the runs other Stores are
// writing. It claims each run it fails, so no writer can take one over
// before the transaction commits; the caller releases them afterwards.
// On error it holds no claim it took.
func (s *Store) failUnclaimed(ctx context.Context, tx *sql.Tx, be *postgresBackend) (failed []string, err error) {
	if be.session == nil {
		return nil, fmt.Errorf("%w: the store is read-only", ErrInvalidArgument)
	}
	running, err := s.q.ListRunningSimulations(ctx, tx)
	if err != nil {
		return nil, err
	}
	var claimed []string
	defer func() {
		if err != nil {
			failed = nil
			for _, id := range claimed {
				be.release(id)
			}
		}
	}()
	for _, id := range running {
		be.mu.Lock()
		mine := be.held[id]
		be.mu.Unlock()
		if !mine {
			if err := be.claim(ctx, id); errors.Is(err, ErrConcurrentWriter) {
				continue // another Store is writing it
			} else if err != nil {
				return nil, err
			}
			claimed = append(claimed, id)
		}
		n, err := s.q.FailSimulation(ctx, tx, dbgen.FailSimulationParams{
			SimulationID: id,
			CompletedAt:  sql.NullTime{Time: s.opts.Now().UTC(), Valid: true},
			ErrorMessage: sql.NullString{String: "interrupted", Valid: true},
		})
		if err != nil {
			return nil, err
		}
		if n == 1 {
			failed = append(failed, id)
		} else if !mine {
			be.release(id) // no longer running: nothing to hold
		}
	}
	return failed, nil
}
