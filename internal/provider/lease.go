package provider

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/simcash/simdb/internal/dbgen"
)

// Writer leases. A Store that writes a running simulation holds its lease:
// the run's row names the writer (a random id per Store, its host and pid),
// its last heartbeat and when the lease expires (heartbeat + Options.Lease).
// The writer renews it with every commit (in the statement that records the
// run's progress) and on a timer, every third of the lease, while the Store
// is open; completing or failing the run, recovering it, or closing the
// Store ends it. A writer killed outright stops renewing, and its lease
// expires one lease duration after its last heartbeat at the latest.
//
// The lease is the one rule on both backends: another writer (a resume)
// and RecoverInterrupted take a run only once its lease is free or has
// expired — or, on a DuckDB file only, once its holder is proven gone
// (provablyGone: this host, and its process no longer runs) — and a writer whose lease another has taken over fails its next
// commit (the progress statement finds another writer id) with a
// *LeaseError. On PostgreSQL the session advisory claim (postgresBackend)
// stays as a second, independent check: a run whose lease has expired but
// whose writer's session is still connected (a stalled writer, not a dead
// one) is still left alone. Expiry compares the writer's clock (which
// wrote the expiry) with the reader's: hosts sharing a database need
// clocks that agree to well within the lease.

// DefaultLease is Options.Lease when unset: how long a writer's hold on a
// run outlives its last heartbeat.
const DefaultLease = 2 * time.Minute

// MinLease is the shortest Options.Lease Open accepts: the heartbeat runs
// every third of it, and each beat is a write transaction.
const MinLease = time.Second

// Lease is who holds a running simulation: the writing Store's random
// writer id, its host and process id, its last heartbeat and when its
// lease expires (UTC).
type Lease struct {
	WriterID    string
	Host        string
	PID         int64
	HeartbeatAt time.Time
	ExpiresAt   time.Time
}

// describe is the lease for a message, its times relative to now.
func (l Lease) describe(now time.Time) string {
	expiry := fmt.Sprintf("expires in %s", l.ExpiresAt.Sub(now).Round(100*time.Millisecond))
	if !l.ExpiresAt.After(now) {
		expiry = fmt.Sprintf("expired %s ago", now.Sub(l.ExpiresAt).Round(100*time.Millisecond))
	}
	return fmt.Sprintf("writer %s on host %s, pid %d; last heartbeat %s ago, lease %s",
		l.WriterID, l.Host, l.PID, now.Sub(l.HeartbeatAt).Round(100*time.Millisecond), expiry)
}

// LeaseError is ErrConcurrentWriter because another writer holds a live
// lease on the simulation: it names the holder. A writer that wants the
// run must wait for the lease to expire (the holder was killed) or for the
// holder to finish or close.
type LeaseError struct {
	SimulationID string
	Holder       Lease
	// At is when the lease was read (the ages in the message are from it).
	At time.Time
}

func (e *LeaseError) Error() string {
	return fmt.Sprintf("simulation %q: %v: %s", e.SimulationID, ErrConcurrentWriter, e.Holder.describe(e.At))
}

// Unwrap makes errors.Is(err, ErrConcurrentWriter) hold.
func (e *LeaseError) Unwrap() error { return ErrConcurrentWriter }

// leaser is a Store's side of its leases: who it is, how long its leases
// last, which runs it holds, and its heartbeat goroutine.
type leaser struct {
	id, host string
	pid      int64
	duration time.Duration

	mu   sync.Mutex
	held map[string]bool // runs whose lease this Store took and has not ended

	stop context.CancelFunc // ends the heartbeat
	done chan struct{}      // closed when the heartbeat has ended
}

func newLeaser(duration time.Duration) (*leaser, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("writer id: %w", err)
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	return &leaser{id: hex.EncodeToString(b[:]), host: host, pid: int64(os.Getpid()), duration: duration,
		held: make(map[string]bool), done: make(chan struct{})}, nil
}

func (l *leaser) hold(id string, on bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if on {
		l.held[id] = true
	} else {
		delete(l.held, id)
	}
}

func (l *leaser) holdsAny() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.held) > 0
}

// leaseClock is the time leases are written and judged by: the wall clock
// (not Options.Now, which tests fix), at the microsecond both databases
// store.
func leaseClock() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// terms are the lease columns a renewal writes at now.
func (l *leaser) terms(now time.Time) (writer, host sql.NullString, pid sql.NullInt64, at, expires sql.NullTime) {
	return sql.NullString{String: l.id, Valid: true}, sql.NullString{String: l.host, Valid: true},
		sql.NullInt64{Int64: l.pid, Valid: true}, sql.NullTime{Time: now, Valid: true},
		sql.NullTime{Time: now.Add(l.duration), Valid: true}
}

// acquireLease takes (or renews) the lease of the running simulation id
// in tx, or fails: a *LeaseError when another writer's lease is live,
// ErrSimulationNotRunning, ErrSimulationNotFound.
func (s *Store) acquireLease(ctx context.Context, tx dbgen.DBTX, id string) error {
	now := leaseClock()
	p := dbgen.AcquireLeaseParams{SimulationID: id}
	p.WriterID, p.WriterHost, p.WriterPid, p.Now, p.LeaseExpiresAt = s.lease.terms(now)
	n, err := s.q.AcquireLease(ctx, tx, p)
	if err != nil {
		return fmt.Errorf("take the lease of simulation %q: %w", id, err)
	}
	if n == 1 {
		s.lease.hold(id, true)
		return nil
	}
	refusal := s.leaseRefusal(ctx, tx, id, now)
	var le *LeaseError
	if errors.As(refusal, &le) && s.provablyGone(le.Holder) {
		p.GoneWriter = sql.NullString{String: le.Holder.WriterID, Valid: true}
		if n, err = s.q.AcquireLease(ctx, tx, p); err != nil {
			return fmt.Errorf("take the lease of simulation %q: %w", id, err)
		}
		if n == 1 {
			s.lease.hold(id, true)
			return nil
		}
	}
	return refusal
}

