package event

// knownKeys holds the member names of SimCash's event catalogue (the
// top-level keys and those of its nested cost objects, as the recorded
// streams use them), each mapped to itself. scanObject takes a key's
// string from here when it is one of them: a map lookup by string(bytes)
// does not allocate, so the common keys cost no allocation per event when
// events are decoded (readers split stored details with splitMembers,
// which borrows keys instead). Never written.
var knownKeys = map[string]string{
	"event_type":            "event_type",
	"tick":                  "tick",
	"tx_id":                 "tx_id",
	"amount":                "amount",
	"sender":                "sender",
	"receiver":              "receiver",
	"agent_id":              "agent_id",
	"sender_id":             "sender_id",
	"receiver_id":           "receiver_id",
	"deadline":              "deadline",
	"priority":              "priority",
	"is_divisible":          "is_divisible",
	"internal_priority":     "internal_priority",
	"rtgs_priority":         "rtgs_priority",
	"sender_balance_before": "sender_balance_before",
	"sender_balance_after":  "sender_balance_after",
	"reason":                "reason",
	"source_transactions":   "source_transactions",
	"costs":                 "costs",
	"liquidity_cost":        "liquidity_cost",
	"delay_cost":            "delay_cost",
	"collateral_cost":       "collateral_cost",
	"penalty_cost":          "penalty_cost",
	"split_friction_cost":   "split_friction_cost",
	"total":                 "total",
	"original_priority":     "original_priority",
	"escalated_priority":    "escalated_priority",
	"ticks_until_deadline":  "ticks_until_deadline",
	"boost_applied":         "boost_applied",
	"algorithm":             "algorithm",
	"result":                "result",
	"settlements":           "settlements",
	"settled_value":         "settled_value",
	"register_key":          "register_key",
	"old_value":             "old_value",
	"new_value":             "new_value",
	"decision_path":         "decision_path",
	"max_value":             "max_value",
	"focus_counterparties":  "focus_counterparties",
	"max_per_counterparty":  "max_per_counterparty",
	"new_total":             "new_total",
	"deadline_tick":         "deadline_tick",
	"deadline_penalty_cost": "deadline_penalty_cost",
	"original_reason":       "original_reason",
	"posted_at_tick":        "posted_at_tick",
	"remaining_amount":      "remaining_amount",
	"ticks_overdue":         "ticks_overdue",
	"settled_amount":        "settled_amount",
	"overdue_since_tick":    "overdue_since_tick",
	"total_ticks_overdue":   "total_ticks_overdue",
	"estimated_delay_cost":  "estimated_delay_cost",
	"scenario_event_type":   "scenario_event_type",
	"details_json":          "details_json",
	"balance_after":         "balance_after",
	"requested_amount":      "requested_amount",
	"day":                   "day",
	"agents":                "agents",
	"tx_amounts":            "tx_amounts",
	"total_value":           "total_value",
	"net_positions":         "net_positions",
	"max_net_outflow":       "max_net_outflow",
	"max_net_outflow_agent": "max_net_outflow_agent",
	"tx_ids":                "tx_ids",
	"cycle_value":           "cycle_value",
	"fraction":              "fraction",
	"incoming_tx_id":        "incoming_tx_id",
	"queued_tx_id":          "queued_tx_id",
	"agent_a":               "agent_a",
	"agent_b":               "agent_b",
	"offset_amount":         "offset_amount",
	"incoming_amount":       "incoming_amount",
	"queued_amount":         "queued_amount",
	"queue_wait_ticks":      "queue_wait_ticks",
	"release_reason":        "release_reason",
	"unsettled_count":       "unsettled_count",
	"total_penalties":       "total_penalties",
	"child_ids":             "child_ids",
}

// knownKeyTable holds knownKeys in an open-addressed table of 256 slots,
// placed by keySlot: a lookup hashes three bytes and usually compares one
// key, where the map hashed every byte (about 4% of an ingest's CPU on
// the medium stream). Never written after it is built.
var knownKeyTable = newKeyTable(knownKeys)

func newKeyTable(keys map[string]string) *[256]string {
	var t [256]string
	for k := range keys {
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
