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
	"math/rand/v2"
	"strconv"
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

// tx is a payment the model still tracks. Settled payments are forgotten;
// only this tick's arrivals and submissions and the pending ones (held by a
// policy or queued in RTGS) exist at any time.
type tx struct {
	id           [36]byte
	sender       int32
	receiver     int32
	amount       int64
	deadline     int64 // absolute tick
	queuedAt     int64 // tick it entered the RTGS queue
	overdueSince int64 // tick it went overdue, -1 while not overdue
	priority     int8  // priority at arrival
	boost        int8  // escalation applied so far
	holds        int16 // PolicyHold events so far
	flags        uint8
}

const (
	fDead        uint8 = 1 << iota // settled or dropped; removed at the next compaction
	fCycle                         // scenario triangle payment, settled by the LSM cycle pass
	fPair                          // scenario opposite pair: its offset never fails
	fLSM                           // (with fPair) queued at once, offset by the bilateral pass
	fLimited                       // queued because a limit bound, not liquidity
	fResubmitted                   // withdrawn and resubmitted once already

	// fScenario marks the huge scenario payments no bank can pay alone;
	// they are resolved by offsetting in the tick they arrive.
	fScenario = fCycle | fPair
)

// timer is a preemptive collateral posting that is withdrawn automatically.
type timer struct {
	agent    int32
	tries    int32
	amount   int64
	postedAt int64
}

// rng wraps the PCG with the few draws the model needs. It calls the
// concrete source directly: this is the hot path of a generator that must
// produce millions of events per second.
type rng struct{ src *rand.PCG }

func (r rng) u64() uint64 { return r.src.Uint64() }

// intn returns a value in [0, n) by multiply-shift; the bias (below 2^-40
// for the n used here) is irrelevant for synthetic data, and unlike
// rejection sampling it consumes exactly one draw, which keeps runs stable.
func (r rng) intn(n int) int {
	hi, _ := bits.Mul64(r.src.Uint64(), uint64(n))
	return int(hi)
}

func (r rng) float() float64 { return float64(r.src.Uint64()>>11) * 0x1p-53 }

func (r rng) chance(p float64) bool { return r.float() < p }

type gen struct {
	rng
	w     io.Writer
	o     Options
	out   []byte
	err   error
	stats Stats

	tick, day int64
	ag        []agent
	bal       []int64 // settlement-account balance, may be negative (credit)
	coll      []int64 // posted collateral, adds to the credit headroom
	timerColl []int64 // part of coll that a timer will withdraw
	pendN     []int32 // pending payments per sender
	pendAmt   []int64
	need      []int64 // collateral to post next tick for long-waiting queued payments
	allocated []int64 // today's liquidity-pool allocation
	stress    []float64
	mode      []float64
	dcAmt     []int64      // deferred credits of this tick, per receiver
	dcIDs     [][][36]byte // their transactions
	deferred  []int32      // banks with deferred crediting
	memory    []int32      // banks with state registers
	collat    []int32      // banks posting collateral preemptively
	pools     []int32      // banks with a liquidity pool

	bilOut     []int64 // today's outflow of each bilateral-limited bank, per receiver
	multiOut   []int64 // today's total outflow, per bank
	limitedN   int     // payments queued by a limit
	pendTotal  int64
	dayPenalty int64

	incoming  []tx // this tick's arrivals, in arrival order
	q1, q1nxt []tx // payments a policy holds
	submitted []tx // this tick's RTGS submissions, in order
	q2        []tx // RTGS queue
	overdue   []*tx
	timers    []timer
	idBuf     [][36]byte
	amtBuf    []int64

	arrived   int64   // payments generated so far, for the rate controller
	aux       float64 // probability of per-tick housekeeping events
	timerDur  int64
	waitLimit int64
}

func newGen(w io.Writer, o Options) *gen {
	n := o.Agents
	g := &gen{
		rng:       rng{src: rand.NewPCG(uint64(o.Seed), eventStream)},
		w:         w,
		o:         o,
		out:       make([]byte, 0, flushAt+8<<10),
		ag:        newAgents(o),
		bal:       make([]int64, n),
		coll:      make([]int64, n),
		timerColl: make([]int64, n),
		pendN:     make([]int32, n),
		pendAmt:   make([]int64, n),
		need:      make([]int64, n),
		allocated: make([]int64, n),
		stress:    make([]float64, n),
		mode:      make([]float64, n),
		dcAmt:     make([]int64, n),
		dcIDs:     make([][][36]byte, n),
		multiOut:  make([]int64, n),
		bilOut:    make([]int64, n),
		// Housekeeping events (registers, budgets, algorithm reports) come
		// once per tick in the engine; at a small target they would swamp
		// the payments, so they are thinned in proportion.
		aux:       min(1, float64(o.EventsPerTick)/100),
		timerDur:  min(50, max(1, int64(o.TicksPerDay)/2)),
		waitLimit: min(8, max(1, int64(o.TicksPerDay)/4)),
	}
	for i := range g.ag {
		a := &g.ag[i]
		g.bal[i] = a.opening
		if a.pool > 0 {
			// Day 0's allocation is part of the opening position; later
			// days report theirs with LiquidityAllocation.
			g.allocated[i] = int64(float64(a.pool) * a.fraction)
			g.bal[i] += g.allocated[i]
			g.pools = append(g.pools, int32(i))
		}
		if a.deferred {
			g.deferred = append(g.deferred, int32(i))
		}
		switch a.role {
		case roleMemory:
			g.memory = append(g.memory, int32(i))
		case roleCollateral:
			g.collat = append(g.collat, int32(i))
		}
	}
	return g
}

// ---- output ----------------------------------------------------------------

const hexDigits = "0123456789abcdef"

// uuidPos maps the 32 hex digits of a UUID to their places in its text.
var uuidPos = [32]uint8{
	0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 14, 15, 16, 17,
	19, 20, 21, 22, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35,
}

// newID fills id with a random version-4 UUID, the form the engine's ids
// take, drawn from the run's generator so that ids repeat with the seed.
func (g *gen) newID(id *[36]byte) {
	hi := g.u64()&^0xf000 | 0x4000
	lo := g.u64()&^(0xc<<60) | 0x8<<60
	for i := 0; i < 16; i++ {
		id[uuidPos[i]] = hexDigits[hi>>(60-4*i)&0xf]
		id[uuidPos[16+i]] = hexDigits[lo>>(60-4*i)&0xf]
	}
	id[8], id[13], id[18], id[23] = '-', '-', '-', '-'
}

