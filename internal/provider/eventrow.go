package provider

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/simcash/simdb/internal/event"
)

// StoredEvent is one row of simulation_events, with the fields most
// readers want lifted to the top whatever the engine called them.
// EventTimestamp is the wall clock when the event was persisted, at
// microsecond precision and strictly increasing in seq order within a run,
// so SimCash's ORDER BY tick, event_timestamp gives tick, seq order;
// CreatedAt is when its group was committed. Neither is part of a run's
// identity.
type StoredEvent struct {
	EventID        string          `json:"event_id"`
	SimulationID   string          `json:"simulation_id"`
	Seq            int64           `json:"seq"`
	Tick           int64           `json:"tick"`
	Day            int64           `json:"day"`
	EventTimestamp time.Time       `json:"event_timestamp"`
	CreatedAt      time.Time       `json:"created_at"`
	EventType      string          `json:"event_type"`
	AgentID        *string         `json:"agent_id"`
	TxID           *string         `json:"tx_id"`
	Details        json.RawMessage `json:"details"`
	Agents         []string        `json:"agents"`
	TxIDs          []string        `json:"tx_ids"`
	// Sender is sender_id or sender; Receiver is receiver_id or receiver.
	Sender   *string `json:"sender,omitempty"`
	Receiver *string `json:"receiver,omitempty"`
	Amount   *int64  `json:"amount,omitempty"`
	Deadline *int64  `json:"deadline,omitempty"`
	Priority *int64  `json:"priority,omitempty"`

	layout int32
}

// Layout is where the lifted keys stood in the event object (the
// key_layout column), which Raw needs to rebuild it.
func (e *StoredEvent) Layout() int32 { return e.layout }

// Raw rebuilds the event object exactly as it was persisted (byte for byte
// for the engine's compact JSON).
func (e *StoredEvent) Raw() (json.RawMessage, error) {
	st := event.Stored{Type: e.EventType, Tick: e.Tick, Details: e.Details, Layout: e.layout}
	if e.AgentID != nil {
		st.AgentID = *e.AgentID
	}
	if e.TxID != nil {
		st.TxID = *e.TxID
	}
	return event.Rebuild(nil, st)
}

// eventReadColumns are the columns the event queries read
// (db/dynamic/events_select.sql, which TestEventSelectColumns holds to this
// list), in the order the row decoders (eventread_*.go) take them:
// eventColumns without three. simulation_id is the query's own parameter,
// rebuilt with event_id ('<simulation_id>:<seq>') instead of being copied
// out of every row. agents and tx_ids exist for the filters, and
// event.Parties derives them again from details by the writer's own rules
// while the details are scanned for Sender, Amount and the rest anyway;
// reading them cost DuckDB about as much as every other column together
// (BENCHMARKS.md).
func eventReadColumns() []string {
	return slices.DeleteFunc(slices.Clone(eventColumns), func(c string) bool {
		return c == "simulation_id" || c == "agents" || c == "tx_ids"
	})
}

// eventRow turns the values of one row of eventReadColumns into a
// StoredEvent.
// The row sources (eventread_sql.go, eventread_arrow.go) fill its fields
// and call appendEvent. The strings may point into memory the source
// reuses: appendEvent copies or interns what it keeps of them.
type eventRow struct {
	seq, tick, day  int64
	eventTimestamp  time.Time
	createdAt       time.Time
	eventType       string
	details         string
	agentID, txID   string
	hasAgent, hasTx bool
	layout          int32
	simulationID    string
	idPrefix        string
	// types and names intern event types and agent ids (a run has a few
	// dozen of each), so events share them and hold nothing of the text
	// they were read from.
	types, names map[string]string
	parties      event.Parties
	cur          *StoredEvent // the event liftMember fills
	arena        rowArena
}

func newEventRow(simulationID string) *eventRow {
	return &eventRow{simulationID: simulationID, idPrefix: simulationID + ":",
		types: make(map[string]string), names: make(map[string]string)}
}

// intern returns the shared copy of s from m, adding a copy when new.
func intern(m map[string]string, s string) string {
	v, ok := m[s]
	if !ok {
		v = strings.Clone(s)
		m[v] = v
	}
	return v
}

// appendEvent appends the row's StoredEvent to dst, built in place: a
// StoredEvent is some 250 bytes, mostly pointers, and copying it from
// slice to slice cost a full stream read a tenth of its time. It fails
// only for a row whose details and key layout do not fit together or whose
// details name a party by a string that does not decode — rows simdb never
// writes — and then returns dst without it; the page or stream fails.
func (r *eventRow) appendEvent(dst []StoredEvent) ([]StoredEvent, error) {
	dst = append(dst, StoredEvent{})
	ev := &dst[len(dst)-1]
	a := &r.arena
	ev.SimulationID, ev.Seq, ev.Tick, ev.Day = r.simulationID, r.seq, r.tick, r.day
	ev.EventTimestamp, ev.CreatedAt = r.eventTimestamp.UTC(), r.createdAt.UTC()
	ev.EventID = a.eventID(r.idPrefix, r.seq)
	ev.Details = json.RawMessage(r.details)
	ev.layout = r.layout
	ev.EventType = intern(r.types, r.eventType)
	if r.hasAgent {
		ev.AgentID = a.str(intern(r.names, r.agentID))
	}
	var txCopy string // the lifted tx_id, copied once for TxID and TxIDs
	if r.hasTx {
		txCopy = a.text(r.txID)
		ev.TxID = a.str(txCopy)
	}
	// One scan of details fills the lifted fields (liftMember) and derives
	// the agent and transaction lists.
	r.cur = ev
	ok := r.parties.Scan(r.details, r.layout, r.agentID, r.txID, r.liftMember)
	r.cur = nil
	if !ok {
		err := fmt.Errorf("event %s: details and key layout %#x do not fit together, or a party's id does not decode (not a row simdb wrote)", ev.EventID, r.layout)
		*ev = StoredEvent{}
		return dst[:len(dst)-1], err
	}
	agents, txIDs := r.parties.Agents(), r.parties.TxIDs()
	ev.Agents = a.list(len(agents))
	for i, s := range agents {
		ev.Agents[i] = intern(r.names, s)
	}
	ev.TxIDs = a.list(len(txIDs))
	for i, s := range txIDs {
		if r.hasTx && s == r.txID {
			ev.TxIDs[i] = txCopy
			continue
		}
		ev.TxIDs[i] = a.text(s)
	}
	return dst, nil
}

// liftMember fills the event's Sender, Receiver, Amount, Deadline and
// Priority from one member of its details, whatever the engine named them.
func (r *eventRow) liftMember(key, raw string, kind event.Kind) {
	ev, a := r.cur, &r.arena
	switch key {
	case "sender_id", "sender":
		if s, ok := event.StringText(raw); ok && ev.Sender == nil {
			ev.Sender = a.str(intern(r.names, s))
		}
	case "receiver_id", "receiver":
		if s, ok := event.StringText(raw); ok && ev.Receiver == nil {
			ev.Receiver = a.str(intern(r.names, s))
		}
	case "amount":
		ev.Amount = a.intOf(raw, kind)
	case "deadline":
		ev.Deadline = a.intOf(raw, kind)
	case "priority":
		ev.Priority = a.intOf(raw, kind)
	}
}
