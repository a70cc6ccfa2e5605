package event

import (
	"testing"
	"unsafe"
)

// TestKeyStringSharesKnownKeys checks the key table against knownKeys:
// every known key comes back as the table's own string (no copy), and a
// key that is not known, or differs from one in a byte, comes back as
// itself.
func TestKeyStringSharesKnownKeys(t *testing.T) {
	for i, k := range knownKeys {
		got := keyString([]byte(k))
		if got != k {
			t.Fatalf("keyString(%q) = %q", k, got)
		}
		if unsafe.StringData(got) != unsafe.StringData(knownKeys[i]) {
			t.Errorf("keyString(%q) is a copy, not the shared key", k)
		}
		long := k + "x"
		if got := keyString([]byte(long)); got != long {
			t.Errorf("keyString(%q) = %q", long, got)
		}
		changed := []byte(k)
		changed[len(changed)/2] ^= 0x20
		if got := keyString(changed); got != string(changed) {
			t.Errorf("keyString(%q) = %q", changed, got)
		}
	}
	for _, k := range []string{"", "a", "event_typ", "ticks", "\x00"} {
		if got := keyString([]byte(k)); got != k {
			t.Errorf("keyString(%q) = %q", k, got)
		}
	}
}