// appendFloat writes v the way the engine's Python binding does (repr):
// shortest round-trip digits, always with a '.' or an exponent so the value
// reads back as a float, exponent form outside [1e-4, 1e16).
func appendFloat(b []byte, v float64) []byte {
	if a := math.Abs(v); a != 0 && (a < 1e-4 || a >= 1e16) {
		return strconv.AppendFloat(b, v, 'e', -1, 64)
	}
	start := len(b)
	b = strconv.AppendFloat(b, v, 'f', -1, 64)
	for _, c := range b[start:] {
		if c == '.' {
			return b
		}
	}
	return append(b, '.', '0')
}

// begin starts an event line. Keys passed to the field writers below carry
// their leading comma, quotes and colon (`,"amount":`) so that a field is
// two appends; values written unescaped are bank names, UUIDs and fixed
// ASCII words, none of which needs escaping.
func (g *gen) begin(eventType string) {
	g.out = append(g.out, `{"event_type":"`...)
	g.out = append(g.out, eventType...)
	g.out = append(g.out, `","tick":`...)
	g.out = strconv.AppendInt(g.out, g.tick, 10)
}

func (g *gen) end() {
	g.out = append(g.out, '}', '\n')
	g.stats.Events++
	if len(g.out) >= flushAt {
		g.flush()
	}
}

func (g *gen) flush() {
	if len(g.out) == 0 || g.err != nil {
		g.out = g.out[:0]
		return
	}
	n, err := g.w.Write(g.out)
	g.stats.Bytes += int64(n)
	if err == nil && n < len(g.out) {
		err = io.ErrShortWrite
	}
	g.err = err
	g.out = g.out[:0]
}

func (g *gen) int(key string, v int64) {
	g.out = append(g.out, key...)
	g.out = strconv.AppendInt(g.out, v, 10)
}

func (g *gen) float(key string, v float64) {
	g.out = append(g.out, key...)
	g.out = appendFloat(g.out, v)
}

func (g *gen) str(key, v string) {
	g.out = append(g.out, key...)
	g.out = append(g.out, '"')
	g.out = append(g.out, v...)
	g.out = append(g.out, '"')
}

func (g *gen) raw(s string) { g.out = append(g.out, s...) }

func (g *gen) agentField(key string, a int32) { g.str(key, g.ag[a].name) }

func (g *gen) id(key string, id *[36]byte) {
	g.out = append(g.out, key...)
	g.out = append(g.out, '"')
	g.out = append(g.out, id[:]...)
	g.out = append(g.out, '"')
}

func (g *gen) idList(key string, ids [][36]byte) {
	g.out = append(g.out, key...)
	g.out = append(g.out, '[')
	for i := range ids {
		if i > 0 {
			g.out = append(g.out, ',')
		}
		g.out = append(g.out, '"')
		g.out = append(g.out, ids[i][:]...)
		g.out = append(g.out, '"')
	}
	g.out = append(g.out, ']')
}

func (g *gen) intList(key string, v []int64) {
	g.out = append(g.out, key...)
	g.out = append(g.out, '[')
	for i, x := range v {
		if i > 0 {
			g.out = append(g.out, ',')
		}
		g.out = strconv.AppendInt(g.out, x, 10)
	}
	g.out = append(g.out, ']')
}

// ---- model helpers -----------------------------------------------------------

// avail is what a bank can pay out now: balance plus credit headroom.
func (g *gen) avail(a int32) int64 { return g.bal[a] + g.ag[a].unsecured + g.coll[a] }

func (g *gen) addPending(t *tx, sign int) {
	g.pendN[t.sender] += int32(sign)
	g.pendAmt[t.sender] += int64(sign) * t.amount
	g.pendTotal += int64(sign)
}

// credit pays amount to bank r: at once, or at the end of the tick for a
// bank with deferred crediting (reported by DeferredCreditApplied).
func (g *gen) credit(r int32, amount int64, id *[36]byte) {
	if g.ag[r].deferred {
		g.dcAmt[r] += amount
		g.dcIDs[r] = append(g.dcIDs[r], *id)
		return
	}
	g.bal[r] += amount
}

// limitOK reports whether paying t keeps its sender within its limits.
func (g *gen) limitOK(t *tx) bool {
	a := &g.ag[t.sender]
	if a.bilateral > 0 && g.bilOut[t.receiver]+t.amount > a.bilateral {
		return false
	}
	return a.multi == 0 || g.multiOut[t.sender]+t.amount <= a.multi
}

// book records a payment settled gross against its sender's limits.
// Offset payments are not booked: only their net moves money.
func (g *gen) book(t *tx) {
	if g.ag[t.sender].bilateral > 0 {
		g.bilOut[t.receiver] += t.amount
	}
	g.multiOut[t.sender] += t.amount
}

// pickSender draws two banks and mostly takes the richer one; pickReceiver
// mostly takes the poorer of two. Uniform parties would let balances drift
// apart as a random walk until some bank could never pay again; this pull
// toward the middle keeps queues short over runs of any length.
func (g *gen) pickSender() int32 {
	n := len(g.ag)
	a, b := int32(g.intn(n)), int32(g.intn(n))
	if (g.bal[b] > g.bal[a]) == g.chance(0.6) {
		return b
	}
	return a
}

func (g *gen) pickReceiver(s int32) int32 {
	n := len(g.ag) - 1
	a, b := int32(g.intn(n)), int32(g.intn(n))
	if a >= s {
		a++
	}
	if b >= s {
		b++
	}
	if (g.bal[b] < g.bal[a]) == g.chance(0.6) {
		return b
	}
	return a
}

var priorities = [10]int8{3, 3, 5, 5, 5, 5, 5, 7, 7, 9}

// amount draws a payment of 200.00 to 6 000.00: the product of two uniform
// draws, so small payments are common and large ones rare (mean about
// 1 650.00), like the engine's log-normal amounts. It is integer arithmetic
// on purpose: math.Exp and math.Log have assembly versions on some
// architectures that may round differently from the pure-Go ones, and the
// stream must not depend on the machine.
func (g *gen) amount() int64 {
	const lo, span = 20_000, 580_000
	return lo + int64(g.intn(span+1))*int64(g.intn(1<<20))>>20
}

func roundUp(v, unit int64) int64 { return (v + unit - 1) / unit * unit }

// ---- one tick, in the engine's order -------------------------------------

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

func (g *gen) liquidityAllocation() {
	for _, a := range g.pools {
		ag := &g.ag[a]
		amt := int64(float64(ag.pool) * ag.fraction)
		g.allocated[a] = amt
		g.bal[a] += amt
		g.begin("LiquidityAllocation")
		g.int(`,"day":`, g.day)
		g.agentField(`,"agent_id":`, a)
		g.float(`,"fraction":`, ag.fraction)
		g.int(`,"amount":`, amt)
		g.int(`,"balance_after":`, g.bal[a])
		g.end()
	}
}

