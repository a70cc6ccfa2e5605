package serve

import (
	"bufio"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/simcash/simdb"
)

// export: GET /simulations/{sim_id}/export?format=jsonl|csv|parquet — the
// whole run as a download. jsonl is streamed as it is read (constant
// memory, the bytes of `simdb export --format jsonl`); csv and parquet are
// written by the store to a temporary file, sent, and removed.
func (s *Server) export(w http.ResponseWriter, r *http.Request) {
	sim := r.PathValue("sim_id")
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "jsonl"
	}
	ctype, ok := map[string]string{
		"jsonl":   "application/x-ndjson",
		"csv":     "text/csv; charset=utf-8",
		"parquet": "application/vnd.apache.parquet",
	}[format]
	if !ok {
		writeError(w, http.StatusBadRequest, "format="+quote(format)+" is not jsonl, csv or parquet")
		return
	}
	// The run must exist before a status line commits the answer to 200.
	if _, err := s.store.GetSimulationSummary(r.Context(), sim); err != nil {
		s.fail(w, r, sim, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": sim + "." + format}))
	h.Set("Cache-Control", "no-store")
	if format == "jsonl" {
		s.streamJSONL(w, r, sim)
		return
	}
	s.sendExportFile(w, r, sim, format)
}

// deadlineWriter lifts the server's WriteTimeout for a streamed response
// and bounds each write instead: a client that reads slowly but steadily
// gets the whole run, one that stops reading is cut after StreamIdle.
type deadlineWriter struct {
	w    http.ResponseWriter
	rc   *http.ResponseController
	idle time.Duration
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	// An error means the connection cannot take deadlines (a test
	// recorder): the write then simply has none.
	_ = d.rc.SetWriteDeadline(time.Now().Add(d.idle))
	return d.w.Write(p)
}

func (s *Server) streamJSONL(w http.ResponseWriter, r *http.Request, sim string) {
	dw := &deadlineWriter{w: w, rc: http.NewResponseController(w), idle: s.opts.StreamIdle}
	bw := bufio.NewWriterSize(dw, 64<<10)
	w.WriteHeader(http.StatusOK)
	for ev, err := range s.store.StreamEvents(r.Context(), sim, simdb.EventFilter{}) {
		if err == nil {
			var raw []byte
			if raw, err = ev.Raw(); err == nil {
				bw.Write(raw)
				err = bw.WriteByte('\n')
			}
		}
		if err != nil {
			s.abort(r, fmt.Errorf("stream %q: %w", sim, err))
		}
	}
	if err := bw.Flush(); err != nil {
		s.abort(r, err)
	}
}

// abort ends a response whose status line is sent: the connection is
// closed without the final chunk, so the client sees a truncated body, not
// a complete one. A client that left is not logged.
func (s *Server) abort(r *http.Request, err error) {
	if r.Context().Err() == nil {
		s.log.Printf("simdb serve: %s %s: %v", r.Method, r.URL.Path, err)
	}
	panic(http.ErrAbortHandler)
}

func (s *Server) sendExportFile(w http.ResponseWriter, r *http.Request, sim, format string) {
	tmp, err := os.CreateTemp(s.opts.TempDir, "simdb-serve-*."+format)
	if err != nil {
		s.fail(w, r, sim, fmt.Errorf("export %q: %w", sim, err))
		return
	}
	name := tmp.Name()
	tmp.Close()
	defer os.Remove(name)
	if _, err := s.store.ExportEvents(r.Context(), sim, format, name); err != nil {
		s.fail(w, r, sim, err)
		return
	}
	f, err := os.Open(name)
	if err != nil {
		s.fail(w, r, sim, fmt.Errorf("export %q: %w", sim, err))
		return
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil {
		w.Header().Set("Content-Length", strconv.FormatInt(st.Size(), 10))
	}
	w.WriteHeader(http.StatusOK)
	dw := &deadlineWriter{w: w, rc: http.NewResponseController(w), idle: s.opts.StreamIdle}
	if _, err := io.Copy(dw, f); err != nil {
		s.abort(r, err)
	}
}
