package event

import "unsafe"

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

// StringOf decodes a raw JSON string literal; nil when it is not one.
func StringOf(raw []byte) *string {
	if len(raw) < 2 || raw[0] != '"' {
		return nil
	}
	var s string
	if hasBackslash(raw) {
		var err error
		if s, err = unquote(raw); err != nil {
			return nil
		}
	} else {
		s = string(raw[1 : len(raw)-1])
	}
	return &s
}

// IntOf parses a raw JSON integer that fits int64; nil otherwise.
func IntOf(raw []byte, kind Kind) *int64 {
	if kind != KindNumber {
		return nil
	}
	v, err := parseInt(raw)
	if err != nil {
		return nil
	}
	return &v
}

// StringsOf returns the strings of a JSON array of strings (as DuckDB's
// to_json writes a VARCHAR[]), slicing arr without copying where no escape
// needs decoding. Anything that is not a string array gives what could be
// read of it; never nil.
func StringsOf(arr string) []string {
	out := make([]string, 0, 4)
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
