// Package migrate applies simdb's goose migrations to a DuckDB or a
// PostgreSQL database.
//
// goose has no DuckDB dialect; duckdbQuerier supplies the version-table SQL
// and is the only DuckDB store simdb uses, from simdb.Open and from
// cmd/migrate alike, so both see the same version table (goose_db_version).
// PostgreSQL uses goose's own postgres dialect and the same table name, so
// the goose CLI reads and runs the same migrations (NewPostgres).
package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
)

// VersionTable is the table goose records applied migrations in.
const VersionTable = "goose_db_version"

// ErrSchemaBehind is returned by Check when migrations are pending.
var ErrSchemaBehind = errors.New("database schema is behind this binary")

// ErrSchemaAhead is returned by Check when the database has migrations this
// binary does not know: it was migrated by a newer simdb, and writing to it
// with an older one could corrupt it.
var ErrSchemaAhead = errors.New("database schema is newer than this binary")

// duckdbQuerier is goose's dialect.Querier for DuckDB.
type duckdbQuerier struct{}

func (duckdbQuerier) CreateTable(table string) string {
	return fmt.Sprintf(`CREATE SEQUENCE %[1]s_id_seq;
CREATE TABLE %[1]s (
	id BIGINT PRIMARY KEY DEFAULT nextval('%[1]s_id_seq'),
	version_id BIGINT NOT NULL,
	is_applied BOOLEAN NOT NULL,
	tstamp TIMESTAMP NOT NULL DEFAULT current_timestamp
)`, table)
}

func (duckdbQuerier) InsertVersion(table string) string {
	return fmt.Sprintf(`INSERT INTO %s (version_id, is_applied) VALUES ($1, $2)`, table)
}

func (duckdbQuerier) DeleteVersion(table string) string {
	return fmt.Sprintf(`DELETE FROM %s WHERE version_id = $1`, table)
}

func (duckdbQuerier) GetMigrationByVersion(table string) string {
	return fmt.Sprintf(`SELECT tstamp, is_applied FROM %s WHERE version_id = $1 ORDER BY tstamp DESC LIMIT 1`, table)
}

func (duckdbQuerier) ListMigrations(table string) string {
	return fmt.Sprintf(`SELECT version_id, is_applied FROM %s ORDER BY id DESC`, table)
}

func (duckdbQuerier) GetLatestVersion(table string) string {
	return fmt.Sprintf(`SELECT max(version_id) FROM %s`, table)
}

// TableExists lets goose ask DuckDB's catalog instead of probing with a
// failing query.
func (duckdbQuerier) TableExists(table string) string {
	return fmt.Sprintf(`SELECT count(*) > 0 FROM duckdb_tables() WHERE table_name = '%s' AND database_name = current_database()`, table)
}

// Migrator runs migrations from one fs.FS against one database.
type Migrator struct {
	p *goose.Provider
	// tableExists asks the catalog whether the version table exists.
	tableExists func(context.Context) (bool, error)
}

// New returns a Migrator for migrations (goose SQL files at the root of the
// fs.FS) on db. It neither touches the database nor logs; an fs.FS with no
// migration in it is an error wrapping goose.ErrNoMigrations.
func New(db *sql.DB, migrations fs.FS) (*Migrator, error) {
	store, err := database.NewStoreFromQuerier(VersionTable, duckdbQuerier{})
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectCustom, db, migrations,
		goose.WithStore(store),
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	exists := func(ctx context.Context) (bool, error) {
		var ok bool
		err := db.QueryRowContext(ctx, duckdbQuerier{}.TableExists(VersionTable)).Scan(&ok)
		return ok, err
	}
	return &Migrator{p: p, tableExists: exists}, nil
}

