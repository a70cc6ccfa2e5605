package event

import (
	"strings"
	"unsafe"
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

// MembersText is Members over a JSON object held in a string: each raw
// value is a substring of obj, so values taken from it (StringText) share
// obj's memory instead of copying it.
func MembersText(obj string, fn func(key string, raw string, kind Kind)) {
	var buf [16]member
	// Read-only view of obj's bytes: scanObject never writes.
	members, err := scanObject(unsafe.Slice(unsafe.StringData(obj), len(obj)), buf[:0])
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
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	if strings.IndexByte(raw, '\\') < 0 {
		return raw[1 : len(raw)-1], true
	}
	s, err := unquote([]byte(raw))
	return s, err == nil
}

// IntOf parses a raw JSON integer that fits int64; ok is false otherwise.
func IntOf[T []byte | string](raw T, kind Kind) (v int64, ok bool) {
	if kind != KindNumber {
		return 0, false
	}
	v, err := parseInt([]byte(raw))
	return v, err == nil
}

// AppendStrings appends the strings of a JSON array of strings (as DuckDB's
// to_json writes a VARCHAR[]) to out, slicing arr without copying where no
// escape needs decoding. Anything that is not a string array appends what
// could be read of it.
func AppendStrings(out []string, arr string) []string {
	// Read-only view of arr's bytes: scanString never writes.
	b := unsafe.Slice(unsafe.StringData(arr), len(arr))
	if len(b) < 2 || b[0] != '[' {
		return out
	}
	i := skipSpace(b, 1)
	for i < len(b) && b[i] == '"' {
		end, escaped, err := scanString(b, i)
		if err != nil {
			return out
		}
		if escaped {
			s, err := unquote(b[i:end])
			if err != nil {
				return out
			}
			out = append(out, s)
		} else {
			out = append(out, arr[i+1:end-1])
		}
		i = skipSpace(b, end)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	return out
}
