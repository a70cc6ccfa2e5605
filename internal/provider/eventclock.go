package provider

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/simcash/simdb/internal/dbgen"
)

// SimCash's readers order a tick's events by event_timestamp (ORDER BY
// tick, event_timestamp), so a run's timestamps must follow seq: ties
// leave DuckDB free to return a tick's events in any order. Each call
// stamps its events with the wall clock at the call plus one microsecond
// (DuckDB's precision) per earlier event of the call, and never at or below
// the run's previous stamp, even when the clock stands still or steps back.
// event_timestamp stays a wall-clock column, excluded from identity
// (INV-11): only its order carries meaning.

// eventStamps returns the event_timestamp of the first of n events about to
// be persisted for st (event i gets first + i µs) and advances st's floor
// past the last of them. The first call on a run already holding events
// starts the floor at the latest stored stamp of its last tick. The caller
// holds st.mu.
func (s *Store) eventStamps(ctx context.Context, st *simState, n int) (time.Time, error) {
	if !st.stampLoaded {
		if st.durableTick >= 0 {
			last, err := s.q.LastEventTimestamp(ctx, s.sqlDB(), dbgen.LastEventTimestampParams{SimulationID: st.id, Tick: st.durableTick})
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return time.Time{}, fmt.Errorf("load the last event timestamp of %q: %w", st.id, err)
			}
			st.lastStamp = last.UTC()
		}
		st.stampLoaded = true
	}
	first := s.opts.Now().UTC().Truncate(time.Microsecond)
	if !first.After(st.lastStamp) {
		first = st.lastStamp.Add(time.Microsecond)
	}
	st.lastStamp = first.Add(time.Duration(n-1) * time.Microsecond)
	return first, nil
}
