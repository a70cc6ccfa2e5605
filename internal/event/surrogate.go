package event

import (
	"bytes"
	"fmt"
)

// loneSurrogate returns the offset in b of the first \u escape that is half
// of a UTF-16 surrogate pair without its other half — a high surrogate
// (\ud800–\udbff) not followed by a low one (\udc00–\udfff) escape, or a low
// one on its own — or -1 when there is none. b must be valid JSON: a
// backslash then only occurs inside a string, where it starts an escape.
//
// Such an escape is syntactically JSON but not Unicode (RFC 8259 §8.2;
// I-JSON, RFC 7493, forbids it), and DuckDB's JSON functions refuse a whole
// query over a table that holds one, so no JSON simdb stores may contain it.
func loneSurrogate(b []byte) int {
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], '\\')
		if j < 0 {
			return -1
		}
		i += j
		if i+1 >= len(b) || b[i+1] != 'u' {
			i += 2 // \" \\ \/ \b \f \n \r \t
			continue
		}
		if i+6 > len(b) {
			return -1 // not valid JSON; the scanner says so
		}
		r := hex4(b[i+2 : i+6])
		switch {
		case r >= 0xdc00 && r <= 0xdfff:
			return i
		case r >= 0xd800 && r <= 0xdbff:
			if i+12 > len(b) || b[i+6] != '\\' || b[i+7] != 'u' || !isHex4(b[i+8:i+12]) {
				return i
			}
			if lo := hex4(b[i+8 : i+12]); lo < 0xdc00 || lo > 0xdfff {
				return i
			}
			i += 12
		default:
			i += 6
		}
	}
}

// surrogateError is the *FieldError for a member whose value (raw, at
// offset off of the input) holds a lone surrogate escape at byte at of raw.
func surrogateError(field string, raw []byte, off, at int) *FieldError {
	return &FieldError{Field: field, Msg: fmt.Sprintf(
		`holds a lone UTF-16 surrogate escape %s at byte %d (not valid Unicode; a \ud800-\udbff escape must be followed by a \udc00-\udfff one)`,
		raw[at:at+6], off+at)}
}

// checkSurrogates refuses the first member of the object b whose value
// holds a lone surrogate escape, at any depth.
func checkSurrogates(b []byte, members []member) error {
	if bytes.IndexByte(b, '\\') < 0 {
		return nil
	}
	for i := range members {
		m := &members[i]
		raw := b[m.valStart:m.valEnd]
		if at := loneSurrogate(raw); at >= 0 {
			return surrogateError(m.key, raw, m.valStart, at)
		}
	}
	return nil
}

// CheckObject validates b as one JSON object by the rules Decode applies to
// an event, so that what simdb stores besides events (configs, metrics
// files) meets the same bar: RFC 8259 syntax with surrounding whitespace
// allowed, valid UTF-8, no duplicate key in any object at any depth (an
// object with two values for one key has no single meaning: encoding/json
// keeps the last, DuckDB's json_extract the first), no lone UTF-16
// surrogate escape, nesting at most MaxDepth deep.
//
// The error is a *SyntaxError (with the byte offset) or a *FieldError
// naming the top-level member whose value is wrong.
func CheckObject(b []byte) error {
	members, err := scanObject(b, nil)
	if err != nil {
		return err
	}
	return checkSurrogates(b, members)
}
