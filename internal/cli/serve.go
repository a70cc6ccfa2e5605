package cli

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/simcash/simdb/internal/serve"
	"github.com/spf13/cobra"
)

// serveOptions are simdb serve's flags.
type serveOptions struct {
	listen   string
	token    string
	maxHeavy int
	tempDir  string
}

func newServeCmd(e *env) *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve [--listen 127.0.0.1:8080] [--token T]",
		Short: "Serve the database's runs over HTTP: SimCash's read API and a web page",
		Long: `Serves the runs of the database read-only over HTTP until interrupted:
SimCash's REST read API (GET /simulations, /simulations/{id},
/simulations/{id}/events with tick, tick_min, tick_max, day, agent_id,
tx_id, event_type, limit, offset, sort and the cursor after=next_cursor,
/simulations/{id}/events/summary, /simulations/{id}/agents/{agent}/registers?tick=N),
whole-run downloads (/simulations/{id}/export?format=jsonl|csv|parquet) and
a web page at / with each run's timeline and events.

It listens on the loopback interface unless --listen names another
address; then a bearer token is required (--token, else $SIMDB_SERVE_TOKEN)
and API requests without it get 401. A DuckDB file is opened read-only:
no other process can write it while it is served.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.token == "" {
				o.token = os.Getenv(serve.TokenEnv)
			}
			return e.serve(o)
		},
	}
	cmd.Flags().StringVar(&o.listen, "listen", "127.0.0.1:8080", "address to listen on (host:port)")
	cmd.Flags().StringVar(&o.token, "token", "", "bearer token API requests must carry (default $"+serve.TokenEnv+"); required off loopback")
	cmd.Flags().IntVar(&o.maxHeavy, "max-exports", serve.DefaultMaxHeavy, "whole-run requests (exports, timelines) served at once; more get 503")
	cmd.Flags().StringVar(&o.tempDir, "temp-dir", "", "folder for Parquet and CSV exports while they are sent (default the system's)")
	return cmd
}

func (e *env) serve(o serveOptions) (err error) {
	if _, _, err := net.SplitHostPort(o.listen); err != nil {
		return usagef("--listen %q is not host:port: %v", o.listen, err)
	}
	if !serve.IsLoopback(o.listen) && o.token == "" {
		return usagef("--listen %s is not a loopback address: give a bearer token (--token or $%s) so that only its holders can read the database", o.listen, serve.TokenEnv)
	}
	if o.maxHeavy < 1 {
		return usagef("--max-exports must be at least 1")
	}
	store, err := e.openRead()
	if err != nil {
		return err
	}
	defer closeStore(store, &err)

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	srv := serve.New(store, serve.Options{
		Token: o.token, MaxHeavy: o.maxHeavy, TempDir: o.tempDir,
		Logger: log.New(e.stderr, "", log.LstdFlags),
	}).HTTPServer(o.listen)
	fmt.Fprintf(e.stderr, "serving %s (%s) on http://%s/\n", store.Path(), store.Backend(), ln.Addr())
	if e.serveReady != nil {
		e.serveReady <- ln.Addr().String()
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("serve: %w", err)
	case <-e.ctx.Done():
	}
	// Interrupted: finish the requests in flight for a few seconds, then
	// cut what is left (a long download) so the store can close.
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		srv.Close()
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
