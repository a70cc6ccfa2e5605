-- +goose Up
-- The three tables SimCash's readers already query, with SimCash's column
-- names and meanings, plus what correctness needs (seq, the normalised
-- participant/transaction lists, the resume point). Money is BIGINT cents.
-- JSON is stored as VARCHAR text: DuckDB's json functions and the ->> operator
-- work on it directly, and the text comes back byte for byte (integers above
-- 2^53 included), which a JSON column read through the Go driver does not.
-- No foreign keys: DuckDB 1.5 cannot alter a table that a foreign key
-- references, and the provider is the only writer that could break one.

CREATE TABLE simulations (
    simulation_id     VARCHAR NOT NULL PRIMARY KEY,
    config_file       VARCHAR,
    -- SHA-256 (hex) of the config re-encoded as canonical JSON (sorted keys).
    config_hash       VARCHAR NOT NULL,
    rng_seed          BIGINT,
    ticks_per_day     BIGINT NOT NULL CHECK (ticks_per_day > 0),
    num_days          BIGINT NOT NULL CHECK (num_days > 0),
    num_agents        BIGINT NOT NULL CHECK (num_agents >= 0),
    total_ticks       BIGINT NOT NULL,
    -- The config exactly as the caller gave it (JSON text).
    config_json       VARCHAR NOT NULL,
    status            VARCHAR NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
    started_at        TIMESTAMP NOT NULL,
    completed_at      TIMESTAMP,
    total_arrivals    BIGINT,
    total_settlements BIGINT,
    total_cost_cents  BIGINT,
    duration_seconds  DOUBLE PRECISION,
    -- Simulated ticks per wall-clock second (total_ticks / duration_seconds).
    ticks_per_second  DOUBLE PRECISION,
    -- Why the run failed (status = 'failed'); NULL otherwise.
    error_message     VARCHAR,
    -- Events committed so far; the next event's seq.
    event_count       BIGINT NOT NULL DEFAULT 0,
    -- Highest tick whose events are committed: the resume point. NULL = none.
    last_tick         BIGINT
);

-- One row per engine event. (simulation_id, seq) identifies a row and
-- (tick, seq) is its order; there is deliberately no PRIMARY KEY or index:
-- both cost bulk-ingest speed, rows arrive in tick order so DuckDB's zone maps
-- already prune tick filters, and the provider assigns seq itself.
CREATE TABLE simulation_events (
    -- Deterministic: '<simulation_id>:<seq>', so a retried batch can never
    -- produce a second id for the same event.
    event_id        VARCHAR NOT NULL,
    simulation_id   VARCHAR NOT NULL,
    -- 0-based position of the event in the simulation's stream, gap-free.
    seq             BIGINT NOT NULL,
    tick            BIGINT NOT NULL,
    day             BIGINT NOT NULL,
    -- Wall clock of the PersistTickEvents call that carried the event.
    event_timestamp TIMESTAMP NOT NULL,
    event_type      VARCHAR NOT NULL,
    -- JSON text of every field except event_type, tick, agent_id and tx_id,
    -- values byte for byte as the engine wrote them.
    details         VARCHAR NOT NULL,
    agent_id        VARCHAR,
    tx_id           VARCHAR,
    -- Wall clock of the commit that stored the row.
    created_at      TIMESTAMP NOT NULL,
    -- Every agent the event involves, whatever the engine called the field
    -- (agent_id, sender_id, receiver_id, sender, receiver, agent_a, agent_b,
    -- agents[], max_net_outflow_agent), in order of first appearance.
    agents          VARCHAR[] NOT NULL,
    -- Every transaction the event involves (tx_id, tx_ids[], child_ids[],
    -- incoming_tx_id, queued_tx_id, source_transactions[]).
    tx_ids          VARCHAR[] NOT NULL,
    -- Where event_type, tick, agent_id and tx_id stood among the event's keys
    -- (one byte each, position + 1, 0 = not lifted out of details), so the
    -- original object can be rebuilt byte for byte from the row.
    key_layout      INTEGER NOT NULL
);

-- Register values set by StateRegisterSet events; several sets of one key in
-- one tick keep the last value.
CREATE TABLE agent_state_registers (
    simulation_id  VARCHAR NOT NULL,
    tick           BIGINT NOT NULL,
    agent_id       VARCHAR NOT NULL,
    register_key   VARCHAR NOT NULL,
    register_value DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (simulation_id, tick, agent_id, register_key)
);

-- +goose Down
-- simdb:down-drops every run with its events and registers
DROP TABLE agent_state_registers;
DROP TABLE simulation_events;
DROP TABLE simulations;
