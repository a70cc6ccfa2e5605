package testutil

import (
	"sync"
	"time"
)

// Clock is a wall clock a test sets by hand, for a Store's Options.Now.
// It is safe for concurrent use: the store reads it from its writers.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock that reads now until it is Set.
func NewClock(now time.Time) *Clock { return &Clock{now: now} }

// Now returns the time last set.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t, forwards or back.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// SteppingClock returns a wall clock that moves one second per reading, so
// every timestamp a Store writes differs from the last one. It is safe for
// concurrent use.
func SteppingClock(start time.Time) func() time.Time {
	var mu sync.Mutex
	n := 0
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		n++
		return start.Add(time.Duration(n) * time.Second)
	}
}
