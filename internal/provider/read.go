package provider

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/simcash/simdb/internal/dbgen"
)

// Simulation is one row of simulations. Optional columns are pointers (nil
// = NULL). Money is integer cents.
type Simulation struct {
	SimulationID        string          `json:"simulation_id"`
	ConfigFile          *string         `json:"config_file"`
	ConfigHash          string          `json:"config_hash"`
	RngSeed             *int64          `json:"rng_seed"`
	TicksPerDay         int64           `json:"ticks_per_day"`
	NumDays             int64           `json:"num_days"`
	NumAgents           int64           `json:"num_agents"`
	TotalTicks          int64           `json:"total_ticks"`
	ConfigJSON          json.RawMessage `json:"config_json"`
	Status              string          `json:"status"`
	StartedAt           time.Time       `json:"started_at"`
	CompletedAt         *time.Time      `json:"completed_at"`
	TotalArrivals       *int64          `json:"total_arrivals"`
	TotalSettlements    *int64          `json:"total_settlements"`
	TotalCostCents      *int64          `json:"total_cost_cents"`
	DurationSeconds     *float64        `json:"duration_seconds"`
	TicksPerSecond      *float64        `json:"ticks_per_second"`
	ErrorMessage        *string         `json:"error_message"`
	EventCount          int64           `json:"event_count"`
	LastTick            *int64          `json:"last_tick"`
	ExperimentRunID     *string         `json:"experiment_run_id"`
	ExperimentIteration *int32          `json:"experiment_iteration"`
}

// SimulationSummary is a run with the figures derived from its totals.
type SimulationSummary struct {
	Simulation
	// SettlementRate is total_settlements / total_arrivals; 0 with no
	// arrivals (never NaN) or before completion. It can exceed 1: scheduled
	// settlements have no Arrival (see PersistSimulationComplete).
	SettlementRate float64 `json:"settlement_rate"`
	// AvgDailyCostCents is total_cost_cents / num_days, truncated toward
	// zero to stay integer cents; 0 before completion.
	AvgDailyCostCents int64 `json:"avg_daily_cost_cents"`
}

func simulationFromRow(r dbgen.Simulation) Simulation {
	s := Simulation{
		SimulationID: r.SimulationID,
		ConfigHash:   r.ConfigHash,
		TicksPerDay:  r.TicksPerDay,
		NumDays:      r.NumDays,
		NumAgents:    r.NumAgents,
		TotalTicks:   r.TotalTicks,
		ConfigJSON:   json.RawMessage(r.ConfigJson),
		Status:       r.Status,
		StartedAt:    r.StartedAt.UTC(),
		EventCount:   r.EventCount,
	}
	s.ConfigFile = nullString(r.ConfigFile)
	s.RngSeed = nullInt(r.RngSeed)
	if r.CompletedAt.Valid {
		t := r.CompletedAt.Time.UTC()
		s.CompletedAt = &t
	}
	s.TotalArrivals = nullInt(r.TotalArrivals)
	s.TotalSettlements = nullInt(r.TotalSettlements)
	s.TotalCostCents = nullInt(r.TotalCostCents)
	s.DurationSeconds = nullFloat(r.DurationSeconds)
	s.TicksPerSecond = nullFloat(r.TicksPerSecond)
	s.ErrorMessage = nullString(r.ErrorMessage)
	s.LastTick = nullInt(r.LastTick)
	s.ExperimentRunID = nullString(r.ExperimentRunID)
	if r.ExperimentIteration.Valid {
		v := r.ExperimentIteration.Int32
		s.ExperimentIteration = &v
	}
	return s
}

func summaryOf(s Simulation) SimulationSummary {
	sum := SimulationSummary{Simulation: s}
	if s.TotalArrivals != nil && *s.TotalArrivals > 0 && s.TotalSettlements != nil {
		sum.SettlementRate = float64(*s.TotalSettlements) / float64(*s.TotalArrivals)
	}
	if s.TotalCostCents != nil && s.NumDays > 0 {
		sum.AvgDailyCostCents = *s.TotalCostCents / s.NumDays
	}
	return sum
}

func nullString(v sql.NullString) *string {
	if !v.Valid {
		return nil
	}
	return &v.String
}

func nullInt(v sql.NullInt64) *int64 {
	if !v.Valid {
		return nil
	}
	return &v.Int64
}

