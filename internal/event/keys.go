package event

// knownKeys are the member names of SimCash's event catalogue (the
// top-level keys and those of its nested cost objects, as the recorded
// streams use them). scanObject takes a key's string from knownKeyTable
// when it is one of them, so the common keys cost no allocation per event
// when events are decoded (readers split stored details with
// splitMembers, which borrows keys instead). Never written.
var knownKeys = []string{
	"event_type", "tick", "tx_id", "amount", "sender", "receiver", "agent_id",
	"sender_id", "receiver_id", "deadline", "priority", "is_divisible",
	"internal_priority", "rtgs_priority", "sender_balance_before",
	"sender_balance_after", "reason", "source_transactions", "costs",
	"liquidity_cost", "delay_cost", "collateral_cost", "penalty_cost",
	"split_friction_cost", "total", "original_priority", "escalated_priority",
	"ticks_until_deadline", "boost_applied", "algorithm", "result",
	"settlements", "settled_value", "register_key", "old_value", "new_value",
	"decision_path", "max_value", "focus_counterparties",
	"max_per_counterparty", "new_total", "deadline_tick",
	"deadline_penalty_cost", "original_reason", "posted_at_tick",
	"remaining_amount", "ticks_overdue", "settled_amount",
	"overdue_since_tick", "total_ticks_overdue", "estimated_delay_cost",
	"scenario_event_type", "details_json", "balance_after",
	"requested_amount", "day", "agents", "tx_amounts", "total_value",
	"net_positions", "max_net_outflow", "max_net_outflow_agent", "tx_ids",
	"cycle_value", "fraction", "incoming_tx_id", "queued_tx_id", "agent_a",
	"agent_b", "offset_amount", "incoming_amount", "queued_amount",
	"queue_wait_ticks", "release_reason", "unsettled_count",
	"total_penalties", "child_ids",
}

// knownKeyTable holds knownKeys in an open-addressed table of 256 slots,
// placed by keySlot: a lookup hashes three bytes and usually compares one
// key, where a map hashes every byte (BENCHMARKS.md, "simdb bench on the
// medium stream"). Never written after it is built.
var knownKeyTable = newKeyTable(knownKeys)

func newKeyTable(keys []string) *[256]string {
	var t [256]string
	for _, k := range keys {
		h := keySlot([]byte(k))
		for t[h] != "" {
			h++
		}
		t[h] = k
	}
	return &t
}

// keySlot is where the lookup of b (not empty) starts.
func keySlot(b []byte) uint8 {
	n := len(b)
	return uint8(n*31 + int(b[0])*7 + int(b[n/2])*3 + int(b[n-1]))
}

// keyString returns the key b names, shared when it is a known key.
func keyString(b []byte) string {
	if len(b) > 0 {
		for h := keySlot(b); knownKeyTable[h] != ""; h++ {
			if knownKeyTable[h] == string(b) {
				return knownKeyTable[h]
			}
		}
	}
	return string(b)
}
