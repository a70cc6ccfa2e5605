package serve

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// page is the events answer as a client decodes it.
type page struct {
	Events []struct {
		Seq       int64           `json:"seq"`
		Tick      int64           `json:"tick"`
		Day       int64           `json:"day"`
		EventType string          `json:"event_type"`
		AgentID   *string         `json:"agent_id"`
		TxID      *string         `json:"tx_id"`
		Details   json.RawMessage `json:"details"`
	} `json:"events"`
	Total      int64          `json:"total"`
	Limit      int            `json:"limit"`
	Offset     int            `json:"offset"`
	Filters    map[string]any `json:"filters"`
	NextCursor string         `json:"next_cursor"`
}

func (p page) seqs() []int64 {
	out := []int64{}
	for _, e := range p.Events {
		out = append(out, e.Seq)
	}
	return out
}

func events(t *testing.T, h *harness, sim string, q url.Values) page {
	t.Helper()
	r := h.get(t, "/simulations/"+url.PathEscape(sim)+"/events", q)
	if r.status != http.StatusOK {
		t.Fatalf("events %v: status %d: %s", q, r.status, r.body)
	}
	var p page
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// Every read endpoint answers SimCash's shapes on both backends.
func TestServeAPI(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		h := newHarness(t, fixture(t, dsn), Options{})

		t.Run("list", func(t *testing.T) {
			var l struct {
				Simulations []struct {
					SimulationID string `json:"simulation_id"`
					Status       string `json:"status"`
				} `json:"simulations"`
				Total int `json:"total"`
			}
			ids := func(q url.Values) []string {
				r := h.get(t, "/simulations", q)
				if r.status != 200 {
					t.Fatalf("list %v: %d %s", q, r.status, r.body)
				}
				l.Simulations = nil
				r.json(t, &l)
				var out []string
				for _, s := range l.Simulations {
					out = append(out, s.SimulationID)
				}
				slices.Sort(out)
				return out
			}
			if got := ids(nil); !slices.Equal(got, []string{"e1", "e2", "r1", "r2"}) || l.Total != 4 {
				t.Fatalf("all runs: %v (total %d)", got, l.Total)
			}
			if got := ids(vals("status", "failed")); !slices.Equal(got, []string{"r2"}) {
				t.Fatalf("failed runs: %v", got)
			}
			r := h.get(t, "/simulations", vals("experiment_run_id", "exp"))
			l.Simulations = nil
			r.json(t, &l)
			if len(l.Simulations) != 2 || l.Simulations[0].SimulationID != "e2" || l.Simulations[1].SimulationID != "e1" {
				t.Fatalf("experiment runs by iteration: %s", r.body)
			}
			h.get(t, "/simulations", vals("status", "done")).detail(t, 400, `status="done"`)
		})

		t.Run("summary", func(t *testing.T) {
			var s struct {
				SimulationID   string      `json:"simulation_id"`
				Status         string      `json:"status"`
				EventCount     json.Number `json:"event_count"`
				SettlementRate json.Number `json:"settlement_rate"`
				TotalCost      json.Number `json:"total_cost_cents"`
			}
			h.get(t, "/simulations/r1", nil).json(t, &s)
			if s.SimulationID != "r1" || s.Status != "completed" || s.EventCount != "10" || s.SettlementRate != "0.5" || s.TotalCost != "12" {
				t.Fatalf("summary %+v", s)
			}
			h.get(t, "/simulations/nope", nil).detail(t, 404, "Simulation not found: nope")
			// An id with a slash or spaces is one path segment when escaped.
			h.get(t, "/simulations/"+url.PathEscape("a b/c"), nil).detail(t, 404, "Simulation not found: a b/c")
		})

		t.Run("events", func(t *testing.T) {
			p := events(t, h, "r1", nil)
			if p.Total != 10 || p.Limit != 100 || p.Offset != 0 || len(p.Events) != 10 || p.NextCursor != "" {
				t.Fatalf("default page: total %d limit %d offset %d, %d events, next %q", p.Total, p.Limit, p.Offset, len(p.Events), p.NextCursor)
			}
			if !slices.Equal(p.seqs(), []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) || p.Events[9].Day != 1 {
				t.Fatalf("order: %v", p.seqs())
			}
			cases := []struct {
				q     url.Values
				seqs  []int64
				total int64
			}{
				{vals("tick", "1"), []int64{4, 5, 6}, 3},
				{vals("tick_min", "1", "tick_max", "2"), []int64{4, 5, 6, 7, 8, 9}, 6},
				{vals("day", "1"), []int64{7, 8, 9}, 3},
				{vals("agent_id", "BANK_C"), []int64{1, 6, 7}, 3},
				{vals("tx_id", "tx2"), []int64{1, 7}, 2},
				{vals("event_type", "CostAccrual,EndOfDay"), []int64{3, 8, 9}, 3},
				{vals("event_type", "Arrival", "event_type", "EndOfDay"), []int64{0, 1, 9}, 3},
				{vals("agent_id", "BANK_A", "event_type", "StateRegisterSet"), []int64{2, 5}, 2},
				{vals("sort", "tick_desc", "limit", "3"), []int64{9, 8, 7}, 10},
				{vals("limit", "2", "offset", "3"), []int64{3, 4}, 10},
				// SimCash's clamping: limit to 1..1000, a negative offset to 0.
				{vals("limit", "0"), []int64{0}, 10},
				{vals("limit", "-7", "offset", "-5"), []int64{0}, 10},
				{vals("limit", "99999999999999999999"), []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 10},
				{vals("agent_id", "BANK_Z"), []int64{}, 0},
			}
			for _, c := range cases {
				p := events(t, h, "r1", c.q)
				if !slices.Equal(p.seqs(), c.seqs) || p.Total != c.total {
					t.Errorf("%v: seqs %v total %d, want %v total %d", c.q, p.seqs(), p.Total, c.seqs, c.total)
				}
			}
			if p := events(t, h, "r1", vals("limit", "5000")); p.Limit != 1000 {
				t.Errorf("limit 5000 clamped to %d", p.Limit)
			}
			if p := events(t, h, "r1", vals("limit", "0", "offset", "-5")); p.Limit != 1 || p.Offset != 0 {
				t.Errorf("limit 0, offset -5 read as limit %d offset %d", p.Limit, p.Offset)
			}
			if p := events(t, h, "r1", vals("tick_min", "1", "agent_id", "BANK_A")); p.Filters["tick_min"] != 1.0 || p.Filters["agent_id"] != "BANK_A" {
				t.Errorf("filters echoed: %v", p.Filters)
			}
		})

		t.Run("cursor", func(t *testing.T) {
			for _, sort := range []string{"tick_asc", "tick_desc"} {
				var got []int64
				q := vals("limit", "3", "sort", sort)
				for range 10 {
					p := events(t, h, "r1", q)
					got = append(got, p.seqs()...)
					if p.NextCursor == "" {
						break
					}
					q.Set("after", p.NextCursor)
				}
				want := []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
				if sort == "tick_desc" {
					slices.Reverse(want)
				}
				if !slices.Equal(got, want) {
					t.Fatalf("%s: cursor pages gave %v", sort, got)
				}
			}
			p := events(t, h, "r1", vals("after", "1:5", "agent_id", "BANK_A"))
			if !slices.Equal(p.seqs(), []int64{}) || p.NextCursor != "" {
				t.Fatalf("after 1:5 for BANK_A: %v", p.seqs())
			}
		})

		t.Run("bad parameters", func(t *testing.T) {
			for _, c := range []struct {
				q    url.Values
				want string
			}{
				{vals("tick", "abc"), `tick="abc" is not an integer`},
				{vals("tick", "-1"), "tick=-1 is below 0"},
				{vals("tick_min", "1.5"), `tick_min="1.5"`},
				{vals("day", ""), `day="" is not an integer`},
				{vals("tick_min", "5", "tick_max", "2"), "tick_min (5) must not exceed tick_max (2)"},
				{vals("limit", "ten"), `limit="ten" is not an integer`},
				{vals("offset", "1e3"), `offset="1e3"`},
				{vals("offset", "9999999999999"), "page deeper with the cursor"},
				{vals("sort", "newest"), `sort="newest"`},
				{vals("after", "12"), `after="12" is not a cursor`},
				{vals("after", "1:-2"), `after="1:-2"`},
				{vals("agent_id", "\xff"), "UTF-8"},
			} {
				h.get(t, "/simulations/r1/events", c.q).detail(t, 400, c.want)
			}
			// An unknown run is 404 whatever the filter; a bad parameter
			// is found first, without reading the database.
			h.get(t, "/simulations/nope/events", vals("tick", "1")).detail(t, 404, "Simulation not found: nope")
			h.get(t, "/simulations/nope/events", vals("tick", "x")).detail(t, 400, "tick")
		})

		t.Run("event summary", func(t *testing.T) {
			var s struct {
				TotalEvents int64  `json:"total_events"`
				MaxTick     *int64 `json:"max_tick"`
				MaxDay      *int64 `json:"max_day"`
				ByType      []struct {
					EventType string `json:"event_type"`
					Count     int64  `json:"count"`
				} `json:"by_type"`
				Agents []string `json:"agents"`
			}
			h.get(t, "/simulations/r1/events/summary", nil).json(t, &s)
			if s.TotalEvents != 10 || *s.MaxTick != 2 || *s.MaxDay != 1 || len(s.ByType) != 7 || s.ByType[0].Count != 2 ||
				!slices.Equal(s.Agents, []string{"BANK_A", "BANK_B", "BANK_C"}) {
				t.Fatalf("event summary %+v", s)
			}
			r := h.get(t, "/simulations/r2/events/summary", nil)
			if r.status != 200 || !strings.Contains(string(r.body), `"total_events":0`) || !strings.Contains(string(r.body), `"by_type":[]`) {
				t.Fatalf("summary of a run without events: %s", r.body)
			}
			h.get(t, "/simulations/nope/events/summary", nil).detail(t, 404, "Simulation not found: nope")
		})

		t.Run("registers", func(t *testing.T) {
			for tick, want := range map[string]string{"0": `{"k":1.5}`, "1": `{"k":2.5}`, "9": `{"k":2.5}`} {
				var g struct {
					AgentID   string          `json:"agent_id"`
					Tick      int64           `json:"tick"`
					Registers json.RawMessage `json:"registers"`
				}
				h.get(t, "/simulations/r1/agents/BANK_A/registers", vals("tick", tick)).json(t, &g)
				if string(g.Registers) != want || g.AgentID != "BANK_A" || fmt.Sprint(g.Tick) != tick {
					t.Errorf("registers at %s: %+v", tick, g)
				}
			}
			r := h.get(t, "/simulations/r1/agents/BANK_B/registers", vals("tick", "2"))
			if r.status != 200 || !strings.Contains(string(r.body), `"registers":{}`) {
				t.Errorf("agent without registers: %s", r.body)
			}
			h.get(t, "/simulations/r1/agents/BANK_A/registers", nil).detail(t, 400, "tick is required")
			h.get(t, "/simulations/r1/agents/BANK_A/registers", vals("tick", "x")).detail(t, 400, `tick="x"`)
			h.get(t, "/simulations/nope/agents/BANK_A/registers", vals("tick", "1")).detail(t, 404, "Simulation not found: nope")
		})

		t.Run("timeline", func(t *testing.T) {
			var tl Timeline
			h.get(t, "/simulations/r1/timeline", nil).json(t, &tl)
			if tl.TotalEvents != 10 || tl.Ticks != 3 || tl.Bucket != 1 ||
				!slices.Equal(tl.Arrivals, []int64{2, 0, 0}) || !slices.Equal(tl.Settlements, []int64{0, 1, 2}) ||
				!slices.Equal(tl.CostCents, []int64{7, 0, 5}) || !slices.Equal(tl.ByType["StateRegisterSet"], []int64{1, 1, 0}) ||
				len(tl.Types) != 7 {
				t.Fatalf("timeline %+v", tl)
			}
			h.get(t, "/simulations/nope/timeline", nil).detail(t, 404, "Simulation not found: nope")
		})

		t.Run("http", func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, h.http.URL+"/simulations", strings.NewReader("{}"))
			h.do(t, req).detail(t, http.StatusMethodNotAllowed, "read-only")
			h.get(t, "/simulations/r1/nothing", nil).detail(t, 404, "Not found: /simulations/r1/nothing")
			h.get(t, "/simulations/r1/events", vals("agent_id", strings.Repeat("x", 5000))).detail(t, 414, "4096")
			r := h.get(t, "/", nil)
			if r.status != 200 || !strings.Contains(r.header.Get("Content-Type"), "text/html") {
				t.Errorf("page: %d %s", r.status, r.header)
			}
			h.get(t, "/assets/nope.js", nil).detail(t, 404, "Not found")
		})
	})
}
