package provider

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/simcash/simdb/internal/event"
)

var configSeeds = []string{
	`{"simulation":{"ticks_per_day":100,"num_days":2,"rng_seed":42},"agents":[{"id":"BANK_A"},{"id":"BANK_B"}]}`,
	`{"ticks_per_day":10}`,
	`{"ticks_per_day":10,"num_days":3,"seed":-7,"num_agents":4}`,
	`{"ticks_per_day":1,"simulation":{"ticks_per_day":5},"agent_configs":[1,2,3]}`,
	` {"ticks_per_day" : 4 , "x" : "<&>\u00e9\ud83d\ude00" , "y":[1.5e3,-0,null,true]} `,
	`{"ticks_per_day":9223372036854775807,"num_days":2}`,
	`{"ticks_per_day":0}`,
	`{"ticks_per_day":1.5}`,
	`{"ticks_per_day":"7"}`,
	`{"ticks_per_day":1,"ticks_per_day":2}`,
	`[1,2]`,
	`null`,
	`{"ticks_per_day":3} {"x":1}`,
	`{"ticks_per_day":3,"simulation":null,"rng_seed":null}`,
}

// FuzzParseConfig: parseConfig never panics; what it accepts (with or
// without a separately given ticks_per_day) is a JSON object without
// duplicate keys or lone surrogate escapes (config_json stores it as given,
// {} for an empty one, so it must be valid JSON text)
// with positive ticks_per_day and num_days, and its hash is a SHA-256 hex
// digest that does not depend on key order, whitespace or string escaping.
func FuzzParseConfig(f *testing.F) {
	for _, s := range configSeeds {
		f.Add([]byte(s), int64(0))
	}
	f.Add([]byte(`{"num_days":2}`), int64(24))
	f.Add([]byte(`{"simulation":{"ticks_per_day":24}}`), int64(24))
	f.Add([]byte(`{"ticks_per_day":12}`), int64(24))
	f.Add([]byte(""), int64(0))
	f.Add([]byte(`{"scenario":{"ticks_per_day":1e2,"num_days":2.0,"agents":[{}]},"x":"\ud800"}`), int64(0))
	f.Add([]byte(`{"engine_config":{"ticks_per_day":100.0,"rng_seed":-0.0e5}}`), int64(100))
	f.Fuzz(func(t *testing.T, in []byte, ticksPerDay int64) {
		rc, err := parseConfig(in, ticksPerDay)
		if err != nil {
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("parseConfig(%q) error does not wrap ErrInvalidConfig: %v", in, err)
			}
			return
		}
		// config_json stores the input as given, or {} for an empty one.
		if stored := configJSON(in); !json.Valid(stored) || !utf8.Valid(stored) {
			t.Fatalf("parseConfig accepted %q, which is not valid JSON text", in)
		}
		if event.CheckObject(configJSON(in)) != nil {
			t.Fatalf("parseConfig accepted %q, which breaks the rules of stored JSON", in)
		}
		if rc.ticksPerDay <= 0 || rc.numDays <= 0 {
			t.Fatalf("parseConfig(%q): ticks_per_day %d, num_days %d", in, rc.ticksPerDay, rc.numDays)
		}
		if ticksPerDay > 0 && rc.ticksPerDay != ticksPerDay {
			t.Fatalf("parseConfig(%q, %d): ticks_per_day %d", in, ticksPerDay, rc.ticksPerDay)
		}
		if rc.numDays > math.MaxInt64/rc.ticksPerDay {
			t.Fatalf("parseConfig(%q): ticks_per_day × num_days overflows", in)
		}
		if !isHex64(rc.hash) {
			t.Fatalf("parseConfig(%q): hash %q", in, rc.hash)
		}
		in = configJSON(in)
		if hasDuplicateKeys(in) {
			t.Fatalf("parseConfig accepted %q, which has a duplicate key", in)
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(in))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("accepted %q but encoding/json cannot decode it: %v", in, err)
		}
		var variant bytes.Buffer
		writeVariant(&variant, v, 0)
		rc2, err := parseConfig(variant.Bytes(), ticksPerDay)
		if err != nil {
			t.Fatalf("variant %q of %q rejected: %v", variant.Bytes(), in, err)
		}
		if !sameConfig(rc, rc2) {
			t.Fatalf("variant changed the result:\ninput   %q -> %+v\nvariant %q -> %+v", in, rc, variant.Bytes(), rc2)
		}
	})
}

func sameConfig(a, b runConfig) bool {
	if a.hash != b.hash || a.ticksPerDay != b.ticksPerDay || a.numDays != b.numDays || a.numAgents != b.numAgents ||
		a.statedDays != b.statedDays || a.statedAgents != b.statedAgents {
		return false
	}
	if (a.rngSeed == nil) != (b.rngSeed == nil) {
		return false
	}
	return a.rngSeed == nil || *a.rngSeed == *b.rngSeed
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	return strings.Trim(s, "0123456789abcdef") == ""
}

// hasDuplicateKeys reports whether any object in the JSON value has a key
// twice (or the input does not tokenize).
func hasDuplicateKeys(in []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(in))
	dec.UseNumber()
	type frame struct {
		object  bool
		keys    map[string]bool
		wantKey bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return false
		}
		if err != nil {
			return true
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.wantKey {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				if len(stack) > 0 && stack[len(stack)-1].object {
					stack[len(stack)-1].wantKey = true
				}
				continue
			}
			k := tok.(string)
			if top.keys[k] {
				return true
			}
			top.keys[k] = true
			top.wantKey = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, keys: map[string]bool{}, wantKey: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// A value (or a closed array) completed: its object wants a key.
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].wantKey = true
		}
	}
}

// writeVariant encodes v as JSON unlike the canonical form: object keys in
// reverse order, whitespace everywhere, strings with HTML escaping.
func writeVariant(b *bytes.Buffer, v any, depth int) {
	indent := "\n" + strings.Repeat("\t", depth+1)
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		slices.Reverse(keys)
		b.WriteString("{ ")
		for i, k := range keys {
			if i > 0 {
				b.WriteString(" ,")
			}
			b.WriteString(indent)
			kb, _ := json.Marshal(k)
			b.Write(kb)
			b.WriteString(" :\t")
			writeVariant(b, x[k], depth+1)
		}
		b.WriteString("\r\n}")
	case []any:
		b.WriteString("[ ")
		for i, e := range x {
			if i > 0 {
				b.WriteString(" , ")
			}
			writeVariant(b, e, depth+1)
		}
		b.WriteString(" ]")
	case json.Number:
		b.WriteString(x.String())
	default:
		vb, err := json.Marshal(x)
		if err != nil {
			panic(err)
		}
		b.Write(vb)
	}
}
