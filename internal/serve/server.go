// Package serve is simdb's read-only HTTP server: SimCash's REST read API
// over a simdb database (the same paths, parameters, clamping rules, error
// shapes and status codes), what SimCash lacks (a keyset cursor, the whole
// run as JSONL, Parquet and CSV downloads, a per-tick timeline), and a web
// page drawn from embedded assets. It uses only the public simdb package,
// so either backend serves the same answers.
package serve

import (
	"crypto/subtle"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/simcash/simdb"
)

// Defaults of Options.
const (
	DefaultMaxHeavy     = 4
	DefaultStreamIdle   = time.Minute
	DefaultMaxQueryLen  = 4096
	readHeaderTimeout   = 5 * time.Second
	readTimeout         = 10 * time.Second
	writeTimeout        = 30 * time.Second
	idleTimeout         = 2 * time.Minute
	maxHeaderBytes      = 16 << 10
	tokenEnvHint        = "SIMDB_SERVE_TOKEN"
	heavyBusyRetryAfter = "5"
)

// Options configure a Server. The zero value serves without a token, with
// DefaultMaxHeavy heavy requests at once, temporary files in os.TempDir.
type Options struct {
	// Token, when set, is the bearer token every API request must carry
	// (Authorization: Bearer …, or access_token=… in the query for links
	// a browser follows, such as downloads); a request without it gets
	// 401. The page's own files (HTML, JS, CSS) hold no data and are
	// served without it, so a browser can load the page and ask for it.
	Token string
	// MaxHeavy caps the requests that read a whole run at once (JSONL,
	// Parquet and CSV exports, the timeline); one more gets 503 with a
	// detail and Retry-After.
	MaxHeavy int
	// TempDir holds Parquet and CSV exports while they are sent ("" is
	// os.TempDir()); each is removed once sent or abandoned.
	TempDir string
	// StreamIdle bounds how long one write of a streamed response may
	// block (a client that stops reading is cut after it); the server's
	// WriteTimeout does not apply to streams.
	StreamIdle time.Duration
	// WriteTimeout bounds writing a whole JSON answer (default 30s);
	// streamed downloads lift it (see StreamIdle).
	WriteTimeout time.Duration
	// Logger receives internal errors (nil: the standard logger).
	Logger *log.Logger
}

// Server answers HTTP requests from one Store. It is an http.Handler; use
// HTTPServer for one with the timeouts and limits it is meant to run with.
type Server struct {
	store *simdb.Store
	opts  Options
	mux   *http.ServeMux
	heavy chan struct{}
	log   *log.Logger

	tlMu     sync.Mutex
	timeline map[string]*timelineEntry

	// pageBuffers recycles the events pages' output (tens of KiB each).
	pageBuffers sync.Pool
}

// New returns a Server reading store, which it does not close.
func New(store *simdb.Store, opts Options) *Server {
	if opts.MaxHeavy <= 0 {
		opts.MaxHeavy = DefaultMaxHeavy
	}
	if opts.StreamIdle <= 0 {
		opts.StreamIdle = DefaultStreamIdle
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = writeTimeout
	}
	s := &Server{
		store: store, opts: opts, mux: http.NewServeMux(),
		heavy: make(chan struct{}, opts.MaxHeavy), log: opts.Logger,
		timeline: make(map[string]*timelineEntry),
	}
	if s.log == nil {
		s.log = log.Default()
	}
	s.routes()
	return s
}

// HTTPServer returns an http.Server for s at addr with bounded header
// size and read, write and idle timeouts. Streamed responses lift the
// write timeout for themselves and bound each write instead.
func (s *Server) HTTPServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           s,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      s.opts.WriteTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          s.log,
	}
}

func (s *Server) routes() {
	api := func(pattern string, h http.HandlerFunc) { s.mux.Handle(pattern, s.guard(h)) }
	api("GET /simulations", s.listSimulations)
	api("GET /simulations/{sim_id}", s.getSimulation)
	api("GET /simulations/{sim_id}/events", s.getEvents)
	api("GET /simulations/{sim_id}/events/summary", s.getEventSummary)
	api("GET /simulations/{sim_id}/agents/{agent_id}/registers", s.getRegisters)
	api("GET /simulations/{sim_id}/timeline", s.heavyOnly(s.getTimeline))
	api("GET /simulations/{sim_id}/export", s.heavyOnly(s.export))
	s.mux.HandleFunc("GET /{$}", s.page)
	s.mux.HandleFunc("GET /assets/{file}", s.asset)
	// Anything else is a JSON 404, and a write a 405: the server is
	// read-only.
	api("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, "Method Not Allowed: "+r.Method+" (the server is read-only)")
			return
		}
		writeError(w, http.StatusNotFound, "Not found: "+r.URL.Path)
	})
}

// ServeHTTP bounds the request (no body is read: every route is a GET;
// the query string's length is capped) and routes it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if len(r.URL.RawQuery) > DefaultMaxQueryLen {
		writeError(w, http.StatusRequestURITooLong, "query string longer than 4096 bytes")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 0)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	s.mux.ServeHTTP(w, r)
}

// guard refuses API requests without the token when one is set.
func (s *Server) guard(h http.HandlerFunc) http.Handler {
	if s.opts.Token == "" {
		return h
	}
	want := []byte(s.opts.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.URL.Query().Get("access_token")
		if auth := r.Header.Get("Authorization"); auth != "" {
			scheme, tok, _ := strings.Cut(auth, " ")
			if strings.EqualFold(scheme, "Bearer") {
				got = strings.TrimSpace(tok)
			}
		}
		if got == "" || subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="simdb"`)
			writeError(w, http.StatusUnauthorized, "Not authenticated: this server needs its bearer token (Authorization: Bearer <token>)")
			return
		}
		h(w, r)
	})
}

// heavyOnly runs h only while fewer than MaxHeavy heavy requests run;
// otherwise it answers 503 at once rather than queueing a whole-run read.
func (s *Server) heavyOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case s.heavy <- struct{}{}:
			defer func() { <-s.heavy }()
			h(w, r)
		default:
			w.Header().Set("Retry-After", heavyBusyRetryAfter)
			writeError(w, http.StatusServiceUnavailable, "Too many exports and timelines at once: the server runs at most "+itoa(int64(cap(s.heavy)))+"; retry shortly")
		}
	}
}

// IsLoopback reports whether a listen address binds only the loopback
// interface: a loopback IP or "localhost". An empty host (":8080") binds
// every interface, so it is not.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// TokenEnv is the environment variable simdb serve reads the token from.
const TokenEnv = tokenEnvHint
