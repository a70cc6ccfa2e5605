// Command migrate is goose for simdb's databases: it applies, rolls back
// and reports the migrations embedded from db/migrations (a DuckDB file) or
// db/postgres/migrations (a PostgreSQL database, named by a postgres:// or
// postgresql:// URL; goose's own postgres dialect and version table, so the
// goose CLI reads the same state).
//
//	go run ./cmd/migrate [-db FILE|URL] [--yes] up|up-by-one|up-to V|down|down-to V|redo|reset|status|version
//
// -db defaults to $SIMDB_DB, else simdb.duckdb. A command that would roll
// back a migration whose Down drops stored data (00001: every run; 00002:
// the runs' experiment context) — reset, and down, down-to or redo reaching
// one — needs --yes, or the database's name typed on a terminal (a file's
// name, or a PostgreSQL database's); without it, it exits 2 saying what
// would be dropped, and changes nothing. The rule is the same on both
// backends.
// Exit status 0 on success, 1 on failure (a locked file names the process
// holding it), 2 on a usage error or an unconfirmed drop.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/simcash/simdb/db"
	"github.com/simcash/simdb/internal/duckfile"
	"github.com/simcash/simdb/internal/migrate"
	"github.com/simcash/simdb/internal/pgdb"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	term := terminal{in: os.Stdin}
	if fi, err := os.Stdin.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		term.interactive = true
	}
	code := run(ctx, os.Args[1:], term, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: migrate [-db FILE|URL] [--yes] COMMAND

Commands:
  up          apply all pending migrations
  up-by-one   apply the next pending migration
  up-to V     apply pending migrations up to version V
  down        roll back the latest migration
  down-to V   roll back migrations newer than version V
  redo        roll back the latest migration and apply it again
  reset       roll back every migration
  status      list migrations and whether each is applied
  version     print the database's schema version

-db is a DuckDB file or a postgres:// URL (the database must exist);
it defaults to $SIMDB_DB, else simdb.duckdb. reset, and down, down-to or
redo rolling back 00002 (experiment context) or 00001 (every run), drop
stored data: they need --yes, or the database's name typed on a terminal.
`

func run(ctx context.Context, args []string, term terminal, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	defaultDB := os.Getenv("SIMDB_DB")
	if defaultDB == "" {
		defaultDB = "simdb.duckdb"
	}
	path := fs.String("db", defaultDB, "DuckDB database file or postgres:// URL")
	yes := fs.Bool("yes", false, "roll back migrations that drop stored data without asking")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0 // -h asked for the usage, which is not an error
		}
		return 2
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := rest[0], rest[1:]
	// --yes may also follow the command (`migrate reset --yes`).
	rest = slices.DeleteFunc(slices.Clone(rest), func(a string) bool {
		if a == "-yes" || a == "--yes" {
			*yes = true
			return true
		}
		return false
	})
	needsVersion := cmd == "up-to" || cmd == "down-to"
	if (needsVersion && len(rest) != 1) || (!needsVersion && len(rest) != 0) {
		fmt.Fprintf(stderr, "migrate: wrong arguments for %q\n%s", cmd, usage)
		return 2
	}
	var version int64
	if needsVersion {
		v, err := strconv.ParseInt(rest[0], 10, 64)
		if err != nil || v < 0 {
			fmt.Fprintf(stderr, "migrate: %s: version must be a non-negative integer, got %q\n", cmd, rest[0])
			return 2
		}
		version = v
	}
	switch cmd {
	case "up", "up-by-one", "up-to", "down", "down-to", "redo", "reset", "status", "version":
	default:
		fmt.Fprintf(stderr, "migrate: unknown command %q\n%s", cmd, usage)
		return 2
	}

	if pgdb.IsDSN(*path) {
		return runPostgres(ctx, *path, cmd, version, *yes, term, stdout, stderr)
	}
	readOnly := cmd == "status" || cmd == "version"
	target := *path
	if _, err := os.Stat(target); errors.Is(err, os.ErrNotExist) {
		switch cmd {
		case "status", "version":
			// Report on an empty schema without creating the file.
			fmt.Fprintf(stderr, "migrate: %s does not exist yet; showing an empty database\n", target)
			target = ":memory:"
		case "down", "down-to", "redo", "reset":
			fmt.Fprintf(stderr, "migrate %s: %s does not exist (nothing to roll back)\n", cmd, target)
			return 1
		}
	}
	sqldb, err := duckfile.Open(ctx, target, duckfile.Options{ReadOnly: readOnly})
	if err != nil {
		fmt.Fprintf(stderr, "migrate: %v\n", err)
		return 1
	}
	defer func() {
		// simdb's files do not checkpoint on shutdown (duckfile.Open):
		// fold the log into the file before closing, so a migrated file
		// stands alone.
		if !readOnly {
			_ = duckfile.Checkpoint(context.Background(), sqldb, target, 0, 0)
		}
		sqldb.Close()
	}()
	m, err := migrate.New(sqldb, db.Migrations())
	if err != nil {
		fmt.Fprintf(stderr, "migrate: %v\n", err)
		return 1
	}
	word := confirmWord{what: "the database file's name", word: filepath.Base(*path)}
	return confirmAndExecute(ctx, sqldb, m, db.Migrations(), *path, word, cmd, version, *yes, term, stdout, stderr)
}

// confirmAndExecute runs cmd once a command that drops stored data has
// been confirmed (--yes, or word typed on a terminal): the same rule on
// both backends. name is the database as messages show it.
func confirmAndExecute(ctx context.Context, sqldb *sql.DB, m *migrate.Migrator, migrations fs.FS, name string, word confirmWord, cmd string, version int64, yes bool, term terminal, stdout, stderr io.Writer) int {
	lossy, err := lossyDowns(ctx, m, migrations, cmd, version)
	if err == nil {
		err = confirmLoss(ctx, sqldb, name, word, cmd, lossy, yes, term, stderr)
	}
	if r := (refusal{}); errors.As(err, &r) {
		fmt.Fprintln(stderr, r.msg)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "migrate %s %s: %v\n", cmd, name, err)
		return 1
	}
	if err := execute(ctx, m, cmd, version, stdout); err != nil {
		fmt.Fprintf(stderr, "migrate %s %s: %v\n", cmd, name, err)
		return 1
	}
	return 0
}

// runPostgres runs cmd on the PostgreSQL database dsn names; a command
// that drops stored data asks as on a file, the database's name being the
// word to type.
func runPostgres(ctx context.Context, dsn, cmd string, version int64, yes bool, term terminal, stdout, stderr io.Writer) int {
	name := pgdb.Redact(dsn)
	sqldb, err := pgdb.Open(ctx, dsn, pgdb.Options{})
	if err != nil {
		fmt.Fprintf(stderr, "migrate: %v\n", err)
		return 1
	}
	defer sqldb.Close()
	m, err := migrate.NewPostgres(sqldb, db.PostgresMigrations())
	if err != nil {
		fmt.Fprintf(stderr, "migrate: %v\n", err)
		return 1
	}
	// The server's name for the database: a URL may leave it to defaults.
	word := confirmWord{what: "the database's name"}
	if err := sqldb.QueryRowContext(ctx, `SELECT current_database()`).Scan(&word.word); err != nil {
		fmt.Fprintf(stderr, "migrate: %s: %v\n", name, err)
		return 1
	}
	return confirmAndExecute(ctx, sqldb, m, db.PostgresMigrations(), name, word, cmd, version, yes, term, stdout, stderr)
}

func execute(ctx context.Context, m *migrate.Migrator, cmd string, version int64, out io.Writer) error {
	var results []*migrate.Result
	var err error
	switch cmd {
	case "up":
		results, err = m.Up(ctx)
	case "up-by-one":
		var r *migrate.Result
		if r, err = m.UpByOne(ctx); r != nil {
			results = append(results, r)
		}
	case "up-to":
		results, err = m.UpTo(ctx, version)
	case "down":
		var r *migrate.Result
		if r, err = m.Down(ctx); r != nil {
			results = append(results, r)
		}
	case "down-to":
		results, err = m.DownTo(ctx, version)
	case "redo":
		results, err = m.Redo(ctx)
	case "reset":
		results, err = m.Reset(ctx)
	case "status":
		return printStatus(ctx, m, out)
	case "version":
		v, err := m.Version(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "version %d (this binary knows up to %d)\n", v, m.Target())
		return nil
	}
	for _, r := range results {
		fmt.Fprintln(out, r.String())
	}
	if errors.Is(err, goose.ErrNoNextVersion) || errors.Is(err, goose.ErrNoCurrentVersion) {
		fmt.Fprintln(out, "no migrations to run")
		return nil
	}
	if err != nil {
		return err
	}
	if len(results) == 0 {
		fmt.Fprintln(out, "no migrations to run")
	}
	v, verr := m.Version(ctx)
	if verr == nil {
		fmt.Fprintf(out, "database is at version %d\n", v)
	}
	return verr
}

func printStatus(ctx context.Context, m *migrate.Migrator, out io.Writer) error {
	statuses, err := m.Status(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "Applied At\tMigration")
	fmt.Fprintln(tw, "==========\t=========")
	for _, s := range statuses {
		applied := "Pending"
		if s.State == goose.StateApplied {
			applied = s.AppliedAt.UTC().Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%s\t%s\n", applied, s.Source.Path)
	}
	return tw.Flush()
}
