// Package simgen writes deterministic synthetic SimCash event streams for demos
// and benchmarks of any size.
//
// The stream looks like the engine's own output (see
// ../shared/data/simcash-events/README.md): compact JSON Lines, one flat
// object per event, event_type first and tick second, then the event's fields
// in the engine's key order; money is integer cents, register values and
// allocation fractions are floats written with a '.' or an exponent, and
// StateRegisterSet.decision_path carries a raw U+2192 arrow.
//
// The events come from a small model of an RTGS day rather than from
// independent draws, so that causality holds the way a reader of real data
// expects: every payment arrives before it is submitted, queued payments are
// released or offset later and only once, a bank's reported balances follow
// from every payment, credit and offset that touched it, a split parent's
// children arrive before the split is reported, and EndOfDay closes every
// day. The model is deliberately
// cheap: it keeps only pending payments (held by a policy or queued in RTGS),
// and it bounds them by posting collateral for banks whose payments wait too
// long, so memory stays flat however long the run.
//
// Everything random comes from math/rand/v2's PCG seeded from Options.Seed;
// nothing reads the clock or the global generator, so the same Options give
// the same bytes on every run and platform.
package simgen

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
)

// Options describe a synthetic run. The zero value of each field means its
// default; negative values are invalid (Write reports them).
type Options struct {
	// Agents is the number of banks, default 8. Ids are BANK_01, BANK_02, …
	// (zero-padded to the width of the count, at least two digits). At
	// least 2 are needed: a payment has a sender and a different receiver.
	Agents int
	// Days is the number of simulated days, default 1.
	Days int
	// TicksPerDay is the number of ticks in a day, default 100.
	TicksPerDay int
	// Seed seeds the random generator. The same Options (Seed included)
	// always give byte-identical output; any Seed is valid.
	Seed int64
	// EventsPerTick is the target average number of events per tick,
	// default 40. Arrivals are steered so that the running average tracks
	// it; single ticks vary around it, and per-bank bookkeeping (costs, end
	// of day) can exceed a very small target when there are many banks.
	EventsPerTick int
}

// Stats summarises what Write produced.
type Stats struct {
	// Events is the number of event lines generated.
	Events int64
	// Ticks is the number of ticks simulated: Days × TicksPerDay.
	Ticks int64
	// Bytes is the number of bytes the writer accepted.
	Bytes int64
}

const (
	defaultAgents        = 8
	defaultDays          = 1
	defaultTicksPerDay   = 100
	defaultEventsPerTick = 40

	// Streams of the PCG: one for the banks' configuration (shared by
	// Config and Write, so both describe the same banks) and one for the
	// events, so that changing how events are drawn never changes the
	// configuration of a seed.
	configStream = 0x53494d4341534831 // "SIMCASH1"
	eventStream  = 0x53494d4341534832 // "SIMCASH2"

	// flushAt is the size at which the line buffer goes to the writer:
	// large enough that Write calls are rare, small enough to stay in cache.
	flushAt = 64 << 10

	deadlinePenalty = 50000 // cents per payment that goes overdue
	eodPenalty      = 10000 // cents per payment unsettled at end of day
	splitFriction   = 1000  // cents per extra piece of a split payment

	// generatorName identifies this generator in Config. It is the
	// package's import path before it was renamed simgen, kept so that a
	// seed's configuration stays byte-identical to the one already stored
	// with runs generated earlier.
	generatorName = "github.com/simcash/simdb/internal/gen"

	meanAmount = 165000 // mean payment in cents (see amount)
	// nominalEventsPerPayment is the rough number of events one payment
	// causes; it sizes the limits in the configuration before the run
	// starts (the run itself measures the real ratio).
	nominalEventsPerPayment = 6
)

func (o Options) withDefaults() Options {
	if o.Agents == 0 {
		o.Agents = defaultAgents
	}
	if o.Days == 0 {
		o.Days = defaultDays
	}
	if o.TicksPerDay == 0 {
		o.TicksPerDay = defaultTicksPerDay
	}
	if o.EventsPerTick == 0 {
		o.EventsPerTick = defaultEventsPerTick
	}
	return o
}

func (o Options) validate() error {
	switch {
	case o.Agents < 0 || o.Days < 0 || o.TicksPerDay < 0 || o.EventsPerTick < 0:
		return fmt.Errorf("simgen: negative option in %+v", o)
	case o.Agents < 2:
		return errors.New("simgen: at least 2 agents are needed (a payment has two parties)")
	case o.Agents > 1_000_000:
		return fmt.Errorf("simgen: %d agents is more than the 1000000 supported", o.Agents)
	}
	if hi, _ := bits.Mul64(uint64(o.Days), uint64(o.TicksPerDay)); hi != 0 || uint64(o.Days)*uint64(o.TicksPerDay) > math.MaxInt64 {
		return fmt.Errorf("simgen: %d days × %d ticks overflows int64", o.Days, o.TicksPerDay)
	}
	return nil
}

// TotalEvents returns the exact number of events Write produces for o. It
// runs the whole generation (output discarded), so it costs as much time as
// Write; use it to size progress reports, not in a hot path.
func TotalEvents(o Options) (int64, error) {
	st, err := Write(io.Discard, o)
	return st.Events, err
}

// Write generates the run described by o and writes it to w as compact JSON
// Lines, one event object per line, each ending in '\n'. Ticks never
// decrease, every tick lies in 0 … Days×TicksPerDay−1, and the last tick of
// every day carries exactly one EndOfDay (followed, as in the engine, by
// the day's LiquidityReturn events). Output is buffered internally (w needs
// no bufio wrapper) and written in chunks of about 64 KiB.
//
// Invalid options (a negative field, fewer than 2 agents, a tick count that
// overflows int64) are reported before anything is written. On a write
// error Write stops and returns it; the Stats then count what was generated
// and, in Bytes, what w accepted.
func Write(w io.Writer, o Options) (Stats, error) {
	o = o.withDefaults()
	if err := o.validate(); err != nil {
		return Stats{}, err
	}
	g := newGen(w, o)
	total := int64(o.Days) * int64(o.TicksPerDay)
	tpd := int64(o.TicksPerDay)
	for t := int64(0); t < total && g.err == nil; t++ {
		g.tick, g.day = t, t/tpd
		g.runTick(t % tpd)
		g.stats.Ticks++
	}
	g.flush()
	return g.stats, g.err
}

// runTick simulates one tick; tod is the tick's index within its day. The
// steps run in the engine's order, each in the file named for its stage:
// arrivals.go, liquidity.go, policies.go, settlement.go, lsm.go, costs.go.
func (g *gen) runTick(tod int64) {
	if tod == 0 && g.day > 0 {
		g.liquidityAllocation()
	}
	g.scenarios(tod)
	g.arrivals()
	g.collateral()
	g.registers()
	g.escalate()
	g.policies()
	g.settleSubmitted()
	g.queueAndLSM()
	g.deferredCredits()
	g.costs()
	if tod == int64(g.o.TicksPerDay)-1 {
		g.endOfDay()
	}
}
