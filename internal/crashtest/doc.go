// Package crashtest holds simdb's crash tests: SIGKILL trials of the simdb
// ingest command and of a Go program writing through the provider, each
// followed by checks of what the killed process left in its DuckDB file;
// and, on a PostgreSQL cluster the test starts itself, SIGKILL,
// immediate-restart and pg_terminate_backend trials of four ingest workers
// (TestCrashPostgres). Everything is in _test files; run them with `make
// test-crash` (SIMDB_CRASH_TRIALS DuckDB trials per test, default 10; the
// PostgreSQL counts are fixed; SIMDB_CRASH_SEED=n replays one trial).
package crashtest