// scenarios fires the day's scheduled scenario events at fixed fractions of
// the day, like a SimCash scenario file would.
func (g *gen) scenarios(tod int64) {
	tpd := int64(g.o.TicksPerDay)
	n := len(g.ag)
	if tod == tpd/10 {
		g.begin("ScenarioEventExecuted")
		switch g.day % 3 {
		case 0:
			g.raw(`,"scenario_event_type":"global_arrival_rate_change","details_json":"{\"multiplier\":1.3}"`)
		case 1:
			a := int32(g.intn(n))
			old := float64(g.o.EventsPerTick) / nominalEventsPerPayment / float64(n)
			g.raw(`,"scenario_event_type":"agent_arrival_rate_change","details_json":"{\"agent\":\"`)
			g.raw(g.ag[a].name)
			g.raw(`\",\"multiplier\":1.5,\"new_rate\":`)
			g.out = appendFloat(g.out, old*1.5)
			g.raw(`,\"old_rate\":`)
			g.out = appendFloat(g.out, old)
			g.raw(`}"`)
		default:
			g.raw(`,"scenario_event_type":"deadline_window_change","details_json":"{\"max_ticks_multiplier\":0.9,\"min_ticks_multiplier\":0.8}"`)
		}
		g.end()
	}
	if tod == tpd/5 && n >= 3 {
		g.triangle()
	}
	if tod == 2*tpd/5 && n >= 2 {
		g.opposite(g.day%2 == 1)
	}
	if tod == 3*tpd/5 && n >= 2 {
		g.opposite(g.day%2 == 0)
	}
	if tod == 3*tpd/10 {
		a := int32(g.intn(n))
		g.coll[a] += 1_000_000
		g.begin("ScenarioEventExecuted")
		g.raw(`,"scenario_event_type":"collateral_adjustment","details_json":"{\"agent\":\"`)
		g.raw(g.ag[a].name)
		g.raw(`\",\"delta\":1000000}"`)
		g.end()
	}
	if tod == tpd/2 {
		from := int32(g.intn(n))
		to := g.pickReceiver(from)
		g.bal[from] -= 500_000
		g.bal[to] += 500_000
		g.begin("ScenarioEventExecuted")
		g.raw(`,"scenario_event_type":"direct_transfer","details_json":"{\"amount\":500000,\"from_agent\":\"`)
		g.raw(g.ag[from].name)
		g.raw(`\",\"to_agent\":\"`)
		g.raw(g.ag[to].name)
		g.raw(`\"}"`)
		g.end()
	}
	if tod == 7*tpd/10 {
		g.scheduledSettlement()
	}
}

// triangle injects three large payments A→B→C→A that no bank can pay
// alone; they queue and the LSM settles them as one cycle this tick, the
// way the medium and large real runs exercise cycle settlement.
func (g *gen) triangle() {
	n := len(g.ag)
	a := int32(g.intn(n))
	b := int32(g.intn(n - 1))
	if b >= a {
		b++
	}
	c := int32(g.intn(n - 2))
	for _, x := range [2]int32{min(a, b), max(a, b)} {
		if c >= x {
			c++
		}
	}
	base := g.hugeAmount()
	parties := [4]int32{a, b, c, a}
	for k := 0; k < 3; k++ {
		g.customArrival(parties[k], parties[k+1], base-20_000*int64(k), fCycle)
	}
}

// opposite injects two large payments A→B and B→A that only offsetting can
// settle: with lsm set both queue and the bilateral pass offsets them,
// otherwise the second is offset on entry (entry disposition), as in the
// large real run's same-tick opposite pairs.
func (g *gen) opposite(lsm bool) {
	n := len(g.ag)
	a := int32(g.intn(n))
	b := int32(g.intn(n - 1))
	if b >= a {
		b++
	}
	base := g.hugeAmount()
	flags := fPair
	if lsm {
		flags |= fLSM
	}
	g.customArrival(a, b, base-30_000, flags)
	g.customArrival(b, a, base, flags)
}

// hugeAmount is a round amount well above what any bank could pay now.
func (g *gen) hugeAmount() int64 {
	var top int64
	for i := range g.ag {
		top = max(top, g.avail(int32(i)))
	}
	return (top/1_000_000 + 10 + int64(g.intn(60))) * 1_000_000
}

// customArrival injects a scenario payment: its Arrival, then the
// ScenarioEventExecuted that caused it, whose details_json is a JSON object
// with sorted keys, written as a string.
func (g *gen) customArrival(from, to int32, amount int64, flags uint8) {
	t := tx{
		sender: from, receiver: to, amount: amount,
		deadline: g.tick + 30, overdueSince: -1, priority: 8, flags: flags,
	}
	g.newID(&t.id)
	g.emitArrival(&t)
	g.begin("ScenarioEventExecuted")
	g.raw(`,"scenario_event_type":"custom_transaction_arrival","details_json":"{\"amount\":`)
	g.out = strconv.AppendInt(g.out, t.amount, 10)
	g.raw(`,\"deadline\":`)
	g.out = strconv.AppendInt(g.out, t.deadline, 10)
	g.raw(`,\"from_agent\":\"`)
	g.raw(g.ag[t.sender].name)
	g.raw(`\",\"is_divisible\":false,\"priority\":8,\"to_agent\":\"`)
	g.raw(g.ag[t.receiver].name)
	g.raw(`\",\"tx_id\":\"`)
	g.out = append(g.out, t.id[:]...)
	g.raw(`\"}"`)
	g.end()
	g.incoming = append(g.incoming, t)
}

// scheduledSettlement settles a fixed transfer whose id the engine derives
// from its parties (no Arrival), or reports that it could not.
func (g *gen) scheduledSettlement() {
	from := int32(g.intn(len(g.ag)))
	to := g.pickReceiver(from)
	const amt = 250_000
	ok := g.avail(from) >= amt
	if ok {
		g.begin("RtgsImmediateSettlement")
		g.raw(`,"tx_id":"scheduled_settlement_`)
		g.raw(g.ag[from].name)
		g.raw("_")
		g.raw(g.ag[to].name)
		g.raw("_250000_")
		g.out = strconv.AppendInt(g.out, g.tick, 10)
		g.raw(`"`)
		g.agentField(`,"sender":`, from)
		g.agentField(`,"receiver":`, to)
		g.int(`,"amount":`, amt)
		g.int(`,"sender_balance_before":`, g.bal[from])
		g.bal[from] -= amt
		g.int(`,"sender_balance_after":`, g.bal[from])
		g.end()
		// Credited at once even for a deferred bank: the engine settles
		// scheduled transfers outside the tick's payment flow.
		g.bal[to] += amt
	}
	g.begin("ScenarioEventExecuted")
	g.raw(`,"scenario_event_type":"scheduled_settlement","details_json":"{\"amount\":250000,\"from_agent\":\"`)
	g.raw(g.ag[from].name)
	if ok {
		g.raw(`\",\"settled\":true,\"to_agent\":\"`)
	} else {
		g.raw(`\",\"reason\":\"insufficient_liquidity\",\"settled\":false,\"to_agent\":\"`)
	}
	g.raw(g.ag[to].name)
	g.raw(`\"}"`)
	g.end()
}

