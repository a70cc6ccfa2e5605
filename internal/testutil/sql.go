package testutil

import (
	"context"
	"database/sql"
	"testing"
)

// Querier is what QueryStrings needs of a database: a *sql.DB, *sql.Conn
// or *sql.Tx.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// QueryStrings returns the one string column of every row query returns,
// in the order returned; any error fails the test.
func QueryStrings(t testing.TB, ctx context.Context, db Querier, query string, args ...any) []string {
	t.Helper()
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
