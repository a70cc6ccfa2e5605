package event

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
