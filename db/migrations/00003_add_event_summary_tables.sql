-- +goose Up
-- A run's event summary (events per type, agents taking part) kept by the
-- writer in the same transaction as the events it counts, so reading it
-- costs the same for a run of ten million events as for ten. Both tables
-- are derived data: the backfill below rebuilds them from simulation_events.

CREATE TABLE simulation_event_types (
    simulation_id VARCHAR NOT NULL,
    event_type    VARCHAR NOT NULL,
    event_count   BIGINT NOT NULL,
    PRIMARY KEY (simulation_id, event_type)
);

-- Every agent that takes part in at least one event of the run, under any
-- of the engine's names for a party (the union of simulation_events.agents),
-- and in how many events: the total of an agent-filtered page.
CREATE TABLE simulation_agents (
    simulation_id VARCHAR NOT NULL,
    agent_id      VARCHAR NOT NULL,
    event_count   BIGINT NOT NULL,
    PRIMARY KEY (simulation_id, agent_id)
);

INSERT INTO simulation_event_types (simulation_id, event_type, event_count)
SELECT simulation_id, event_type, count(*)
FROM simulation_events
GROUP BY simulation_id, event_type;

INSERT INTO simulation_agents (simulation_id, agent_id, event_count)
SELECT simulation_id, CAST(agent AS VARCHAR), count(*)
FROM (SELECT simulation_id, unnest(agents) AS agent FROM simulation_events) AS a
GROUP BY simulation_id, agent;

-- +goose Down
DROP TABLE simulation_agents;
DROP TABLE simulation_event_types;
