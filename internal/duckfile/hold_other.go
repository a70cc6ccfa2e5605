//go:build !unix

package duckfile

import "io"

// holdFile is holdFile of hold_unix.go where flock exists; elsewhere it
// holds nothing, and opening a file twice in one process is not detected
// (open it once and share the Store).
func holdFile(path string, readOnly bool) (io.Closer, error) { return nil, nil }
