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

-- The latest event_timestamp among a run's events at one tick (its last
-- persisted tick): the writer starts its per-run clock floor here, so a
-- resumed run never stamps an event earlier than one already stored. The
-- tick predicate lets DuckDB skip every other row group.
-- name: LastEventTimestamp :one
SELECT event_timestamp
FROM simulation_events
WHERE simulation_id = $1 AND tick = $2
ORDER BY event_timestamp DESC
LIMIT 1;

-- How many events a run has committed, which is also its next seq: the
-- total of an unfiltered page and the end of a stream's seq range. No row:
-- no run has the id.
-- name: GetEventCount :one
SELECT event_count
FROM simulations
WHERE simulation_id = $1;

-- How many events an agent takes part in, from the count the writer keeps.
-- No row: the agent takes part in none (or no run has the id).
-- name: CountAgentEvents :one
SELECT event_count
FROM simulation_agents
WHERE simulation_id = $1 AND agent_id = $2;
