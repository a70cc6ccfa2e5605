-- Events per type, most frequent first (ties by name, so the order is
-- stable), from the counts the writer keeps.
-- name: CountEventsByType :many
SELECT event_type, event_count
FROM simulation_event_types
WHERE simulation_id = $1
ORDER BY event_count DESC, event_type;

-- Every agent that takes part in any event of the run (RTGS, LSM and
-- policy parties alike), sorted.
-- name: ListEventAgents :many
SELECT agent_id
FROM simulation_agents
WHERE simulation_id = $1
ORDER BY agent_id;

-- Adds a batch's events of one type to the run's count, in the batch's
-- transaction.
-- name: AddEventTypeCount :exec
INSERT INTO simulation_event_types (simulation_id, event_type, event_count)
VALUES ($1, $2, $3)
ON CONFLICT (simulation_id, event_type)
DO UPDATE SET event_count = simulation_event_types.event_count + excluded.event_count;

-- Records that an agent takes part in the run (idempotent).
-- name: AddSimulationAgent :exec
INSERT INTO simulation_agents (simulation_id, agent_id)
VALUES ($1, $2)
ON CONFLICT DO NOTHING;

-- Register rows of a run in write order, for consistency checks and export.
-- name: ListRegisters :many
SELECT tick, agent_id, register_key, register_value
FROM agent_state_registers
WHERE simulation_id = $1
ORDER BY tick, agent_id, register_key;
