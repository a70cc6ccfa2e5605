-- DeleteSimulation's statements, run in one transaction. The run's row goes
-- first and only when the run is finished: a running run may still be
-- written, so it is never deleted (zero rows: unknown or running).
-- name: DeleteFinishedSimulation :execrows
DELETE FROM simulations WHERE simulation_id = $1 AND status <> 'running';

-- Every event of the run.
-- name: DeleteSimulationEvents :execrows
DELETE FROM simulation_events WHERE simulation_id = $1;

-- Every register value of the run.
-- name: DeleteSimulationRegisters :exec
DELETE FROM agent_state_registers WHERE simulation_id = $1;

-- The run's events-per-type summary.
-- name: DeleteSimulationEventTypes :exec
DELETE FROM simulation_event_types WHERE simulation_id = $1;

-- The run's agents summary.
-- name: DeleteSimulationAgents :exec
DELETE FROM simulation_agents WHERE simulation_id = $1;
