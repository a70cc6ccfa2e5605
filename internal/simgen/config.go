package simgen

import (
	"math/rand/v2"
	"strconv"
)

// role is the behaviour a bank's policy gives it in the model. Roles cycle
// over the banks in this order, so that even a small run has every kind of
// event: the FIFO banks carry the bulk, the others produce holds, splits,
// registers, RTGS withdrawals and collateral timers.
type role uint8

const (
	roleFifo role = iota
	roleLiquidityAware
	roleDeadline
	roleSplitter
	roleMemory
	roleEscalator
	roleCollateral
	roleFifoLimited
	numRoles
)

// policyJSON is each role's policy object in the configuration, named after
// the SimCash policies that behave that way.
var policyJSON = [numRoles]string{
	roleFifo:           `{"type":"Fifo"}`,
	roleLiquidityAware: `{"type":"LiquidityAware","urgency_threshold":2}`,
	roleDeadline:       `{"type":"Deadline","urgency_threshold":10}`,
	roleSplitter:       `{"type":"LiquiditySplitting","max_splits":4,"min_split_amount":50000}`,
	roleMemory:         `{"type":"FromJson","policy_id":"memory_driven_strategist"}`,
	roleEscalator:      `{"type":"FromJson","policy_id":"target2_priority_escalator"}`,
	roleCollateral:     `{"type":"FromJson","policy_id":"target2_crisis_proactive_manager"}`,
	roleFifoLimited:    `{"type":"Fifo"}`,
}

// agent is a bank's fixed configuration.
type agent struct {
	name      string
	role      role
	opening   int64 // opening balance, cents
	unsecured int64 // unsecured intraday credit, cents
	deferred  bool  // incoming payments are credited at the end of the tick
	pool      int64 // liquidity pool, 0 when none
	fraction  float64
	bilateral int64 // per-counterparty daily outflow limit, 0 when none
	multi     int64 // total daily outflow limit, 0 when none
}

// newAgents derives the banks' configuration from the seed. It draws from
// its own PCG stream so that Config needs no event generation.
func newAgents(o Options) []agent {
	n := o.Agents
	if n < 0 {
		n = 0
	}
	r := rng{src: rand.NewPCG(uint64(o.Seed), configStream)}
	width := len(strconv.Itoa(n))
	if width < 2 {
		width = 2
	}
	// Daily outflow a bank can expect. The limits sit a little above it,
	// so they bind on busy days and late in the day, as limits do in
	// practice, rather than all day long.
	var daily float64
	if n > 0 {
		daily = float64(o.EventsPerTick) / nominalEventsPerPayment * meanAmount * float64(o.TicksPerDay) / float64(n)
	}
	fractions := [...]float64{1.0, 0.5, 0.55}
	ag := make([]agent, n)
	for i := range ag {
		a := &ag[i]
		num := strconv.Itoa(i + 1)
		for len(num) < width {
			num = "0" + num
		}
		a.name = "BANK_" + num
		a.role = role(i % int(numRoles))
		a.opening = 400_000 + int64(r.intn(12))*100_000
		a.unsecured = 100_000 + int64(r.intn(4))*100_000
		a.deferred = i%2 == 1
		if i%4 == 3 {
			a.pool = 500_000 + int64(r.intn(6))*250_000
			a.fraction = fractions[r.intn(len(fractions))]
		}
		// One bank of each kind carries a limit (the model tracks one
		// bilateral outflow vector and per-bank totals).
		switch {
		case i == int(roleLiquidityAware) && n > 2:
			a.bilateral = max(roundUp(int64(1.5*daily/float64(n-1)), 10_000), 1_000_000)
		case i == int(roleFifoLimited):
			a.multi = max(roundUp(int64(1.1*daily), 10_000), 2_000_000)
		}
	}
	return ag
}

// Config returns the configuration of the run Write(w, o) produces, as one
// compact JSON object with a fixed key order:
//
//	{"simulation":{"ticks_per_day":T,"num_days":D,"rng_seed":S},
//	 "agents":[{"id":"BANK_01","opening_balance":…,"unsecured_cap":…,"policy":{…},…},…],
//	 "generator":{"package":"github.com/simcash/simdb/internal/gen","events_per_tick":E}}
//
// (shown wrapped). Zero options are replaced by their defaults, so len(agents)
// equals the effective Agents. The generator member records EventsPerTick,
// which the stream depends on but SimCash has no key for, so that the
// configuration alone reproduces the run; its package is generatorName.
// Config does not validate: for options Write rejects it still returns a
// well-formed object.
func Config(o Options) []byte {
	o = o.withDefaults()
	ag := newAgents(o)
	b := make([]byte, 0, 256+len(ag)*160)
	b = append(b, `{"simulation":{"ticks_per_day":`...)
	b = strconv.AppendInt(b, int64(o.TicksPerDay), 10)
	b = append(b, `,"num_days":`...)
	b = strconv.AppendInt(b, int64(o.Days), 10)
	b = append(b, `,"rng_seed":`...)
	b = strconv.AppendInt(b, o.Seed, 10)
	b = append(b, `},"agents":[`...)
	for i := range ag {
		a := &ag[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":"`...)
		b = append(b, a.name...)
		b = append(b, `","opening_balance":`...)
		b = strconv.AppendInt(b, a.opening, 10)
		b = append(b, `,"unsecured_cap":`...)
		b = strconv.AppendInt(b, a.unsecured, 10)
		b = append(b, `,"policy":`...)
		b = append(b, policyJSON[a.role]...)
		if a.deferred {
			b = append(b, `,"deferred_crediting":true`...)
		}
		if a.pool > 0 {
			b = append(b, `,"liquidity_pool":`...)
			b = strconv.AppendInt(b, a.pool, 10)
			b = append(b, `,"liquidity_allocation_fraction":`...)
			b = appendFloat(b, a.fraction)
		}
		if a.bilateral > 0 {
			b = append(b, `,"limits":{"bilateral_limit":`...)
			b = strconv.AppendInt(b, a.bilateral, 10)
			b = append(b, '}')
		}
		if a.multi > 0 {
			b = append(b, `,"limits":{"multilateral_limit":`...)
			b = strconv.AppendInt(b, a.multi, 10)
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	b = append(b, `],"generator":{"package":"`+generatorName+`","events_per_tick":`...)
	b = strconv.AppendInt(b, int64(o.EventsPerTick), 10)
	return append(b, `}}`...)
}
