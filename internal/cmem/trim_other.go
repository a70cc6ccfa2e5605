//go:build !(linux && cgo)

package cmem

// releaseFree does nothing here: only glibc keeps freed memory in
// per-thread arenas the way trim_glibc.go works around.
func releaseFree() {}
