//go:build !unix

package cli

import "time"

// processCPU is not measured on this system: bench reports 0 CPU seconds.
func processCPU() time.Duration { return 0 }
