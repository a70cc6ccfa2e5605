//go:build !linux

package cli

import (
	"context"
	"database/sql"
	"time"
)

// pgServerCPU is not measured on this system (it reads Linux's /proc):
// bench reports no server CPU.
func pgServerCPU(context.Context, *sql.DB) func() time.Duration { return nil }
