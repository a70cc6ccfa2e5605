-- Stores one register value. A second set of the same key in the same tick
-- replaces the first: the engine's last write in a tick wins.
-- name: UpsertRegister :exec
INSERT INTO agent_state_registers (simulation_id, tick, agent_id, register_key, register_value)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (simulation_id, tick, agent_id, register_key)
DO UPDATE SET register_value = excluded.register_value;

-- The value of each of an agent's registers as of a tick: per key, the value
-- of the latest set at or before that tick.
-- name: GetRegistersAsOf :many
SELECT DISTINCT ON (register_key) register_key, register_value, tick
FROM agent_state_registers
WHERE simulation_id = $1 AND agent_id = $2 AND tick <= $3
ORDER BY register_key, tick DESC;
