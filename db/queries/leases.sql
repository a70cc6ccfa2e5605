-- Writer leases (migration 00005; RELIABILITY.md, "Writer leases"). A lease
-- is free when lease_expires_at is NULL (released, or never taken) or not
-- after the caller's clock (expired: its writer stopped renewing it).

-- Takes or renews the lease of a running run for the writer: succeeds
-- (one row) when the lease is free, expired, already the writer's, or held
-- by gone_writer (a writer the caller has proven dead; NULL: none); zero
-- rows means the run is not running or another writer holds a live lease
-- (GetLease says which).
-- name: AcquireLease :execrows
UPDATE simulations
SET writer_id = sqlc.arg(writer_id), writer_host = sqlc.arg(writer_host),
    writer_pid = sqlc.arg(writer_pid), heartbeat_at = sqlc.arg(now),
    lease_expires_at = sqlc.arg(lease_expires_at)
WHERE simulation_id = sqlc.arg(simulation_id) AND status = 'running'
  AND (lease_expires_at IS NULL OR writer_id = sqlc.arg(writer_id)
       OR lease_expires_at <= sqlc.arg(now) OR writer_id = sqlc.arg(gone_writer));

-- The heartbeat: renews every lease the writer holds on a running run.
-- name: RenewLeases :execrows
UPDATE simulations
SET heartbeat_at = sqlc.arg(now), lease_expires_at = sqlc.arg(lease_expires_at)
WHERE writer_id = sqlc.arg(writer_id) AND status = 'running';

-- Gives up every lease the writer holds (its Store closes): the runs are
-- free at once for another writer or for recover.
-- name: ReleaseLeases :exec
UPDATE simulations
SET writer_id = NULL, writer_host = NULL, writer_pid = NULL,
    heartbeat_at = NULL, lease_expires_at = NULL
WHERE writer_id = sqlc.arg(writer_id) AND status = 'running';

-- Who holds a run's lease, for the error that names the holder.
-- name: GetLease :one
SELECT status, writer_id, writer_host, writer_pid, heartbeat_at, lease_expires_at
FROM simulations
WHERE simulation_id = $1;

-- Every running run and its lease, for recover.
-- name: ListRunningLeases :many
SELECT simulation_id, writer_id, writer_host, writer_pid, heartbeat_at, lease_expires_at
FROM simulations
WHERE status = 'running'
ORDER BY simulation_id;

-- Recover: marks a running run failed only if its lease is free, expired,
-- the recovering writer's own or gone_writer's (proven dead; NULL: none),
-- in one statement, so a writer that renews its lease meanwhile keeps its
-- run. Zero rows: left alone.
-- name: FailExpiredSimulation :execrows
UPDATE simulations
SET status = 'failed', completed_at = sqlc.arg(completed_at),
    error_message = sqlc.arg(error_message),
    writer_id = NULL, writer_host = NULL, writer_pid = NULL,
    heartbeat_at = NULL, lease_expires_at = NULL
WHERE simulation_id = sqlc.arg(simulation_id) AND status = 'running'
  AND (lease_expires_at IS NULL OR writer_id = sqlc.arg(writer_id)
       OR lease_expires_at <= sqlc.arg(now) OR writer_id = sqlc.arg(gone_writer));
