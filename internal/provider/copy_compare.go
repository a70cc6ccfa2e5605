package provider

import (
	"bytes"
	"database/sql"
	"strconv"
)

// How CopyRuns tells a run at the target apart from the source's: the
// columns it compares and the text it names a difference with.

// runDiff names the first column, apart from the wall-clock ones
// (started_at, completed_at), where the target's run differs from the
// source's, with both values; "" when none does. A target still running
// (a copy cut short) is compared on its start columns and must not be
// ahead of the source.
func runDiff(src, dst Simulation) (field, va, vb string) {
	type col struct{ name, a, b string }
	cols := []col{
		{"config_json", string(src.ConfigJSON), string(dst.ConfigJSON)},
		{"config_hash", src.ConfigHash, dst.ConfigHash},
		{"config_file", strOrNull(src.ConfigFile), strOrNull(dst.ConfigFile)},
		{"rng_seed", intOrNull(src.RngSeed), intOrNull(dst.RngSeed)},
		{"ticks_per_day", itoa(src.TicksPerDay), itoa(dst.TicksPerDay)},
		{"experiment_run_id", strOrNull(src.ExperimentRunID), strOrNull(dst.ExperimentRunID)},
		{"experiment_iteration", int32OrNull(src.ExperimentIteration), int32OrNull(dst.ExperimentIteration)},
	}
	if dst.Status == "running" {
		if dst.EventCount > src.EventCount {
			return "event_count", itoa(src.EventCount), itoa(dst.EventCount) + " (running)"
		}
	} else {
		cols = append(cols,
			col{"status", src.Status, dst.Status},
			col{"event_count", itoa(src.EventCount), itoa(dst.EventCount)},
			col{"last_tick", intOrNull(src.LastTick), intOrNull(dst.LastTick)},
			col{"num_days", itoa(src.NumDays), itoa(dst.NumDays)},
			col{"num_agents", itoa(src.NumAgents), itoa(dst.NumAgents)},
			col{"total_ticks", itoa(src.TotalTicks), itoa(dst.TotalTicks)},
			col{"total_arrivals", intOrNull(src.TotalArrivals), intOrNull(dst.TotalArrivals)},
			col{"total_settlements", intOrNull(src.TotalSettlements), intOrNull(dst.TotalSettlements)},
			col{"total_cost_cents", intOrNull(src.TotalCostCents), intOrNull(dst.TotalCostCents)},
			col{"duration_seconds", floatOrNull(src.DurationSeconds), floatOrNull(dst.DurationSeconds)},
			col{"ticks_per_second", floatOrNull(src.TicksPerSecond), floatOrNull(dst.TicksPerSecond)},
			col{"error_message", strOrNull(src.ErrorMessage), strOrNull(dst.ErrorMessage)},
		)
	}
	for _, c := range cols {
		if c.a != c.b {
			return c.name, c.a, c.b
		}
	}
	return "", "", ""
}

// eventDiff names the first stored column, apart from the wall-clock ones,
// where two events differ ("" when none does). The agent and transaction
// lists are derived from these columns, so they agree when these do.
func eventDiff(a, b *StoredEvent) (field, va, vb string) {
	switch {
	case a.Seq != b.Seq:
		return "seq", itoa(a.Seq), itoa(b.Seq)
	case a.Tick != b.Tick:
		return "tick", itoa(a.Tick), itoa(b.Tick)
	case a.Day != b.Day:
		return "day", itoa(a.Day), itoa(b.Day)
	case a.EventType != b.EventType:
		return "event_type", strconv.Quote(a.EventType), strconv.Quote(b.EventType)
	case !sameString(a.AgentID, b.AgentID):
		return "agent_id", strOrNull(a.AgentID), strOrNull(b.AgentID)
	case !sameString(a.TxID, b.TxID):
		return "tx_id", strOrNull(a.TxID), strOrNull(b.TxID)
	case !bytes.Equal(a.Details, b.Details):
		return "details", string(a.Details), string(b.Details)
	case a.layout != b.layout:
		return "key_layout", strconv.Itoa(int(a.layout)), strconv.Itoa(int(b.layout))
	}
	return "", "", ""
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// sameString says whether a and b are both nil (NULL) or point to equal
// strings: eventDiff runs for every event a copy compares, so it compares
// before it formats.
func sameString(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func strOrNull(v *string) string {
	if v == nil {
		return "NULL"
	}
	return strconv.Quote(*v)
}

func intOrNull(v *int64) string {
	if v == nil {
		return "NULL"
	}
	return itoa(*v)
}

func int32OrNull(v *int32) string {
	if v == nil {
		return "NULL"
	}
	return strconv.Itoa(int(*v))
}

func floatOrNull(v *float64) string {
	if v == nil {
		return "NULL"
	}
	return strconv.FormatFloat(*v, 'g', -1, 64)
}

func optString(v *string) sql.NullString {
	if v == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: *v, Valid: true}
}

func optInt(v *int64) sql.NullInt64 {
	if v == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: *v, Valid: true}
}

func optFloat(v *float64) sql.NullFloat64 {
	if v == nil {
		return sql.NullFloat64{}
	}
	return sql.NullFloat64{Float64: *v, Valid: true}
}
