package provider

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// ErrSimulationRunning: DeleteSimulation was asked to remove a run that is
// still running (it may still be written). Mark it failed first
// (PersistSimulationFailed, or RecoverInterrupted after a crash).
var ErrSimulationRunning = errors.New("simulation is running")

// DeleteSimulation removes a completed or failed run: its row, events,
// register values and summary rows, in one transaction (all or nothing),
// and returns how many events it removed. The id can then be used again.
//
// Errors: ErrInvalidArgument (a malformed id), ErrSimulationNotFound,
// ErrSimulationRunning, ErrClosed.
func (s *Store) DeleteSimulation(ctx context.Context, simulationID string) (int64, error) {
	if err := checkSimulationID(simulationID); err != nil {
		return 0, err
	}
	// A running run is refused before lockSim, which would claim it and
	// take its lease (or report another writer's lease instead).
	if row, err := s.q.GetWriteState(ctx, s.sqlDB(), simulationID); err == nil && row.Status == "running" {
		return 0, fmt.Errorf("delete simulation %q: %w: mark it failed first", simulationID, ErrSimulationRunning)
	}
	st, err := s.lockSim(ctx, simulationID)
	if err != nil {
		return 0, fmt.Errorf("delete simulation: %w", err)
	}
	defer st.mu.Unlock()
	if st.status == "running" {
		return 0, fmt.Errorf("delete simulation %q: %w: mark it failed first", simulationID, ErrSimulationRunning)
	}
	var events int64
	err = s.writeTx(ctx, func(_ *sql.Conn, tx *sql.Tx) error {
		n, err := s.q.DeleteFinishedSimulation(ctx, tx, simulationID)
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrSimulationRunning // the row said otherwise a moment ago
		}
		if events, err = s.q.DeleteSimulationEvents(ctx, tx, simulationID); err != nil {
			return err
		}
		if err := s.q.DeleteSimulationRegisters(ctx, tx, simulationID); err != nil {
			return err
		}
		if err := s.q.DeleteSimulationEventTypes(ctx, tx, simulationID); err != nil {
			return err
		}
		return s.q.DeleteSimulationAgents(ctx, tx, simulationID)
	})
	// The cached state described the deleted run; a later Start of the
	// same id loads afresh.
	s.forget(st)
	if err != nil {
		return 0, fmt.Errorf("delete simulation %q: %w", simulationID, err)
	}
	return events, nil
}
