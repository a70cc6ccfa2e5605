package serve

import (
	"encoding/json"
	"net/http"
	"sort"

	"github.com/simcash/simdb"
)

// maxBuckets bounds a timeline's length: a run with more ticks is drawn
// with several ticks per bucket.
const maxBuckets = 1000

// Timeline is a run's per-tick series for the page's charts. Series are
// per bucket of Bucket ticks (bucket i covers ticks i*Bucket ..
// (i+1)*Bucket-1), not cumulative.
type Timeline struct {
	SimulationID string `json:"simulation_id"`
	TotalEvents  int64  `json:"total_events"`
	// Ticks is the number of ticks covered (last tick + 1).
	Ticks  int64 `json:"ticks"`
	Bucket int64 `json:"bucket"`
	// Types are the event types, most frequent first, with their counts.
	Types  []simdb.TypeCount  `json:"types"`
	ByType map[string][]int64 `json:"by_type"`
	// Arrivals counts Arrival events; Settlements counts transactions at
	// the first settlement event that names them (RTGS immediate
	// settlements, queue releases, LSM offsets and cycles, entry
	// disposition offsets), each transaction once.
	Arrivals    []int64 `json:"arrivals"`
	Settlements []int64 `json:"settlements"`
	// CostCents sums CostAccrual costs.total, integer cents.
	CostCents []int64 `json:"cost_cents"`
}

type timelineEntry struct {
	events int64
	tl     *Timeline
}

var settlementTypes = map[string]bool{
	"RtgsImmediateSettlement": true, "Queue2LiquidityRelease": true, "RtgsQueue2Settle": true,
	"LsmBilateralOffset": true, "LsmCycleSettlement": true, "EntryDispositionOffset": true,
}

// getTimeline: GET /simulations/{sim_id}/timeline. It reads the whole run
// once (a heavy request) and keeps the answer for a finished run, whose
// events no longer change.
func (s *Server) getTimeline(w http.ResponseWriter, r *http.Request) {
	sim := r.PathValue("sim_id")
	sum, err := s.store.GetSimulationSummary(r.Context(), sim)
	if err != nil {
		s.fail(w, r, sim, err)
		return
	}
	s.tlMu.Lock()
	e := s.timeline[sim]
	s.tlMu.Unlock()
	if e != nil && e.events == sum.EventCount && sum.Status != "running" {
		writeJSON(w, http.StatusOK, e.tl)
		return
	}
	tl, err := s.buildTimeline(r, sim, sum)
	if err != nil {
		s.fail(w, r, sim, err)
		return
	}
	if sum.Status != "running" {
		s.tlMu.Lock()
		s.timeline[sim] = &timelineEntry{events: sum.EventCount, tl: tl}
		s.tlMu.Unlock()
	}
	writeJSON(w, http.StatusOK, tl)
}

func (s *Server) buildTimeline(r *http.Request, sim string, sum simdb.SimulationSummary) (*Timeline, error) {
	ticks := int64(0)
	if sum.LastTick != nil {
		ticks = *sum.LastTick + 1
	}
	bucket := max(1, (ticks+maxBuckets-1)/maxBuckets)
	n := (ticks + bucket - 1) / bucket
	tl := &Timeline{
		SimulationID: sim, Ticks: ticks, Bucket: bucket,
		ByType:   map[string][]int64{},
		Arrivals: make([]int64, n), Settlements: make([]int64, n), CostCents: make([]int64, n),
	}
	counts := map[string]int64{}
	settled := map[string]struct{}{}
	for ev, err := range s.store.StreamEvents(r.Context(), sim, simdb.EventFilter{}) {
		if err != nil {
			return nil, err
		}
		b := ev.Tick / bucket
		if b >= n { // a tick past LastTick: a run still being written
			continue
		}
		tl.TotalEvents++
		counts[ev.EventType]++
		series := tl.ByType[ev.EventType]
		if series == nil {
			series = make([]int64, n)
			tl.ByType[ev.EventType] = series
		}
		series[b]++
		switch {
		case ev.EventType == "Arrival":
			tl.Arrivals[b]++
		case settlementTypes[ev.EventType]:
			for _, tx := range ev.TxIDs {
				if _, ok := settled[tx]; !ok {
					settled[tx] = struct{}{}
					tl.Settlements[b]++
				}
			}
		case ev.EventType == "CostAccrual":
			tl.CostCents[b] += costTotal(ev.Details)
		}
	}
	for t, c := range counts {
		tl.Types = append(tl.Types, simdb.TypeCount{EventType: t, Count: c})
	}
	sort.Slice(tl.Types, func(i, j int) bool {
		if tl.Types[i].Count != tl.Types[j].Count {
			return tl.Types[i].Count > tl.Types[j].Count
		}
		return tl.Types[i].EventType < tl.Types[j].EventType
	})
	if tl.Types == nil {
		tl.Types = []simdb.TypeCount{}
	}
	return tl, nil
}

// costTotal reads costs.total of a CostAccrual's details (0 when absent or
// not an integer: the chart shows what the engine stated).
func costTotal(details json.RawMessage) int64 {
	var d struct {
		Costs struct {
			Total json.Number `json:"total"`
		} `json:"costs"`
	}
	if err := json.Unmarshal(details, &d); err != nil {
		return 0
	}
	v, err := d.Costs.Total.Int64()
	if err != nil {
		return 0
	}
	return v
}
