package db

import (
	"embed"
	"io/fs"
)

// The PostgreSQL migrations: the same schema as db/migrations, version for
// version, in PostgreSQL's SQL and for goose's own postgres dialect (so the
// goose CLI runs them too: goose -dir db/postgres/migrations postgres "$DSN"
// status). TestDialectsMatch fails when the two dialects' tables drift.
//
//go:embed postgres/migrations/*.sql
var postgresMigrationFiles embed.FS

// PostgresMigrations returns the PostgreSQL goose migrations, rooted so that
// names are "00001_….sql" as goose expects.
func PostgresMigrations() fs.FS {
	sub, err := fs.Sub(postgresMigrationFiles, "postgres/migrations")
	if err != nil {
		// fs.Sub only fails on an invalid path, and this one is valid.
		panic(err)
	}
	return sub
}
