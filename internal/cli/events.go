package cli

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/simcash/simdb"
	"github.com/spf13/cobra"
)

type eventsFlags struct {
	tick, from, to, day int64
	agent, tx, types    string
	limit, offset       int
	sort, format        string
	all                 bool
}

func newEventsCmd(e *env) *cobra.Command {
	var f eventsFlags
	cmd := &cobra.Command{
		Use:   "events SIM [flags]",
		Short: "List a run's events, filtered and paged",
		Long: `Lists events of simulation SIM in (tick, seq) order.

--agent matches every event the agent takes part in, whatever the engine
called the field (sender, receiver_id, agent_a, agents, ...); --tx every event
involving the transaction (tx_id, tx_ids, child_ids, ...). --type takes a
comma-separated list. A page holds --limit events (default 100, 1..1000);
--all streams every matching event with no limit.

Formats: table (for people), json ({events, total, limit, offset, filters}),
jsonl (one event per line), csv.`,
		Args: simArgs(1, "one simulation id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			filter, err := f.toFilter(cmd)
			if err != nil {
				return err
			}
			return e.events(args[0], filter, f.all, f.format)
		},
	}
	fl := cmd.Flags()
	fl.Int64Var(&f.tick, "tick", 0, "only this tick")
	fl.Int64Var(&f.from, "from", 0, "first tick (inclusive)")
	fl.Int64Var(&f.to, "to", 0, "last tick (inclusive)")
	fl.Int64Var(&f.day, "day", 0, "only this day")
	fl.StringVar(&f.agent, "agent", "", "only events this agent takes part in")
	fl.StringVar(&f.tx, "tx", "", "only events involving this transaction")
	fl.StringVar(&f.types, "type", "", "only these event types (comma-separated)")
	fl.IntVar(&f.limit, "limit", simdb.DefaultEventLimit, "page size (1..1000)")
	fl.IntVar(&f.offset, "offset", 0, "skip this many matching events")
	fl.StringVar(&f.sort, "sort", "asc", "asc or desc (by tick, then seq)")
	fl.BoolVar(&f.all, "all", false, "stream every matching event, no limit")
	fl.StringVar(&f.format, "format", "table", "table, json, jsonl or csv")
	return cmd
}

// toFilter turns the flags the user set into an EventFilter.
func (f eventsFlags) toFilter(cmd *cobra.Command) (simdb.EventFilter, error) {
	set := func(name string) bool { return cmd.Flags().Changed(name) }
	var filter simdb.EventFilter
	if set("from") && set("to") && f.from > f.to {
		return filter, usagef("--from %d is after --to %d", f.from, f.to)
	}
	if set("tick") {
		filter.Tick = simdb.Int64(f.tick)
	}
	if set("from") {
		filter.TickMin = simdb.Int64(f.from)
	}
	if set("to") {
		filter.TickMax = simdb.Int64(f.to)
	}
	if set("day") {
		filter.Day = simdb.Int64(f.day)
	}
	filter.AgentID, filter.TxID = f.agent, f.tx
	filter.EventTypes = parseTypeList(f.types)
	filter.Limit, filter.Offset = f.limit, f.offset
	switch f.sort {
	case "asc", simdb.SortTickAsc:
		filter.Sort = simdb.SortTickAsc
	case "desc", simdb.SortTickDesc:
		filter.Sort = simdb.SortTickDesc
	default:
		return filter, usagef("unknown --sort %q (want asc or desc)", f.sort)
	}
	if err := checkFormat(f.format, "table", "json", "jsonl", "csv"); err != nil {
		return filter, err
	}
	return filter, nil
}

