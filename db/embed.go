// Package db holds simdb's SQL: the goose migrations that define the schema
// (db/migrations), the queries sqlc turns into Go (db/queries), and the
// bases of the queries whose WHERE clause Go builds (db/dynamic). The
// migrations and the dynamic bases are embedded; sqlc's queries reach Go
// through internal/dbgen.
package db

import (
	"embed"
	"io/fs"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the goose migrations, rooted so that names are
// "00001_….sql" as goose expects.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		// fs.Sub only fails on an invalid path, and "migrations" is valid.
		panic(err)
	}
	return sub
}
