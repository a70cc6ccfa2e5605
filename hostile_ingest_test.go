package simdb_test

// Hostile streams through IngestJSONL: bad lines, resumes, truncated and
// endless input (cases of TestHostileInputs).

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/provider"
	"github.com/simcash/simdb/internal/testutil"
)

// --- Streams through IngestJSONL ---

func hostileIngestCases() []hostileCase {
	ingest := func(id, stream string) func(*testing.T, *testBundle) error {
		return func(_ *testing.T, b *testBundle) error {
			_, err := b.store.IngestJSONL(b.ctx, id, bytes.NewReader([]byte(stream)), simdb.IngestOptions{})
			return err
		}
	}
	lines := func(ls ...string) string { return strings.Join(ls, "\n") + "\n" }
	return []hostileCase{
		{name: "stream: invalid JSON on line 3", call: ingest(hostileSim, lines(arrival(1, "a"), arrival(1, "b"), `{"event_type":"Arrival","tick":1,`)),
			want: simdb.ErrInvalidEvent, where: []string{"line 3", "invalid JSON"}},
		{name: "stream: a line that is not an object", call: ingest(hostileSim, lines(arrival(1, "a"), `42`)),
			want: simdb.ErrInvalidEvent, where: []string{"line 2", "byte 0"}},
		{name: "stream: tick missing", call: ingest(hostileSim, lines(arrival(1, "a"), `{"event_type":"PolicySubmit","agent_id":"A","tx_id":"a"}`)),
			want: simdb.ErrInvalidEvent, where: []string{"line 2", "PolicySubmit", `"tick"`, "missing"}},
		{name: "stream: tick a string", call: ingest(hostileSim, lines(arrival(1, "a"), `{"event_type":"PolicySubmit","tick":"1"}`)),
			want: simdb.ErrInvalidEvent, where: []string{"line 2", `"tick"`}},
		{name: "stream: ticks going backwards", call: ingest(hostileSim, lines(arrival(2, "a"), arrival(1, "b"))),
			want: simdb.ErrInvalidEvent, where: []string{"line 2", "tick 1", `"tick"`}},
		{name: "stream: bad money on line 2", call: ingest(hostileSim, lines(arrival(1, "a"), `{"event_type":"Arrival","tick":1,"tx_id":"b","amount":1.5}`, arrival(2, "c"))),
			want: simdb.ErrInvalidEvent, where: []string{"line 2", "tick 1", "Arrival", `"amount"`}},
		{name: "stream: nested 100000 deep", call: ingest(hostileSim, lines(arrival(1, "a"), `{"event_type":"X","tick":1,"d":`+strings.Repeat("[", 100_000)+strings.Repeat("]", 100_000)+`}`)),
			want: simdb.ErrInvalidEvent, where: []string{"line 2", "nested deeper"}},
		{name: "stream: lone surrogate escape on line 3", call: ingest(hostileSim, lines(arrival(1, "a"), arrival(1, "b"), `{"event_type":"PolicyHold","tick":1,"agent_id":"BANK_A","reason":"\ud800"}`)),
			want: simdb.ErrInvalidEvent, where: []string{"line 3", "tick 1", "PolicyHold", `"reason"`, "surrogate"}},
		{name: "stream: retried tick", call: ingest(hostileSim, lines(arrival(0, "again"))),
			want: simdb.ErrTickAlreadyPersisted, where: []string{"tick 0"}},
		{name: "stream: unknown simulation", call: ingest("nope", lines(arrival(1, "a"))),
			want: simdb.ErrSimulationNotFound, where: []string{`"nope"`}},
		{name: "stream: empty simulation id", call: ingest("", lines(arrival(1, "a"))),
			want: simdb.ErrInvalidArgument, where: []string{"empty simulation id"}},
		truncatedCase("stream: truncated gzip keeps the complete ticks", simdb.Durable, syntheticStream),
		// A bad line keeps every complete tick before it, whatever its
		// place in its tick (issue 19, point 4: a bad first line of a tick
		// used to lose the tick before it).
		keptCase("stream: bad first line of a tick keeps the tick before", simdb.Durable,
			lines(arrival(1, "a"), arrival(1, "b"), badMoney(2), arrival(2, "c")), 3, 2, 2),
		keptCase("stream: bad first line of a tick keeps the tick before, buffered", simdb.Buffered,
			lines(arrival(1, "a"), arrival(1, "b"), badMoney(2), arrival(2, "c")), 3, 2, 2),
		keptCase("stream: bad middle line of a tick", simdb.Durable,
			lines(arrival(1, "a"), arrival(2, "b"), badMoney(2), arrival(2, "c")), 3, 2, 1),
		keptCase("stream: bad last line of a tick", simdb.Durable,
			lines(arrival(1, "a"), arrival(2, "b"), badMoney(2), arrival(3, "c")), 3, 2, 1),
		keptCase("stream: bad first line of the stream", simdb.Durable,
			lines(badMoney(1), arrival(1, "a"), arrival(2, "b")), 1, 1, 0),
		// An unreadable tick may be the buffered tick's: that tick is
		// not stored (only the ticks before it).
		keptCase("stream: bad line of unknown tick after a tick", simdb.Durable,
			lines(arrival(1, "a"), arrival(2, "b"), `{"event_type":"Arrival","tick":`), 3, -1, 1),
		keptCase("stream: tick going backwards after a tick", simdb.Durable,
			lines(arrival(1, "a"), arrival(3, "b"), arrival(2, "c")), 3, 2, 1),
		// A line over the limit is named by its own number (it used to be
		// reported as the line before); its tick is unknown, so the tick
		// before it is not stored.
		{name: "stream: a line over the limit", call: func(_ *testing.T, b *testBundle) error {
			r := io.MultiReader(strings.NewReader(lines(arrival(1, "a"))+`{"event_type":"X","tick":2,"pad":"`),
				io.LimitReader(repeatByte('x'), provider.MaxLineBytes+1<<20), strings.NewReader("\"}\n"))
			_, err := b.store.IngestJSONL(b.ctx, hostileSim, r, simdb.IngestOptions{Source: "big.jsonl"})
			return err
		}, want: simdb.ErrInvalidEvent, where: []string{"big.jsonl:2: ", "longer than"}},
		// --resume checks the stored ticks against the stream (issue 19,
		// point 3): hostileSim holds tick 0, an Arrival and a register set.
		{name: "resume: another stream", call: resume(lines(arrival(0, "other"), registerSet(0, "BANK_A", "stress", 1.5), arrival(1, "a"))),
			want: simdb.ErrResumeMismatch, where: []string{"line 1", "tick 0, seq 0", `"other"`, `"tx-0"`}},
		{name: "resume: a stored event missing", call: resume(lines(arrival(0, "tx-0"), arrival(1, "a"))),
			want: simdb.ErrResumeMismatch, where: []string{"line 2", "1 events of the stored ticks", "stored run 2", "seq 1, tick 0"}},
		{name: "resume: an event more in a stored tick", call: resume(lines(arrival(0, "tx-0"), registerSet(0, "BANK_A", "stress", 1.5), arrival(0, "extra"), arrival(1, "a"))),
			want: simdb.ErrResumeMismatch, where: []string{"line 3", "tick 0", "the stored run has 2 events through tick 0"}},
		{name: "resume: a shorter stream", call: resume(lines(arrival(0, "tx-0"))),
			want: simdb.ErrResumeMismatch, where: []string{"line 1 (end of stream)", "seq 1"}},
		{name: "resume: an empty stream", call: resume(""),
			want: simdb.ErrResumeMismatch, where: []string{"empty stream", "seq 0"}},
		{name: "resume: the stored stream, other whitespace", call: resume(lines(
			strings.ReplaceAll(arrival(0, "tx-0"), ",", ", "), registerSet(0, "BANK_A", "stress", 1.5), arrival(1, "next"))),
			check: func(t *testing.T, b *testBundle, _ dbState) {
				storedOnly(t, b, hostileSim, simdb.EventFilter{Tick: simdb.Int64(1)}, arrival(1, "next"))
			}},
		truncatedCase("stream: truncated gzip, buffered, keeps the ticks handed over after Flush", simdb.Buffered, syntheticStream),
		truncatedCase("stream: truncated real stream keeps the complete ticks", simdb.Durable, func(t *testing.T) []byte {
			ls := testutil.ReadLines(t, testutil.CorpusFile(t, "small.jsonl.gz"))
			return append(bytes.Join(ls, []byte("\n")), '\n')
		}),
	}
}