func (g *gen) emitArrival(t *tx) {
	g.begin("Arrival")
	g.id(`,"tx_id":`, &t.id)
	g.agentField(`,"sender_id":`, t.sender)
	g.agentField(`,"receiver_id":`, t.receiver)
	g.int(`,"amount":`, t.amount)
	g.int(`,"deadline":`, t.deadline)
	g.int(`,"priority":`, int64(t.priority))
	g.raw(`,"is_divisible":false`)
	g.end()
}

// arrivals draws this tick's new payments. Their number is steered so that
// the events written so far track EventsPerTick per tick: half of the
// running shortfall (or excess) is made up each tick, divided by the
// measured number of events per payment, with ±40% noise so that ticks
// differ.
//
// Every product below is wrapped in float64(): the Go spec lets a compiler
// fuse x*y+z into one FMA instruction (arm64, ppc64, s390x do), which rounds
// differently, and a one-ulp difference here would change the number of
// arrivals and so every byte after it. An explicit conversion forbids the
// fusion, so a seed gives the same stream on every architecture.
func (g *gen) arrivals() {
	target := float64(g.o.EventsPerTick)
	behind := float64(target*float64(g.tick)) - float64(g.stats.Events)
	want := min(max(target+float64(0.5*behind), 0), float64(3*target))
	perPayment := float64(nominalEventsPerPayment)
	if g.arrived > 100 {
		perPayment = min(max(float64(g.stats.Events)/float64(g.arrived), 2), 50)
	}
	x := float64(want/perPayment) * (0.6 + float64(0.8*g.rng.float()))
	n := int(x)
	if g.rng.float() < x-float64(n) {
		n++
	}
	for ; n > 0; n-- {
		s := g.pickSender()
		r := g.pickReceiver(s)
		// Some payments answer a queued one (a counterparty paying back),
		// which is what gives the offsetting algorithms opposite pairs.
		if len(g.q2) > 0 && g.chance(0.15) {
			if q := &g.q2[g.intn(len(g.q2))]; q.flags&(fDead|fScenario|fLimited) == 0 {
				s, r = q.receiver, q.sender
			}
		}
		t := tx{
			sender:       s,
			receiver:     r,
			amount:       g.amount(),
			deadline:     g.tick + 5 + int64(g.intn(36)),
			overdueSince: -1,
			priority:     priorities[g.intn(len(priorities))],
		}
		g.newID(&t.id)
		g.emitArrival(&t)
		g.incoming = append(g.incoming, t)
		g.arrived++
	}
}

// collateral posts collateral where payments have waited too long (this is
// what keeps the RTGS queue bounded), lets the collateral-policy banks post
// preemptively, and runs the withdrawal timers of earlier preemptive posts.
func (g *gen) collateral() {
	for a := range g.need {
		if g.need[a] <= 0 {
			continue
		}
		amt := roundUp(g.need[a], 100_000)
		g.need[a] = 0
		g.coll[a] += amt
		g.collateralEvent("CollateralPost", int32(a), amt, "UrgentLiquidityNeed")
	}
	for _, a := range g.collat {
		if (g.pendN[a] > 0 || g.avail(a) < g.ag[a].opening) && len(g.timers) < 256 && g.chance(0.35) {
			amt := 250_000 + int64(g.intn(8))*125_000
			g.coll[a] += amt
			g.timerColl[a] += amt
			g.timers = append(g.timers, timer{agent: a, amount: amt, postedAt: g.tick})
			g.collateralEvent("CollateralPost", a, amt, "PreemptivePosting")
		}
	}
	kept := g.timers[:0]
	for _, tm := range g.timers {
		if g.tick-tm.postedAt < g.timerDur {
			kept = append(kept, tm)
			continue
		}
		a := tm.agent
		used := max(0, -g.bal[a])
		allowed := g.ag[a].unsecured + g.coll[a]
		headroom := allowed - used
		if headroom >= tm.amount+g.pendAmt[a] {
			g.coll[a] -= tm.amount
			g.timerColl[a] -= tm.amount
			g.begin("CollateralTimerWithdrawn")
			g.agentField(`,"agent_id":`, a)
			g.int(`,"amount":`, tm.amount)
			g.raw(`,"original_reason":"PreemptivePosting"`)
			g.int(`,"posted_at_tick":`, tm.postedAt)
			g.int(`,"new_total":`, g.coll[a])
			g.end()
			continue
		}
		g.begin("CollateralTimerBlocked")
		g.agentField(`,"agent_id":`, a)
		g.int(`,"requested_amount":`, tm.amount)
		g.raw(`,"reason":"No headroom available for withdrawal: credit_used=`)
		g.out = strconv.AppendInt(g.out, used, 10)
		g.raw(`, allowed_limit=`)
		g.out = strconv.AppendInt(g.out, allowed, 10)
		g.raw(`, headroom=`)
		g.out = strconv.AppendInt(g.out, headroom, 10)
		g.raw(`","original_reason":"PreemptivePosting"`)
		g.int(`,"posted_at_tick":`, tm.postedAt)
		g.end()
		// A timer that keeps failing gives up; its collateral stays as
		// ordinary collateral, released at the end of a calm day.
		if tm.tries++; tm.tries < 3 {
			kept = append(kept, tm)
		} else {
			g.timerColl[a] -= tm.amount
		}
	}
	g.timers = kept
}

func (g *gen) collateralEvent(eventType string, a int32, amt int64, reason string) {
	g.begin(eventType)
	g.agentField(`,"agent_id":`, a)
	g.int(`,"amount":`, amt)
	g.str(`,"reason":`, reason)
	g.int(`,"new_total":`, g.coll[a])
	g.end()
}

