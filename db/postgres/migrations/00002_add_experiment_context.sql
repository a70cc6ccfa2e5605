-- +goose Up
-- PostgreSQL form of db/migrations/00002_add_experiment_context.sql: which
-- experiment run and iteration a simulation belongs to (NULL: standalone).
ALTER TABLE simulations ADD COLUMN experiment_run_id TEXT;
ALTER TABLE simulations ADD COLUMN experiment_iteration INTEGER;

-- +goose Down
-- simdb:down-drops the experiment run and iteration of every run
ALTER TABLE simulations DROP COLUMN experiment_iteration;
ALTER TABLE simulations DROP COLUMN experiment_run_id;
