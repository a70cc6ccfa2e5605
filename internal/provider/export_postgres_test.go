package provider

import (
	"bufio"
	"io"
	"strings"
	"testing"
)

// recordMeter measures the longest CSV record, newlines inside quoted
// fields (and doubled quotes) included, however the input is split across
// writes.
func TestRecordMeterLongestRecord(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
	}{
		{"", 0},
		{"abc", 3},
		{"a,b\nccc,d\n", 6},
		{"\"a\nb\",c\nx\n", 8},
		{"\"a\"\"\nb\"\nxx", 8},
		{"\"\"\"\"\n1234567\n", 8},
		{"1\n\"" + strings.Repeat("\"\"\n", 100) + "\"\n", 303},
	} {
		for split := 0; split <= len(c.in); split++ {
			m := &recordMeter{w: bufio.NewWriter(io.Discard)}
			if _, err := m.Write([]byte(c.in[:split])); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Write([]byte(c.in[split:])); err != nil {
				t.Fatal(err)
			}
			if got := m.longest(); got != c.want {
				t.Errorf("%q written as %d+%d bytes: longest record %d, want %d", c.in, split, len(c.in)-split, got, c.want)
			}
		}
	}
}
