package simdb

import (
	"context"
	"encoding/json"
	"iter"
	"time"

	"github.com/simcash/simdb/internal/event"
	"github.com/simcash/simdb/internal/provider"
)

// Page size limits of GetSimulationEvents (SimCash's contract).
const (
	DefaultEventLimit = 100
	MaxEventLimit     = 1000
)

// Sort orders for EventFilter.Sort.
const (
	SortTickAsc  = "tick_asc"
	SortTickDesc = "tick_desc"
)

// EventFilter selects events of one simulation. Zero fields select
// everything; all given conditions must hold.
type EventFilter struct {
	// Tick selects one tick; TickMin and TickMax an inclusive range.
	Tick    *int64 `json:"tick,omitempty"`
	TickMin *int64 `json:"tick_min,omitempty"`
	TickMax *int64 `json:"tick_max,omitempty"`
	// Day selects the ticks of one day (tick / ticks_per_day).
	Day *int64 `json:"day,omitempty"`
	// AgentID matches every event the agent takes part in, under any of
	// the engine's names for a party (sender, receiver_id, agent_a,
	// agents[], …).
	AgentID string `json:"agent_id,omitempty"`
	// TxID matches every event that involves the transaction (tx_id,
	// tx_ids[], child_ids[], incoming_tx_id, queued_tx_id,
	// source_transactions[]).
	TxID string `json:"tx_id,omitempty"`
	// EventTypes matches any of the listed types, each one element: a type
	// containing a comma is ErrInvalidFilter, not split. (SimCash's API
	// takes "A,B" as one string; engine event types never contain a comma,
	// so such an element is a ported comma-separated list that would
	// otherwise match nothing.)
	EventTypes []string `json:"event_types,omitempty"`
	// Limit is the page size: 0 means DefaultEventLimit, and it is clamped
	// to 1..MaxEventLimit. Ignored by StreamEvents.
	Limit int `json:"limit"`
	// Offset skips that many matching events (negative counts as 0).
	// Ignored by StreamEvents.
	Offset int `json:"offset"`
	// Sort is SortTickAsc (default, "" too) or SortTickDesc, the exact
	// reverse: (tick, seq) both descending.
	Sort string `json:"sort"`
	// After continues from a cursor (a page's Next): only events after it
	// in the sort order match. Unlike Offset its cost does not grow with
	// the page number.
	After *Cursor `json:"after,omitempty"`
}

// Cursor is a position in a simulation's stream.
type Cursor struct {
	Tick int64 `json:"tick"`
	Seq  int64 `json:"seq"`
}

// StoredEvent is one row of simulation_events, with the fields most
// readers want lifted to the top whatever the engine called them.
type StoredEvent struct {
	// EventID is "<simulation_id>:<seq>".
	EventID      string `json:"event_id"`
	SimulationID string `json:"simulation_id"`
	// Seq is the event's position in its simulation's stream, from 0.
	Seq int64 `json:"seq"`
	// Tick and Day (tick / ticks_per_day) of the event.
	Tick int64 `json:"tick"`
	Day  int64 `json:"day"`
	// EventTimestamp and CreatedAt are wall clock: when the event was
	// persisted and committed. They increase with seq within a run.
	EventTimestamp time.Time `json:"event_timestamp"`
	CreatedAt      time.Time `json:"created_at"`
	EventType      string    `json:"event_type"`
	// AgentID and TxID are the event's own agent_id and tx_id members.
	AgentID *string `json:"agent_id"`
	TxID    *string `json:"tx_id"`
	// Details holds every other member of the event, byte for byte.
	Details json.RawMessage `json:"details"`
	// Agents and TxIDs are every party and transaction the event names,
	// whatever the engine called the member.
	Agents []string `json:"agents"`
	TxIDs  []string `json:"tx_ids"`
	// Sender is sender_id or sender; Receiver is receiver_id or receiver.
	Sender   *string `json:"sender,omitempty"`
	Receiver *string `json:"receiver,omitempty"`
	Amount   *int64  `json:"amount,omitempty"`
	Deadline *int64  `json:"deadline,omitempty"`
	Priority *int64  `json:"priority,omitempty"`

	layout int32
}

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

func storedEventFromInternal(p *provider.StoredEvent) StoredEvent {
	return StoredEvent{
		EventID: p.EventID, SimulationID: p.SimulationID,
		Seq: p.Seq, Tick: p.Tick, Day: p.Day,
		EventTimestamp: p.EventTimestamp, CreatedAt: p.CreatedAt,
		EventType: p.EventType, AgentID: p.AgentID, TxID: p.TxID,
		Details: p.Details, Agents: p.Agents, TxIDs: p.TxIDs,
		Sender: p.Sender, Receiver: p.Receiver,
		Amount: p.Amount, Deadline: p.Deadline, Priority: p.Priority,
		layout: p.Layout(),
	}
}

