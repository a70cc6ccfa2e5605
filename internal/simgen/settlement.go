package simgen

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
