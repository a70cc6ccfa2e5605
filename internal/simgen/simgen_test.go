package simgen

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/simcash/simdb/internal/event"
)

// generate runs Write into memory and fails the test on error.
func generate(t testing.TB, o Options) ([]byte, Stats) {
	t.Helper()
	var buf bytes.Buffer
	st, err := Write(&buf, o)
	if err != nil {
		t.Fatalf("Write(%+v): %v", o, err)
	}
	return buf.Bytes(), st
}

func splitLines(t testing.TB, out []byte) [][]byte {
	t.Helper()
	if len(out) > 0 && out[len(out)-1] != '\n' {
		t.Fatalf("output does not end in a newline")
	}
	lines := bytes.Split(out, []byte{'\n'})
	return lines[:len(lines)-1]
}

func TestDeterministic(t *testing.T) {
	for _, o := range []Options{
		{},
		{Agents: 8, Days: 2, Seed: 42},
		{Agents: 3, Days: 3, TicksPerDay: 7, Seed: -5, EventsPerTick: 3},
		{Agents: 40, TicksPerDay: 20, Seed: 987654321, EventsPerTick: 400},
	} {
		t.Run(fmt.Sprintf("%+v", o), func(t *testing.T) {
			a, sa := generate(t, o)
			b, sb := generate(t, o)
			if sha256.Sum256(a) != sha256.Sum256(b) || sa != sb {
				t.Fatalf("two runs differ: %d vs %d bytes, stats %+v vs %+v", len(a), len(b), sa, sb)
			}
			if !bytes.Equal(Config(o), Config(o)) {
				t.Fatal("Config differs between calls")
			}
			o2 := o
			o2.Seed++
			c, _ := generate(t, o2)
			if sha256.Sum256(a) == sha256.Sum256(c) {
				t.Fatalf("seeds %d and %d give the same stream", o.Seed, o2.Seed)
			}
			if bytes.Equal(Config(o), Config(o2)) {
				t.Fatalf("seeds %d and %d give the same config", o.Seed, o2.Seed)
			}
		})
	}
}

func TestConfig(t *testing.T) {
	for _, o := range []Options{
		{},
		{Agents: 3, Days: 2, TicksPerDay: 10, Seed: -1},
		{Agents: 150, Seed: 1 << 62, EventsPerTick: 500},
	} {
		cfg := Config(o)
		var c struct {
			Simulation struct {
				TicksPerDay *int64 `json:"ticks_per_day"`
				NumDays     *int64 `json:"num_days"`
				RngSeed     *int64 `json:"rng_seed"`
			} `json:"simulation"`
			Agents []struct {
				ID             string          `json:"id"`
				OpeningBalance int64           `json:"opening_balance"`
				Policy         json.RawMessage `json:"policy"`
			} `json:"agents"`
			Generator struct {
				EventsPerTick int `json:"events_per_tick"`
			} `json:"generator"`
		}
		if err := json.Unmarshal(cfg, &c); err != nil {
			t.Fatalf("Config(%+v) is not JSON: %v\n%s", o, err, cfg)
		}
		if !json.Valid(cfg) || bytes.ContainsAny(cfg, " \n") {
			t.Fatalf("Config(%+v) is not compact JSON", o)
		}
		d := o.withDefaults()
		s := c.Simulation
		if s.TicksPerDay == nil || *s.TicksPerDay != int64(d.TicksPerDay) || s.NumDays == nil || *s.NumDays != int64(d.Days) ||
			s.RngSeed == nil || *s.RngSeed != o.Seed || c.Generator.EventsPerTick != d.EventsPerTick {
			t.Fatalf("Config(%+v) simulation = %s", o, cfg)
		}
		if len(c.Agents) != d.Agents {
			t.Fatalf("Config(%+v) has %d agents", o, len(c.Agents))
		}
		ids := map[string]bool{}
		for _, a := range c.Agents {
			if ids[a.ID] || !strings.HasPrefix(a.ID, "BANK_") || a.OpeningBalance <= 0 || !json.Valid(a.Policy) {
				t.Fatalf("Config(%+v): bad agent %+v", o, a)
			}
			ids[a.ID] = true
		}
		// The stream names exactly the configured banks.
		if d.Agents <= 8 {
			out, _ := generate(t, o)
			for _, line := range splitLines(t, out) {
				ev, err := event.Decode(line)
				if err != nil {
					t.Fatal(err)
				}
				for _, a := range ev.Agents {
					if !ids[a] {
						t.Fatalf("stream names bank %q, not in the config", a)
					}
				}
			}
		}
	}
	if got := string(Config(Options{Agents: 2, Seed: 9})); !strings.HasPrefix(got, `{"simulation":{"ticks_per_day":100,"num_days":1,"rng_seed":9},"agents":[{"id":"BANK_01",`) {
		t.Fatalf("Config layout: %s", got)
	}
}