// EventPage is one page of GetSimulationEvents.
type EventPage struct {
	Events []StoredEvent `json:"events"`
	// Total is the number of matching events before paging.
	Total int64 `json:"total"`
	// Limit, Offset and Filter are what the page was read with, after
	// defaults and clamping.
	Limit  int         `json:"limit"`
	Offset int         `json:"offset"`
	Filter EventFilter `json:"filters"`
	// Next is the cursor after the last event of the page (nil when the
	// page is empty); pass it as Filter.After for the next page.
	Next *Cursor `json:"next,omitempty"`
}

func (f EventFilter) toInternal() provider.EventFilter {
	p := provider.EventFilter{
		Tick: f.Tick, TickMin: f.TickMin, TickMax: f.TickMax, Day: f.Day,
		AgentID: f.AgentID, TxID: f.TxID, EventTypes: f.EventTypes,
		Limit: f.Limit, Offset: f.Offset, Sort: f.Sort,
	}
	if f.After != nil {
		p.After = &provider.Cursor{Tick: f.After.Tick, Seq: f.After.Seq}
	}
	return p
}

func filterFromInternal(p provider.EventFilter) EventFilter {
	f := EventFilter{
		Tick: p.Tick, TickMin: p.TickMin, TickMax: p.TickMax, Day: p.Day,
		AgentID: p.AgentID, TxID: p.TxID, EventTypes: p.EventTypes,
		Limit: p.Limit, Offset: p.Offset, Sort: p.Sort,
	}
	if p.After != nil {
		f.After = &Cursor{Tick: p.After.Tick, Seq: p.After.Seq}
	}
	return f
}

// GetSimulationEvents returns one page of a simulation's events in (tick,
// seq) order (or its exact reverse), the total number of matches, and the
// limit, offset and filter used. A deep Offset costs what the first page
// costs when the filter has only tick and day conditions; with an agent,
// transaction or event types it sorts every match, while paging with the
// cursor (Next → After) stays cheap at any depth.
//
// A Store opened ReadOnly on a DuckDB file keeps each filter's total and
// the range of the run it spans (at most 8,192 filters, least recently
// used dropped), so pages after the first skip the counting: DuckDB's
// file lock lets no process write the file while the Store has it open,
// so they stay true. Such a Store also reads a page's events with the
// next several pages' (up to 1,000 rows) in one query, and keeps those for
// the request whose After is this page's Next (each handed out once, at
// most 65,536 rows kept): a client paging with the cursor costs a query
// every few pages. A read-write Store, and any Store on PostgreSQL (other
// processes write there), reads everything again for every page.
//
// Errors: ErrSimulationNotFound, ErrInvalidFilter (TickMin > TickMax, an
// unknown sort, a filter string that is not UTF-8, an event type with a
// comma), ErrClosed.
func (s *Store) GetSimulationEvents(ctx context.Context, simulationID string, filter EventFilter) (EventPage, error) {
	p, err := s.p.GetSimulationEvents(ctx, simulationID, filter.toInternal())
	page := EventPage{Total: p.Total, Limit: p.Limit, Offset: p.Offset, Filter: filterFromInternal(p.Filter)}
	if p.Events != nil {
		page.Events = make([]StoredEvent, len(p.Events))
		for i := range p.Events {
			page.Events[i] = storedEventFromInternal(&p.Events[i])
		}
	}
	if p.Next != nil {
		page.Next = &Cursor{Tick: p.Next.Tick, Seq: p.Next.Seq}
	}
	return page, publicError(err)
}

// StreamEvents yields every event of the simulation that matches the filter
// (Limit and Offset are ignored), in the filter's order, without any cap on
// how many events a tick or the run has. It reads in windows of seq, so
// memory stays bounded whatever the run's size, and stops with the
// context's error when ctx is cancelled. The error, if any, is the last
// pair yielded: ErrSimulationNotFound for an unknown simulation, the filter
// errors of GetSimulationEvents.
func (s *Store) StreamEvents(ctx context.Context, simulationID string, filter EventFilter) iter.Seq2[StoredEvent, error] {
	return func(yield func(StoredEvent, error) bool) {
		for ev, err := range s.p.StreamEvents(ctx, simulationID, filter.toInternal()) {
			if err != nil {
				yield(StoredEvent{}, publicError(err))
				return
			}
			if !yield(storedEventFromInternal(&ev), nil) {
				return
			}
		}
	}
}

// ExportColumns are the columns ExportEvents writes, in order.
func ExportColumns() []string { return provider.ExportColumns() }

// ExportEvents writes the simulation's events in (tick, seq) order to the
// file at path, as "parquet" or "csv" (with a header of ExportColumns), and
// returns how many it wrote. The file is written in place; write to a
// temporary name and rename for it to appear whole. For the events as they
// were persisted, byte for byte, stream them and write each one's Raw. A
// PostgreSQL run's events pass through a scratch CSV file in os.TempDir,
// about the size of their text, removed before ExportEvents returns.
//
// Errors: ErrSimulationNotFound, ErrInvalidArgument (another format),
// ErrClosed.
func (s *Store) ExportEvents(ctx context.Context, simulationID, format, path string) (int64, error) {
	n, err := s.p.ExportEvents(ctx, simulationID, format, path)
	return n, publicError(err)
}
