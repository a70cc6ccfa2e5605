package pgdb

import (
	"strings"
	"testing"
)

func TestIsDSN(t *testing.T) {
	for s, want := range map[string]bool{
		"postgres://u@h/db":              true,
		"postgresql://u:p@h:5432/db":     true,
		"runs.duckdb":                    false,
		":memory:":                       false,
		"/data/postgres://x.duckdb":      false,
		"POSTGRES://u@h/db":              false, // a file name, as DuckDB would take it
		"host=localhost dbname=simdb":    false, // keyword form: not a URL simdb recognises
		"postgres:/missing-slash.duckdb": false,
	} {
		if got := IsDSN(s); got != want {
			t.Errorf("IsDSN(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestRedactHidesThePassword(t *testing.T) {
	got := Redact("postgres://worker:s3cret@db.internal:5432/simdb?sslmode=require")
	if strings.Contains(got, "s3cret") || !strings.Contains(got, "worker:xxxxx@db.internal:5432/simdb") {
		t.Fatalf("Redact = %q", got)
	}
}
