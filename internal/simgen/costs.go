package simgen

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
