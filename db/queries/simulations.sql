-- Registers a new run in status 'running'. The caller has already derived
-- the scalar columns from config_json; a duplicate simulation_id fails on the
-- primary key and leaves the existing row untouched.
-- name: InsertSimulation :exec
INSERT INTO simulations (
    simulation_id, config_file, config_hash, rng_seed, ticks_per_day, num_days,
    num_agents, total_ticks, config_json, status, started_at,
    experiment_run_id, experiment_iteration
) VALUES (
    $1, $2, $3, $4, $5, $6, $7, $8, $9, 'running', $10, $11, $12
);

-- The whole row of one run, for summaries (the lease columns say who
-- writes a running run). config_json is JSON text.
-- name: GetSimulation :one
SELECT simulation_id, config_file, config_hash, rng_seed, ticks_per_day,
       num_days, num_agents, total_ticks, config_json, status, started_at,
       completed_at, total_arrivals, total_settlements, total_cost_cents,
       duration_seconds, ticks_per_second, error_message, event_count,
       last_tick, experiment_run_id, experiment_iteration,
       writer_id, writer_host, writer_pid, heartbeat_at, lease_expires_at
FROM simulations
WHERE simulation_id = $1;

-- What the writer needs to continue a run: its status, how ticks map to
-- days, how many events are committed (the next seq) and the last committed
-- tick (the resume point).
-- name: GetWriteState :one
SELECT status, ticks_per_day, total_ticks, event_count, last_tick
FROM simulations
WHERE simulation_id = $1;

-- Advances the resume point in the same transaction that commits the events,
-- from the count the writer started the group at (prior_event_count), and
-- renews the writer's lease (see leases.sql) in the same statement: zero
-- rows affected means the run moved meanwhile (a group already stored,
-- another writer) or another writer holds a live lease on it, and the
-- writer rolls the group back instead of storing it twice.
-- name: RecordProgress :execrows
UPDATE simulations
SET event_count = $2, last_tick = $3,
    writer_id = sqlc.arg(writer_id), writer_host = sqlc.arg(writer_host),
    writer_pid = sqlc.arg(writer_pid), heartbeat_at = sqlc.arg(now),
    lease_expires_at = sqlc.arg(lease_expires_at)
WHERE simulation_id = $1 AND event_count = sqlc.arg(prior_event_count)
  AND (lease_expires_at IS NULL OR writer_id = sqlc.arg(writer_id)
       OR lease_expires_at <= sqlc.arg(now));

-- What a run's size columns say and what its committed events show: the
-- config (to see which sizes it stated), ticks_per_day, the last committed
-- tick and the number of distinct agents taking part in any event.
-- name: GetRunSize :one
SELECT s.config_json, s.ticks_per_day, s.num_days, s.num_agents, s.total_ticks,
       s.last_tick,
       CAST((SELECT count(*) FROM simulation_agents a
             WHERE a.simulation_id = s.simulation_id) AS BIGINT) AS event_agents
FROM simulations s
WHERE s.simulation_id = $1;

-- Records the size of a run whose config did not state it, from its
-- events, when the run ends.
-- name: RecordRunSize :exec
UPDATE simulations
SET num_days = $2, num_agents = $3, total_ticks = $4
WHERE simulation_id = $1;

-- Final metrics of a run. Only a running run can complete; zero rows
-- affected means the run is unknown or no longer running.
-- name: CompleteSimulation :execrows
UPDATE simulations
SET status = 'completed',
    completed_at = $2,
    total_arrivals = $3,
    total_settlements = $4,
    total_cost_cents = $5,
    duration_seconds = $6,
    ticks_per_second = $7,
    writer_id = NULL, writer_host = NULL, writer_pid = NULL,
    heartbeat_at = NULL, lease_expires_at = NULL
WHERE simulation_id = $1 AND status = 'running';

-- Marks a running run failed with the reason, ending its writer's lease;
-- zero rows affected means the run is unknown or no longer running.
-- name: FailSimulation :execrows
UPDATE simulations
SET status = 'failed', completed_at = $2, error_message = $3,
    writer_id = NULL, writer_host = NULL, writer_pid = NULL,
    heartbeat_at = NULL, lease_expires_at = NULL
WHERE simulation_id = $1 AND status = 'running';

-- Runs, newest first, optionally only those with one status and/or of one
-- experiment run.
-- name: ListSimulations :many
SELECT simulation_id, config_file, config_hash, rng_seed, ticks_per_day,
       num_days, num_agents, total_ticks, config_json, status, started_at,
       completed_at, total_arrivals, total_settlements, total_cost_cents,
       duration_seconds, ticks_per_second, error_message, event_count,
       last_tick, experiment_run_id, experiment_iteration,
       writer_id, writer_host, writer_pid, heartbeat_at, lease_expires_at
FROM simulations
WHERE (sqlc.narg(status)::varchar IS NULL OR status = sqlc.narg(status)::varchar)
  AND (sqlc.narg(experiment_run_id)::varchar IS NULL OR experiment_run_id = sqlc.narg(experiment_run_id)::varchar)
ORDER BY started_at DESC, simulation_id DESC;

-- The runs of one experiment run in iteration order.
-- name: ListExperimentSimulations :many
SELECT simulation_id, config_file, config_hash, rng_seed, ticks_per_day,
       num_days, num_agents, total_ticks, config_json, status, started_at,
       completed_at, total_arrivals, total_settlements, total_cost_cents,
       duration_seconds, ticks_per_second, error_message, event_count,
       last_tick, experiment_run_id, experiment_iteration,
       writer_id, writer_host, writer_pid, heartbeat_at, lease_expires_at
FROM simulations
WHERE experiment_run_id = $1
ORDER BY experiment_iteration, started_at, simulation_id;

-- Gives a copied run (simdb copy) the end of its source's record, column
-- for column: status, completion time, totals, error and the sizes its
-- events fixed, so the copy holds what the source holds rather than what
-- this writer's clock and rules would say. Only a running run takes it;
-- zero rows affected means the run is unknown or no longer running.
-- name: FinishCopiedSimulation :execrows
UPDATE simulations
SET status = $2,
    completed_at = $3,
    total_arrivals = $4,
    total_settlements = $5,
    total_cost_cents = $6,
    duration_seconds = $7,
    ticks_per_second = $8,
    error_message = $9,
    num_days = $10,
    num_agents = $11,
    total_ticks = $12,
    writer_id = NULL, writer_host = NULL, writer_pid = NULL,
    heartbeat_at = NULL, lease_expires_at = NULL
WHERE simulation_id = $1 AND status = 'running';