func TestInvalidOptions(t *testing.T) {
	for _, o := range []Options{
		{Agents: 1},
		{Agents: -3},
		{Days: -1},
		{TicksPerDay: -1},
		{EventsPerTick: -1},
		{Days: 1 << 40, TicksPerDay: 1 << 40},
	} {
		var buf bytes.Buffer
		if st, err := Write(&buf, o); err == nil || buf.Len() != 0 || st != (Stats{}) {
			t.Errorf("Write(%+v) = %+v, %v, wrote %d bytes; want an error and nothing written", o, st, err, buf.Len())
		}
	}
}

type failWriter struct{ left int }

var errDisk = errors.New("disk full")

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) > w.left {
		n := w.left
		w.left = 0
		return n, errDisk
	}
	w.left -= len(p)
	return len(p), nil
}

func TestWriteError(t *testing.T) {
	w := &failWriter{left: 100_000}
	st, err := Write(w, Options{Days: 50})
	if !errors.Is(err, errDisk) {
		t.Fatalf("err = %v, want %v", err, errDisk)
	}
	if st.Bytes != 100_000 || st.Ticks >= 5000 {
		t.Fatalf("stats after failure %+v: want 100000 bytes and an early stop", st)
	}
}

func TestTotalEvents(t *testing.T) {
	o := Options{Agents: 5, Days: 3, Seed: 11, EventsPerTick: 25}
	n, err := TotalEvents(o)
	_, st := generate(t, o)
	if err != nil || n != st.Events {
		t.Fatalf("TotalEvents = %d, %v; Write made %d", n, err, st.Events)
	}
}

// TestBounded runs a long simulation and checks that the model's state (what
// Write keeps in memory) stays small: pending payments are bounded by the
// collateral mechanism, not by the run length.
func TestBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("long run")
	}
	for _, o := range []Options{
		{Days: 400, Seed: 1},
		{Agents: 30, Days: 20, EventsPerTick: 1000, Seed: 2},
	} {
		o = o.withDefaults()
		g := newGen(io.Discard, o)
		tpd := int64(o.TicksPerDay)
		limit := 8*o.EventsPerTick + 256
		worst := 0
		for tick := int64(0); tick < int64(o.Days)*tpd; tick++ {
			g.tick, g.day = tick, tick/tpd
			g.runTick(tick % tpd)
			if n := len(g.q1) + len(g.q2) + len(g.timers); n > worst {
				worst = n
			}
			if worst > limit {
				t.Fatalf("%+v: %d payments and timers pending at tick %d", o, worst, tick)
			}
		}
		if g.pendTotal != int64(len(g.q1)+len(g.q2)) {
			t.Fatalf("pending count %d, queues hold %d", g.pendTotal, len(g.q1)+len(g.q2))
		}
		t.Logf("%+v: at most %d pending, %d events", o, worst, g.stats.Events)
	}
}

// TestAppendFloat checks that floats read as the engine's Python repr writes
// them: shortest digits, always a '.' or an exponent.
func TestAppendFloat(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{0, "0.0"}, {1, "1.0"}, {2, "2.0"}, {0.5, "0.5"}, {0.55, "0.55"},
		{0.7000000000000001, "0.7000000000000001"}, {29.799999999999997, "29.799999999999997"},
		{-3, "-3.0"}, {1e-5, "1e-05"}, {1e16, "1e+16"}, {123456789, "123456789.0"},
	} {
		if got := string(appendFloat(nil, tc.v)); got != tc.want {
			t.Errorf("appendFloat(%v) = %s, want %s", tc.v, got, tc.want)
		}
	}
}

// BenchmarkWrite measures generation alone (output discarded). The default
// case is the shape of the demos; "wide" is the large real run's shape
// (40 banks, ~800 events per tick).
func BenchmarkWrite(b *testing.B) {
	for _, bc := range []struct {
		name string
		o    Options
	}{
		{"default", Options{Days: 25, Seed: 1}},
		{"wide", Options{Agents: 40, Days: 2, EventsPerTick: 800, Seed: 1}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var events, size int64
			for b.Loop() {
				st, err := Write(io.Discard, bc.o)
				if err != nil {
					b.Fatal(err)
				}
				events += st.Events
				size = st.Bytes
			}
			b.SetBytes(size)
			b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
