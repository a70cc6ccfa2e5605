-- Size and extent of a run's stream. A run without events gives count 0
-- and -1 for both maxima.
-- name: GetEventTotals :one
SELECT count(*) AS total_events,
       CAST(COALESCE(max(tick), -1) AS BIGINT) AS max_tick,
       CAST(COALESCE(max(day), -1) AS BIGINT) AS max_day
FROM simulation_events
WHERE simulation_id = $1;

-- Events per type, most frequent first (ties by name, so the order is
-- stable).
-- name: CountEventsByType :many
SELECT event_type, count(*) AS event_count
FROM simulation_events
WHERE simulation_id = $1
GROUP BY event_type
ORDER BY event_count DESC, event_type;

-- Every agent that takes part in any event of the run, from the normalised
-- agents list (so LSM and RTGS parties count too), sorted.
-- name: ListEventAgents :many
SELECT DISTINCT CAST(agent AS VARCHAR) AS agent
FROM (SELECT unnest(agents) AS agent FROM simulation_events WHERE simulation_id = $1) AS a
ORDER BY agent;

-- Register rows of a run in write order, for consistency checks and export.
-- name: ListRegisters :many
SELECT tick, agent_id, register_key, register_value
FROM agent_state_registers
WHERE simulation_id = $1
ORDER BY tick, agent_id, register_key;
