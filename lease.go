package simdb

import (
	"context"
	"fmt"
	"time"
)

// Writer leases: while a Store writes a running simulation, the run's row
// names its writer (a random writer id per Store, the host and the process
// id) and holds a lease, renewed with every commit and every third of
// Options.Lease while the Store is open. Completing or failing the run, or
// closing the Store, ends the lease at once; a writer killed outright
// stops renewing it, and it expires Options.Lease after its last
// heartbeat. Until then another writer of the run is refused with a
// *LeaseError (ErrConcurrentWriter) naming the holder, and Recover leaves
// the run alone; afterwards an ingest with Resume takes the run over and
// continues after its last stored tick, and Recover marks it failed. The
// rule is the same on both backends, with one proof only a DuckDB file
// allows: one process at a time writes it, so a holder on this host whose
// process no longer runs (or is this one: a Store since closed) is gone,
// and its run is free at once. On PostgreSQL each writing Store also
// holds a session advisory lock per run (ErrConcurrentWriter): a run whose
// lease has expired while its writer's session is still connected (a
// stalled writer, not a dead one) is still not taken. Expiry is judged
// with the wall clocks of the hosts involved: keep them in sync (NTP) to
// well within the lease. RELIABILITY.md, "Writer leases".

// DefaultLease is Options.Lease when it is zero: two minutes.
const DefaultLease = 2 * time.Minute

// MinLease is the shortest Options.Lease (one second).
const MinLease = time.Second

// Lease is who holds a running simulation: the writing Store's random
// writer id, its host and process id, its last heartbeat and when the
// lease expires (UTC, each by the writer's clock).
type Lease struct {
	WriterID    string
	Host        string
	PID         int64
	HeartbeatAt time.Time
	ExpiresAt   time.Time
}

// LeaseError is the ErrConcurrentWriter of a simulation whose lease
// another writer holds, live: it names the holder. Wait until the lease
// expires (its writer died: at most Holder.ExpiresAt) or its writer ends
// the run or closes.
type LeaseError struct {
	SimulationID string
	Holder       Lease
	// At is when the lease was read; the message's ages are from it.
	At  time.Time
	msg string
}

func (e *LeaseError) Error() string { return e.msg }

// Unwrap makes errors.Is(err, ErrConcurrentWriter) hold.
func (e *LeaseError) Unwrap() error { return ErrConcurrentWriter }

// RecoverResult is what Recover did.
type RecoverResult struct {
	// Failed are the runs marked failed ("interrupted"), in id order.
	Failed []string
	// LeftAlone are the running runs another writer still holds.
	LeftAlone []LeftAlone
}

// LeftAlone is a running simulation Recover did not fail, and why.
type LeftAlone struct {
	SimulationID string
	// Lease is its holder's lease as Recover read it.
	Lease Lease
	// HeartbeatAge is how long before Recover read it the holder last
	// renewed the lease; ExpiresIn how long the lease had left (negative:
	// it expired that long ago, and the writer's PostgreSQL session still
	// holds the run).
	HeartbeatAge, ExpiresIn time.Duration
	// Reason says why, in words.
	Reason string
}

// String is one line: the run, its holder, the heartbeat's age, the
// lease's remaining time and the reason.
func (l LeftAlone) String() string {
	expiry := fmt.Sprintf("expires in %s", l.ExpiresIn.Round(100*time.Millisecond))
	if l.ExpiresIn <= 0 {
		expiry = fmt.Sprintf("expired %s ago", (-l.ExpiresIn).Round(100*time.Millisecond))
	}
	return fmt.Sprintf("%s: left running: %s (writer %s on host %s, pid %d; last heartbeat %s ago, lease %s)",
		l.SimulationID, l.Reason, l.Lease.WriterID, l.Lease.Host, l.Lease.PID, l.HeartbeatAge.Round(100*time.Millisecond), expiry)
}

// Recover marks failed, with reason "interrupted", every running
// simulation whose writer is gone — its lease was released or has expired
// (or it never had one: a run stored before leases existed) — and this
// Store's own running runs (call it before starting runs), and reports
// the running runs it left alone, each with its holder and why. It is
// safe to run while other processes write: a live writer keeps renewing
// its lease, and a run it holds is never failed.
//
// Errors: ErrReadOnly, ErrClosed, ctx's error, ErrWriteFailed (this
// Store's buffered ticks failed to commit first).
func (s *Store) Recover(ctx context.Context) (RecoverResult, error) {
	res, err := s.p.Recover(ctx)
	out := RecoverResult{Failed: res.Failed}
	for _, l := range res.LeftAlone {
		out.LeftAlone = append(out.LeftAlone, LeftAlone{SimulationID: l.SimulationID, Lease: Lease(l.Lease),
			HeartbeatAge: l.HeartbeatAge, ExpiresIn: l.ExpiresIn, Reason: l.Reason})
	}
	return out, publicError(err)
}
