//go:build duckdb_arrow

package simdb

// EventWriter names the DuckDB bulk interface this build stores events
// through: "arrow" (Arrow record batches; build with -tags duckdb_arrow, as
// the Makefile does) or "appender" (DuckDB's Appender, any other build).
// Both store the same rows; BENCHMARKS.md compares their speed.
const EventWriter = "arrow"