// parseTypeList splits a comma-separated list of event types, dropping
// blanks and surrounding spaces.
func parseTypeList(s string) []string {
	var out []string
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

func (e *env) events(sim string, filter simdb.EventFilter, all bool, format string) (err error) {
	limit := e.memoryLimit
	if all {
		limit = streamMemoryLimit
	}
	store, err := e.openRunWith(sim, limit)
	if err != nil {
		return err
	}
	defer closeStore(store, &err)
	w := newEventWriter(e.stdout, format)
	if !all {
		page, err := store.GetSimulationEvents(e.ctx, sim, filter)
		if err != nil {
			return asUsage(err)
		}
		if format == "json" {
			return writeJSON(e.stdout, page)
		}
		for _, ev := range page.Events {
			if err := w.write(ev); err != nil {
				return err
			}
		}
		if err := w.close(); err != nil {
			return err
		}
		if format == "table" {
			fmt.Fprintf(e.stdout, "(%d of %d events, offset %d)\n", len(page.Events), page.Total, page.Offset)
		}
		return nil
	}
	// --all: stream. JSON keeps the page shape, written incrementally.
	filter.Limit, filter.Offset = 0, 0
	var n int64
	if format == "json" {
		fmt.Fprint(w.out, `{"events":[`)
	}
	for ev, err := range store.StreamEvents(e.ctx, sim, filter) {
		if err != nil {
			return asUsage(err)
		}
		if format == "json" {
			if n > 0 {
				w.out.WriteByte(',')
			}
			b, err := json.Marshal(ev)
			if err != nil {
				return err
			}
			if _, err := w.out.Write(b); err != nil {
				return err
			}
		} else if err := w.write(ev); err != nil {
			return err
		}
		n++
	}
	if format == "json" {
		// A stream has no page size: its filters echo limit null, as the
		// page shape's own limit does.
		fb, _ := json.Marshal(struct {
			simdb.EventFilter
			Limit *int `json:"limit"`
		}{EventFilter: filter})
		fmt.Fprintf(w.out, `],"total":%d,"limit":null,"offset":0,"filters":%s}`+"\n", n, fb)
		return w.close()
	}
	if err := w.close(); err != nil {
		return err
	}
	if format == "table" {
		fmt.Fprintf(e.stdout, "(%d events)\n", n)
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// eventWriter prints events one at a time in table, jsonl or csv form,
// through one buffer, so memory stays flat in the number of events and a
// long listing costs a write per 64 KB, not per event.
type eventWriter struct {
	format string
	out    *bufio.Writer
	tw     *tabwriter.Writer
	cw     *csv.Writer
	rows   int
}

// tableBlock is how many rows a table aligns at a time: tabwriter holds
// every row until it flushes, so a whole run's table would be held in
// memory; columns are aligned within each block.
const tableBlock = 1000

func newEventWriter(out io.Writer, format string) *eventWriter {
	w := &eventWriter{format: format, out: bufio.NewWriterSize(out, 64<<10)}
	switch format {
	case "table":
		w.tw = tabwriter.NewWriter(w.out, 0, 0, 2, ' ', 0)
	case "csv":
		w.cw = csv.NewWriter(w.out)
	}
	return w
}

// eventCSVRecord is ev's row under simdb.ExportColumns, as export --format
// csv writes it (timestamps and lists in DuckDB's text form).
func eventCSVRecord(ev *simdb.StoredEvent) []string {
	const ts = "2006-01-02 15:04:05.999999"
	list := func(l []string) string { return "[" + strings.Join(l, ", ") + "]" }
	return []string{ev.EventID, ev.SimulationID, strconv.FormatInt(ev.Seq, 10), strconv.FormatInt(ev.Tick, 10),
		strconv.FormatInt(ev.Day, 10), ev.EventTimestamp.Format(ts), ev.EventType, string(ev.Details),
		deref(ev.AgentID), deref(ev.TxID), ev.CreatedAt.Format(ts), list(ev.Agents), list(ev.TxIDs)}
}

func (w *eventWriter) write(ev simdb.StoredEvent) error {
	defer func() { w.rows++ }()
	switch w.format {
	case "jsonl":
		b, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		_, err = w.out.Write(append(b, '\n'))
		return err
	case "csv":
		if w.rows == 0 {
			if err := w.cw.Write(simdb.ExportColumns()); err != nil {
				return err
			}
		}
		return w.cw.Write(eventCSVRecord(&ev))
	default:
		if w.rows > 0 && w.rows%tableBlock == 0 {
			if err := w.tw.Flush(); err != nil {
				return err
			}
		}
		if w.rows == 0 {
			fmt.Fprintln(w.tw, "SEQ\tTICK\tDAY\tTYPE\tAGENT\tTX\tSENDER\tRECEIVER\tAMOUNT\tDETAILS")
		}
		amount := ""
		if ev.Amount != nil {
			amount = strconv.FormatInt(*ev.Amount, 10)
		}
		_, err := fmt.Fprintf(w.tw, "%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ev.Seq, ev.Tick, ev.Day, cell(ev.EventType),
			cell(dash(ev.AgentID)), cell(shortID(dash(ev.TxID))), cell(dash(ev.Sender)), cell(dash(ev.Receiver)), orDash(amount), clip(cell(string(ev.Details)), 60))
		return err
	}
}

func (w *eventWriter) close() error {
	switch w.format {
	case "table":
		if w.rows == 0 {
			fmt.Fprintln(w.tw, "no events")
		}
		if err := w.tw.Flush(); err != nil {
			return err
		}
	case "csv":
		if w.rows == 0 {
			if err := w.cw.Write(simdb.ExportColumns()); err != nil {
				return err
			}
		}
		w.cw.Flush()
		if err := w.cw.Error(); err != nil {
			return err
		}
	}
	return w.out.Flush()
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func dash(s *string) string { return orDash(deref(s)) }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// shortID keeps tables narrow: UUIDs are recognisable by their first
// eight characters.
func shortID(s string) string {
	if len(s) == 36 && s[8] == '-' {
		return s[:8] + "…"
	}
	return s
}

func clip(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// asUsage reports a filter the provider refuses as a usage error (exit 2):
// the flags were wrong, not the database.
func asUsage(err error) error {
	if errors.Is(err, simdb.ErrInvalidFilter) {
		return usageError{err}
	}
	return err
}
