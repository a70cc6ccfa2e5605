package crashtest

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/cli"
)

// childEnv selects the role of a re-executed test binary: "cli" runs the
// simdb command line on the remaining arguments, "provider" runs
// providerChild. Unset, the binary runs the tests.
const childEnv = "SIMDB_CRASH_CHILD"

func TestMain(m *testing.M) {
	switch role := os.Getenv(childEnv); role {
	case "":
		os.Exit(m.Run())
	case "cli":
		os.Exit(cli.Run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	case "provider":
		if err := providerChild(os.Args[1:]); err != nil {
			fmt.Fprintf(os.Stderr, "provider child: %v\n", err)
			os.Exit(1)
		}
		os.Exit(0)
	default:
		fmt.Fprintf(os.Stderr, "%s=%q: unknown role\n", childEnv, role)
		os.Exit(2)
	}
}

// providerChild persists a stream through simdb.Open's Store, tick by tick,
// and reports progress on stdout, one line per step, each written straight
// to the file descriptor (os.Stdout is unbuffered):
//
//	started               the start record is committed
//	ack <tick> <events>   PersistTickEvents(tick) returned nil; events is the
//	                      sum of the counts it returned so far
//	done                  PersistSimulationComplete returned nil
//
// The parent kills it at some point and compares the acknowledgements with
// what the file holds.
func providerChild(args []string) error {
	fs := flag.NewFlagSet("provider", flag.ContinueOnError)
	dbPath := fs.String("db", "", "database file")
	streamPath := fs.String("stream", "", "JSONL stream")
	configPath := fs.String("config", "", "config JSON")
	durable := fs.Bool("durable", false, "Durable instead of Buffered")
	flushEvents := fs.Int("flush-events", 0, "Options.FlushEvents")
	flushInterval := fs.Duration("flush-interval", 0, "Options.FlushInterval")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ticks, err := readTicks(*streamPath)
	if err != nil {
		return err
	}
	config, err := os.ReadFile(*configPath)
	if err != nil {
		return err
	}
	opts := simdb.Options{FlushEvents: *flushEvents, FlushInterval: *flushInterval}
	if *durable {
		opts.Durability = simdb.Durable
	}
	ctx := context.Background()
	store, err := simdb.Open(ctx, *dbPath, opts)
	if err != nil {
		return err
	}
	if err := store.PersistSimulationStart(ctx, runID, config, simdb.StartOptions{}); err != nil {
		return err
	}
	if _, err := fmt.Fprintln(os.Stdout, "started"); err != nil {
		return err
	}
	var total int64
	for _, tk := range ticks {
		n, err := store.PersistTickEvents(ctx, runID, tk.tick, tk.events)
		if err != nil {
			return fmt.Errorf("tick %d: %w", tk.tick, err)
		}
		total += int64(n)
		if _, err := fmt.Fprintf(os.Stdout, "ack %d %d\n", tk.tick, total); err != nil {
			return err
		}
	}
	if err := store.PersistSimulationComplete(ctx, runID, simdb.Metrics{DurationSeconds: 1}); err != nil {
		return err
	}
	if _, err := fmt.Fprintln(os.Stdout, "done"); err != nil {
		return err
	}
	return store.Close()
}

// runID is the simulation id every trial writes.
const runID = "run"

type tickEvents struct {
	tick   int64
	events []json.RawMessage
}

// readTicks reads a JSONL stream grouped by tick.
func readTicks(path string) ([]tickEvents, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []tickEvents
	err = scanEvents(f, func(tick int64, _ string, line []byte) {
		if len(out) == 0 || out[len(out)-1].tick != tick {
			out = append(out, tickEvents{tick: tick})
		}
		last := &out[len(out)-1]
		last.events = append(last.events, json.RawMessage(append([]byte(nil), line...)))
	})
	return out, err
}

// scanEvents calls fn with the tick, type and bytes of every line of r.
func scanEvents(r io.Reader, fn func(tick int64, typ string, line []byte)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	n := 0
	for sc.Scan() {
		n++
		var head struct {
			EventType string `json:"event_type"`
			Tick      *int64 `json:"tick"`
		}
		if err := json.Unmarshal(sc.Bytes(), &head); err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		if head.Tick == nil {
			return fmt.Errorf("line %d: no tick", n)
		}
		fn(*head.Tick, head.EventType, sc.Bytes())
	}
	return sc.Err()
}
