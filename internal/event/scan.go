package event

import (
	"fmt"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of objects and arrays an event may have.
// SimCash events nest at most two levels; the limit exists so hostile input
// (a value nested 100,000 deep) is rejected in linear time without recursion.
const MaxDepth = 64

// SyntaxError reports malformed JSON at a byte offset of the event.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at byte %d: %s", e.Offset, e.Msg)
}

func syntaxErr(off int, format string, args ...any) error {
	return &SyntaxError{Offset: off, Msg: fmt.Sprintf(format, args...)}
}

// Kind is the JSON type of a value.
type Kind byte

// The JSON kinds a value can have.
const (
	KindString Kind = 's'
	KindNumber Kind = 'n'
	KindObject Kind = 'o'
	KindArray  Kind = 'a'
	KindBool   Kind = 'b'
	KindNull   Kind = 'z'
)

func (k Kind) String() string {
	switch k {
	case KindString:
		return "a string"
	case KindNumber:
		return "a number"
	case KindObject:
		return "an object"
	case KindArray:
		return "an array"
	case KindBool:
		return "a boolean"
	case KindNull:
		return "null"
	}
	return "unknown"
}

// member is one key/value pair of an object, as spans of the input.
type member struct {
	keyStart, keyEnd int // raw key including quotes
	valStart, valEnd int // raw value
	key              string
	keyEscaped       bool // the raw key contains a backslash escape
	kind             Kind
	compact          bool // the raw value has no insignificant whitespace
	// detStart and detEnd locate the value's copy in Decode's details
	// (set by details, for the members it keeps).
	detStart, detEnd int
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// scanObject splits the JSON object in b (which must be the whole input,
// surrounding whitespace allowed) into its members, validating every value.
// Duplicate keys are an error, in the object and in every object nested in
// it: an object with two values for one key has no single meaning to store.
func scanObject(b []byte, members []member) ([]member, error) {
	i := skipSpace(b, 0)
	if i == len(b) {
		return nil, syntaxErr(i, "empty input")
	}
	if b[i] != '{' {
		return nil, syntaxErr(i, "want a JSON object, found %s", describeByte(b, i))
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		i = skipSpace(b, i+1)
		if i != len(b) {
			return nil, syntaxErr(i, "trailing data after the object: unexpected %s", describeByte(b, i))
		}
		return members, nil
	}
	var seen map[string]struct{} // the keys, once the object is large
	for {
		if i >= len(b) {
			return nil, syntaxErr(i, "unexpected end of input in object")
		}
		if b[i] != '"' {
			return nil, syntaxErr(i, "want a string key, found %s", describeByte(b, i))
		}
		var m member
		m.keyStart = i
		end, escaped, err := scanString(b, i)
		if err != nil {
			return nil, err
		}
		m.keyEnd = end
		m.keyEscaped = escaped
		if escaped {
			m.key, err = unquote(b[i:end])
			if err != nil {
				return nil, syntaxErr(i, "%v", err)
			}
		} else {
			m.key = keyString(b[i+1 : end-1])
		}
		// Compared one by one while the object is small, through a set
		// once it is large: an object of 100,000 keys must not cost 10^10
		// comparisons.
		if seen == nil && len(members) < linearKeys {
			for j := range members {
				if members[j].key == m.key {
					return nil, &FieldError{Field: m.key, Msg: "duplicate key"}
				}
			}
		} else {
			if seen == nil {
				seen = make(map[string]struct{}, 2*len(members))
				for j := range members {
					seen[members[j].key] = struct{}{}
				}
			}
			if _, dup := seen[m.key]; dup {
				return nil, &FieldError{Field: m.key, Msg: "duplicate key"}
			}
			seen[m.key] = struct{}{}
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return nil, syntaxErr(i, "want ':' after key %q, found %s", m.key, describeByte(b, i))
		}
		i = skipSpace(b, i+1)
		m.valStart = i
		end, kind, compact, err := scanValue(b, i)
		if err != nil {
			if d, ok := err.(*dupKeyError); ok {
				return nil, &FieldError{Field: m.key, Msg: d.Error()}
			}
			return nil, err
		}
		m.valEnd, m.kind, m.compact = end, kind, compact
		members = append(members, m)
		i = skipSpace(b, end)
		if i >= len(b) {
			return nil, syntaxErr(i, "unexpected end of input in object")
		}
		if b[i] == ',' {
			i = skipSpace(b, i+1)
			continue
		}
		if b[i] != '}' {
			return nil, syntaxErr(i, "want ',' or '}' in object, found %s", describeByte(b, i))
		}
		i = skipSpace(b, i+1)
		if i != len(b) {
			return nil, syntaxErr(i, "trailing data after the object: unexpected %s", describeByte(b, i))
		}
		return members, nil
	}
}

func describeByte(b []byte, i int) string {
	if i >= len(b) {
		return "end of input"
	}
	c := b[i]
	if c >= 0x20 && c < 0x7f {
		return fmt.Sprintf("%q", rune(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

// scanValue validates the JSON value starting at b[i] and returns the offset
// just past it, its kind, and whether it contains no insignificant
// whitespace. Nesting is tracked with an explicit stack, never recursion.
func scanValue(b []byte, i int) (end int, kind Kind, compact bool, err error) {
	if i >= len(b) {
		return 0, 0, false, syntaxErr(i, "unexpected end of input, want a value")
	}
	switch c := b[i]; {
	case c == '"':
		end, _, err = scanString(b, i)
		return end, KindString, true, err
	case c == '-' || (c >= '0' && c <= '9'):
		end, err = scanNumber(b, i)
		return end, KindNumber, true, err
	case c == 't':
		end, err = scanLiteral(b, i, "true")
		return end, KindBool, true, err
	case c == 'f':
		end, err = scanLiteral(b, i, "false")
		return end, KindBool, true, err
	case c == 'n':
		end, err = scanLiteral(b, i, "null")
		return end, KindNull, true, err
	case c == '{' || c == '[':
		end, compact, err = scanContainer(b, i)
		if c == '{' {
			return end, KindObject, compact, err
		}
		return end, KindArray, compact, err
	default:
		return 0, 0, false, syntaxErr(i, "unexpected %s, want a value", describeByte(b, i))
	}
}

// scanContainer validates a nested object or array starting at b[i] with an
// explicit stack instead of recursion, so depth costs no Go stack.
func scanContainer(b []byte, i int) (end int, compact bool, err error) {
	const (
		afterOpen  = iota // just after '{' or '['
		wantKey           // inside an object, after ','
		wantValue         // after ':' or, inside an array, after ','
		afterValue        // after a complete element
	)
	var stackBuf [MaxDepth]byte
	stack := append(stackBuf[:0], b[i])
	var keys keyTracker
	if b[i] == '{' {
		keys.open(1)
	}
	i++
	compact = true
	state := afterOpen
	for {
		if j := skipSpace(b, i); j != i {
			compact, i = false, j
		}
		if i >= len(b) {
			return 0, false, syntaxErr(i, "unexpected end of input inside %s", containerName(stack[len(stack)-1]))
		}
		top := stack[len(stack)-1]
		switch state {
		case afterOpen, afterValue:
			if b[i] == '}' || b[i] == ']' {
				if !matches(top, b[i]) {
					return 0, false, syntaxErr(i, "mismatched %q inside %s", rune(b[i]), containerName(top))
				}
				if top == '{' {
					keys.close(len(stack))
				}
				stack = stack[:len(stack)-1]
				i++
				if len(stack) == 0 {
					return i, compact, nil
				}
				state = afterValue
				continue
			}
			if state == afterValue {
				if b[i] != ',' {
					return 0, false, syntaxErr(i, "want ',' or a closing bracket inside %s, found %s",
						containerName(top), describeByte(b, i))
				}
				i++
			}
			if top == '{' {
				state = wantKey
			} else {
				state = wantValue
			}
		case wantKey:
			if b[i] != '"' {
				return 0, false, syntaxErr(i, "want a string key, found %s", describeByte(b, i))
			}
			keyStart := i
			var escaped bool
			if i, escaped, err = scanString(b, i); err != nil {
				return 0, false, err
			}
			if err := keys.add(len(stack), b[keyStart:i], escaped, keyStart); err != nil {
				return 0, false, err
			}
			if j := skipSpace(b, i); j != i {
				compact, i = false, j
			}
			if i >= len(b) || b[i] != ':' {
				return 0, false, syntaxErr(i, "want ':' in object, found %s", describeByte(b, i))
			}
			i++
			state = wantValue
		case wantValue:
			if b[i] == '{' || b[i] == '[' {
				if len(stack) == MaxDepth {
					return 0, false, syntaxErr(i, "nested deeper than %d levels", MaxDepth)
				}
				stack = append(stack, b[i])
				if b[i] == '{' {
					keys.open(len(stack))
				}
				i++
				state = afterOpen
				continue
			}
			if i, _, _, err = scanValue(b, i); err != nil {
				return 0, false, err
			}
			state = afterValue
		}
	}
}

// linearKeys is how many keys an object may have before duplicates are
// looked up in a set instead of by comparing each pair.
const linearKeys = 32

// dupKeyError is a duplicate key inside a nested object; scanObject turns it
// into a *FieldError naming the top-level member.
type dupKeyError struct {
	key    string
	offset int
}

func (e *dupKeyError) Error() string {
	return fmt.Sprintf("duplicate key %q in a nested object at byte %d", e.key, e.offset)
}

// keyTracker finds duplicate keys in the objects scanContainer is inside.
// It holds the keys of the open objects only (an object's keys are dropped
// when it closes), compares them one by one while an object is small and
// through a set once it is large, so any input costs linear time.
type keyTracker struct {
	keys  []string              // keys of the open objects, outermost first
	start [MaxDepth + 1]int     // by depth: index in keys of the object's first key
	set   map[depthKey]struct{} // keys of the open objects with more than linearKeys keys
}

type depthKey struct {
	depth int
	key   string
}

// open starts the object at depth (1 = outermost container).
func (k *keyTracker) open(depth int) { k.start[depth] = len(k.keys) }

// close ends the object at depth.
func (k *keyTracker) close(depth int) {
	own := k.keys[k.start[depth]:]
	if len(own) > linearKeys {
		for _, key := range own {
			delete(k.set, depthKey{depth, key})
		}
	}
	k.keys = k.keys[:k.start[depth]]
}

// add records the raw key (quotes included) of the object at depth, which
// starts at byte offset of the input.
func (k *keyTracker) add(depth int, raw []byte, escaped bool, offset int) error {
	key := string(raw[1 : len(raw)-1])
	if escaped {
		var err error
		if key, err = unquote(raw); err != nil {
			return syntaxErr(offset, "%v", err)
		}
	}
	own := k.keys[k.start[depth]:]
	if len(own) < linearKeys {
		for _, o := range own {
			if o == key {
				return &dupKeyError{key: key, offset: offset}
			}
		}
	} else {
		if len(own) == linearKeys {
			if k.set == nil {
				k.set = make(map[depthKey]struct{})
			}
			for _, o := range own {
				k.set[depthKey{depth, o}] = struct{}{}
			}
		}
		dk := depthKey{depth, key}
		if _, dup := k.set[dk]; dup {
			return &dupKeyError{key: key, offset: offset}
		}
		k.set[dk] = struct{}{}
	}
	k.keys = append(k.keys, key)
	return nil
}

func matches(open, close byte) bool {
	return (open == '{' && close == '}') || (open == '[' && close == ']')
}

func containerName(open byte) string {
	if open == '{' {
		return "an object"
	}
	return "an array"
}

func scanLiteral(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, syntaxErr(i, "invalid literal, want %s", lit)
	}
	return i + len(lit), nil
}

// scanNumber validates a JSON number (RFC 8259 grammar) starting at b[i].
func scanNumber(b []byte, i int) (int, error) {
	start := i
	if b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return 0, syntaxErr(start, "truncated number")
	}
	switch {
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return 0, syntaxErr(start, "invalid number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return 0, syntaxErr(start, "invalid number: no digits after '.'")
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return 0, syntaxErr(start, "invalid number: no digits in exponent")
		}
	}
	return i, nil
}

// scanString validates the JSON string starting at b[i] (the opening quote):
// escapes well formed, no raw control characters, valid UTF-8. It returns the
// offset past the closing quote and whether the string has escapes.
func scanString(b []byte, i int) (end int, escaped bool, err error) {
	start := i
	i++
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			return i + 1, escaped, nil
		case c == '\\':
			escaped = true
			if i+1 >= len(b) {
				return 0, false, syntaxErr(i, "truncated escape in string")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex4(b[i+2:i+6]) {
					return 0, false, syntaxErr(i, `invalid \u escape in string`)
				}
				i += 6
			default:
				return 0, false, syntaxErr(i, "invalid escape \\%c in string", b[i+1])
			}
		case c < 0x20:
			return 0, false, syntaxErr(i, "control character 0x%02x in string (must be escaped)", c)
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size <= 1 {
				return 0, false, syntaxErr(i, "invalid UTF-8 in string")
			}
			i += size
		}
	}
	return 0, false, syntaxErr(start, "unterminated string")
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
