package cli

// The config files of ingest: a run's config (JSON or YAML) and its totals
// (a .meta.json file).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strconv"

	"github.com/simcash/simdb"
	"github.com/simcash/simdb/internal/event"
	"go.yaml.in/yaml/v3"
)

// loadConfig reads a JSON or YAML config and returns it as JSON. A JSON file
// is returned byte for byte (config_json stores the config exactly as
// given) once it passes the rules of every JSON simdb stores
// (event.CheckObject: no duplicate key, no lone surrogate escape); YAML is
// converted.
func loadConfig(path string) (json.RawMessage, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	trimmed := bytes.TrimSpace(data)
	if json.Valid(trimmed) {
		if err := event.CheckObject(trimmed); err != nil {
			return nil, fmt.Errorf("config %s: %w: %w", path, simdb.ErrInvalidConfig, err)
		}
		return json.RawMessage(trimmed), nil
	}
	var doc any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("config %s: neither JSON nor YAML: %w", path, err)
	}
	js, err := json.Marshal(yamlToJSON(doc))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return js, nil
}

// yamlToJSON turns YAML's map[any]any-free decoding (yaml.v3 gives
// map[string]any) into something encoding/json accepts, converting any
// non-string keys to strings.
func yamlToJSON(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = yamlToJSON(x)
		}
		return t
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[fmt.Sprint(k)] = yamlToJSON(x)
		}
		return m
	case []any:
		for i, x := range t {
			t[i] = yamlToJSON(x)
		}
		return t
	}
	return v
}

// loadMetrics reads final metrics: the keys at the top level, or a SimCash
// meta file's "totals" with "generation_wall_seconds" as the duration.
// Counts and money must be integers (INV-1); the cost is total_cost_cents
// or SimCash's total_costs, not both. The file must pass
// event.CheckObject (no duplicate key, no lone surrogate escape): with two
// values for a total, which one is meant cannot be known.
func loadMetrics(path string) (simdb.Metrics, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return simdb.Metrics{}, fmt.Errorf("metrics: %w", err)
	}
	if err := event.CheckObject(data); err != nil {
		return simdb.Metrics{}, fmt.Errorf("metrics %s: %w", path, err)
	}
	var doc map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return simdb.Metrics{}, fmt.Errorf("metrics %s: not a JSON object: %w", path, err)
	}
	src := doc
	if totals, ok := doc["totals"]; ok {
		if err := json.Unmarshal(totals, &src); err != nil {
			return simdb.Metrics{}, fmt.Errorf("metrics %s: totals: %w", path, err)
		}
		if d, ok := doc["generation_wall_seconds"]; ok {
			src["duration_seconds"] = d
		}
	}
	if costs, ok := src["total_costs"]; ok {
		if _, both := src["total_cost_cents"]; both {
			return simdb.Metrics{}, fmt.Errorf("metrics %s: both total_costs and total_cost_cents given; keep one", path)
		}
		src["total_cost_cents"] = costs
	}
	var m simdb.Metrics
	for key, dst := range map[string]*int64{
		"total_arrivals": &m.TotalArrivals, "total_settlements": &m.TotalSettlements, "total_cost_cents": &m.TotalCostCents,
	} {
		raw, ok := src[key]
		if !ok {
			return m, fmt.Errorf("metrics %s: %s is missing", path, key)
		}
		v, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil {
			return m, fmt.Errorf("metrics %s: %s must be an integer, got %s", path, key, raw)
		}
		*dst = v
	}
	if raw, ok := src["duration_seconds"]; ok {
		v, err := strconv.ParseFloat(string(raw), 64)
		if err != nil || v < 0 {
			return m, fmt.Errorf("metrics %s: duration_seconds must be a non-negative number, got %s", path, raw)
		}
		m.DurationSeconds = v
	}
	return m, nil
}