// resume returns a call resuming hostileSim with stream.
func resume(stream string) func(*testing.T, *testBundle) error {
	return func(_ *testing.T, b *testBundle) error {
		_, err := b.store.IngestJSONL(b.ctx, hostileSim, strings.NewReader(stream), simdb.IngestOptions{Resume: true})
		return err
	}
}

// repeatByte reads as an endless run of c.
type repeatByte byte

func (c repeatByte) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(c)
	}
	return len(p), nil
}

// badMoney is an Arrival of tick whose amount is not integer cents.
func badMoney(tick int) string {
	return fmt.Sprintf(`{"event_type":"Arrival","tick":%d,"tx_id":"bad","amount":1e3}`, tick)
}

// keptCase ingests stream into hostileSim (tick 0 stored): the error must
// name line and tick (-1: none), and after Flush the run holds tick 0 plus
// exactly the stream's first keep lines, and nothing else changed.
func keptCase(name string, d simdb.Durability, stream string, line int, tick int64, keep int) hostileCase {
	where := []string{fmt.Sprintf("line %d", line)}
	if tick >= 0 {
		where = append(where, fmt.Sprintf("tick %d", tick))
	}
	return hostileCase{
		name: name, durability: &d, want: simdb.ErrInvalidEvent, where: where,
		call: func(_ *testing.T, b *testBundle) error {
			_, err := b.store.IngestJSONL(b.ctx, hostileSim, strings.NewReader(stream), simdb.IngestOptions{})
			return err
		},
		check: func(t *testing.T, b *testBundle, before dbState) {
			if err := b.store.Flush(b.ctx); err != nil {
				t.Fatal(err)
			}
			want := strings.Split(stream, "\n")[:keep]
			var got []string
			for ev, err := range b.store.StreamEvents(b.ctx, hostileSim, simdb.EventFilter{TickMin: simdb.Int64(1)}) {
				if err != nil {
					t.Fatal(err)
				}
				raw, err := ev.Raw()
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, string(raw))
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("stored after tick 0:\n%s\nwant the stream's first %d lines:\n%s", strings.Join(got, "\n"), keep, strings.Join(want, "\n"))
			}
			if keep == 0 {
				if after := snapshot(t, b); after != before {
					t.Fatalf("database changed: %+v -> %+v", before, after)
				}
				return
			}
			sum, err := b.store.GetSimulationSummary(b.ctx, hostileSim)
			if err != nil {
				t.Fatal(err)
			}
			var last struct{ Tick int64 }
			if err := json.Unmarshal([]byte(want[keep-1]), &last); err != nil {
				t.Fatal(err)
			}
			if sum.Status != "running" || sum.EventCount != int64(2+keep) || sum.LastTick == nil || *sum.LastTick != last.Tick {
				t.Fatalf("run: status %s, %d events through tick %s; want running, %d through %d", sum.Status, sum.EventCount, fmtTick(sum.LastTick), 2+keep, last.Tick)
			}
		},
	}
}

