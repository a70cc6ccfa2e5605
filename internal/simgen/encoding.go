package simgen

import (
	"io"
	"math"
	"strconv"
)

const hexDigits = "0123456789abcdef"

// uuidPos maps the 32 hex digits of a UUID to their places in its text.
var uuidPos = [32]uint8{
	0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 14, 15, 16, 17,
	19, 20, 21, 22, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35,
}

// newID fills id with a random version-4 UUID, the form the engine's ids
// take, drawn from the run's generator so that ids repeat with the seed.
func (g *gen) newID(id *[36]byte) {
	hi := g.u64()&^0xf000 | 0x4000
	lo := g.u64()&^(0xc<<60) | 0x8<<60
	for i := 0; i < 16; i++ {
		id[uuidPos[i]] = hexDigits[hi>>(60-4*i)&0xf]
		id[uuidPos[16+i]] = hexDigits[lo>>(60-4*i)&0xf]
	}
	id[8], id[13], id[18], id[23] = '-', '-', '-', '-'
}

// appendFloat writes v the way the engine's Python binding does (repr):
// shortest round-trip digits, always with a '.' or an exponent so the value
// reads back as a float, exponent form outside [1e-4, 1e16).
func appendFloat(b []byte, v float64) []byte {
	if a := math.Abs(v); a != 0 && (a < 1e-4 || a >= 1e16) {
		return strconv.AppendFloat(b, v, 'e', -1, 64)
	}
	start := len(b)
	b = strconv.AppendFloat(b, v, 'f', -1, 64)
	for _, c := range b[start:] {
		if c == '.' {
			return b
		}
	}
	return append(b, '.', '0')
}

// begin starts an event line. Keys passed to the field writers below carry
// their leading comma, quotes and colon (`,"amount":`) so that a field is
// two appends; values written unescaped are bank names, UUIDs and fixed
// ASCII words, none of which needs escaping.
func (g *gen) begin(eventType string) {
	g.out = append(g.out, `{"event_type":"`...)
	g.out = append(g.out, eventType...)
	g.out = append(g.out, `","tick":`...)
	g.out = strconv.AppendInt(g.out, g.tick, 10)
}

func (g *gen) end() {
	g.out = append(g.out, '}', '\n')
	g.stats.Events++
	if len(g.out) >= flushAt {
		g.flush()
	}
}

func (g *gen) flush() {
	if len(g.out) == 0 || g.err != nil {
		g.out = g.out[:0]
		return
	}
	n, err := g.w.Write(g.out)
	g.stats.Bytes += int64(n)
	if err == nil && n < len(g.out) {
		err = io.ErrShortWrite
	}
	g.err = err
	g.out = g.out[:0]
}

func (g *gen) int(key string, v int64) {
	g.out = append(g.out, key...)
	g.out = strconv.AppendInt(g.out, v, 10)
}

func (g *gen) float(key string, v float64) {
	g.out = append(g.out, key...)
	g.out = appendFloat(g.out, v)
}

func (g *gen) str(key, v string) {
	g.out = append(g.out, key...)
	g.out = append(g.out, '"')
	g.out = append(g.out, v...)
	g.out = append(g.out, '"')
}

func (g *gen) raw(s string) { g.out = append(g.out, s...) }

func (g *gen) agentField(key string, a int32) { g.str(key, g.ag[a].name) }

func (g *gen) id(key string, id *[36]byte) {
	g.out = append(g.out, key...)
	g.out = append(g.out, '"')
	g.out = append(g.out, id[:]...)
	g.out = append(g.out, '"')
}

func (g *gen) idList(key string, ids [][36]byte) {
	g.out = append(g.out, key...)
	g.out = append(g.out, '[')
	for i := range ids {
		if i > 0 {
			g.out = append(g.out, ',')
		}
		g.out = append(g.out, '"')
		g.out = append(g.out, ids[i][:]...)
		g.out = append(g.out, '"')
	}
	g.out = append(g.out, ']')
}

func (g *gen) intList(key string, v []int64) {
	g.out = append(g.out, key...)
	g.out = append(g.out, '[')
	for i, x := range v {
		if i > 0 {
			g.out = append(g.out, ',')
		}
		g.out = strconv.AppendInt(g.out, x, 10)
	}
	g.out = append(g.out, ']')
}
