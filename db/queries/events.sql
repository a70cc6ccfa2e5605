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
