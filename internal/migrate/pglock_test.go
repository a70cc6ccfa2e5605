package migrate_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pressly/goose/v3/lock"

	"github.com/simcash/simdb/db"
	"github.com/simcash/simdb/internal/migrate"
	"github.com/simcash/simdb/internal/pgdb"
	"github.com/simcash/simdb/internal/testutil"
)

// Processes that open one PostgreSQL database at once each take goose's
// advisory lock in turn: they wait for it rather than poll it, so none
// sleeps behind another (goose's own locker polls every 5 s), and the lock
// is goose's, so a goose CLI run holding it makes them wait.
func TestPostgresMigratorsWaitForGooseLock(t *testing.T) {
	dsn := testutil.PostgresURL(t)
	ctx := context.Background()
	migrator := func() *migrate.Migrator {
		sqldb, err := pgdb.Open(ctx, dsn, pgdb.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sqldb.Close() })
		m, err := migrate.NewPostgres(sqldb, db.PostgresMigrations())
		if err != nil {
			t.Fatal(err)
		}
		return m
	}

	// The lock as the goose CLI holds it while it migrates.
	holder, err := pgdb.Open(ctx, dsn, pgdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	conn, err := holder.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, lock.DefaultLockID); err != nil {
		t.Fatal(err)
	}

	const n = 4
	ms := make([]*migrate.Migrator, n)
	for i := range ms {
		ms[i] = migrator()
	}
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for _, m := range ms {
		wg.Go(func() {
			_, err := m.Up(ctx)
			if err == nil {
				err = m.Check(ctx)
			}
			errs <- err
		})
	}
	time.Sleep(300 * time.Millisecond)
	if len(errs) != 0 {
		t.Fatalf("a migrator finished while goose's lock was held elsewhere: %v", <-errs)
	}
	released := time.Now()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, lock.DefaultLockID); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	took := time.Since(released)
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// goose's polling locker sleeps 5 s between tries: migrators that
	// found the lock taken would take at least that.
	if took > 4*time.Second {
		t.Fatalf("%d migrators took %v after the lock was released; waiting for it should take well under goose's 5 s poll", n, took)
	}
	t.Logf("%d migrators migrated and checked in %v once the lock was free", n, took.Round(time.Millisecond))
}
