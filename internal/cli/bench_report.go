package cli

import (
	"compress/gzip"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/simcash/simdb"
)

// benchReport is bench's JSON output.
type benchReport struct {
	Machine benchMachine       `json:"machine"`
	Input   string             `json:"input"`
	Events  int64              `json:"events"`
	Results []benchResult      `json:"results"`
	Ratios  map[string]float64 `json:"ratios"`
	// CallerOverheadPct is null when the caller-overhead step did not run.
	CallerOverheadPct *float64     `json:"caller_overhead_pct"`
	EnginePaceMicros  float64      `json:"engine_pace_us_per_event"`
	Queries           []benchQuery `json:"queries"`
	DBBytesPerEvent   float64      `json:"db_bytes_per_event"`
	GzipBytesPerEvent float64      `json:"gzip_jsonl_bytes_per_event"`
}

type benchMachine struct {
	CPU       string `json:"cpu"`
	Cores     int    `json:"cores"`
	GoVersion string `json:"go"`
	DuckDB    string `json:"duckdb"`
	OS        string `json:"os"`
	// Writer is the event writer of this build (simdb.EventWriter).
	Writer string `json:"writer"`
}

type benchResult struct {
	Name         string  `json:"name"`
	Events       int64   `json:"events"`
	Seconds      float64 `json:"seconds"`
	EventsPerSec float64 `json:"events_per_sec"`
	// CPUSeconds is the process's user+sys time over the step (setup
	// included); CPUMicrosPerEvent the same per event.
	CPUSeconds        float64 `json:"cpu_seconds"`
	CPUMicrosPerEvent float64 `json:"cpu_us_per_event"`
	// ServerCPUSeconds is what a PostgreSQL server on this machine spent
	// over the step, all its processes (pg-* steps; absent when it cannot
	// be read, see pgServerCPU); ServerCPUMicrosPerEvent the same per
	// event.
	ServerCPUSeconds        *float64 `json:"server_cpu_seconds,omitempty"`
	ServerCPUMicrosPerEvent *float64 `json:"server_cpu_us_per_event,omitempty"`
}

type benchQuery struct {
	Name   string  `json:"name"`
	Runs   int     `json:"runs"`
	P50ms  float64 `json:"p50_ms"`
	P95ms  float64 `json:"p95_ms"`
	Events int64   `json:"events,omitempty"`
	Rate   float64 `json:"events_per_sec,omitempty"`
}

// gzipSize is the size of the input gzip-compressed (the file's own size
// when it already is).
func gzipSize(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var magic [2]byte
	if _, err := io.ReadFull(f, magic[:]); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		st, err := f.Stat()
		if err != nil {
			return 0, err
		}
		return st.Size(), nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	cw := &countingWriter{}
	zw := gzip.NewWriter(cw)
	if _, err := io.Copy(zw, f); err != nil {
		return 0, err
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	return cw.n, nil
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

func machineInfo(ctx context.Context) benchMachine {
	m := benchMachine{Cores: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH, Writer: simdb.EventWriter}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if db, err := sql.Open("duckdb", ""); err == nil {
		_ = db.QueryRowContext(ctx, `SELECT version()`).Scan(&m.DuckDB)
		db.Close()
	}
	return m
}

func printBench(out io.Writer, rep *benchReport) {
	fmt.Fprintf(out, "machine: %s, %d cores, %s, %s, DuckDB %s, %s event writer\n", rep.Machine.CPU, rep.Machine.Cores, rep.Machine.OS, rep.Machine.GoVersion, rep.Machine.DuckDB, rep.Machine.Writer)
	fmt.Fprintf(out, "input:   %s (%d events)\n\n", rep.Input, rep.Events)
	if len(rep.Results) > 0 {
		tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "measurement\tevents\tseconds\tevents/s\tCPU s\tCPU µs/event\tserver CPU µs/event\t")
		for _, r := range rep.Results {
			server := ""
			if r.ServerCPUMicrosPerEvent != nil {
				server = fmt.Sprintf("%.2f", *r.ServerCPUMicrosPerEvent)
			}
			fmt.Fprintf(tw, "%s\t%d\t%.3f\t%.0f\t%.3f\t%.2f\t%s\t\n", r.Name, r.Events, r.Seconds, r.EventsPerSec, r.CPUSeconds, r.CPUMicrosPerEvent, server)
		}
		tw.Flush()
		fmt.Fprintln(out)
	}
	keys := make([]string, 0, len(rep.Ratios))
	for k := range rep.Ratios {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(out, "%-28s %8.2fx\n", k, rep.Ratios[k])
	}
	if p := rep.CallerOverheadPct; p != nil {
		fmt.Fprintf(out, "%-28s %8.2f%%  (engine pace %.0f µs/event)\n", "caller_overhead_pct", *p, rep.EnginePaceMicros)
	}
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "query\truns\tp50 ms\tp95 ms\tevents/s\t")
	for _, q := range rep.Queries {
		rate := ""
		if q.Rate > 0 {
			rate = fmt.Sprintf("%.0f", q.Rate)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t%s\t\n", q.Name, q.Runs, q.P50ms, q.P95ms, rate)
	}
	tw.Flush()
	// A PostgreSQL database has no file to size (DBBytesPerEvent 0).
	var sizes []string
	if rep.DBBytesPerEvent > 0 {
		sizes = append(sizes, fmt.Sprintf("database %.1f bytes/event", rep.DBBytesPerEvent))
	}
	if rep.GzipBytesPerEvent > 0 {
		sizes = append(sizes, fmt.Sprintf("gzip JSONL %.1f bytes/event", rep.GzipBytesPerEvent))
	}
	if len(sizes) > 0 {
		fmt.Fprintf(out, "\n%s\n", strings.Join(sizes, "; "))
	}
}
