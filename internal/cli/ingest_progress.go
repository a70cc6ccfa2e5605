package cli

// The progress bar ingest draws on a terminal.

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/simcash/simdb"
)

// progressBar draws events, events/s and the share of the input read on
// stderr, only when stderr is a terminal.
type progressBar struct {
	w       io.Writer
	size    int64
	counted *countingReader
	start   time.Time
	last    time.Time
	active  bool
	drawn   bool
}

func newProgressBar(stderr io.Writer, size int64, counted *countingReader) *progressBar {
	p := &progressBar{w: stderr, size: size, counted: counted, start: time.Now()}
	if f, ok := stderr.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.active = true
		}
	}
	return p
}

func (p *progressBar) update(pr simdb.IngestProgress) {
	if !p.active {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < 200*time.Millisecond {
		return
	}
	p.last = now
	rate := float64(pr.Events) / now.Sub(p.start).Seconds()
	line := fmt.Sprintf("\r%12d events  %10.0f events/s", pr.Events, rate)
	if p.size > 0 {
		pct := 100 * float64(p.counted.n.Load()) / float64(p.size)
		line += fmt.Sprintf("  %5.1f%%", pct)
	}
	fmt.Fprint(p.w, line)
	p.drawn = true
}

func (p *progressBar) done() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
