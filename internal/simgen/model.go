package simgen

import (
	"io"
	"math/bits"
	"math/rand/v2"
)

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
