-- +goose Up
-- PostgreSQL form of db/migrations/00001_create_core_tables.sql: the same
-- tables, columns (names, order, meanings) and checks; TestDialectsMatch
-- (db/dialects_test.go) fails when the two drift apart. What differs:
--   - VARCHAR is TEXT, VARCHAR[] is TEXT[] (the same values);
--   - JSON is TEXT, never jsonb: jsonb reorders keys, drops duplicate keys
--     and rewrites numbers, and export must give back the ingested bytes;
--   - simulation_events has a primary key on (simulation_id, seq) and an
--     index on (simulation_id, tick, seq): PostgreSQL has no zone maps, so
--     without them every read of a run scans every run's rows (a page of
--     one tick of the medium stream: 0.13-0.2 ms through the index). The
--     key also makes a second writer of a run fail rather than interleave.
--     00004 adds a GIN index on tx_ids and says why.
-- Timestamps are TIMESTAMP (without time zone) holding UTC, as in DuckDB.

CREATE TABLE simulations (
    simulation_id     TEXT NOT NULL PRIMARY KEY,
    config_file       TEXT,
    -- SHA-256 (hex) of the config re-encoded as canonical JSON (sorted keys).
    config_hash       TEXT NOT NULL,
    rng_seed          BIGINT,
    ticks_per_day     BIGINT NOT NULL CHECK (ticks_per_day > 0),
    num_days          BIGINT NOT NULL CHECK (num_days > 0),
    num_agents        BIGINT NOT NULL CHECK (num_agents >= 0),
    total_ticks       BIGINT NOT NULL,
    -- The config exactly as the caller gave it (JSON text).
    config_json       TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
    started_at        TIMESTAMP NOT NULL,
    completed_at      TIMESTAMP,
    total_arrivals    BIGINT,
    total_settlements BIGINT,
    total_cost_cents  BIGINT,
    duration_seconds  DOUBLE PRECISION,
    -- Simulated ticks per wall-clock second (total_ticks / duration_seconds).
    ticks_per_second  DOUBLE PRECISION,
    -- Why the run failed (status = 'failed'); NULL otherwise.
    error_message     TEXT,
    -- Events committed so far; the next event's seq.
    event_count       BIGINT NOT NULL DEFAULT 0,
    -- Highest tick whose events are committed: the resume point. NULL = none.
    last_tick         BIGINT
);

-- One row per engine event; (simulation_id, seq) identifies it and
-- (tick, seq) is its order.
CREATE TABLE simulation_events (
    -- Deterministic: '<simulation_id>:<seq>'.
    event_id        TEXT NOT NULL,
    simulation_id   TEXT NOT NULL,
    -- 0-based position of the event in the simulation's stream, gap-free.
    seq             BIGINT NOT NULL,
    tick            BIGINT NOT NULL,
    day             BIGINT NOT NULL,
    -- Wall clock of the PersistTickEvents call that carried the event.
    event_timestamp TIMESTAMP NOT NULL,
    event_type      TEXT NOT NULL,
    -- JSON text of every field except event_type, tick, agent_id and tx_id,
    -- values byte for byte as the engine wrote them.
    details         TEXT NOT NULL,
    agent_id        TEXT,
    tx_id           TEXT,
    -- Wall clock of the commit that stored the row.
    created_at      TIMESTAMP NOT NULL,
    -- Every agent the event involves, whatever the engine called the field.
    agents          TEXT[] NOT NULL,
    -- Every transaction the event involves.
    tx_ids          TEXT[] NOT NULL,
    -- Where event_type, tick, agent_id and tx_id stood among the event's
    -- keys, so the original object can be rebuilt byte for byte.
    key_layout      INTEGER NOT NULL,
    PRIMARY KEY (simulation_id, seq)
);
CREATE INDEX simulation_events_tick ON simulation_events (simulation_id, tick, seq);

-- Register values set by StateRegisterSet events; several sets of one key in
-- one tick keep the last value.
CREATE TABLE agent_state_registers (
    simulation_id  TEXT NOT NULL,
    tick           BIGINT NOT NULL,
    agent_id       TEXT NOT NULL,
    register_key   TEXT NOT NULL,
    register_value DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (simulation_id, tick, agent_id, register_key)
);

-- +goose Down
-- simdb:down-drops every run with its events and registers
DROP TABLE agent_state_registers;
DROP TABLE simulation_events;
DROP TABLE simulations;
