// Package crashtest holds simdb's crash tests: SIGKILL trials of the simdb
// ingest command and of a Go program writing through the provider, each
// followed by checks of what the killed process left in its DuckDB file.
// Everything is in _test files; run them with `make test-crash`
// (SIMDB_CRASH_TRIALS trials per test, default 20; SIMDB_CRASH_SEED=n
// replays one trial).
package crashtest
