-- +goose Up
-- event_id is '<simulation_id>:<seq>' by definition, so storing it spent
-- about a quarter of DuckDB's insert work and ~5 bytes per event (BENCHMARKS.md) on a value
-- derivable from two columns the row already holds. It becomes a VIRTUAL
-- generated column: same name, position, type and values for every reader
-- (SELECT *, WHERE event_id = …), computed when read, never stored.
-- DuckDB cannot turn a stored column into a generated one in place, so the
-- table is rebuilt; the copy keeps the rows' order (tick, seq within a run),
-- which the zone maps of tick filters rely on.
-- sqlc does not read this file (sqlc.yaml says why): its PostgreSQL parser
-- has no VIRTUAL generated columns, and no query sees a change here.
CREATE TABLE simulation_events_v4 (
    event_id        VARCHAR GENERATED ALWAYS AS (simulation_id || ':' || CAST(seq AS VARCHAR)) VIRTUAL,
    simulation_id   VARCHAR NOT NULL,
    seq             BIGINT NOT NULL,
    tick            BIGINT NOT NULL,
    day             BIGINT NOT NULL,
    event_timestamp TIMESTAMP NOT NULL,
    event_type      VARCHAR NOT NULL,
    details         VARCHAR NOT NULL,
    agent_id        VARCHAR,
    tx_id           VARCHAR,
    created_at      TIMESTAMP NOT NULL,
    agents          VARCHAR[] NOT NULL,
    tx_ids          VARCHAR[] NOT NULL,
    key_layout      INTEGER NOT NULL
);
INSERT INTO simulation_events_v4 BY NAME
SELECT * EXCLUDE (event_id) FROM simulation_events;
DROP TABLE simulation_events;
ALTER TABLE simulation_events_v4 RENAME TO simulation_events;

-- +goose Down
CREATE TABLE simulation_events_v3 (
    event_id        VARCHAR NOT NULL,
    simulation_id   VARCHAR NOT NULL,
    seq             BIGINT NOT NULL,
    tick            BIGINT NOT NULL,
    day             BIGINT NOT NULL,
    event_timestamp TIMESTAMP NOT NULL,
    event_type      VARCHAR NOT NULL,
    details         VARCHAR NOT NULL,
    agent_id        VARCHAR,
    tx_id           VARCHAR,
    created_at      TIMESTAMP NOT NULL,
    agents          VARCHAR[] NOT NULL,
    tx_ids          VARCHAR[] NOT NULL,
    key_layout      INTEGER NOT NULL
);
INSERT INTO simulation_events_v3 SELECT * FROM simulation_events;
DROP TABLE simulation_events;
ALTER TABLE simulation_events_v3 RENAME TO simulation_events;
