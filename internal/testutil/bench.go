package testutil

import (
	"runtime"
	"testing"
)

// PerEvent starts measuring a benchmark that handles n events per
// iteration; the function it returns stops the timer and reports ns/event
// and allocs/event (heap allocations of the whole process, the database
// driver's Go side included).
func PerEvent(b *testing.B, n int) (report func()) {
	b.ReportAllocs()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	return func() {
		b.StopTimer()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		events := float64(b.N) * float64(n)
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/events, "ns/event")
		b.ReportMetric(float64(after.Mallocs-before.Mallocs)/events, "allocs/event")
	}
}