// registers runs the decision-tree banks' state registers and budgets: a
// stress level that rises under pressure and decays by 0.1 (in float
// arithmetic, so values like 0.7000000000000001 appear as in real data),
// and a mode switch.
func (g *gen) registers() {
	p := g.aux / float64(max(1, len(g.memory)))
	for _, a := range g.memory {
		if !g.chance(p) {
			continue
		}
		old := g.stress[a]
		up := (g.pendN[a] > 0 || g.bal[a] < 0) && old < 29
		if up {
			g.stress[a] = old + 1
		} else if old-0.1 < 0.05 {
			g.stress[a] = 0
		} else {
			g.stress[a] = old - 0.1
		}
		g.begin("StateRegisterSet")
		g.agentField(`,"agent_id":`, a)
		g.raw(`,"register_key":"bank_state_stress"`)
		g.float(`,"old_value":`, old)
		g.float(`,"new_value":`, g.stress[a])
		if up {
			g.raw(`,"reason":"High pressure detected","decision_path":"B_UpdateState(true) → B_IncStress"`)
		} else {
			g.raw(`,"reason":"Decaying stress level","decision_path":"B_UpdateState(false) → B_DecStress"`)
		}
		g.end()
		if g.mode[a] == 0 && g.stress[a] >= 3 && g.chance(0.3) {
			g.mode[a] = 2
			g.begin("StateRegisterSet")
			g.agentField(`,"agent_id":`, a)
			g.raw(`,"register_key":"bank_state_mode","old_value":0.0,"new_value":2.0,"reason":"enter_aggressive_mode","decision_path":"B_Root(false) → B_CheckMode(true) → B_SetAggressiveMode(true) → B_ActivateAggressive"`)
			g.end()
		}
		g.begin("BankBudgetSet")
		g.agentField(`,"agent_id":`, a)
		g.int(`,"max_value":`, max(0, g.bal[a]+g.ag[a].unsecured)*int64(80+g.intn(21))/100)
		g.raw(`,"focus_counterparties":null,"max_per_counterparty":null`)
		g.end()
	}
}

// escalate raises the priority of payments close to their deadline, in
// steps at 12, 5 and 2 ticks left, each step reported once.
func (g *gen) escalate() {
	for _, list := range [3][]tx{g.q1, g.q2, g.incoming} {
		for i := range list {
			t := &list[i]
			if t.flags&(fDead|fScenario) != 0 {
				continue
			}
			left := t.deadline - g.tick
			var boost int8
			switch {
			case left < 0:
				continue
			case left <= 2:
				boost = 3
			case left <= 5:
				boost = 2
			case left <= 12:
				boost = 1
			}
			if boost <= t.boost {
				continue
			}
			t.boost = boost
			g.begin("PriorityEscalated")
			g.id(`,"tx_id":`, &t.id)
			g.agentField(`,"sender_id":`, t.sender)
			g.int(`,"original_priority":`, int64(t.priority))
			g.int(`,"escalated_priority":`, int64(min(10, t.priority+boost)))
			g.int(`,"ticks_until_deadline":`, left)
			g.int(`,"boost_applied":`, int64(boost))
			g.end()
		}
	}
}

// policies runs each bank's policy over the payments it holds and the new
// arrivals: submit, hold, split or drop. The escalator bank first pulls
// long-queued payments out of RTGS and resubmits them as urgent.
func (g *gen) policies() {
	for i := range g.q2 {
		t := &g.q2[i]
		if t.flags&(fDead|fScenario|fResubmitted) != 0 || g.ag[t.sender].role != roleEscalator || g.tick-t.queuedAt < 3 {
			continue
		}
		t.flags |= fResubmitted
		g.begin("RtgsWithdrawal")
		g.id(`,"tx_id":`, &t.id)
		g.agentField(`,"sender":`, t.sender)
		g.raw(`,"original_rtgs_priority":"Normal"`)
		g.end()
		g.begin("RtgsResubmission")
		g.id(`,"tx_id":`, &t.id)
		g.agentField(`,"sender":`, t.sender)
		if t.priority+t.boost >= 8 {
			g.raw(`,"old_rtgs_priority":"None","new_rtgs_priority":"HighlyUrgent"`)
		} else {
			g.raw(`,"old_rtgs_priority":"None","new_rtgs_priority":"Urgent"`)
		}
		g.end()
	}
	g.q1nxt = g.q1nxt[:0]
	for i := range g.q1 {
		g.evaluate(&g.q1[i], false)
	}
	for i := range g.incoming {
		g.evaluate(&g.incoming[i], true)
	}
	g.q1, g.q1nxt = g.q1nxt, g.q1
	g.incoming = g.incoming[:0]
}

func (g *gen) evaluate(t *tx, fresh bool) {
	if t.flags&fScenario != 0 {
		g.submit(t, fresh)
		return
	}
	a := &g.ag[t.sender]
	left := t.deadline - g.tick
	avail := g.avail(t.sender)
	switch a.role {
	case roleLiquidityAware:
		short := avail-t.amount < a.opening/4
		if short && left < 0 {
			g.begin("PolicyDrop")
			g.agentField(`,"agent_id":`, t.sender)
			g.id(`,"tx_id":`, &t.id)
			g.raw(`,"reason":"Expired deadline"`)
			g.end()
			if !fresh {
				g.addPending(t, -1)
			}
			return
		}
		if short && t.holds < 10 {
			g.hold(t, fresh, `,"reason":"InsufficientLiquidity"`)
			return
		}
	case roleDeadline:
		if left > 10 && (t.priority <= 5 || avail < 2*t.amount) && t.holds < 4 {
			g.begin("PolicyHold")
			g.agentField(`,"agent_id":`, t.sender)
			g.id(`,"tx_id":`, &t.id)
			g.raw(`,"reason":"NearDeadline { ticks_remaining: `)
			g.out = strconv.AppendInt(g.out, left, 10)
			g.raw(` }"`)
			g.end()
			g.keep(t, fresh)
			return
		}
	case roleMemory:
		if g.stress[t.sender] >= 2 && avail < 3*t.amount && t.holds < 3 {
			g.hold(t, fresh, `,"reason":"Custom(\"BufferProtection\")"`)
			return
		}
		if avail < t.amount && t.holds < 2 {
			g.hold(t, fresh, `,"reason":"AwaitingInflows"`)
			return
		}
	case roleSplitter:
		if fresh && avail < t.amount && t.amount >= 100_000 {
			g.split(t)
			return
		}
	}
	g.submit(t, fresh)
}

func (g *gen) hold(t *tx, fresh bool, reason string) {
	g.begin("PolicyHold")
	g.agentField(`,"agent_id":`, t.sender)
	g.id(`,"tx_id":`, &t.id)
	g.raw(reason)
	g.end()
	g.keep(t, fresh)
}

func (g *gen) keep(t *tx, fresh bool) {
	t.holds++
	if fresh {
		g.addPending(t, +1)
	}
	g.q1nxt = append(g.q1nxt, *t)
}

func (g *gen) submit(t *tx, fresh bool) {
	if !fresh {
		g.addPending(t, -1)
	}
	g.rtgsSubmission(t)
	g.begin("PolicySubmit")
	g.agentField(`,"agent_id":`, t.sender)
	g.id(`,"tx_id":`, &t.id)
	g.end()
	g.submitted = append(g.submitted, *t)
}

func (g *gen) rtgsSubmission(t *tx) {
	g.begin("RtgsSubmission")
	g.id(`,"tx_id":`, &t.id)
	g.agentField(`,"sender":`, t.sender)
	g.agentField(`,"receiver":`, t.receiver)
	g.int(`,"amount":`, t.amount)
	g.int(`,"internal_priority":`, int64(min(10, t.priority+t.boost)))
	if t.priority+t.boost >= 10 {
		g.raw(`,"rtgs_priority":"Urgent"`)
	} else {
		g.raw(`,"rtgs_priority":"Normal"`)
	}
	g.end()
}

