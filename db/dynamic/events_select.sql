-- The base of every event read (a page, a stream window): the columns the
-- provider decodes, in this order. Go appends the filter's WHERE (each
-- value a bound parameter), ORDER BY and LIMIT; see
-- internal/provider/eventfilter.go for why these queries are not sqlc's.
--
-- Not read: event_id ('<simulation_id>:<seq>') and simulation_id (the
-- query's own parameter) are rebuilt in Go; agents and tx_ids exist for the
-- filters and are derived again from details, which are scanned anyway
-- (reading them cost DuckDB about as much as every other column together,
-- BENCHMARKS.md). TestEventSelectColumns fails when this list drifts from
-- the table or from the provider's column list.
SELECT seq, tick, day, event_timestamp, event_type,
       details, agent_id, tx_id, created_at, key_layout
FROM simulation_events
