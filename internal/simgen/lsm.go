package simgen

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
