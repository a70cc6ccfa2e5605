package simgen

import "strconv"

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
