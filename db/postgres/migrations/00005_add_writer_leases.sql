-- +goose Up
-- PostgreSQL form of db/migrations/00005_add_writer_leases.sql: who writes
-- a running simulation (writer id, host, pid), its last heartbeat and when
-- its lease expires; NULL when no writer holds it. Timestamps are
-- TIMESTAMP (without time zone) holding UTC, as everywhere.
ALTER TABLE simulations ADD COLUMN writer_id TEXT;
ALTER TABLE simulations ADD COLUMN writer_host TEXT;
ALTER TABLE simulations ADD COLUMN writer_pid BIGINT;
ALTER TABLE simulations ADD COLUMN heartbeat_at TIMESTAMP;
ALTER TABLE simulations ADD COLUMN lease_expires_at TIMESTAMP;

-- +goose Down
ALTER TABLE simulations DROP COLUMN lease_expires_at;
ALTER TABLE simulations DROP COLUMN heartbeat_at;
ALTER TABLE simulations DROP COLUMN writer_pid;
ALTER TABLE simulations DROP COLUMN writer_host;
ALTER TABLE simulations DROP COLUMN writer_id;