// provablyGone reports a live lease whose writer has stopped all the same.
// Only a DuckDB file can prove it: one process at a time writes it (the
// file lock) and a process opens it once, so a holder on this host whose
// process is this one (a Store since closed) or no longer runs is gone —
// such as a writer killed a moment ago, or one whose Close could not
// release its leases (a full disk). Any other holder (another host; any
// holder on PostgreSQL, where many processes write) keeps its lease until
// it expires.
func (s *Store) provablyGone(l Lease) bool {
	if !s.be.embedded() || l.WriterID == "" || l.WriterID == s.lease.id || l.Host != s.lease.host {
		return false
	}
	return l.PID == s.lease.pid || !processRunning(l.PID)
}

// leaseRefusal says why the lease of id could not be taken at now.
func (s *Store) leaseRefusal(ctx context.Context, tx dbgen.DBTX, id string, now time.Time) error {
	row, err := s.q.GetLease(ctx, tx, id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("simulation %q: %w", id, ErrSimulationNotFound)
	case err != nil:
		return fmt.Errorf("read the lease of simulation %q: %w", id, err)
	case row.Status != "running":
		return fmt.Errorf("simulation %q (status %s): %w", id, row.Status, ErrSimulationNotRunning)
	case !row.LeaseExpiresAt.Valid || !row.LeaseExpiresAt.Time.After(now) || row.WriterID.String == s.lease.id:
		// Free now: it changed between the two statements.
		return fmt.Errorf("simulation %q: %w: its lease changed hands while this writer took it", id, ErrConcurrentWriter)
	}
	return &LeaseError{SimulationID: id, At: now, Holder: leaseOf(row.WriterID, row.WriterHost, row.WriterPid, row.HeartbeatAt, row.LeaseExpiresAt)}
}

// claim takes the run's writer claim (PostgreSQL's session lock; nothing
// on DuckDB). Refused, it names the holder as a *LeaseError when the run's
// lease is another writer's and live: a writer killed a moment ago can
// still hold its claim until the server notices its connection is gone,
// and a caller is better told whose it is.
func (s *Store) claim(ctx context.Context, id string) error {
	err := s.be.claim(ctx, id)
	if !errors.Is(err, ErrConcurrentWriter) {
		return err
	}
	var le *LeaseError
	if refusal := s.leaseRefusal(ctx, s.sqlDB(), id, leaseClock()); errors.As(refusal, &le) {
		return refusal
	}
	return err
}

func leaseOf(writer, host sql.NullString, pid sql.NullInt64, heartbeat, expires sql.NullTime) Lease {
	return Lease{WriterID: writer.String, Host: host.String, PID: pid.Int64, HeartbeatAt: heartbeat.Time.UTC(), ExpiresAt: expires.Time.UTC()}
}

// takeLease is acquireLease in a write transaction of its own.
func (s *Store) takeLease(ctx context.Context, id string) error {
	return s.writeTx(ctx, func(_ *sql.Conn, tx *sql.Tx) error { return s.acquireLease(ctx, tx, id) })
}

// startHeartbeat renews the Store's leases every third of the lease until
// stopHeartbeat. A read-only Store holds no lease and beats nothing.
func (s *Store) startHeartbeat() {
	ctx, cancel := context.WithCancel(context.Background())
	s.lease.stop = cancel
	go func() {
		defer close(s.lease.done)
		t := time.NewTicker(s.lease.duration / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if !s.lease.holdsAny() {
				continue
			}
			// A beat that fails (the database unreachable for a while) is
			// retried at the next tick; every commit renews too. Should the
			// lease expire meanwhile and another writer take the run, this
			// Store's next commit fails with a *LeaseError.
			bctx, cancelBeat := context.WithTimeout(ctx, s.lease.duration)
			_ = s.writeTx(bctx, func(_ *sql.Conn, tx *sql.Tx) error {
				p := dbgen.RenewLeasesParams{}
				p.WriterID, _, _, p.Now, p.LeaseExpiresAt = s.lease.terms(leaseClock())
				_, err := s.q.RenewLeases(bctx, tx, p)
				return err
			})
			cancelBeat()
		}
	}()
}

// stopHeartbeat ends the heartbeat and waits for it.
func (s *Store) stopHeartbeat() {
	if s.lease.stop == nil {
		return
	}
	s.lease.stop()
	<-s.lease.done
}

// releaseLeases gives up every lease the Store holds, so its runs that are
// still running are free at once (for ingest --resume, or recover). A
// failure loses nothing: the leases then expire on their own.
func (s *Store) releaseLeases() {
	if !s.lease.holdsAny() {
		return
	}
	_ = s.writeTx(context.Background(), func(_ *sql.Conn, tx *sql.Tx) error {
		return s.q.ReleaseLeases(context.Background(), tx, sql.NullString{String: s.lease.id, Valid: true})
	})
	s.lease.mu.Lock()
	clear(s.lease.held)
	s.lease.mu.Unlock()
}
