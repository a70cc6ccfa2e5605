package provider

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/simcash/simdb/internal/event"
)

// MaxLineBytes bounds one JSONL line (the longest real event is a few KB).
const MaxLineBytes = 64 << 20

// IngestOptions tune IngestJSONL.
type IngestOptions struct {
	// Source names the stream in errors ("FILE:LINE: …"); "" gives "line N".
	Source string
	// Resume skips the events of ticks the simulation already stored (up to
	// its last_tick) and continues after them.
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
}

// IngestJSONL persists a SimCash event stream (one flat JSON object per
// line, ticks never decreasing) into a running simulation, one tick at a
// time through the same path as PersistTickEvents. Blank lines are skipped.
//
// On a bad line it stops and returns an *EventError naming the line (and
// Source): every tick before that line's tick has been handed to the writer
// (commit them with Flush, or PersistSimulationFailed, which the CLI does),
// and nothing of the bad line's tick is stored. A read error (a truncated
// gzip file) likewise stores nothing of the tick being read. A failed
// commit returns ErrWriteFailed as PersistTickEvents does; the run stays
// running, resumable after its stored last tick (Resume). ErrClosed and
// ErrReadOnly come before anything is read.
func (s *Store) IngestJSONL(ctx context.Context, simulationID string, r io.Reader, opts IngestOptions) (IngestResult, error) {
	res := IngestResult{FirstTick: -1, LastTick: -1}
	if err := s.writable(); err != nil {
		return res, err
	}
	if err := checkSimulationID(simulationID); err != nil {
		return res, err
	}
	skipThrough := int64(-1)
	if opts.Resume {
		sum, err := s.GetSimulationSummary(ctx, simulationID)
		if err != nil {
			return res, err
		}
		if sum.Status != "running" {
			return res, fmt.Errorf("resume %q (status %s): %w", simulationID, sum.Status, ErrSimulationNotRunning)
		}
		if sum.LastTick != nil {
			skipThrough = *sum.LastTick
		}
	}
	lineErr := func(line int64, tick int64, typ string, err error) error {
		return &EventError{SimulationID: simulationID, Source: opts.Source, Line: int(line), Tick: tick, Index: -1, EventType: typ, Err: err}
	}
	br := bufio.NewReaderSize(r, 1<<20)
	var (
		group     []event.Event
		groupTick int64 = -1
		bytesRead int64
		counter   metricsCounter
	)
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
	for {
		line, err := readLine(br)
		if len(line) > 0 || err == nil {
			res.Lines++
			bytesRead += int64(len(line)) + 1
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return res, lineErr(res.Lines, -1, "", fmt.Errorf("read: %w (nothing of tick %d is stored)", err, groupTick))
		}
		if len(trimSpace(line)) > 0 {
			ev, derr := event.Decode(line)
			switch {
			case derr != nil:
				return res, lineErr(res.Lines, tickOf(ev), ev.Type, derr)
			case !ev.HasTick:
				return res, lineErr(res.Lines, -1, ev.Type, &event.FieldError{Field: "tick", Msg: "missing (a stream needs a tick on every event)"})
			case ev.Tick < res.LastTick:
				return res, lineErr(res.Lines, ev.Tick, ev.Type, &event.FieldError{Field: "tick", Msg: fmt.Sprintf("is %d after tick %d: a stream's ticks must never decrease", ev.Tick, res.LastTick)})
			}
			if res.FirstTick < 0 {
				res.FirstTick = ev.Tick
			}
			res.LastTick = ev.Tick
			counter.add(&ev)
			if ev.Tick <= skipThrough {
				res.Skipped++
			} else {
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
	if err := flushGroup(); err != nil {
		return res, err
	}
	res.Metrics = counter.metrics()
	return res, nil
}

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
				return nil, fmt.Errorf("line longer than %d bytes", MaxLineBytes)
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
