package testutil

// PartyKeys are the keys under which SimCash's events name their parties
// and the transactions they involve (SIMCASH.md). It is the tests' own
// list, written apart from the library's (internal/event), so that a key
// the library misses fails a test instead of dropping out of both.
type PartyKeys struct {
	// Agent are the keys whose string value names an agent.
	Agent []string
	// AgentLists are the keys whose list of strings names agents.
	AgentLists []string
	// Tx are the keys whose string value names a transaction.
	Tx []string
	// TxLists are the keys whose list of strings names transactions.
	TxLists []string
	// ScenarioAgent are, inside ScenarioEventExecuted's details_json (a
	// string holding an object), the scenario's own names for an agent,
	// besides those of Agent.
	ScenarioAgent []string
}

// SimCashPartyKeys returns the party and transaction keys of SimCash's
// event catalogue; each call returns new slices.
func SimCashPartyKeys() PartyKeys {
	return PartyKeys{
		Agent:         []string{"sender_id", "receiver_id", "sender", "receiver", "agent_id", "agent_a", "agent_b", "max_net_outflow_agent"},
		AgentLists:    []string{"agents"},
		Tx:            []string{"tx_id", "incoming_tx_id", "queued_tx_id"},
		TxLists:       []string{"tx_ids", "child_ids", "source_transactions"},
		ScenarioAgent: []string{"from_agent", "to_agent", "agent", "counterparty"},
	}
}
