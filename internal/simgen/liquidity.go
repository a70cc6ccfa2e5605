package simgen

import "strconv"

// liquidityAllocation moves each pool bank's allocation for the new day
// into its settlement account (day 0's is part of the opening position).
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
