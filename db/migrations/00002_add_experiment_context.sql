-- +goose Up
-- Experiment runners persist many simulations per experiment run; these two
-- columns say which run and which iteration a simulation belongs to (NULL for
-- a standalone run).
ALTER TABLE simulations ADD COLUMN experiment_run_id VARCHAR;
ALTER TABLE simulations ADD COLUMN experiment_iteration INTEGER;

-- +goose Down
-- simdb:down-drops the experiment run and iteration of every run
ALTER TABLE simulations DROP COLUMN experiment_iteration;
ALTER TABLE simulations DROP COLUMN experiment_run_id;
