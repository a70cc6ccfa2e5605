-- How many events match a filter the summary tables cannot answer (a tick
-- or day range, a transaction, an agent with event types). Go appends the
-- filter's WHERE.
SELECT count(*)
FROM simulation_events
