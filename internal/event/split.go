package event

import (
	"bytes"
	"unsafe"
)

// splitMembers splits a JSON object that Decode wrote (so valid UTF-8 JSON
// without duplicate keys, checked before it was stored) into its top-level
// members without validating it again: it finds where each string,
// container and scalar ends and nothing more, which makes it several times
// cheaper than scanObject. Unescaped keys are borrowed from b, not copied,
// so a member's key is valid only as long as b. It never reads outside b,
// whatever b holds, and reports false for anything it cannot split as an
// object; what it reports for other invalid JSON is unspecified.
func splitMembers(b []byte, members []member) (_ []member, ok bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return members, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return members, true
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return members, false
		}
		var m member
		m.keyStart = i
		end, escaped := skipString(b, i)
		if end < 0 {
			return members, false
		}
		m.keyEnd, m.keyEscaped = end, escaped
		if escaped {
			if m.key, ok = unquoteAny(b[i:end]); !ok {
				return members, false
			}
		} else {
			m.key = unsafe.String(unsafe.SliceData(b[i+1:end-1]), end-1-(i+1))
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return members, false
		}
		i = skipSpace(b, i+1)
		m.valStart = i
		if m.valEnd, m.kind = skipValue(b, i); m.valEnd < 0 {
			return members, false
		}
		members = append(members, m)
		i = skipSpace(b, m.valEnd)
		switch {
		case i >= len(b):
			return members, false
		case b[i] == ',':
			i = skipSpace(b, i+1)
		case b[i] == '}':
			return members, true
		default:
			return members, false
		}
	}
}

// skipString returns the offset just past the string literal starting at
// b[i] (a '"'), and whether it holds an escape; -1 when it does not end.
// Linear in the literal's length, however many escapes it holds.
func skipString(b []byte, i int) (end int, escaped bool) {
	j := i + 1
	q := -1 // the first '"' at or after j, once known
	for {
		if q < j {
			k := bytes.IndexByte(b[j:], '"')
			if k < 0 {
				return -1, escaped
			}
			q = j + k
		}
		bs := bytes.IndexByte(b[j:q], '\\')
		if bs < 0 {
			return q + 1, escaped
		}
		// An escape comes before the quote: step over it and look again.
		escaped = true
		j += bs + 2
		if j > len(b) {
			return -1, escaped
		}
	}
}

// skipValue returns the offset just past the JSON value starting at b[i]
// and its kind; -1 when it does not end within b.
func skipValue(b []byte, i int) (end int, kind Kind) {
	if i >= len(b) {
		return -1, 0
	}
	switch c := b[i]; c {
	case '"':
		end, _ = skipString(b, i)
		return end, KindString
	case '{', '[':
		kind = KindArray
		if c == '{' {
			kind = KindObject
		}
		depth := 0
		for j := i; j < len(b); {
			switch b[j] {
			case '"':
				if j, _ = skipString(b, j); j < 0 {
					return -1, kind
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1, kind
				}
			}
			j++
		}
		return -1, kind
	case 't', 'f':
		kind = KindBool
	case 'n':
		kind = KindNull
	default:
		kind = KindNumber
	}
	j := i
	for j < len(b) && !isSpace(b[j]) && b[j] != ',' && b[j] != '}' && b[j] != ']' {
		j++
	}
	if j == i {
		return -1, kind
	}
	return j, kind
}
