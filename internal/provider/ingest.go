package provider

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"

	"github.com/simcash/simdb/internal/event"
)

// MaxLineBytes bounds one JSONL line (the longest real event is a few KB).
const MaxLineBytes = 64 << 20

// ErrResumeMismatch: IngestJSONL with Resume was given a stream whose
// events of the already stored ticks are not the stored ones (another
// stream, a shorter or a longer one). Nothing is written and the run is
// left as it was, still running.
var ErrResumeMismatch = errors.New("stream does not match the stored run")

// errLineTooLong is readLine's error for a line over MaxLineBytes.
var errLineTooLong = fmt.Errorf("line longer than %d bytes (the limit)", MaxLineBytes)

// IngestOptions tune IngestJSONL.
type IngestOptions struct {
	// Source names the stream in errors ("FILE:LINE: …"); "" gives "line N".
	Source string
	// Resume skips the events of ticks the simulation already stored (up to
	// its last_tick) and continues after them. Each skipped line must be
	// the stored event of the same seq (compared as rebuilt compact JSON,
	// so insignificant whitespace may differ), and the stream must hold
	// exactly the stored events of those ticks: otherwise the call fails
	// with ErrResumeMismatch naming the first divergence, before anything
	// is written.
	//
	// Resuming a run that is already completed is not an error when the
	// stream is the run (every line the stored event of the same seq, no
	// line more or less): nothing is written, and the result says
	// Completed, so a retry of a worker that finished just before it was
	// killed succeeds. Any difference fails with ErrResumeMismatch naming
	// the first differing line, tick and seq (or the count that differs).
	// The stored run is never changed: its totals stay those it completed
	// with. A failed run is ErrSimulationNotRunning.
	Resume bool
	// Progress, if set, is called after each tick is handed to the writer
	// with the bytes and lines read so far.
	Progress func(IngestProgress)
}

// IngestProgress is how far a stream has been read.
type IngestProgress struct {
	Lines  int64
	Bytes  int64
	Events int64
}

// IngestResult describes an ingested stream.
type IngestResult struct {
	Lines     int64 // lines read (blank lines included)
	Events    int64 // events persisted by this call
	Skipped   int64 // events of already stored ticks skipped by Resume
	Ticks     int64 // ticks persisted by this call
	FirstTick int64 // first tick of the stream, -1 when empty
	LastTick  int64 // last tick of the stream, -1 when empty
	// Metrics are the run's totals computed from the whole stream, skipped
	// lines included, by the rule of StreamMetrics.
	Metrics Metrics
	// Completed is set when Resume found the run already completed:
	// nothing was written. With a nil error the stream is that run, event
	// for event, and there was nothing to do; otherwise the error
	// (ErrResumeMismatch) names the difference (see IngestOptions.Resume).
	Completed bool
}