// split cuts a payment the sender cannot cover into 2–4 pieces. As in the
// engine, each piece arrives and is submitted before the split is reported,
// the split's friction cost comes as its own CostAccrual, and the parent
// has no further events.
func (g *gen) split(t *tx) {
	k := 2 + g.intn(int(min(3, t.amount/50_000-1)))
	base, rem := t.amount/int64(k), t.amount%int64(k)
	first := len(g.submitted)
	for j := 0; j < k; j++ {
		c := *t
		c.amount = base
		if int64(j) >= int64(k)-rem {
			c.amount++
		}
		g.newID(&c.id)
		g.emitArrival(&c)
		g.rtgsSubmission(&c)
		g.submitted = append(g.submitted, c)
	}
	g.costAccrual(t.sender, 0, 0, 0, 0, splitFriction*int64(k-1), 0)
	g.begin("PolicySplit")
	g.agentField(`,"agent_id":`, t.sender)
	g.id(`,"tx_id":`, &t.id)
	g.int(`,"num_splits":`, int64(k))
	g.raw(`,"child_ids":[`)
	for j := first; j < len(g.submitted); j++ {
		if j > first {
			g.out = append(g.out, ',')
		}
		g.out = append(g.out, '"')
		g.out = append(g.out, g.submitted[j].id[:]...)
		g.out = append(g.out, '"')
	}
	g.raw(`]`)
	g.end()
}

// settleSubmitted settles each submission at once if its sender can pay and
// its limits allow, offsets it against an opposite queued payment (entry
// disposition), or queues it.
func (g *gen) settleSubmitted() {
	for i := range g.submitted {
		t := &g.submitted[i]
		if t.flags&fCycle != 0 {
			g.queued(t) // settled by the cycle pass, never pending
			continue
		}
		if t.flags&fLSM != 0 {
			g.queued(t)
			g.addPending(t, +1)
			continue
		}
		// At most 32 payments wait for a limit at a time, so a low limit
		// cannot fill the queue for the rest of the day.
		if t.flags&fScenario == 0 && g.limitedN < 32 && !g.limitOK(t) {
			g.limitExceeded(t)
			t.flags |= fLimited
			g.limitedN++
			g.queued(t)
			g.addPending(t, +1)
			continue
		}
		liquid := g.avail(t.sender) >= t.amount
		// Entry disposition: offset against an opposite queued payment
		// first, always when the payment cannot settle alone, sometimes
		// when it could (saving liquidity is the point of the offset).
		if (!liquid || g.chance(0.25)) && g.entryDisposition(t) {
			continue
		}
		if liquid {
			g.overdueSettled(t)
			g.begin("RtgsImmediateSettlement")
			g.id(`,"tx_id":`, &t.id)
			g.agentField(`,"sender":`, t.sender)
			g.agentField(`,"receiver":`, t.receiver)
			g.int(`,"amount":`, t.amount)
			g.int(`,"sender_balance_before":`, g.bal[t.sender])
			g.bal[t.sender] -= t.amount
			g.int(`,"sender_balance_after":`, g.bal[t.sender])
			g.end()
			g.book(t)
			g.credit(t.receiver, t.amount, &t.id)
			continue
		}
		g.queued(t)
		g.addPending(t, +1)
	}
	g.submitted = g.submitted[:0]
}

func (g *gen) limitExceeded(t *tx) {
	a := &g.ag[t.sender]
	if a.bilateral > 0 && g.bilOut[t.receiver]+t.amount > a.bilateral {
		g.begin("BilateralLimitExceeded")
		g.agentField(`,"sender":`, t.sender)
		g.agentField(`,"receiver":`, t.receiver)
		g.id(`,"tx_id":`, &t.id)
		g.int(`,"amount":`, t.amount)
		g.int(`,"current_bilateral_outflow":`, g.bilOut[t.receiver])
		g.int(`,"bilateral_limit":`, a.bilateral)
		g.end()
		return
	}
	g.begin("MultilateralLimitExceeded")
	g.agentField(`,"sender":`, t.sender)
	g.id(`,"tx_id":`, &t.id)
	g.int(`,"amount":`, t.amount)
	g.int(`,"current_total_outflow":`, g.multiOut[t.sender])
	g.int(`,"multilateral_limit":`, a.multi)
	g.end()
}

func (g *gen) queued(t *tx) {
	g.begin("QueuedRtgs")
	g.id(`,"tx_id":`, &t.id)
	g.agentField(`,"sender_id":`, t.sender)
	g.end()
	t.queuedAt = g.tick
	g.q2 = append(g.q2, *t)
}

// entryDisposition settles an incoming payment against the first queued
// payment going the other way whose net amounts fit both banks. A scenario
// pair payment matches only its partner, and always fits.
func (g *gen) entryDisposition(t *tx) bool {
	pair := t.flags&fPair != 0
	for i := range g.q2 {
		q := &g.q2[i]
		if q.flags&(fDead|fCycle|fLSM|fLimited) != 0 || (q.flags&fPair != 0) != pair ||
			q.sender != t.receiver || q.receiver != t.sender {
			continue
		}
		if !pair && (t.amount-q.amount > g.avail(t.sender) || q.amount-t.amount > g.avail(q.sender)) {
			continue
		}
		g.overdueSettled(q)
		g.begin("EntryDispositionOffset")
		g.id(`,"incoming_tx_id":`, &t.id)
		g.id(`,"queued_tx_id":`, &q.id)
		g.agentField(`,"agent_a":`, t.sender)
		g.agentField(`,"agent_b":`, t.receiver)
		g.int(`,"offset_amount":`, min(t.amount, q.amount))
		g.int(`,"incoming_amount":`, t.amount)
		g.int(`,"queued_amount":`, q.amount)
		g.end()
		net := t.amount - q.amount
		g.bal[t.sender] -= net
		g.bal[t.receiver] += net
		q.flags |= fDead
		g.addPending(q, -1)
		return true
	}
	return false
}

// overdueSettled reports the settlement of a payment that went overdue.
func (g *gen) overdueSettled(t *tx) {
	if t.overdueSince < 0 {
		return
	}
	g.begin("OverdueTransactionSettled")
	g.id(`,"tx_id":`, &t.id)
	g.agentField(`,"sender_id":`, t.sender)
	g.agentField(`,"receiver_id":`, t.receiver)
	g.int(`,"amount":`, t.amount)
	g.int(`,"settled_amount":`, t.amount)
	g.int(`,"deadline_tick":`, t.deadline)
	g.int(`,"overdue_since_tick":`, t.overdueSince)
	ticks := g.tick - t.overdueSince
	g.int(`,"total_ticks_overdue":`, ticks)
	g.int(`,"deadline_penalty_cost":`, deadlinePenalty)
	g.int(`,"estimated_delay_cost":`, t.amount*ticks/10_000)
	g.end()
}

