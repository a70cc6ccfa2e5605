//go:build linux

package cli

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// pgServerCPU returns a function reading the CPU time (user+sys) the
// PostgreSQL server behind db has used so far, over all its processes —
// backends, WAL writer, checkpointer, autovacuum, and those already
// exited — or nil when that cannot be read: the server is on another
// machine, its data directory is not visible to this role, or /proc does
// not show its processes. On a machine shared with other work the wall
// time of a step varies with the load; the CPU the server spent on it
// does much less.
func pgServerCPU(ctx context.Context, db *sql.DB) func() time.Duration {
	var pid int
	var dataDir string
	if db.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid) != nil ||
		db.QueryRowContext(ctx, `SELECT current_setting('data_directory')`).Scan(&dataDir) != nil {
		return nil
	}
	st, ok := readProcStat(pid)
	if !ok || st.comm != "postgres" {
		return nil
	}
	// The postmaster's working directory is its data directory: this
	// makes sure the pid is the server's and not a namesake's on a
	// machine the server does not run on.
	postmaster := st.ppid
	if cwd, err := os.Readlink("/proc/" + strconv.Itoa(postmaster) + "/cwd"); err != nil || filepath.Clean(cwd) != filepath.Clean(dataDir) {
		return nil
	}
	return func() time.Duration { return serverCPU(postmaster) }
}

// serverCPU sums the CPU time of the postmaster, of the children it has
// reaped, and of its live children. A child reaped between the listing of
// the children and the read of the postmaster would count in neither, so
// the children are listed before and after that read, until both lists
// name the same processes.
func serverCPU(postmaster int) time.Duration {
	var ticks int64
	for range 20 {
		before := children(postmaster)
		pm, ok := readProcStat(postmaster)
		if !ok {
			return 0
		}
		after := children(postmaster)
		ticks = pm.utime + pm.stime + pm.cutime + pm.cstime
		same := len(before) == len(after)
		for pid, t := range after {
			if _, ok := before[pid]; !ok {
				same = false
			}
			ticks += t
		}
		if same {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	// /proc counts in USER_HZ, which is 100 on every Linux ABI Go runs on.
	return time.Duration(ticks) * (time.Second / 100)
}

// children returns the CPU ticks (user+sys) of each live child of parent.
func children(parent int) map[int]int64 {
	out := make(map[int]int64)
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == parent {
			continue
		}
		if st, ok := readProcStat(pid); ok && st.ppid == parent {
			out[pid] = st.utime + st.stime
		}
	}
	return out
}

type procStat struct {
	comm                         string
	ppid                         int
	utime, stime, cutime, cstime int64
}

// readProcStat parses /proc/PID/stat (proc(5)): comm in parentheses, then
// space-separated fields, ppid the 4th, utime..cstime the 14th..17th.
func readProcStat(pid int) (procStat, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, false
	}
	open, end := bytes.IndexByte(data, '('), bytes.LastIndexByte(data, ')')
	if open < 0 || end < open {
		return procStat{}, false
	}
	f := bytes.Fields(data[end+1:]) // f[0] is field 3 (state)
	if len(f) < 15 {
		return procStat{}, false
	}
	num := func(i int) int64 { n, _ := strconv.ParseInt(string(f[i-3]), 10, 64); return n }
	return procStat{comm: string(data[open+1 : end]), ppid: int(num(4)),
		utime: num(14), stime: num(15), cutime: num(16), cstime: num(17)}, true
}
