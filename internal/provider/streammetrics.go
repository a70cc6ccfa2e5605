package provider

import (
	"hash/maphash"
	"slices"

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
// Transaction ids are kept as 64-bit hashes, and the settled ones — the
// set that grows with the run — in a hashSet of 8 bytes per transaction.
type metricsCounter struct {
	seed     maphash.Seed
	arrivals int64
	cost     int64
	settled  hashSet
	children map[uint64]struct{}
	parents  map[uint64][]uint64
}

func (c *metricsCounter) hash(s string) uint64 {
	if c.children == nil {
		c.seed = maphash.MakeSeed()
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
			c.settled.add(c.hash(id))
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
	c.settled.compact()
	for _, h := range c.settled.sorted {
		if _, child := c.children[h]; !child {
			m.TotalSettlements++
		}
	}
	for _, kids := range c.parents {
		all := true
		for _, k := range kids {
			if !c.settled.has(k) {
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

// hashSet is a set of 64-bit hashes held as a sorted slice, 8 bytes each
// (a Go map spends about three times that, and doubles while it grows):
// additions collect in a short unsorted tail that is merged in once it is
// an eighth of the set, so adding stays amortised O(log n).
type hashSet struct {
	sorted []uint64 // sorted, no repeats
	tail   []uint64 // added since the last compact
}

func (s *hashSet) add(h uint64) {
	s.tail = append(s.tail, h)
	if len(s.tail) >= max(4096, len(s.sorted)/8) {
		s.compact()
	}
}

// compact merges the tail into sorted.
func (s *hashSet) compact() {
	if len(s.tail) == 0 {
		return
	}
	slices.Sort(s.tail)
	s.tail = slices.Compact(s.tail)
	n, m := len(s.sorted), len(s.tail)
	s.sorted = slices.Grow(s.sorted, m)[:n+m]
	// Merge from the back, in place: the largest remaining value goes last.
	i, j, k := n-1, m-1, n+m-1
	for j >= 0 {
		if i >= 0 && s.sorted[i] > s.tail[j] {
			s.sorted[k] = s.sorted[i]
			i--
		} else {
			s.sorted[k] = s.tail[j]
			j--
		}
		k--
	}
	s.sorted = slices.Compact(s.sorted) // a hash both in sorted and the tail
	s.tail = s.tail[:0]
}

func (s *hashSet) has(h uint64) bool {
	s.compact()
	_, ok := slices.BinarySearch(s.sorted, h)
	return ok
}
