package event

import "strconv"

// moneyRule says how a money member of a known event type is shaped.
type moneyRule byte

const (
	moneyScalar   moneyRule = iota + 1 // an integer number of cents
	moneyNullable                      // an integer number of cents or null
	moneyArray                         // an array of integer cents
	moneyObject                        // an object whose every value is integer cents
)

// moneyFields lists, per event type, the members that hold money
// (../shared/SIMCASH.md, the `$` fields). INV-1: money is int64 cents; a
// fraction, an exponent, a string or an out-of-range number is an error,
// never rounded. Event types not listed here are stored unchecked.
var moneyFields = map[string]map[string]moneyRule{
	"Arrival":                   {"amount": moneyScalar},
	"CollateralPost":            {"amount": moneyScalar, "new_total": moneyScalar},
	"CollateralWithdraw":        {"amount": moneyScalar, "new_total": moneyScalar},
	"CollateralTimerWithdrawn":  {"amount": moneyScalar, "new_total": moneyScalar},
	"CollateralTimerBlocked":    {"requested_amount": moneyScalar},
	"BankBudgetSet":             {"max_value": moneyScalar, "max_per_counterparty": moneyNullable},
	"RtgsImmediateSettlement":   {"amount": moneyScalar, "sender_balance_before": moneyScalar, "sender_balance_after": moneyScalar},
	"RtgsSubmission":            {"amount": moneyScalar},
	"Queue2LiquidityRelease":    {"amount": moneyScalar},
	"RtgsQueue2Settle":          {"amount": moneyScalar},
	"LsmBilateralOffset":        {"amount_a": moneyScalar, "amount_b": moneyScalar, "amount": moneyScalar},
	"LsmCycleSettlement":        {"tx_amounts": moneyArray, "net_positions": moneyArray, "total_value": moneyScalar, "cycle_value": moneyScalar, "max_net_outflow": moneyScalar},
	"CostAccrual":               {"costs": moneyObject},
	"EndOfDay":                  {"total_penalties": moneyScalar},
	"TransactionWentOverdue":    {"amount": moneyScalar, "remaining_amount": moneyScalar, "deadline_penalty_cost": moneyScalar},
	"OverdueTransactionSettled": {"amount": moneyScalar, "settled_amount": moneyScalar, "deadline_penalty_cost": moneyScalar, "estimated_delay_cost": moneyScalar},
	"BilateralLimitExceeded":    {"amount": moneyScalar, "current_bilateral_outflow": moneyScalar, "bilateral_limit": moneyScalar},
	"MultilateralLimitExceeded": {"amount": moneyScalar, "current_total_outflow": moneyScalar, "multilateral_limit": moneyScalar},
	"AlgorithmExecution":        {"settled_value": moneyScalar},
	"EntryDispositionOffset":    {"offset_amount": moneyScalar, "incoming_amount": moneyScalar, "queued_amount": moneyScalar},
	"DeferredCreditApplied":     {"amount": moneyScalar},
	"LiquidityReturn":           {"amount": moneyScalar, "balance_after": moneyScalar},
	"LiquidityAllocation":       {"amount": moneyScalar, "balance_after": moneyScalar},
}

func checkMoney(line []byte, m *member, rule moneyRule) error {
	raw := line[m.valStart:m.valEnd]
	switch rule {
	case moneyScalar, moneyNullable:
		if rule == moneyNullable && m.kind == KindNull {
			return nil
		}
		return checkCents(m.key, raw, m.kind)
	case moneyArray:
		if m.kind != KindArray {
			return &FieldError{Field: m.key, Msg: "must be an array of integer cents, got " + m.kind.String()}
		}
		n := 0
		return forEachElement(raw, func(el []byte, kind Kind) error {
			err := checkCents(m.key+"["+strconv.Itoa(n)+"]", el, kind)
			n++
			return err
		})
	case moneyObject:
		if m.kind != KindObject {
			return &FieldError{Field: m.key, Msg: "must be an object of integer cents, got " + m.kind.String()}
		}
		inner, err := scanObject(raw, nil)
		if err != nil {
			if fe, ok := err.(*FieldError); ok {
				fe.Field = m.key + "." + fe.Field
			}
			return err
		}
		for i := range inner {
			in := &inner[i]
			if err := checkCents(m.key+"."+in.key, raw[in.valStart:in.valEnd], in.kind); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkCents(field string, raw []byte, kind Kind) error {
	if kind != KindNumber {
		return &FieldError{Field: field, Msg: "money must be an integer number of cents, got " + kind.String() + " " + clip(raw)}
	}
	if _, err := parseInt(raw); err != nil {
		return &FieldError{Field: field, Msg: "money must be an integer number of cents (int64, no fraction or exponent), got " + clip(raw)}
	}
	return nil
}

// clip shortens a raw value for an error message.
func clip(raw []byte) string {
	const max = 40
	if len(raw) > max {
		return string(raw[:max]) + "…"
	}
	return string(raw)
}