// queueAndLSM runs the queue algorithms in T2 order: release what liquidity
// now covers (1), bilateral offsetting (2), cycle settlement (3), each
// followed by its AlgorithmExecution report.
func (g *gen) queueAndLSM() {
	if len(g.q2) == 0 {
		return
	}
	var n int
	var v int64
	for i := range g.q2 {
		t := &g.q2[i]
		if t.flags&(fDead|fScenario) != 0 || g.avail(t.sender) < t.amount || (t.flags&fLimited != 0 && !g.limitOK(t)) {
			continue
		}
		g.overdueSettled(t)
		g.begin("Queue2LiquidityRelease")
		g.id(`,"tx_id":`, &t.id)
		g.agentField(`,"sender":`, t.sender)
		g.agentField(`,"receiver":`, t.receiver)
		g.int(`,"amount":`, t.amount)
		g.int(`,"queue_wait_ticks":`, g.tick-t.queuedAt)
		g.raw(`,"release_reason":"liquidity_available"`)
		g.end()
		g.bal[t.sender] -= t.amount
		g.book(t)
		g.credit(t.receiver, t.amount, &t.id)
		g.release(t)
		n++
		v += t.amount
	}
	g.algorithm(1, n, v)
	n, v = g.bilateral()
	g.algorithm(2, n, v)
	n, v = g.cycle()
	g.algorithm(3, n, v)

	// Compact the queue and note, per bank, how much collateral would
	// free its payments that have waited too long.
	live := g.q2[:0]
	wait := g.waitLimit
	if len(g.q2) > 4*g.o.EventsPerTick+64 {
		wait = 0 // a queue this long must shrink now, whatever the waits
	}
	for i := range g.q2 {
		t := &g.q2[i]
		if t.flags&fDead != 0 {
			continue
		}
		if t.flags&(fLimited|fScenario) == 0 && g.tick-t.queuedAt >= wait {
			g.need[t.sender] = max(g.need[t.sender], t.amount-g.avail(t.sender))
		}
		live = append(live, *t)
	}
	g.q2 = live
}

func (g *gen) release(t *tx) {
	t.flags |= fDead
	if t.flags&fLimited != 0 {
		g.limitedN--
	}
	g.addPending(t, -1)
}

func (g *gen) algorithm(n int64, settlements int, value int64) {
	if !g.chance(g.aux) {
		return
	}
	g.begin("AlgorithmExecution")
	g.int(`,"algorithm":`, n)
	if settlements > 0 {
		g.raw(`,"result":"Success"`)
	} else {
		g.raw(`,"result":"NoProgress"`)
	}
	g.int(`,"settlements":`, int64(settlements))
	g.int(`,"settled_value":`, value)
	g.end()
}

// bilateral offsets the scenario pair queued for it, if any, then looks
// for one pair of banks with queued payments both ways and offsets all of
// them when the net payer can cover the difference. The search has a fixed
// budget, so a long queue cannot make a tick slow.
func (g *gen) bilateral() (int, int64) {
	var n int
	var v int64
	for i := range g.q2 {
		if p := &g.q2[i]; p.flags&(fLSM|fDead) == fLSM {
			n, v = g.offset(p.sender, p.receiver, true)
			break
		}
	}
	budget := 1024
	for i := 0; i < len(g.q2) && budget > 0; i++ {
		p := &g.q2[i]
		if p.flags&(fDead|fScenario|fLimited) != 0 {
			continue
		}
		for j := i + 1; j < len(g.q2) && budget > 0; j++ {
			budget--
			q := &g.q2[j]
			if q.flags&(fDead|fScenario|fLimited) != 0 || q.sender != p.receiver || q.receiver != p.sender {
				continue
			}
			n2, v2 := g.offset(p.sender, p.receiver, false)
			return n + n2, v + v2
		}
	}
	return n, v
}

// offset settles every queued payment between banks a and b (both ways)
// in one LsmBilateralOffset, if the net payer can cover the difference or
// force is set (a scenario pair, which exists to be offset).
func (g *gen) offset(a, b int32, force bool) (int, int64) {
	var amtA, amtB int64
	g.idBuf = g.idBuf[:0]
	for i := range g.q2 {
		t := &g.q2[i]
		if t.flags&(fDead|fCycle|fLimited) != 0 {
			continue
		}
		switch {
		case t.sender == a && t.receiver == b:
			amtA += t.amount
		case t.sender == b && t.receiver == a:
			amtB += t.amount
		default:
			continue
		}
		g.idBuf = append(g.idBuf, t.id)
	}
	if !force && (amtA-amtB > g.avail(a) || amtB-amtA > g.avail(b)) {
		return 0, 0
	}
	for i := range g.q2 {
		t := &g.q2[i]
		if t.flags&(fDead|fCycle|fLimited) == 0 && (t.sender == a && t.receiver == b || t.sender == b && t.receiver == a) {
			g.overdueSettled(t)
			g.release(t)
		}
	}
	g.bal[a] += amtB - amtA
	g.bal[b] += amtA - amtB
	g.begin("LsmBilateralOffset")
	g.agentField(`,"agent_a":`, a)
	g.agentField(`,"agent_b":`, b)
	g.idList(`,"tx_ids":`, g.idBuf)
	g.int(`,"amount_a":`, amtA)
	g.int(`,"amount_b":`, amtB)
	g.int(`,"amount":`, amtA+amtB)
	g.end()
	return len(g.idBuf), amtA + amtB
}

