package provider

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
)

// runConfig is what the simulations row derives from a config.
type runConfig struct {
	hash        string
	rngSeed     *int64
	ticksPerDay int64
	numDays     int64
	numAgents   int64
}

// parseConfig derives the simulations columns from a config object. Keys
// are looked up at the top level first, then under "simulation" (SimCash's
// YAML configs nest them there):
//   - ticks_per_day: required, a positive integer;
//   - num_days: a positive integer, default 1;
//   - rng_seed or seed: an integer, NULL when absent;
//   - num_agents: the length of "agents" (or "agent_configs"), else a
//     "num_agents" integer, else 0.
//
// config_hash is the SHA-256 of the config re-encoded canonically: object
// keys sorted, no whitespace, numbers exactly as written, strings escaped
// by encoding/json without HTML escaping.
func parseConfig(raw json.RawMessage, ticksPerDay int64) (runConfig, error) {
	cfg, hash, err := decodeConfig(raw)
	if err != nil {
		return runConfig{}, err
	}
	rc := runConfig{hash: hash}
	return rc.derive(cfg, ticksPerDay)
}

// ConfigHash returns the config_hash PersistSimulationStart would store for
// config (see parseConfig), or ErrInvalidConfig when config is not one JSON
// object. Callers use it to check a config against a stored run.
func ConfigHash(config json.RawMessage) (string, error) {
	_, hash, err := decodeConfig(config)
	return hash, err
}

// decodeConfig parses a config object and returns it with its hash.
func decodeConfig(raw json.RawMessage) (map[string]any, string, error) {
	// encoding/json turns invalid UTF-8 into U+FFFD, but config_json keeps
	// raw as given and DuckDB refuses invalid UTF-8 in a VARCHAR.
	if at := invalidUTF8At(raw); at >= 0 {
		return nil, "", fmt.Errorf("%w: not valid UTF-8 at byte %d", ErrInvalidConfig, at)
	}
	var cfg map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&cfg); err != nil {
		return nil, "", fmt.Errorf("%w: not a JSON object: %v", ErrInvalidConfig, err)
	}
	if cfg == nil {
		return nil, "", fmt.Errorf("%w: not a JSON object", ErrInvalidConfig)
	}
	// dec.More() misses a stray '}' or ']' after the object; config_json
	// stores raw as given, so it must be exactly one JSON value.
	if end := dec.InputOffset(); len(bytes.TrimLeft(raw[end:], " \t\r\n")) > 0 {
		return nil, "", fmt.Errorf("%w: trailing data after the JSON object at byte %d", ErrInvalidConfig, end)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(cfg); err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	sum := sha256.Sum256(bytes.TrimRight(buf.Bytes(), "\n"))
	return cfg, hex.EncodeToString(sum[:]), nil
}

// derive fills the scalar columns from a decoded config.
func (rc runConfig) derive(cfg map[string]any, ticksPerDay int64) (runConfig, error) {

	sim, _ := cfg["simulation"].(map[string]any)
	lookup := func(keys ...string) (any, string) {
		for _, scope := range []map[string]any{cfg, sim} {
			for _, k := range keys {
				if v, ok := scope[k]; ok && v != nil {
					return v, k
				}
			}
		}
		return nil, ""
	}
	var err error
	v, key := lookup("ticks_per_day")
	switch {
	case v == nil && ticksPerDay > 0:
		rc.ticksPerDay = ticksPerDay
	case v == nil:
		return runConfig{}, fmt.Errorf("%w: ticks_per_day is required (top level or under simulation, or given separately)", ErrInvalidConfig)
	default:
		if rc.ticksPerDay, err = configInt(key, v); err != nil {
			return runConfig{}, err
		}
		if ticksPerDay > 0 && ticksPerDay != rc.ticksPerDay {
			return runConfig{}, fmt.Errorf("%w: ticks_per_day %d given, but the config says %d", ErrInvalidConfig, ticksPerDay, rc.ticksPerDay)
		}
	}
	if rc.ticksPerDay <= 0 {
		return runConfig{}, fmt.Errorf("%w: ticks_per_day must be positive, got %d", ErrInvalidConfig, rc.ticksPerDay)
	}
	rc.numDays = 1
	if v, key = lookup("num_days"); v != nil {
		if rc.numDays, err = configInt(key, v); err != nil {
			return runConfig{}, err
		}
		if rc.numDays <= 0 {
			return runConfig{}, fmt.Errorf("%w: num_days must be positive, got %d", ErrInvalidConfig, rc.numDays)
		}
	}
	if rc.numDays > math.MaxInt64/rc.ticksPerDay {
		return runConfig{}, fmt.Errorf("%w: ticks_per_day × num_days overflows int64", ErrInvalidConfig)
	}
	if v, key = lookup("rng_seed", "seed"); v != nil {
		seed, err := configInt(key, v)
		if err != nil {
			return runConfig{}, err
		}
		rc.rngSeed = &seed
	}
	if v, _ = lookup("agents", "agent_configs"); v != nil {
		if list, ok := v.([]any); ok {
			rc.numAgents = int64(len(list))
		}
	} else if v, key = lookup("num_agents"); v != nil {
		if rc.numAgents, err = configInt(key, v); err != nil {
			return runConfig{}, err
		}
	}
	return rc, nil
}

func configInt(key string, v any) (int64, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("%w: %s must be an integer, got %v", ErrInvalidConfig, key, v)
	}
	i, err := strconv.ParseInt(n.String(), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %s must be an integer within int64, got %s", ErrInvalidConfig, key, n)
	}
	return i, nil
}

// invalidUTF8At returns the offset of the first byte of b that is not valid
// UTF-8, or -1.
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return -1
}
