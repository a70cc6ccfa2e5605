package crashtest

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	// pgx's database/sql driver, registered as "pgx".
	_ "github.com/jackc/pgx/v5/stdlib"
)

// pgCluster is a throwaway PostgreSQL cluster this test started and
// controls: its trials restart it and terminate its backends, which no
// shared server (SIMDB_TEST_POSTGRES) may be asked to suffer. It is stopped
// and removed when the test ends.
type pgCluster struct {
	bin  string   // the server's binaries
	dir  string   // the cluster's folder: data/, the socket, server.log
	asPG []string // runuser prefix when running as root (the server refuses root)
	port int
	base string // URL of the cluster's "postgres" database, as superuser
}

// pgBin is where Debian's postgresql-15 installs the server; PGBIN
// overrides it (as in scripts/pgtest.sh).
func pgBin() string {
	if b := os.Getenv("PGBIN"); b != "" {
		return b
	}
	return "/usr/lib/postgresql/15/bin"
}

// startCluster initdb's a cluster in a temporary folder and starts it on a
// free loopback port, or skips the test when the server's binaries are not
// installed (CI installs them: .ci/run). As root, the folder is given to
// user postgres and the server runs as that user.
//
// fsync and full_page_writes are off: they guard against an operating
// system crash, which these trials do not simulate (a SIGKILLed client or
// an immediate server restart leaves the kernel's page cache intact).
// synchronous_commit stays on, so a commit the server acknowledged is in
// the kernel's hands before the client hears of it, and an immediate
// restart keeps it.
func startCluster(t *testing.T) *pgCluster {
	t.Helper()
	c := &pgCluster{bin: pgBin()}
	if _, err := os.Stat(filepath.Join(c.bin, "initdb")); err != nil {
		t.Skipf("PostgreSQL server binaries not found in %s (%v): skipping the PostgreSQL fault trials; install PostgreSQL 15 (apt-get install postgresql) or set PGBIN", c.bin, err)
	}
	dir, err := os.MkdirTemp("", "simdb-crash-pg-")
	if err != nil {
		t.Fatal(err)
	}
	c.dir = dir
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		pg, err := user.Lookup("postgres")
		if err != nil {
			t.Skipf("running as root without a postgres user to run the server as (%v)", err)
		}
		uid, _ := strconv.Atoi(pg.Uid)
		gid, _ := strconv.Atoi(pg.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		c.asPG = []string{"runuser", "-u", "postgres", "--"}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.port = l.Addr().(*net.TCPAddr).Port
	l.Close()

	if out, err := c.run("initdb", "-D", c.data(), "-A", "trust", "-U", "postgres"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	opts := fmt.Sprintf("-k %s -c listen_addresses=127.0.0.1 -p %d -c fsync=off -c full_page_writes=off -c max_connections=100", dir, c.port)
	if out, err := c.run("pg_ctl", "-D", c.data(), "-w", "-l", filepath.Join(dir, "server.log"), "-o", opts, "start"); err != nil {
		t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, c.log())
	}
	t.Cleanup(func() { _, _ = c.run("pg_ctl", "-D", c.data(), "-m", "immediate", "stop") })
	c.base = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
	return c
}

func (c *pgCluster) data() string { return filepath.Join(c.dir, "data") }

// run runs one of the server's programs, as postgres when we are root.
func (c *pgCluster) run(prog string, args ...string) (string, error) {
	argv := append(append(append([]string{}, c.asPG...), filepath.Join(c.bin, prog)), args...)
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	return string(out), err
}

// log is the server's log so far, for a failure message.
func (c *pgCluster) log() string {
	b, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
	return string(b)
}

// createDB creates an empty database and returns its URL.
func (c *pgCluster) createDB(t *testing.T, name string) string {
	t.Helper()
	admin := c.open(t, c.base)
	defer admin.Close()
	if _, err := admin.ExecContext(context.Background(), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	u, _ := url.Parse(c.base)
	u.Path = "/" + name
	return u.String()
}

// restartImmediate is `pg_ctl restart -m immediate`: every server process
// is killed at once (an abort, no checkpoint), and the server starts again
// through crash recovery; -w waits until it accepts connections.
func (c *pgCluster) restartImmediate(t *testing.T) time.Duration {
	t.Helper()
	began := time.Now()
	// -l as at the start: without it the new server would write to (and
	// hold open) the pipe that collects pg_ctl's output.
	if out, err := c.run("pg_ctl", "-D", c.data(), "-m", "immediate", "-w", "-l", filepath.Join(c.dir, "server.log"), "restart"); err != nil {
		t.Fatalf("pg_ctl restart -m immediate: %v\n%s\n%s", err, out, c.log())
	}
	return time.Since(began)
}

func (c *pgCluster) open(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// withApp returns dsn with application_name set, so that the test can tell
// the workers' backends apart in pg_stat_activity.
func withApp(dsn, app string) string {
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "application_name=" + url.QueryEscape(app)
}