func nullFloat(v sql.NullFloat64) *float64 {
	if !v.Valid {
		return nil
	}
	return &v.Float64
}

// readBarrier commits the simulation's buffered ticks, so that reads through
// the Store see everything persisted through it. The reader's context ends
// the read, never the writer's commit: a context already done returns its
// error before anything is touched (the buffer stays), and the commit itself
// runs without the reader's cancellation (barrierLocked). ErrClosed after
// Close.
func (s *Store) readBarrier(ctx context.Context, id string) error {
	if s.isClosed() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	st := s.sims[id]
	s.mu.Unlock()
	if st == nil {
		return nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return s.barrierLocked(ctx, st)
}

// requireSimulation returns ErrSimulationNotFound when no run has the id.
// Reads whose answer is empty call it, so an unknown id is told apart from
// a run with nothing to show, without a query more on the common path.
func (s *Store) requireSimulation(ctx context.Context, id string) error {
	_, err := s.q.GetWriteState(ctx, s.sqlDB(), id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("simulation %q: %w", id, ErrSimulationNotFound)
	case err != nil:
		return fmt.Errorf("read simulation %q: %w", id, err)
	}
	return nil
}

// GetSimulationSummary returns the run's row with its settlement rate and
// average daily cost. Unknown id: ErrSimulationNotFound.
func (s *Store) GetSimulationSummary(ctx context.Context, simulationID string) (SimulationSummary, error) {
	if err := s.readBarrier(ctx, simulationID); err != nil {
		return SimulationSummary{}, err
	}
	row, err := s.q.GetSimulation(ctx, s.sqlDB(), simulationID)
	if errors.Is(err, sql.ErrNoRows) {
		return SimulationSummary{}, fmt.Errorf("simulation %q: %w", simulationID, ErrSimulationNotFound)
	}
	if err != nil {
		return SimulationSummary{}, fmt.Errorf("read simulation %q: %w", simulationID, err)
	}
	return summaryOf(simulationFromRow(row)), nil
}

// ListFilter selects simulations; empty fields select everything.
type ListFilter struct {
	Status          string `json:"status,omitempty"`
	ExperimentRunID string `json:"experiment_run_id,omitempty"`
}

// ListSimulations returns runs newest first; with ExperimentRunID, the runs
// of that experiment in iteration order. Status must be "", running,
// completed or failed (else ErrInvalidFilter).
func (s *Store) ListSimulations(ctx context.Context, f ListFilter) ([]SimulationSummary, error) {
	switch f.Status {
	case "", "running", "completed", "failed":
	default:
		return nil, fmt.Errorf("%w: unknown status %q (want running, completed or failed)", ErrInvalidFilter, f.Status)
	}
	if s.isClosed() {
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Every simulation's buffer, as a reader: see readBarrier.
	if err := s.flushAll(ctx, false); err != nil {
		return nil, err
	}
	var rows []dbgen.Simulation
	var err error
	if f.ExperimentRunID != "" {
		rows, err = s.q.ListExperimentSimulations(ctx, s.sqlDB(), sql.NullString{String: f.ExperimentRunID, Valid: true})
	} else {
		rows, err = s.q.ListSimulations(ctx, s.sqlDB(), dbgen.ListSimulationsParams{
			Status: sql.NullString{String: f.Status, Valid: f.Status != ""},
		})
	}
	if err != nil {
		return nil, fmt.Errorf("list simulations: %w", err)
	}
	out := make([]SimulationSummary, 0, len(rows))
	for _, r := range rows {
		if f.Status != "" && r.Status != f.Status {
			continue
		}
		out = append(out, summaryOf(simulationFromRow(r)))
	}
	return out, nil
}

// EventSummary describes a run's stream.
type EventSummary struct {
	TotalEvents int64       `json:"total_events"`
	MaxTick     *int64      `json:"max_tick"`
	MaxDay      *int64      `json:"max_day"`
	ByType      []TypeCount `json:"by_type"`
	Agents      []string    `json:"agents"`
}

// TypeCount is the number of events of one type.
type TypeCount struct {
	EventType string `json:"event_type"`
	Count     int64  `json:"count"`
}

// GetEventSummary counts a run's events: total, max tick and day, per type
// (most frequent first) and the sorted distinct agents taking part in any
// event under any of the engine's names for a party. It reads what the
// writer keeps beside the events, so it costs the same for any run size.
// Unknown id: ErrSimulationNotFound.
func (s *Store) GetEventSummary(ctx context.Context, simulationID string) (EventSummary, error) {
	if err := s.readBarrier(ctx, simulationID); err != nil {
		return EventSummary{}, err
	}
	// Every figure comes from what the writer keeps beside the events (the
	// run's progress columns, simulation_event_types, simulation_agents),
	// committed with them, so the cost does not grow with the run.
	sum := EventSummary{ByType: []TypeCount{}, Agents: []string{}}
	w, err := s.q.GetWriteState(ctx, s.sqlDB(), simulationID)
	if errors.Is(err, sql.ErrNoRows) {
		return sum, fmt.Errorf("event summary of %q: %w", simulationID, ErrSimulationNotFound)
	}
	if err != nil {
		return sum, fmt.Errorf("event summary of %q: %w", simulationID, err)
	}
	sum.TotalEvents = w.EventCount
	if w.LastTick.Valid {
		maxTick, maxDay := w.LastTick.Int64, w.LastTick.Int64/w.TicksPerDay
		sum.MaxTick, sum.MaxDay = &maxTick, &maxDay
	}
	counts, err := s.q.CountEventsByType(ctx, s.sqlDB(), simulationID)
	if err != nil {
		return sum, fmt.Errorf("event summary of %q: %w", simulationID, err)
	}
	sum.ByType = make([]TypeCount, len(counts))
	for i, c := range counts {
		sum.ByType[i] = TypeCount{EventType: c.EventType, Count: c.EventCount}
	}
	if sum.Agents, err = s.q.ListEventAgents(ctx, s.sqlDB(), simulationID); err != nil {
		return sum, fmt.Errorf("event summary of %q: %w", simulationID, err)
	}
	if sum.Agents == nil {
		sum.Agents = []string{}
	}
	return sum, nil
}

// GetAgentStateRegisters returns, for each register key of the agent, the
// value of the latest StateRegisterSet at or before tick (an empty map when
// there is none). This is what replay needs to restore an agent's memory.
// Unknown simulation: ErrSimulationNotFound (an unknown agent is an empty
// map: an agent need not have set a register).
func (s *Store) GetAgentStateRegisters(ctx context.Context, simulationID, agentID string, tick int64) (map[string]float64, error) {
	if err := s.readBarrier(ctx, simulationID); err != nil {
		return nil, err
	}
	rows, err := s.q.GetRegistersAsOf(ctx, s.sqlDB(), dbgen.GetRegistersAsOfParams{SimulationID: simulationID, AgentID: agentID, Tick: tick})
	if err != nil {
		return nil, fmt.Errorf("registers of %s in %q at tick %d: %w", agentID, simulationID, tick, err)
	}
	if len(rows) == 0 {
		if err := s.requireSimulation(ctx, simulationID); err != nil {
			return nil, err
		}
	}
	out := make(map[string]float64, len(rows))
	for _, r := range rows {
		out[r.RegisterKey] = r.RegisterValue
	}
	return out, nil
}

// Comparison sets two runs side by side; deltas are B minus A.
type Comparison struct {
	A                   SimulationSummary `json:"a"`
	B                   SimulationSummary `json:"b"`
	SettlementRateDelta float64           `json:"settlement_rate_delta"`
	TotalCostDeltaCents int64             `json:"total_cost_delta_cents"`
}

// CompareSimulations returns both summaries and the deltas of settlement
// rate and total cost (a missing total counts as 0). Either id unknown:
// ErrSimulationNotFound.
func (s *Store) CompareSimulations(ctx context.Context, a, b string) (Comparison, error) {
	sa, err := s.GetSimulationSummary(ctx, a)
	if err != nil {
		return Comparison{}, err
	}
	sb, err := s.GetSimulationSummary(ctx, b)
	if err != nil {
		return Comparison{}, err
	}
	cost := func(s SimulationSummary) int64 {
		if s.TotalCostCents == nil {
			return 0
		}
		return *s.TotalCostCents
	}
	return Comparison{
		A: sa, B: sb,
		SettlementRateDelta: sb.SettlementRate - sa.SettlementRate,
		TotalCostDeltaCents: cost(sb) - cost(sa),
	}, nil
}
