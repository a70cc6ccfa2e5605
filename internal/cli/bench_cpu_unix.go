//go:build unix

package cli

import (
	"syscall"
	"time"
)

// processCPU is the user+sys CPU time the process has used so far, every
// thread included (DuckDB's too).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