// cycle settles this tick's scenario triangle as one LSM cycle. agents
// closes the loop (A, B, C, A) and net_positions has one entry per element
// of agents, as the engine writes them.
func (g *gen) cycle() (int, int64) {
	g.idBuf, g.amtBuf = g.idBuf[:0], g.amtBuf[:0]
	var parties [4]int32
	var total int64
	for i := range g.q2 {
		t := &g.q2[i]
		if t.flags&fCycle == 0 || t.flags&fDead != 0 {
			continue
		}
		if len(g.idBuf) < 3 {
			parties[len(g.idBuf)] = t.sender
		}
		g.idBuf = append(g.idBuf, t.id)
		g.amtBuf = append(g.amtBuf, t.amount)
		total += t.amount
		g.bal[t.sender] -= t.amount
		g.bal[t.receiver] += t.amount
		t.flags |= fDead
	}
	if len(g.idBuf) == 0 {
		return 0, 0
	}
	parties[3] = parties[0]
	n := len(g.idBuf)
	var net [4]int64
	var worst int64
	worstAgent := parties[0]
	for k := 0; k < 3 && k < n; k++ {
		net[k] = g.amtBuf[(k+n-1)%n] - g.amtBuf[k] // in from the previous edge, out on its own
		if -net[k] > worst {
			worst, worstAgent = -net[k], parties[k]
		}
	}
	net[3] = net[0]
	g.begin("LsmCycleSettlement")
	g.out = append(g.out, `,"agents":[`...)
	for k := 0; k < 4; k++ {
		if k > 0 {
			g.out = append(g.out, ',')
		}
		g.out = append(g.out, '"')
		g.out = append(g.out, g.ag[parties[k]].name...)
		g.out = append(g.out, '"')
	}
	g.out = append(g.out, ']')
	g.intList(`,"tx_amounts":`, g.amtBuf)
	g.int(`,"total_value":`, total)
	g.intList(`,"net_positions":`, net[:])
	g.int(`,"max_net_outflow":`, worst)
	g.agentField(`,"max_net_outflow_agent":`, worstAgent)
	g.idList(`,"tx_ids":`, g.idBuf)
	g.int(`,"cycle_value":`, total)
	g.end()
	return 1, total
}

// deferredCredits applies the credits held back during the tick.
func (g *gen) deferredCredits() {
	for _, a := range g.deferred {
		if len(g.dcIDs[a]) == 0 {
			continue
		}
		g.bal[a] += g.dcAmt[a]
		g.begin("DeferredCreditApplied")
		g.agentField(`,"agent_id":`, a)
		g.int(`,"amount":`, g.dcAmt[a])
		g.idList(`,"source_transactions":`, g.dcIDs[a])
		g.end()
		g.dcAmt[a] = 0
		g.dcIDs[a] = g.dcIDs[a][:0]
	}
}

// costs marks pending payments past their deadline overdue and accrues each
// bank's cost for the tick: overdraft, delay on pending payments,
// collateral, deadline penalties, and (in total only, as the engine does)
// the opportunity cost of liquidity-pool balances.
func (g *gen) costs() {
	g.overdue = g.overdue[:0]
	for _, list := range [2][]tx{g.q1, g.q2} {
		for i := range list {
			t := &list[i]
			if t.flags&fDead == 0 && t.overdueSince < 0 && g.tick > t.deadline {
				t.overdueSince = g.tick
				g.overdue = append(g.overdue, t)
			}
		}
	}
	// Report per bank, banks in order: sort the (short) list by sender.
	for i := 1; i < len(g.overdue); i++ {
		for j := i; j > 0 && g.overdue[j].sender < g.overdue[j-1].sender; j-- {
			g.overdue[j], g.overdue[j-1] = g.overdue[j-1], g.overdue[j]
		}
	}
	k := 0
	for a := range g.ag {
		var penalty int64
		for ; k < len(g.overdue) && g.overdue[k].sender == int32(a); k++ {
			t := g.overdue[k]
			g.begin("TransactionWentOverdue")
			g.id(`,"tx_id":`, &t.id)
			g.agentField(`,"sender_id":`, t.sender)
			g.agentField(`,"receiver_id":`, t.receiver)
			g.int(`,"amount":`, t.amount)
			g.int(`,"remaining_amount":`, t.amount)
			g.int(`,"deadline_tick":`, t.deadline)
			g.int(`,"ticks_overdue":`, g.tick-t.deadline)
			g.int(`,"deadline_penalty_cost":`, deadlinePenalty)
			g.end()
			penalty += deadlinePenalty
		}
		liquidity := max(0, -g.bal[a]) * 6 / 100_000
		delay := g.pendAmt[a] / 10_000
		collateral := g.coll[a] * 5 / 1_000_000
		var opportunity int64
		if g.ag[a].pool > 0 {
			opportunity = max(0, g.bal[a]) / 5_000_000
		}
		g.dayPenalty += penalty
		g.costAccrual(int32(a), liquidity, delay, collateral, penalty, 0, opportunity)
	}
	g.overdue = g.overdue[:0]
}

// costAccrual reports a bank's costs when they are non-zero; total is the
// sum of the parts plus extra, a cost with no key of its own.
func (g *gen) costAccrual(a int32, liquidity, delay, collateral, penalty, split, extra int64) {
	total := liquidity + delay + collateral + penalty + split + extra
	if total == 0 {
		return
	}
	g.begin("CostAccrual")
	g.agentField(`,"agent_id":`, a)
	g.int(`,"costs":{"liquidity_cost":`, liquidity)
	g.int(`,"delay_cost":`, delay)
	g.int(`,"collateral_cost":`, collateral)
	g.int(`,"penalty_cost":`, penalty)
	g.int(`,"split_friction_cost":`, split)
	g.int(`,"total":`, total)
	g.out = append(g.out, '}')
	g.end()
}

// endOfDay charges end-of-day penalties for unsettled payments, resets the
// registers, releases idle collateral, reports EndOfDay, returns the
// liquidity pools and resets the daily limits. Unsettled payments carry
// over to the next day, as in the engine.
func (g *gen) endOfDay() {
	for a := range g.ag {
		if g.pendN[a] > 0 {
			pen := int64(g.pendN[a]) * eodPenalty
			g.dayPenalty += pen
			g.costAccrual(int32(a), 0, 0, 0, pen, 0, 0)
		}
	}
	for _, a := range g.memory {
		for _, reg := range [2]struct {
			key string
			v   *float64
		}{{"bank_state_mode", &g.mode[a]}, {"bank_state_stress", &g.stress[a]}} {
			g.begin("StateRegisterSet")
			g.agentField(`,"agent_id":`, a)
			g.str(`,"register_key":`, reg.key)
			g.float(`,"old_value":`, *reg.v)
			g.raw(`,"new_value":0.0,"reason":"eod_reset","decision_path":null`)
			g.end()
			*reg.v = 0
		}
	}
	for a := range g.ag {
		free := g.coll[a] - g.timerColl[a]
		if free > 0 && g.pendN[a] == 0 && g.bal[a] >= 0 {
			g.coll[a] -= free
			g.collateralEvent("CollateralWithdraw", int32(a), free, "EndOfDayCleanup")
		}
	}
	g.begin("EndOfDay")
	g.int(`,"day":`, g.day)
	g.int(`,"unsettled_count":`, g.pendTotal)
	g.int(`,"total_penalties":`, g.dayPenalty)
	g.end()
	for _, a := range g.pools {
		g.bal[a] -= g.allocated[a]
		g.begin("LiquidityReturn")
		g.agentField(`,"agent_id":`, a)
		g.int(`,"amount":`, g.allocated[a])
		g.int(`,"balance_after":`, g.bal[a])
		g.end()
		g.allocated[a] = 0
	}
	g.dayPenalty = 0
	clear(g.bilOut)
	clear(g.multiOut)
}
