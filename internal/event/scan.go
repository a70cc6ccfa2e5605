package event

import (
	"fmt"
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

func matches(open, close byte) bool {
	return (open == '{' && close == '}') || (open == '[' && close == ']')
}

func containerName(open byte) string {
	if open == '{' {
		return "an object"
	}
	return "an array"
}
