package event

import (
	"strings"
)

// Members calls fn with each top-level member of a JSON object that Decode
// produced (details), in order. Invalid input calls fn for nothing.
func Members(obj []byte, fn func(key string, raw []byte, kind Kind)) {
	var buf [16]member
	members, err := scanObject(obj, buf[:0])
	if err != nil {
		return
	}
	for i := range members {
		m := &members[i]
		fn(m.key, obj[m.valStart:m.valEnd], m.kind)
	}
}

// StringText decodes the raw JSON string literal raw; an unescaped one is
// returned as a substring of raw. ok is false when raw is not a string
// literal.
func StringText(raw string) (s string, ok bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	if strings.IndexByte(raw, '\\') < 0 {
		return raw[1 : len(raw)-1], true
	}
	return unquoteAny([]byte(raw))
}

// IntOf parses a raw JSON integer that fits int64; ok is false otherwise.
func IntOf[T []byte | string](raw T, kind Kind) (v int64, ok bool) {
	if kind != KindNumber {
		return 0, false
	}
	v, err := parseInt([]byte(raw))
	return v, err == nil
}
