package provider

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/simcash/simdb/internal/event"
)

// runConfig is what the simulations row derives from a config.
type runConfig struct {
	hash        string
	rngSeed     *int64
	ticksPerDay int64
	numDays     int64
	numAgents   int64
	// statedDays and statedAgents say whether the config stated num_days
	// and the agents; when it did not, the run's size is recorded from its
	// events when it ends (see PersistSimulationComplete).
	statedDays, statedAgents bool
}

// DefaultTicksPerDay is ticks_per_day for a config that does not state it
// (SimCash: config.get("ticks_per_day", 100)).
const DefaultTicksPerDay = 100

// configScopes are where parseConfig looks for a key, in order: the top
// level, then the objects SimCash nests its settings in — "simulation"
// (its YAML configs), "scenario" and "engine_config" (the scenario and
// engine config a run's *.meta.json records).
var configScopes = []string{"", "simulation", "scenario", "engine_config"}

// parseConfig derives the simulations columns from a config object. A nil
// or empty config is {}. Each key is looked up in configScopes' order:
//   - ticks_per_day: a positive integer; else the ticksPerDay argument
//     when positive, else DefaultTicksPerDay (100);
//   - num_days: a positive integer, default 1;
//   - rng_seed or seed: an integer, NULL when absent;
//   - num_agents: the length of "agents" (or "agent_configs"), else a
//     "num_agents" integer, else 0.
//
// An integer may be spelled in any JSON form of an integral value (100,
// 100.0, 1e2: JSON has one number type, and Python writes a float as
// 100.0); a fraction (100.5) or a value beyond int64 is ErrInvalidConfig.
// Whatever the config holds must pass event.CheckObject: no duplicate key,
// no lone UTF-16 surrogate escape, valid UTF-8, one object.
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

// configJSON is the config_json stored for raw: raw as given, or {} for a
// nil or empty config.
func configJSON(raw json.RawMessage) json.RawMessage {
	if len(bytes.TrimSpace(raw)) == 0 {
		return json.RawMessage("{}")
	}
	return raw
}

// decodeConfig parses a config object and returns it with its hash.
func decodeConfig(raw json.RawMessage) (map[string]any, string, error) {
	raw = configJSON(raw)
	// encoding/json turns invalid UTF-8 into U+FFFD, but config_json keeps
	// raw as given and DuckDB refuses invalid UTF-8 in a VARCHAR.
	if at := invalidUTF8At(raw); at >= 0 {
		return nil, "", fmt.Errorf("%w: not valid UTF-8 at byte %d", ErrInvalidConfig, at)
	}
	// encoding/json accepts duplicate keys (keeping the last, where
	// DuckDB's json_extract reads the first) and lone surrogate escapes
	// (which DuckDB's JSON functions refuse): hold the config to the
	// rules every stored event meets.
	if err := event.CheckObject(raw); err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrInvalidConfig, err)
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
	scopes := make([]map[string]any, 0, len(configScopes))
	for _, name := range configScopes {
		if name == "" {
			scopes = append(scopes, cfg)
		} else if m, ok := cfg[name].(map[string]any); ok {
			scopes = append(scopes, m)
		}
	}
	lookup := func(keys ...string) (any, string) {
		for _, scope := range scopes {
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
		rc.ticksPerDay = DefaultTicksPerDay
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
		rc.statedDays = true
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
			rc.statedAgents = true
		}
	} else if v, key = lookup("num_agents"); v != nil {
		if rc.numAgents, err = configInt(key, v); err != nil {
			return runConfig{}, err
		}
		rc.statedAgents = true
	}
	return rc, nil
}

func configInt(key string, v any) (int64, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("%w: %s must be an integer, got %v", ErrInvalidConfig, key, v)
	}
	i, ok := integralNumber(n.String())
	if !ok {
		return 0, fmt.Errorf("%w: %s must be an integer within int64, got %s", ErrInvalidConfig, key, n)
	}
	return i, nil
}

// integralNumber returns the value of the JSON number s when it is an
// integer within int64, however it is spelled (100, 100.0, 1e2, 1.5e1 is
// 15): exactly, from the decimal digits, never through a float, and in time
// linear in len(s) whatever the exponent.
func integralNumber(s string) (int64, bool) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant = s[:i]
		e, err := strconv.Atoi(s[i+1:])
		if err != nil {
			// An exponent beyond int: the value is 0 (all-zero digits),
			// out of range, or a fraction; none is an int64 but 0.
			e = math.MaxInt32
			if strings.HasPrefix(s[i+1:], "-") {
				e = math.MinInt32
			}
		}
		exp = e
	}
	digits := mant
	if i := strings.IndexByte(mant, '.'); i >= 0 {
		digits = mant[:i] + mant[i+1:]
		exp -= len(mant) - i - 1
	}
	digits = strings.TrimLeft(digits, "0")
	if digits == "" {
		return 0, true
	}
	for len(digits) > 1 && digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
		exp++
	}
	if exp < 0 || len(digits)+exp > 19 {
		return 0, false
	}
	if neg {
		digits = "-" + digits
	}
	v, err := strconv.ParseInt(digits+strings.Repeat("0", exp), 10, 64)
	return v, err == nil
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
