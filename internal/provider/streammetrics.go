package provider

import (
	"hash/maphash"

	"github.com/simcash/simdb/internal/event"
)

// metricsCounter computes a run's totals from its event stream when the
// engine's own totals are not supplied. The rule (StreamMetrics in the
// README, checked against the engine's totals of the three real streams):
//
//   - arrivals: Arrival events minus the split children that PolicySplit
//     events name (the engine counts original transactions only) — equal to
//     the engine's total_arrivals on all three streams;
//   - settlements: distinct original transactions named by a settlement
//     event (RtgsImmediateSettlement, Queue2LiquidityRelease and
//     RtgsQueue2Settle tx_id; LsmBilateralOffset and LsmCycleSettlement
//     tx_ids; EntryDispositionOffset's two ids), a split parent counting
//     once all its children are — 298/281, 18,855/18,531 and
//     227,704/227,690 against the engine's total_settlements on small,
//     medium and large: LSM events name queued payments the engine does not
//     count as effectively settled at the end of the run;
//   - total cost: the sum of CostAccrual costs.total — equal to the engine's
//     total_cost_cents on all three streams.
//
// Transaction ids are kept as 64-bit hashes so a stream of millions of
// payments needs tens of MB, not hundreds.
type metricsCounter struct {
	seed     maphash.Seed
	arrivals int64
	cost     int64
	settled  map[uint64]struct{}
	children map[uint64]struct{}
	parents  map[uint64][]uint64
}

func (c *metricsCounter) hash(s string) uint64 {
	if c.settled == nil {
		c.seed = maphash.MakeSeed()
		c.settled = make(map[uint64]struct{})
		c.children = make(map[uint64]struct{})
		c.parents = make(map[uint64][]uint64)
	}
	return maphash.String(c.seed, s)
}

func (c *metricsCounter) add(ev *event.Event) {
	switch ev.Type {
	case "Arrival":
		c.arrivals++
	case "PolicySplit":
		if !ev.HasTxID {
			return
		}
		parent := c.hash(ev.TxID)
		for _, id := range ev.TxIDs {
			if id == ev.TxID {
				continue
			}
			h := c.hash(id)
			c.children[h] = struct{}{}
			c.parents[parent] = append(c.parents[parent], h)
		}
	case "RtgsImmediateSettlement", "Queue2LiquidityRelease", "RtgsQueue2Settle",
		"LsmBilateralOffset", "LsmCycleSettlement", "EntryDispositionOffset":
		for _, id := range ev.TxIDs {
			c.settled[c.hash(id)] = struct{}{}
		}
	case "CostAccrual":
		event.Members(ev.Details, func(key string, raw []byte, kind event.Kind) {
			if key != "costs" || kind != event.KindObject {
				return
			}
			event.Members(raw, func(k string, v []byte, kind event.Kind) {
				if k == "total" {
					if n, ok := event.IntOf(v, kind); ok {
						c.cost += n
					}
				}
			})
		})
	}
}

func (c *metricsCounter) metrics() Metrics {
	m := Metrics{TotalArrivals: c.arrivals - int64(len(c.children)), TotalCostCents: c.cost}
	for h := range c.settled {
		if _, child := c.children[h]; !child {
			m.TotalSettlements++
		}
	}
	for _, kids := range c.parents {
		all := true
		for _, k := range kids {
			if _, ok := c.settled[k]; !ok {
				all = false
				break
			}
		}
		if all {
			m.TotalSettlements++
		}
	}
	return m
}
