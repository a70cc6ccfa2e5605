package duckfile

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkOpenNewFile opens (creating it) and closes a new database file:
// the fixed cost every new simdb file, and every test's, starts with.
func BenchmarkOpenNewFile(b *testing.B) {
	dir := b.TempDir()
	ctx := context.Background()
	for i := range b.N {
		db, err := Open(ctx, filepath.Join(dir, fmt.Sprintf("new-%d.duckdb", i)), Options{Threads: 1})
		if err != nil {
			b.Fatal(err)
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