// NewPostgres returns a Migrator for PostgreSQL migrations on db, through
// goose's built-in postgres dialect and its standard version table
// (goose_db_version, in the connection's search_path): the goose CLI sees
// the same state. Runs hold goose's PostgreSQL advisory lock, waiting for
// it (pgSessionLocker), so processes that open one database at once
// migrate it one at a time; the others find it up to date.
func NewPostgres(db *sql.DB, migrations fs.FS) (*Migrator, error) {
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations,
		goose.WithSessionLocker(pgSessionLocker{}),
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	exists := func(ctx context.Context) (bool, error) {
		var ok bool
		err := db.QueryRowContext(ctx, `SELECT to_regclass($1) IS NOT NULL`, VersionTable).Scan(&ok)
		return ok, err
	}
	return &Migrator{p: p, tableExists: exists}, nil
}

// Result is what one migration did.
type Result = goose.MigrationResult

// Status is one migration's state.
type Status = goose.MigrationStatus

// Up applies every pending migration.
func (m *Migrator) Up(ctx context.Context) ([]*Result, error) { return m.p.Up(ctx) }

// UpByOne applies the next pending migration (goose.ErrNoNextVersion when
// there is none).
func (m *Migrator) UpByOne(ctx context.Context) (*Result, error) { return m.p.UpByOne(ctx) }

// UpTo applies pending migrations up to and including version.
func (m *Migrator) UpTo(ctx context.Context, version int64) ([]*Result, error) {
	return m.p.UpTo(ctx, version)
}

// Down rolls back the latest applied migration.
func (m *Migrator) Down(ctx context.Context) (*Result, error) { return m.p.Down(ctx) }

// DownTo rolls back applied migrations newer than version.
func (m *Migrator) DownTo(ctx context.Context, version int64) ([]*Result, error) {
	return m.p.DownTo(ctx, version)
}

// Redo rolls back the latest migration and applies it again.
func (m *Migrator) Redo(ctx context.Context) ([]*Result, error) {
	down, err := m.p.Down(ctx)
	if err != nil {
		return nil, err
	}
	up, err := m.p.UpByOne(ctx)
	if err != nil {
		return []*Result{down}, err
	}
	return []*Result{down, up}, nil
}

// Reset rolls back every applied migration.
func (m *Migrator) Reset(ctx context.Context) ([]*Result, error) { return m.p.DownTo(ctx, 0) }

// Status lists every known migration and whether it is applied.
func (m *Migrator) Status(ctx context.Context) ([]*Status, error) { return m.p.Status(ctx) }

// Version returns the version the database is at (0 before any migration).
//
// A database without the version table is at version 0 and is not changed:
// goose would create the table, which fails on a read-only database (an
// empty file, say, from a process killed before its first migration) and
// should not happen on a mere look.
func (m *Migrator) Version(ctx context.Context) (int64, error) {
	exists, err := m.tableExists(ctx)
	if err != nil {
		return 0, err
	}
	if !exists {
		return 0, nil
	}
	return m.p.GetDBVersion(ctx)
}

// Target returns the newest migration version this binary carries.
func (m *Migrator) Target() int64 {
	srcs := m.p.ListSources()
	if len(srcs) == 0 {
		return 0
	}
	return srcs[len(srcs)-1].Version
}

// Check compares the database with this binary's migrations without
// changing anything: ErrSchemaBehind when migrations are pending,
// ErrSchemaAhead when the database has a version the binary does not know.
// Both errors name the two versions.
func (m *Migrator) Check(ctx context.Context) error {
	current, err := m.Version(ctx)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	target := m.Target()
	switch {
	case current > target:
		return fmt.Errorf("%w: database is at version %d, this binary knows up to %d; use a newer simdb", ErrSchemaAhead, current, target)
	case current < target:
		return fmt.Errorf("%w: database is at version %d, this binary needs %d; run `migrate up`", ErrSchemaBehind, current, target)
	}
	pending, err := m.p.HasPending(ctx)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if pending {
		return fmt.Errorf("%w: database is at version %d but a migration below it is not applied; run `migrate up`", ErrSchemaBehind, current)
	}
	return nil
}
