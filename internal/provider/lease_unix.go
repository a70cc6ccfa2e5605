//go:build unix

package provider

import (
	"errors"
	"syscall"
)

// processRunning reports whether a process with the id runs on this host
// (a zombie counts, as does one this process may not signal); an id it
// cannot judge counts as running.
func processRunning(pid int64) bool {
	if pid <= 0 || int64(int(pid)) != pid {
		return true
	}
	err := syscall.Kill(int(pid), 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
