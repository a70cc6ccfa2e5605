// Package cmem returns the C heap's free memory to the operating system.
//
// DuckDB allocates through the C library's malloc. glibc gives the threads
// that allocate their own arenas and keeps what DuckDB and the Arrow writer
// free in them instead of returning it, so a long ingest's resident size
// grows well past what it uses at any moment (BENCHMARKS.md). Trimming
// after each large commit gives that memory back. It is a process-wide
// act, so the provider does it only when its Options ask.
package cmem

// Trim returns the C heap's free memory to the operating system now:
// glibc's malloc_trim on Linux, nothing elsewhere. Its cost grows with the
// heap, so callers space it out (the provider: every 32,768 events).
func Trim() { releaseFree() }
