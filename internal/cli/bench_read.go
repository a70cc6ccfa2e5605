package cli

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"time"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/pgdb"
)

// benchExisting measures the read side on run sim of the database at path.
func benchExisting(ctx context.Context, path, sim string) (*benchReport, error) {
	// A PostgreSQL URL has no file to size: its bytes per event are left out.
	size, input := int64(-1), pgdb.Redact(path)
	if !pgdb.IsDSN(path) {
		input = path
		st, err := os.Stat(path)
		if err != nil {
			return nil, err
		}
		size = st.Size()
	}
	rep := &benchReport{Machine: machineInfo(ctx), Input: input, Ratios: map[string]float64{}}
	var err error
	if rep.Queries, rep.Events, err = benchQueries(ctx, path, sim); err != nil {
		return nil, err
	}
	if rep.Events > 0 && size >= 0 {
		rep.DBBytesPerEvent = float64(size) / float64(rep.Events)
	}
	return rep, nil
}

// benchQueries times the read side on run sim of the database at dbPath,
// opened read-only: pages by tick and by agent, the event summary and one
// full ordered stream. It returns the timings and the run's event count.
func benchQueries(ctx context.Context, dbPath, sim string) ([]benchQuery, int64, error) {
	store, err := simdb.Open(ctx, dbPath, simdb.Options{ReadOnly: true})
	if err != nil {
		return nil, 0, err
	}
	defer store.Close()
	sum, err := store.GetEventSummary(ctx, sim)
	if err != nil {
		return nil, 0, err
	}
	events := sum.TotalEvents
	rng := rand.New(rand.NewPCG(1, 2))
	var out []benchQuery
	timeIt := func(name string, runs int, fn func(i int) error) error {
		d := make([]time.Duration, runs)
		for i := range d {
			start := time.Now()
			if err := fn(i); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			d[i] = time.Since(start)
		}
		slices.Sort(d)
		ms := func(x time.Duration) float64 { return float64(x) / float64(time.Millisecond) }
		out = append(out, benchQuery{Name: name, Runs: runs, P50ms: ms(d[runs/2]), P95ms: ms(d[runs*95/100])})
		return nil
	}
	maxTick := int64(0)
	if sum.MaxTick != nil {
		maxTick = *sum.MaxTick
	}
	if err := timeIt("page-by-tick", 100, func(int) error {
		_, err := store.GetSimulationEvents(ctx, sim, simdb.EventFilter{Tick: simdb.Int64(rng.Int64N(maxTick + 1))})
		return err
	}); err != nil {
		return nil, 0, err
	}
	agents := sum.Agents
	if len(agents) == 0 {
		agents = []string{""}
	}
	if err := timeIt("page-by-agent", 40, func(i int) error {
		_, err := store.GetSimulationEvents(ctx, sim, simdb.EventFilter{AgentID: agents[i%len(agents)]})
		return err
	}); err != nil {
		return nil, 0, err
	}
	if err := timeIt("event-summary", 20, func(int) error {
		_, err := store.GetEventSummary(ctx, sim)
		return err
	}); err != nil {
		return nil, 0, err
	}
	start := time.Now()
	var n int64
	for _, err := range store.StreamEvents(ctx, sim, simdb.EventFilter{}) {
		if err != nil {
			return nil, 0, err
		}
		n++
	}
	d := time.Since(start)
	if n != events {
		return nil, 0, fmt.Errorf("full stream read %d events, want %d", n, events)
	}
	ms := float64(d) / float64(time.Millisecond)
	out = append(out, benchQuery{Name: "full-stream-read", Runs: 1, P50ms: ms, P95ms: ms, Events: n, Rate: float64(n) / d.Seconds()})
	return out, events, nil
}
