-- +goose Up
-- PostgreSQL form of db/migrations/00003_add_event_summary_tables.sql: a
-- run's events per type and the agents taking part, kept by the writer in
-- the same transaction as the events. Derived data: the backfill rebuilds
-- them from simulation_events.

CREATE TABLE simulation_event_types (
    simulation_id TEXT NOT NULL,
    event_type    TEXT NOT NULL,
    event_count   BIGINT NOT NULL,
    PRIMARY KEY (simulation_id, event_type)
);

CREATE TABLE simulation_agents (
    simulation_id TEXT NOT NULL,
    agent_id      TEXT NOT NULL,
    event_count   BIGINT NOT NULL,
    PRIMARY KEY (simulation_id, agent_id)
);

INSERT INTO simulation_event_types (simulation_id, event_type, event_count)
SELECT simulation_id, event_type, count(*)
FROM simulation_events
GROUP BY simulation_id, event_type;

INSERT INTO simulation_agents (simulation_id, agent_id, event_count)
SELECT simulation_id, agent, count(*)
FROM (SELECT simulation_id, unnest(agents) AS agent FROM simulation_events) AS a
GROUP BY simulation_id, agent;

-- +goose Down
DROP TABLE simulation_agents;
DROP TABLE simulation_event_types;
