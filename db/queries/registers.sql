-- The value of each of an agent's registers as of a tick: per key, the value
-- of the latest set at or before that tick.
-- name: GetRegistersAsOf :many
SELECT DISTINCT ON (register_key) register_key, register_value, tick
FROM agent_state_registers
WHERE simulation_id = $1 AND agent_id = $2 AND tick <= $3
ORDER BY register_key, tick DESC;