// IngestJSONL persists a SimCash event stream (one flat JSON object per
// line, ticks never decreasing) into a running simulation, one tick at a
// time through the same path as PersistTickEvents. Blank lines are skipped,
// lines may end in LF or CRLF, and a UTF-8 byte-order mark at the very
// start of the stream (as Windows tools write one) is skipped; anywhere
// else a BOM is an invalid line.
//
// On a bad line it stops and returns an *EventError naming the line (and
// Source): every tick before that line's tick has been handed to the writer
// (commit them with Flush, or PersistSimulationFailed, which the CLI does),
// and nothing of the bad line's tick is stored. That holds when the bad
// line is the first of its tick too: the tick before it is complete and is
// handed over. When the bad line's tick cannot be read (the line is not
// JSON, its tick is missing or malformed, it is too long) or is lower than
// the tick before it, the line may belong to the tick being read, so that
// tick is not stored: only the ticks before it are. A read error (a
// truncated gzip file) likewise stores nothing of the tick being read. A
// failed commit returns ErrWriteFailed as PersistTickEvents does; the run
// stays running, resumable after its stored last tick (Resume). ErrClosed
// and ErrReadOnly come before anything is read.
//
// With Resume, a stream that diverges from the stored events of the
// stored ticks fails with ErrResumeMismatch (see IngestOptions.Resume).
func (s *Store) IngestJSONL(ctx context.Context, simulationID string, r io.Reader, opts IngestOptions) (IngestResult, error) {
	res := IngestResult{FirstTick: -1, LastTick: -1}
	if err := s.writable(); err != nil {
		return res, err
	}
	if err := checkSimulationID(simulationID); err != nil {
		return res, err
	}
	skipThrough := int64(-1)
	var stored *storedCursor
	if opts.Resume {
		// Claim the run first: one another writer holds is refused as
		// such (ErrConcurrentWriter), before its stored events are read.
		// The claim loads the run's state; committing what this Store
		// buffered of it (as a read would) makes that state the stored
		// run's, so the row is not read a second time.
		st, err := s.lockSim(ctx, simulationID)
		if err != nil {
			return res, err
		}
		err = ctx.Err()
		if err == nil {
			err = s.barrierLocked(ctx, st)
		}
		status, lastTick, count := st.status, st.durableTick, st.durableSeq
		st.mu.Unlock()
		if err != nil {
			return res, err
		}
		switch {
		case status == "completed":
			// Nothing to append: the whole stream must be the stored run.
			res.Completed = true
			skipThrough = math.MaxInt64
			stored = newStoredCursor(s.StreamEvents(ctx, simulationID, EventFilter{}), count)
			defer stored.stop()
		case status != "running":
			return res, fmt.Errorf("resume %q (status %s): %w", simulationID, status, ErrSimulationNotRunning)
		case lastTick >= 0:
			skipThrough = lastTick
			stored = newStoredCursor(s.StreamEvents(ctx, simulationID, EventFilter{}), count)
			defer stored.stop()
		}
	}

	lineErr := func(line int64, tick int64, typ string, err error) error {
		return &EventError{SimulationID: simulationID, Source: opts.Source, Line: int(line), Tick: tick, Index: -1, EventType: typ, Err: err}
	}
	where := func(line int64) string {
		if opts.Source != "" {
			return fmt.Sprintf("%s:%d", opts.Source, line)
		}
		return fmt.Sprintf("line %d", line)
	}
	br := bufio.NewReaderSize(r, 1<<20)
	var (
		group     []event.Event
		groupTick int64 = -1
		bytesRead int64
		counter   metricsCounter
		// arena holds what the decoded events keep, in 64 KB blocks that
		// are freed once every event in them has been committed.
		arena event.Arena
	)
	if bom, _ := br.Peek(len(utf8BOM)); string(bom) == utf8BOM {
		br.Discard(len(utf8BOM))
		bytesRead += int64(len(utf8BOM))
	}
	flushGroup := func() error {
		if len(group) == 0 {
			return nil
		}
		n, err := s.persistDecoded(ctx, simulationID, groupTick, group)
		if err != nil {
			return err
		}
		res.Events += int64(n)
		res.Ticks++
		group = group[:0]
		if opts.Progress != nil {
			opts.Progress(IngestProgress{Lines: res.Lines, Bytes: bytesRead, Events: res.Events})
		}
		return nil
	}
	// badLine returns the error for a bad line of tick tick (-1: unknown).
	// A known tick after the buffered group's means that group is
	// complete: it is handed to the writer first, so a bad first line of
	// a tick does not cost the tick before it.
	badLine := func(tick int64, typ string, err error) error {
		lerr := lineErr(res.Lines, tick, typ, err)
		if len(group) > 0 && tick > groupTick {
			if ferr := flushGroup(); ferr != nil {
				return fmt.Errorf("%w (and handing over tick %d before it: %w)", lerr, groupTick, ferr)
			}
		}
		return lerr
	}
	for {
		line, err := readLine(br)
		if len(line) > 0 || err == nil || errors.Is(err, errLineTooLong) {
			res.Lines++
			bytesRead += int64(len(line)) + 1
		}
		if err != nil && !errors.Is(err, io.EOF) {
			if len(group) > 0 {
				err = fmt.Errorf("%w (nothing of tick %d is stored: this line may belong to it)", err, groupTick)
			}
			if !errors.Is(err, errLineTooLong) {
				err = fmt.Errorf("read: %w", err)
			}
			return res, lineErr(res.Lines, -1, "", err)
		}
		if len(trimSpace(line)) > 0 {
			ev, derr := event.DecodeIn(&arena, line)
			switch {
			case derr != nil:
				return res, badLine(tickOf(ev), ev.Type, derr)
			case !ev.HasTick:
				return res, badLine(-1, ev.Type, &event.FieldError{Field: "tick", Msg: "missing (a stream needs a tick on every event)"})
			case ev.Tick < res.LastTick:
				// Not handed over: which of the two ticks the stream got
				// wrong is unknown, so the buffered one may be incomplete.
				return res, lineErr(res.Lines, ev.Tick, ev.Type, &event.FieldError{Field: "tick", Msg: fmt.Sprintf("is %d after tick %d: a stream's ticks must never decrease", ev.Tick, res.LastTick)})
			}
			if res.FirstTick < 0 {
				res.FirstTick = ev.Tick
			}
			res.LastTick = ev.Tick
			counter.add(&ev)
			if ev.Tick <= skipThrough {
				if err := stored.match(&ev, where(res.Lines)); err != nil {
					return res, err
				}
				res.Skipped++
			} else {
				if stored != nil {
					if err := stored.end(where(res.Lines)); err != nil {
						return res, err
					}
					stored.stop()
					stored = nil
				}
				if ev.Tick != groupTick {
					if ferr := flushGroup(); ferr != nil {
						return res, ferr
					}
					groupTick = ev.Tick
				}
				group = append(group, ev)
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
	}
	if stored != nil {
		at := where(res.Lines) + " (end of stream)"
		if res.Lines == 0 {
			at = "empty stream"
			if opts.Source != "" {
				at = opts.Source + ": empty stream"
			}
		}
		if err := stored.end(at); err != nil {
			return res, err
		}
	}
	if err := flushGroup(); err != nil {
		return res, err
	}
	res.Metrics = counter.metrics()
	return res, nil
}

// storedCursor walks a resumed run's stored events alongside the lines
// IngestJSONL skips, so that a resume appends only to the stream it was
// started from.
type storedCursor struct {
	next  func() (StoredEvent, error, bool)
	stop  func()
	count int64 // stored events
	seq   int64 // next stored seq to match
	last  StoredEvent
	buf   []byte
}

func newStoredCursor(events iter.Seq2[StoredEvent, error], count int64) *storedCursor {
	next, stop := iter.Pull2(events)
	return &storedCursor{next: next, stop: stop, count: count}
}

// match checks that ev, read at where, is the next stored event.
func (c *storedCursor) match(ev *event.Event, where string) error {
	st, err, ok := c.next()
	if err != nil {
		return fmt.Errorf("resume: reading the stored run: %w", err)
	}
	if !ok {
		return fmt.Errorf("%s: tick %d: %w: the stored run has %d events through tick %d, and this line would be event %d",
			where, ev.Tick, ErrResumeMismatch, c.count, c.last.Tick, c.seq+1)
	}
	c.last = st
	c.seq++
	c.buf, err = event.Rebuild(c.buf[:0], event.Stored{Type: ev.Type, Tick: ev.Tick, AgentID: ev.AgentID, TxID: ev.TxID, Details: ev.Details, Layout: ev.Layout})
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	raw, err := st.Raw()
	if err != nil {
		return fmt.Errorf("resume: stored event seq %d: %w", st.Seq, err)
	}
	if !bytes.Equal(raw, c.buf) {
		return fmt.Errorf("%s: tick %d, seq %d: %w: the line is %s, the stored event (tick %d) is %s",
			where, ev.Tick, st.Seq, ErrResumeMismatch, clipJSON(c.buf), st.Tick, clipJSON(raw))
	}
	return nil
}

// end checks that every stored event has been matched once the stream has
// left the stored ticks (or ended) at where.
func (c *storedCursor) end(where string) error {
	st, err, ok := c.next()
	if err != nil {
		return fmt.Errorf("resume: reading the stored run: %w", err)
	}
	if ok {
		return fmt.Errorf("%s: %w: the stream has %d events of the stored ticks, the stored run %d (its seq %d, tick %d, is not in the stream)",
			where, ErrResumeMismatch, c.seq, c.count, st.Seq, st.Tick)
	}
	return nil
}

// clipJSON shortens an event for an error message.
func clipJSON(b []byte) string {
	const max = 120
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}

// utf8BOM is the UTF-8 encoding of U+FEFF, the byte-order mark.
const utf8BOM = "\xef\xbb\xbf"

func tickOf(ev event.Event) int64 {
	if ev.HasTick {
		return ev.Tick
	}
	return -1
}

// readLine returns the next line without its newline. The slice is valid
// until the next call.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		long := append([]byte(nil), line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			if len(long) > MaxLineBytes {
				return nil, errLineTooLong
			}
			line, err = br.ReadSlice('\n')
			long = append(long, line...)
		}
		line = long
	}
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
	}
	return line, err
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
