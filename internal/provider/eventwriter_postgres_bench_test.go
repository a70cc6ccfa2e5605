package provider

import (
	"context"
	"testing"

	"github.com/simcash/simdb/internal/testutil"
)

// BenchmarkPersistTickEventsPostgres is BenchmarkPersistTickEvents on
// PostgreSQL: the medium stream (159,143 events) persisted tick by tick,
// Buffered with the default groups or Durable, and completed, into a fresh database
// per iteration (created outside the timer). Reports ns/event and
// allocs/event, the Go side's allocations only; the server's work shows in
// ns/event alone. Skips without SIMDB_TEST_POSTGRES or SIMDB_CORPUS:
//
//	SIMDB_CORPUS=/work/shared/data/simcash-events scripts/pgtest.sh go test -tags duckdb_arrow \
//	  -run '^$' -bench PersistTickEventsPostgres -benchmem ./internal/provider
func BenchmarkPersistTickEventsPostgres(b *testing.B) {
	b.Run("buffered", func(b *testing.B) { benchPersistPostgres(b, Buffered) })
	// Durable commits every tick (500 groups of ~320 events), so a
	// group's round trips and statements weigh as much as its rows.
	b.Run("durable", func(b *testing.B) { benchPersistPostgres(b, Durable) })
}

func benchPersistPostgres(b *testing.B, mode Durability) {
	ticks, n := mediumTicks(b)
	ctx := context.Background()
	report := testutil.PerEvent(b, n)
	for range b.N {
		b.StopTimer()
		dsn := testutil.PostgresURL(b)
		b.StartTimer()
		persistRun(ctx, b, dsn, Options{Durability: mode}, ticks)
	}
	report()
}
