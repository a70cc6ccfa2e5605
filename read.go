package simdb

import (
	"context"
	"encoding/json"
	"time"

	"github.com/simcash/simdb/internal/provider"
)

// Simulation is one row of simulations. Optional columns are pointers (nil
// = NULL). Money is integer cents.
type Simulation struct {
	SimulationID string  `json:"simulation_id"`
	ConfigFile   *string `json:"config_file"`
	// ConfigHash is the SHA-256 of the config in canonical form (ConfigHash).
	ConfigHash  string `json:"config_hash"`
	RngSeed     *int64 `json:"rng_seed"`
	TicksPerDay int64  `json:"ticks_per_day"`
	NumDays     int64  `json:"num_days"`
	NumAgents   int64  `json:"num_agents"`
	TotalTicks  int64  `json:"total_ticks"`
	// ConfigJSON is the config exactly as it was given.
	ConfigJSON json.RawMessage `json:"config_json"`
	// Status is "running", "completed" or "failed".
	Status           string     `json:"status"`
	StartedAt        time.Time  `json:"started_at"`
	CompletedAt      *time.Time `json:"completed_at"`
	TotalArrivals    *int64     `json:"total_arrivals"`
	TotalSettlements *int64     `json:"total_settlements"`
	TotalCostCents   *int64     `json:"total_cost_cents"`
	DurationSeconds  *float64   `json:"duration_seconds"`
	// TicksPerSecond is total_ticks / duration_seconds.
	TicksPerSecond *float64 `json:"ticks_per_second"`
	// ErrorMessage says why a failed run failed.
	ErrorMessage *string `json:"error_message"`
	// EventCount is the number of stored events; their seq values are
	// 0..EventCount-1.
	EventCount int64 `json:"event_count"`
	// LastTick is the last stored tick, nil before the first: where an
	// interrupted run resumes.
	LastTick            *int64  `json:"last_tick"`
	ExperimentRunID     *string `json:"experiment_run_id"`
	ExperimentIteration *int32  `json:"experiment_iteration"`
}

// SimulationSummary is a run with the figures derived from its totals.
type SimulationSummary struct {
	Simulation
	// SettlementRate is total_settlements / total_arrivals; 0 with no
	// arrivals (never NaN) or before completion. It can exceed 1:
	// SimCash's scheduled settlements have no Arrival.
	SettlementRate float64 `json:"settlement_rate"`
	// AvgDailyCostCents is total_cost_cents / num_days, truncated toward
	// zero to stay integer cents; 0 before completion.
	AvgDailyCostCents int64 `json:"avg_daily_cost_cents"`
}

func summaryFromInternal(p provider.SimulationSummary) SimulationSummary {
	return SimulationSummary{
		Simulation:        Simulation(p.Simulation),
		SettlementRate:    p.SettlementRate,
		AvgDailyCostCents: p.AvgDailyCostCents,
	}
}

// GetSimulationSummary returns the run's row with its settlement rate and
// average daily cost. Errors: ErrSimulationNotFound, ErrClosed.
func (s *Store) GetSimulationSummary(ctx context.Context, simulationID string) (SimulationSummary, error) {
	sum, err := s.p.GetSimulationSummary(ctx, simulationID)
	return summaryFromInternal(sum), publicError(err)
}

// ListFilter selects simulations for ListSimulations; empty fields select
// everything.
type ListFilter struct {
	// Status is "", "running", "completed" or "failed".
	Status string `json:"status,omitempty"`
	// ExperimentRunID selects the runs of one experiment.
	ExperimentRunID string `json:"experiment_run_id,omitempty"`
}

// ListSimulations returns runs newest first; with ExperimentRunID, the runs
// of that experiment in iteration order. Errors: ErrInvalidFilter (an
// unknown status), ErrClosed.
func (s *Store) ListSimulations(ctx context.Context, f ListFilter) ([]SimulationSummary, error) {
	rows, err := s.p.ListSimulations(ctx, provider.ListFilter(f))
	if err != nil {
		return nil, publicError(err)
	}
	out := make([]SimulationSummary, len(rows))
	for i, r := range rows {
		out[i] = summaryFromInternal(r)
	}
	return out, nil
}

// EventSummary describes a run's stream.
type EventSummary struct {
	TotalEvents int64 `json:"total_events"`
	// MaxTick and MaxDay are nil before the first stored event.
	MaxTick *int64 `json:"max_tick"`
	MaxDay  *int64 `json:"max_day"`
	// ByType counts events per type, most frequent first.
	ByType []TypeCount `json:"by_type"`
	// Agents are the distinct agents taking part in any event, under any
	// of the engine's names for a party, sorted.
	Agents []string `json:"agents"`
}

// TypeCount is the number of events of one type.
type TypeCount struct {
	EventType string `json:"event_type"`
	Count     int64  `json:"count"`
}

// GetEventSummary counts a run's events: total, max tick and day, per type
// and the agents taking part. It reads what the writer keeps beside the
// events, so it costs the same for any run size. Unknown id:
// ErrSimulationNotFound.
func (s *Store) GetEventSummary(ctx context.Context, simulationID string) (EventSummary, error) {
	p, err := s.p.GetEventSummary(ctx, simulationID)
	sum := EventSummary{TotalEvents: p.TotalEvents, MaxTick: p.MaxTick, MaxDay: p.MaxDay, Agents: p.Agents}
	if p.ByType != nil {
		sum.ByType = make([]TypeCount, len(p.ByType))
		for i, c := range p.ByType {
			sum.ByType[i] = TypeCount(c)
		}
	}
	return sum, publicError(err)
}

// GetAgentStateRegisters returns, for each register key of the agent, the
// value of the latest StateRegisterSet at or before tick (an empty map when
// there is none): what replay needs to restore an agent's memory. Unknown
// simulation: ErrSimulationNotFound.
func (s *Store) GetAgentStateRegisters(ctx context.Context, simulationID, agentID string, tick int64) (map[string]float64, error) {
	regs, err := s.p.GetAgentStateRegisters(ctx, simulationID, agentID, tick)
	return regs, publicError(err)
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
	c, err := s.p.CompareSimulations(ctx, a, b)
	if err != nil {
		return Comparison{}, publicError(err)
	}
	return Comparison{
		A:                   summaryFromInternal(c.A),
		B:                   summaryFromInternal(c.B),
		SettlementRateDelta: c.SettlementRateDelta,
		TotalCostDeltaCents: c.TotalCostDeltaCents,
	}, nil
}
