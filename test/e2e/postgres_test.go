package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// pgCluster is a PostgreSQL cluster of the test's own: its data folder,
// its socket folder and port, and the postgres binary of Debian's
// package. It runs as the postgres user, as PostgreSQL requires.
type pgCluster struct {
	t              *testing.T
	bin, dir, data string
	port           int
}

func newPG(t *testing.T) *pgCluster {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/postgres")
	if len(bins) == 0 {
		t.Skip("SKIP: PostgreSQL not installed (apt-get install postgresql-15)")
	}
	need(t, "psql", "postgresql-client-15")
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Skip("SKIP: no postgres user (apt-get install postgresql-15)")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	dir := t.TempDir()
	// The postgres user must reach it: t.TempDir's parent is root's 0700.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	c := &pgCluster{t: t, bin: bins[0], dir: dir, data: filepath.Join(dir, "data"), port: freePort(t)}
	initdb := exec.Command(filepath.Join(filepath.Dir(c.bin), "initdb"), "-D", c.data, "-A", "trust", "-U", "postgres")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	initdb.Dir = dir
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	return c
}

// argv is the postmaster in the foreground, on the test's socket and
// port only, as the official image runs it.
func (c *pgCluster) argv() []string {
	return []string{c.bin, "-D", c.data, "-k", c.dir, "-p", strconv.Itoa(c.port), "-c", "listen_addresses="}
}

// start runs the cluster under supervise as PID 1, as the postgres user,
// and waits until it accepts connections.
func (c *pgCluster) start(args ...string) *proc {
	c.t.Helper()
	p := start(c.t, options{}, append(append([]string{"--listen", "off", "--user", "postgres"}, args...),
		append([]string{"--"}, c.argv()...)...)...)
	p.waitFor(`database system is ready to accept connections`, 30*time.Second)
	return p
}

// psql runs SQL in a session of its own and returns its output.
func (c *pgCluster) psql(sql string) string {
	c.t.Helper()
	out, err := c.psqlCmd(sql).CombinedOutput()
	if err != nil {
		c.t.Fatalf("psql %q: %v\n%s", sql, err, out)
	}
	return strings.TrimSpace(string(out))
}

func (c *pgCluster) psqlCmd(sql string) *exec.Cmd {
	return exec.Command("psql", "-h", c.dir, "-p", strconv.Itoa(c.port), "-U", "postgres", "-X", "-q", "-t", "-A", "-c", sql)
}

// inFlight starts a session that holds a transaction open (a row
// inserted, not committed) while stmt runs; it returns when the backend
// runs stmt, and the session's end comes on the channel.
func (c *pgCluster) inFlight(stmt string) <-chan fetched {
	c.t.Helper()
	out := make(chan fetched, 1)
	cmd := c.psqlCmd("begin; insert into jobs values ('in flight'); " + stmt + "; commit;")
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { cmd.Process.Kill() })
	go func() { err := cmd.Wait(); out <- fetched{err: err, at: time.Now()} }()
	waitUntil(c.t, "the backend to run "+stmt, 10*time.Second, func() bool {
		return c.psql(fmt.Sprintf("select count(*) from pg_stat_activity where state = 'active' and query like '%%%s%%' and pid <> pg_backend_pid()",
			strings.ReplaceAll(stmt, "'", "''"))) == "1"
	})
	return out
}

// PostgreSQL (Debian's 15) under supervise as PID 1 at Docker's 10 s
// grace, run as the postgres user by --user. The postgres preset's INT is
// PostgreSQL's fast shutdown: it aborts open transactions (their rows
// rolled back) and ends with a shutdown checkpoint, so the next start
// needs no recovery. The postmaster keeps its command line.
func TestPostgres(t *testing.T) {
	grace := 10 * time.Second
	drain := drainOf(t, "postgres", grace)
	t.Run("drain kept", func(t *testing.T) {
		c := newPG(t)
		p := c.start("--grace-period", grace.String())
		p.waitFor(`stop protocol.*preset=postgres reason="auto: program postgres"`, time.Second)
		c.psql("create table jobs (name text); insert into jobs values ('committed')")
		done := c.inFlight("select pg_sleep(60)")
		sent := p.signal(syscall.SIGTERM)
		p.waitFor(`stop rung: draining.*signal=INT`, 2*time.Second)
		noPresetChange(t, p, "postgres")
		p.waitFor(`received fast shutdown request`, 2*time.Second)
		if code := p.exit(grace); code != 0 {
			t.Errorf("exit status %d, want 0", code)
		}
		end := p.waitFor(`child stopped.*outcome=graceful`, time.Second)
		p.waitFor(`database system is shut down`, time.Second)
		result(t, done, 5*time.Second)
		t.Logf("fast shutdown done %s after the stop", end.at.Sub(sent).Round(time.Millisecond))
		again := c.start("--grace-period", grace.String())
		if l, ok := again.find(`automatic recovery in progress`, 0); ok {
			t.Errorf("the next start recovered: %s", l.text)
		}
		again.waitFor(`database system was shut down at`, 0)
		if rows := c.psql("select name from jobs order by name"); rows != "committed" {
			t.Errorf("rows after the stop: %q, want the committed one only (the open transaction rolled back)", rows)
		}
		again.signal(syscall.SIGTERM)
		again.exit(grace)
	})
	// A backend that does not act on the fast shutdown (it waits on a
	// program that ignores TERM, in COPY FROM PROGRAM) holds it past the
	// drain: the preset's QUIT at the deadline is PostgreSQL's immediate
	// shutdown, and the next start records the cut as crash recovery; the
	// open transaction's row is gone, the committed one kept.
	t.Run("cut", func(t *testing.T) {
		c := newPG(t)
		p := c.start("--grace-period", grace.String())
		c.psql("create table jobs (name text); insert into jobs values ('committed')")
		done := c.inFlight(`copy jobs from program 'trap "" TERM; exec sleep 60'`)
		sent := p.signal(syscall.SIGTERM)
		p.waitFor(`received fast shutdown request`, 2*time.Second)
		cut := p.waitFor(`stop rung: escalating.*signal=QUIT.*cause="drain deadline hit`, drain+5*time.Second)
		within(t, "QUIT rung", cut.at.Sub(sent), drain, tolerance)
		p.waitFor(`received immediate shutdown request`, 2*time.Second)
		code := p.exit(grace)
		end := p.waitFor(`child stopped.*outcome=escalated`, time.Second)
		result(t, done, 5*time.Second)
		t.Logf("immediate shutdown: exit status %d, %s after QUIT", code, end.at.Sub(cut.at).Round(time.Millisecond))
		again := c.start("--grace-period", grace.String())
		again.waitFor(`database system was not properly shut down; automatic recovery in progress`, 0)
		if rows := c.psql("select name from jobs order by name"); rows != "committed" {
			t.Errorf("rows after the cut: %q, want the committed one only", rows)
		}
		again.signal(syscall.SIGTERM)
		again.exit(grace)
	})
}
