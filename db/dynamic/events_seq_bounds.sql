-- The range [lo, hi) of seq that holds a tick or day range's events, which
-- DuckDB answers from its zone maps; (0, 0) when none match. Go appends the
-- WHERE of the tick and day conditions.
SELECT coalesce(min(seq), 0), coalesce(max(seq) + 1, 0)
FROM simulation_events
