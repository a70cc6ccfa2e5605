package serve

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/simcash/simdb"
)

// errorBody is SimCash's (FastAPI's) error shape.
type errorBody struct {
	Detail string `json:"detail"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"detail":"internal error: encoding the answer failed"}`)
	}
	writeJSONBody(w, status, b)
}

// writeJSONBody answers with the JSON document b and a newline, never
// cached.
func writeJSONBody(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
	w.Write([]byte{'\n'})
}

func writeError(w http.ResponseWriter, status int, detail string) {
	writeJSON(w, status, errorBody{Detail: detail})
}

// fail answers an error of the store: 404 for an unknown run (SimCash's
// "Simulation not found: <id>"), 400 for a filter the store refuses, no
// answer for a request its client abandoned, 500 (logged, its text kept
// from the client) for anything else.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, sim string, err error) {
	var pe *paramError
	switch {
	case errors.As(err, &pe):
		writeError(w, http.StatusBadRequest, pe.msg)
	case errors.Is(err, simdb.ErrSimulationNotFound):
		writeError(w, http.StatusNotFound, "Simulation not found: "+sim)
	case errors.Is(err, simdb.ErrInvalidFilter), errors.Is(err, simdb.ErrInvalidArgument):
		writeError(w, http.StatusBadRequest, err.Error())
	case r.Context().Err() != nil && errors.Is(err, context.Canceled):
		// The client is gone; nobody reads an answer.
	default:
		s.log.Printf("simdb serve: %s %s: %v", r.Method, r.URL.Path, err)
		writeError(w, http.StatusInternalServerError, "internal error reading the database (logged by the server)")
	}
}

// simulationList is GET /simulations's answer (SimCash's
// SimulationListResponse, with simdb's summary of each run).
type simulationList struct {
	Simulations []simdb.SimulationSummary `json:"simulations"`
	Total       int                       `json:"total"`
}

// listSimulations: GET /simulations?status=&experiment_run_id= — runs
// newest first, or one experiment's runs by iteration.
func (s *Server) listSimulations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := simdb.ListFilter{Status: q.Get("status"), ExperimentRunID: q.Get("experiment_run_id")}
	if f.ExperimentRunID == "" {
		f.ExperimentRunID = q.Get("experiment")
	}
	switch f.Status {
	case "", "running", "completed", "failed":
	default:
		writeError(w, http.StatusBadRequest, "status="+quote(f.Status)+" is not running, completed or failed")
		return
	}
	runs, err := s.store.ListSimulations(r.Context(), f)
	if err != nil {
		s.fail(w, r, "", err)
		return
	}
	if runs == nil {
		runs = []simdb.SimulationSummary{}
	}
	writeJSON(w, http.StatusOK, simulationList{Simulations: runs, Total: len(runs)})
}

// getSimulation: GET /simulations/{sim_id} — the run's row with its
// settlement rate.
func (s *Server) getSimulation(w http.ResponseWriter, r *http.Request) {
	sim := r.PathValue("sim_id")
	sum, err := s.store.GetSimulationSummary(r.Context(), sim)
	if err != nil {
		s.fail(w, r, sim, err)
		return
	}
	writeJSON(w, http.StatusOK, sum)
}

// eventsPage is GET /simulations/{sim_id}/events's answer: SimCash's
// events, total, limit, offset and filters, plus next_cursor, the value
// of after= for the page that follows ("" after the last).
type eventsPage struct {
	simdb.EventPage
	NextCursor string `json:"next_cursor"`
}

func (s *Server) getEvents(w http.ResponseWriter, r *http.Request) {
	sim := r.PathValue("sim_id")
	f, err := eventFilter(r.URL.Query())
	if err != nil {
		s.fail(w, r, sim, err)
		return
	}
	page, err := s.store.GetSimulationEvents(r.Context(), sim, f)
	if err != nil {
		s.fail(w, r, sim, err)
		return
	}
	if page.Events == nil {
		page.Events = []simdb.StoredEvent{}
	}
	out := eventsPage{EventPage: page}
	if len(page.Events) == page.Limit {
		out.NextCursor = formatCursor(page.Next)
	}
	s.writeEventsPage(w, out)
}

// getEventSummary: GET /simulations/{sim_id}/events/summary — total,
// max tick and day, counts per type, agents.
func (s *Server) getEventSummary(w http.ResponseWriter, r *http.Request) {
	sim := r.PathValue("sim_id")
	sum, err := s.store.GetEventSummary(r.Context(), sim)
	if err != nil {
		s.fail(w, r, sim, err)
		return
	}
	if sum.ByType == nil {
		sum.ByType = []simdb.TypeCount{}
	}
	if sum.Agents == nil {
		sum.Agents = []string{}
	}
	writeJSON(w, http.StatusOK, sum)
}

type registers struct {
	SimulationID string             `json:"simulation_id"`
	AgentID      string             `json:"agent_id"`
	Tick         int64              `json:"tick"`
	Registers    map[string]float64 `json:"registers"`
}

// getRegisters: GET /simulations/{sim_id}/agents/{agent_id}/registers?tick=N
// — for each register key, the latest value set at or before tick N.
func (s *Server) getRegisters(w http.ResponseWriter, r *http.Request) {
	sim, agent := r.PathValue("sim_id"), r.PathValue("agent_id")
	tick, err := intParam(r.URL.Query(), "tick", 0)
	if err == nil && tick == nil {
		err = badParam("query parameter tick is required (the tick to read the registers at)")
	}
	if err != nil {
		s.fail(w, r, sim, err)
		return
	}
	regs, err := s.store.GetAgentStateRegisters(r.Context(), sim, agent, *tick)
	if err != nil {
		s.fail(w, r, sim, err)
		return
	}
	if regs == nil {
		regs = map[string]float64{}
	}
	writeJSON(w, http.StatusOK, registers{SimulationID: sim, AgentID: agent, Tick: *tick, Registers: regs})
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
