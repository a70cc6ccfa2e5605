//go:build linux && cgo

package cmem

/*
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
static int simdb_malloc_trim(void) { return malloc_trim(0); }
#else
static int simdb_malloc_trim(void) { return 0; }
#endif
*/
import "C"

// releaseFree asks glibc's malloc to return the free memory of all its
// arenas to the operating system (malloc_trim). Elsewhere it does nothing.
func releaseFree() { C.simdb_malloc_trim() }
