package duckfile

import (
	"errors"
	"testing"
)

func TestParseMemoryLimit(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"32MB", 32_000_000, true},
		{"256MB", 256_000_000, true},
		{"1.5GB", 1_500_000_000, true},
		{"256MiB", 256 << 20, true},
		{" 2 gib ", 2 << 30, true},
		{"1000000", 1_000_000, true},
		{"", 0, false},
		{"banana", 0, false},
		{"12XB", 0, false},
		{"-5MB", 0, false},
	} {
		got, ok := ParseMemoryLimit(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("ParseMemoryLimit(%q) = %d, %v; want %d, %v", c.in, got, ok, c.want, c.ok)
		}
		if ok {
			back, _ := ParseMemoryLimit(FormatMemoryLimit(got))
			if back < got || back-got >= 1_000_000 {
				t.Errorf("FormatMemoryLimit(%d) = %q reads back as %d", got, FormatMemoryLimit(got), back)
			}
		}
	}
}

func TestOutOfMemoryAndInvalidatedErrors(t *testing.T) {
	oom := errors.New(`insert 10 events: Out of Memory Error: could not allocate block of size 256.0 KiB (7.4 MiB/7.6 MiB used)`)
	pin := errors.New(`TransactionContext Error: Failed to commit: failed to pin block of size 256.0 KiB`)
	inval := errors.New(`IO Error: Database "simdb" has been invalidated because checkpointing failed. Detach and reattach it before using it again.`)
	if !IsOutOfMemory(oom) || !IsOutOfMemory(pin) || IsOutOfMemory(errors.New("constraint")) || IsOutOfMemory(nil) {
		t.Error("IsOutOfMemory misreads DuckDB's out-of-memory errors")
	}
	if !IsInvalidated(inval) || IsInvalidated(oom) || IsInvalidated(nil) {
		t.Error("IsInvalidated misreads DuckDB's invalidation error")
	}
}
