package testutil

import (
	"os"
	"strings"
	"testing"
)

// Backend is a database simdb runs on, as the tests that run on every
// backend see it.
type Backend struct {
	Name string
	// Skip says why the backend cannot run here ("" when it can).
	Skip func() string
	// Database returns a new, empty database for t: file (a DuckDB path in
	// the test's folder) on DuckDB, a fresh PostgreSQL database's URL (dropped
	// when t ends) on PostgreSQL.
	Database func(t testing.TB, file string) string
}

// Backends returns the databases simdb runs on. Every test runs on the
// first; RunOnBackends runs a package's chosen tests on the others.
func Backends() []Backend {
	return []Backend{
		{
			Name:     "duckdb",
			Skip:     func() string { return "" },
			Database: func(_ testing.TB, file string) string { return file },
		},
		{
			Name: "postgres",
			Skip: func() string {
				if os.Getenv(PostgresEnv) == "" {
					return PostgresEnv + " is not set: the PostgreSQL backend is not tested (make test starts a throwaway server)"
				}
				return ""
			},
			Database: func(t testing.TB, _ string) string { return PostgresURL(t) },
		},
	}
}

// BackendTest is a test RunOnBackends runs on every backend.
type BackendTest struct {
	Name string
	Test func(*testing.T)
}

// RunOnBackends runs tests on every backend but the default, as subtests
// t/backend/test; a backend that cannot run here is skipped with its
// reason. A test finds its backend with BackendOf.
func RunOnBackends(t *testing.T, tests []BackendTest) {
	for _, be := range Backends()[1:] {
		t.Run(be.Name, func(t *testing.T) {
			if why := be.Skip(); why != "" {
				t.Skip(why)
			}
			for _, tc := range tests {
				t.Run(tc.Name, tc.Test)
			}
		})
	}
}

// BackendOf returns the backend t runs on: the one runner (the test that
// calls RunOnBackends) named in t's path, else the default.
func BackendOf(t testing.TB, runner string) Backend {
	all := Backends()
	for _, be := range all[1:] {
		if strings.HasPrefix(t.Name(), runner+"/"+be.Name+"/") {
			return be
		}
	}
	return all[0]
}