func fmtTick(p *int64) string {
	if p == nil {
		return "none"
	}
	return fmt.Sprint(*p)
}

// syntheticStream is 40 ticks of 60 Arrivals each (~400 KB).
func syntheticStream(*testing.T) []byte {
	var b bytes.Buffer
	for tick := 1; tick <= 40; tick++ {
		for i := 0; i < 60; i++ {
			b.WriteString(arrival(tick, fmt.Sprintf("tx-%d-%d", tick, i)))
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// truncatedCase gzips a stream into simulation "trunc", cuts the file at
// 60% (inside a line) and ingests it. The error must match ErrInvalidEvent
// and io.ErrUnexpectedEOF and name the cut line; after Flush, "trunc" holds
// exactly the ticks finished before the cut (each tick before the tick of
// the last complete line), and nothing else in the database changed.
func truncatedCase(name string, d simdb.Durability, stream func(t *testing.T) []byte) hostileCase {
	var (
		complete     [][]byte // the lines the gzip reader delivers whole
		othersBefore string   // simulations rows other than "trunc"
	)
	const id = "trunc"
	return hostileCase{
		name: name, durability: &d, want: simdb.ErrInvalidEvent, alsoWant: []error{io.ErrUnexpectedEOF},
		prepare: func(t *testing.T, b *testBundle) {
			b.start(t, id)
			othersBefore = tableState(t, b, "simulations", id)
		},
		call: func(t *testing.T, b *testBundle) error {
			var zbuf bytes.Buffer
			zw := gzip.NewWriter(&zbuf)
			if _, err := zw.Write(stream(t)); err != nil {
				t.Fatal(err)
			}
			if err := zw.Close(); err != nil {
				t.Fatal(err)
			}
			var prefix []byte
			cut := zbuf.Len() * 3 / 5
			for ; cut < zbuf.Len(); cut++ {
				zr, err := gzip.NewReader(bytes.NewReader(zbuf.Bytes()[:cut]))
				if err != nil {
					t.Fatal(err)
				}
				prefix, err = io.ReadAll(zr)
				if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("reading the cut file: %v", err)
				}
				if len(prefix) > 0 && prefix[len(prefix)-1] != '\n' {
					break // the delivered data ends inside a line
				}
			}
			complete = bytes.Split(prefix[:bytes.LastIndexByte(prefix, '\n')], []byte("\n"))
			if len(complete) < 100 {
				t.Fatalf("only %d complete lines before the cut", len(complete))
			}
			zr, err := gzip.NewReader(bytes.NewReader(zbuf.Bytes()[:cut]))
			if err != nil {
				t.Fatal(err)
			}
			_, err = b.store.IngestJSONL(b.ctx, id, zr, simdb.IngestOptions{Source: "cut.jsonl.gz"})
			if err != nil && !strings.Contains(err.Error(), fmt.Sprintf("cut.jsonl.gz:%d", len(complete)+1)) {
				t.Errorf("message does not name line %d: %v", len(complete)+1, err)
			}
			return err
		},
		check: func(t *testing.T, b *testBundle, before dbState) {
			if err := b.store.Flush(b.ctx); err != nil {
				t.Fatal(err)
			}
			tickOf := func(line []byte) int64 {
				var h struct{ Tick int64 }
				if err := json.Unmarshal(line, &h); err != nil {
					t.Fatal(err)
				}
				return h.Tick
			}
			openTick := tickOf(complete[len(complete)-1])
			var want [][]byte
			for _, l := range complete {
				if tickOf(l) < openTick {
					want = append(want, l)
				}
			}
			if len(want) == 0 {
				t.Fatal("the cut leaves no complete tick")
			}
			i := 0
			for ev, err := range b.store.StreamEvents(b.ctx, id, simdb.EventFilter{}) {
				if err != nil {
					t.Fatal(err)
				}
				if i >= len(want) {
					t.Fatalf("event %d (tick %d) stored beyond the finished ticks (< %d)", i, ev.Tick, openTick)
				}
				raw, err := ev.Raw()
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(raw, want[i]) {
					t.Fatalf("event %d:\n got %s\nwant %s", i, raw, want[i])
				}
				i++
			}
			if i != len(want) {
				t.Fatalf("stored %d events, want the %d events of ticks before %d", i, len(want), openTick)
			}
			sum, err := b.store.GetSimulationSummary(b.ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			lastTick := tickOf(want[len(want)-1])
			if sum.Status != "running" || sum.LastTick == nil || *sum.LastTick != lastTick || sum.EventCount != int64(len(want)) {
				t.Fatalf("row: status %s last_tick %v event_count %d, want running, %d, %d", sum.Status, sum.LastTick, sum.EventCount, lastTick, len(want))
			}
			if got := tableState(t, b, "simulation_events", id); got != before.events {
				t.Fatalf("other simulations' events changed: %s, was %s", got, before.events)
			}
			if got := tableState(t, b, "agent_state_registers", ""); got != before.regs {
				t.Fatalf("registers changed: %s, was %s", got, before.regs)
			}
			if got := tableState(t, b, "simulations", id); got != othersBefore {
				t.Fatalf("other simulations changed: %s, was %s", got, othersBefore)
			}
		},
	}
}
