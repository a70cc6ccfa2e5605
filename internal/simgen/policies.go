package simgen

import "strconv"

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
