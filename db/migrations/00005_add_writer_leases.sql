-- +goose Up
-- Writer leases (RELIABILITY.md, "Writer leases"). A running simulation
-- records who writes it — the writing Store's random writer id, its host
-- and process id — and when that writer last renewed its hold
-- (heartbeat_at) and until when the hold lasts (lease_expires_at). The
-- writer renews it with every commit and on a timer while its Store is
-- open; recover fails, and another writer takes over, only a run whose
-- lease has expired (or was released: all five NULL). The columns describe
-- the writer of a running run only: completing, failing or recovering a
-- run, or closing its Store, clears them.
ALTER TABLE simulations ADD COLUMN writer_id VARCHAR;
ALTER TABLE simulations ADD COLUMN writer_host VARCHAR;
ALTER TABLE simulations ADD COLUMN writer_pid BIGINT;
ALTER TABLE simulations ADD COLUMN heartbeat_at TIMESTAMP;
ALTER TABLE simulations ADD COLUMN lease_expires_at TIMESTAMP;

-- +goose Down
-- Drops only the leases of runs being written now (a finished run holds
-- none): roll back with no writer running.
ALTER TABLE simulations DROP COLUMN lease_expires_at;
ALTER TABLE simulations DROP COLUMN heartbeat_at;
ALTER TABLE simulations DROP COLUMN writer_pid;
ALTER TABLE simulations DROP COLUMN writer_host;
ALTER TABLE simulations DROP COLUMN writer_id;
