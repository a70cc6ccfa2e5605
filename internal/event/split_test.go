package event

import "testing"

// FuzzSplitMembers: on every object scanObject accepts, the unvalidating
// splitMembers finds the same members; on any input at all, neither it nor
// Parties.Scan panics or reads outside the input.
func FuzzSplitMembers(f *testing.F) {
	for _, s := range []string{
		`{"event_type":"Arrival","tick":3,"tx_id":"tx-1","sender_id":"BANK_A","amount":100000,"is_divisible":false,"x":null}`,
		`{"agents":["A","B",1,null,"A"],"tx_ids":["t\"1","t\\2"],"o":{"a":[{"b":"}]"}]},"k\u0033":-1.5e3}`,
		` { "a" : [ 1 , { "k" : [ ] } ] , "" : "" } `,
		`{"a":"\\"}`, `{"a":"\\\""}`, `{}`, `{"a"`, `{"a":`, `{"a":"`, `{"a":[}`, `[1]`, `{"a":1,}`, `{"a":"\`,
	} {
		f.Add([]byte(s), int32(0))
		f.Add([]byte(s), int32(3|4<<14|2<<21))
	}
	f.Fuzz(func(t *testing.T, in []byte, layout int32) {
		got, ok := splitMembers(in, nil)
		var p Parties
		p.Scan(string(in), layout, "agent", "tx", func(string, string, Kind) {})
		want, err := scanObject(in, nil)
		if err != nil {
			return
		}
		if !ok || len(got) != len(want) {
			t.Fatalf("splitMembers(%q) = %d members (ok %v), scanObject finds %d", in, len(got), ok, len(want))
		}
		for i := range want {
			g, w := got[i], want[i]
			if g.key != w.key || g.keyStart != w.keyStart || g.keyEnd != w.keyEnd || g.keyEscaped != w.keyEscaped ||
				g.valStart != w.valStart || g.valEnd != w.valEnd || g.kind != w.kind {
				t.Fatalf("member %d of %q: split %+v, scanned %+v", i, in, g, w)
			}
		}
	})
}
