//go:build linux

package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// diskFullAfter serves a stream in small reads and, once more than n bytes
// have been read (n < 0: at the end of the stream), makes every file write
// beyond the database's current write-ahead log size fail with EFBIG
// (RLIMIT_FSIZE, with SIGXFSZ ignored meanwhile), which DuckDB meets as a
// full disk would: "Could not write file …". restore lifts the limit.
type diskFullAfter struct {
	t       *testing.T
	r       io.Reader
	n       int
	db      string
	full    bool
	old     syscall.Rlimit
	restore func()
}

func (d *diskFullAfter) Read(p []byte) (int, error) {
	// Small reads keep the reader close to what ingest has processed.
	p = p[:min(len(p), 256)]
	n, err := d.r.Read(p)
	d.n -= n
	if !d.full && (d.n < 0 || err == io.EOF) {
		d.fill()
	}
	return n, err
}

func (d *diskFullAfter) fill() {
	d.full = true
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &d.old); err != nil {
		d.t.Fatal(err)
	}
	var size int64
	if st, err := os.Stat(d.db + ".wal"); err == nil {
		size = st.Size()
	}
	signal.Ignore(syscall.SIGXFSZ)
	lim := d.old
	lim.Cur = uint64(size)
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		d.t.Fatal(err)
	}
	d.restore = func() {
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &d.old); err != nil {
			d.t.Fatal(err)
		}
		signal.Reset(syscall.SIGXFSZ)
	}
	d.t.Cleanup(d.restore) // the test process must not keep the limit
}

// Issue 20.6: a disk that fills up during `simdb ingest` — in the middle of
// the stream or at the final commit — leaves the run running with whole
// ticks stored (it used to be marked failed, so --resume was refused), the
// one-line error says how to resume, and once there is room again --resume
// finishes a run diff calls identical to an uninterrupted ingest.
func TestIngestDiskFullIsResumable(t *testing.T) {
	dir := t.TempDir()
	stream, config := genStream(t, dir, "d", genSpec{agents: 5, days: 4, ticksPerDay: 10, eventsPerTick: 20, seed: 23})
	src := readStream(t, stream)
	plain := readFile(t, stream)
	db := filepath.Join(dir, "db.duckdb")
	mustCLI(t, "--db", db, "ingest", "--sim", "full", "--config", config, stream)

	for _, c := range []struct {
		name  string
		after int // bytes read before the disk fills; -1: at the end
		// flushEvents: small groups commit while the stream is read; the
		// default holds the whole stream for the final commit.
		flushEvents string
	}{{"mid-stream", len(plain) / 3, "20"}, {"final commit", -1, "50000"}} {
		t.Run(c.name, func(t *testing.T) {
			sim := "full-disk-" + strings.ReplaceAll(c.name, " ", "-")
			stdin := &diskFullAfter{t: t, r: bytes.NewReader(plain), n: c.after, db: db}
			if c.after < 0 {
				stdin.n = len(plain) + 1
			}
			r := runAt(t, fixedNow, stdin, "--db", db, "ingest", "--flush-events", c.flushEvents, "--sim", sim, "--config", config, "-")
			if !stdin.full {
				t.Fatal("the disk never filled up")
			}
			stdin.restore()
			wantFailure(t, r, "write failed", "Could not write file", fmt.Sprintf("simdb --db %s ingest --resume --sim %s", db, sim))

			s := showJSON(t, db, sim).Simulation
			if s.Status != "running" || s.ErrorMessage != nil {
				t.Fatalf("a full disk left %s %v; want it running, to resume", s.Status, s.ErrorMessage)
			}
			stored := 0
			for _, ev := range src {
				if s.LastTick != nil && ev.tick <= *s.LastTick {
					stored++
				}
			}
			if s.EventCount != int64(stored) || stored == len(src) {
				t.Fatalf("stored %d events through tick %v; want the whole ticks before the failure (%d of %d events)", s.EventCount, s.LastTick, stored, len(src))
			}
			mustCLI(t, "--db", db, "ingest", "--resume", "--sim", sim, stream)
			if r := cli(t, "--db", db, "diff", "full", sim); r.code != exitOK || r.stdout != fmt.Sprintf("identical (%d events)\n", len(src)) {
				t.Errorf("diff after resume: %s", r)
			}
		})
	}
}
