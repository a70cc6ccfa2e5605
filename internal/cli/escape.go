package cli

import (
	"fmt"
	"strings"
	"unicode"
)

// cell makes stored text safe to print in a table or a message on a
// terminal: control characters (ESC, CR, newline, tab, DEL, C1) are
// written as Go escapes (\x1b, \r, \n, \t, \u009b), so an event type or
// agent id from a stream can neither drive the terminal nor break a row.
// Other text, including non-ASCII letters, is kept. JSON and CSV output
// carry the exact data instead.
func cell(s string) string {
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if !unicode.IsControl(r) {
			b.WriteRune(r)
			continue
		}
		switch r {
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x80 {
				fmt.Fprintf(&b, `\x%02x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		}
	}
	return b.String()
}
