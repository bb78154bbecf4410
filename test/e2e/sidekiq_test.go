package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/supervise/supervise/internal/ladder"
)

// sidekiqEnv is a Sidekiq application (testdata/sidekiq/app.rb) against
// one Redis.
type sidekiqEnv struct {
	t   *testing.T
	url string
	app string
}

func newSidekiq(t *testing.T) *sidekiqEnv {
	t.Helper()
	need(t, "sidekiq", "ruby-sidekiq")
	app, _ := filepath.Abs("testdata/sidekiq/app.rb")
	return &sidekiqEnv{t: t, url: redisServer(t), app: app}
}

// argv is Sidekiq as Debian's ruby-sidekiq installs it (a RubyGems
// wrapper run by ruby), with its own options.
func (s *sidekiqEnv) argv(opts ...string) []string {
	return append(append([]string{"sidekiq"}, opts...), "-r", s.app, "-c", "2")
}

// enqueue pushes one SlowJob per duration (seconds) onto the default
// queue, as Sidekiq::Client does, and returns their job ids.
func (s *sidekiqEnv) enqueue(seconds ...string) []string {
	s.t.Helper()
	var ids []string
	for i, sec := range seconds {
		jid := fmt.Sprintf("%012x%012x", time.Now().UnixNano(), i)
		job, _ := json.Marshal(map[string]any{"class": "SlowJob", "args": []string{sec}, "jid": jid, "queue": "default",
			"retry": false, "created_at": float64(time.Now().Unix()), "enqueued_at": float64(time.Now().Unix())})
		redisDo(s.t, s.url, "SADD", "queues", "default")
		redisDo(s.t, s.url, "LPUSH", "queue:default", string(job))
		ids = append(ids, jid)
	}
	return ids
}

// where says where job jid is: "done", "queued" (in queue:default, where
// Sidekiq's push-back puts a job it gave up), or "nowhere".
func (s *sidekiqEnv) where(jid string) string {
	s.t.Helper()
	if v := redisDo(s.t, s.url, "GET", "done:"+jid); len(v) > 0 {
		return "done"
	}
	for _, j := range redisDo(s.t, s.url, "LRANGE", "queue:default", "0", "-1") {
		if strings.Contains(j, `"jid":"`+jid+`"`) {
			return "queued"
		}
	}
	return "nowhere"
}

// start runs Sidekiq under supervise as PID 1 and waits until job jid runs.
func (s *sidekiqEnv) start(jid string, sidekiqOpts []string, args ...string) *proc {
	s.t.Helper()
	p := start(s.t, options{env: []string{"REDIS_URL=" + s.url}},
		append(append([]string{"--listen", "off"}, args...), append([]string{"--"}, s.argv(sidekiqOpts...)...)...)...)
	p.waitFor(`slow started .* jid=`+jid, 30*time.Second)
	return p
}

// Sidekiq (Debian's ruby-sidekiq 6.4.1) under supervise as PID 1. TERM
// makes Sidekiq wait its -t, then push the running jobs back to Redis
// and exit; its job fetch has already taken the job out of Redis, so a
// KILL before that push-back loses it. Sidekiq rewrites its title once
// running ("sidekiq 6.4.1 ... [1 of 2 busy]"); the stop still gets the
// sidekiq preset and the -t read at start.
func TestSidekiq(t *testing.T) {
	grace := 10 * time.Second
	// Without -t, Sidekiq's 25 s cannot fit Docker's 10 s: supervise says
	// so at start and names the largest -t that fits, as an integer.
	t.Run("advice", func(t *testing.T) {
		s := newSidekiq(t)
		p := start(t, options{env: []string{"REDIS_URL=" + s.url}}, append([]string{"--listen", "off", "--grace-period", grace.String(), "--"},
			s.argv()...)...)
		w := p.waitFor(`level=WARN msg="sidekiq's -t 25s \(its default`, 5*time.Second)
		if !strings.Contains(w.text, "set -t 6 or less") {
			t.Errorf("advice: %s", w.text)
		}
		waitTitle(t, "sidekiq 6", 30*time.Second)
		p.signal(syscall.SIGTERM)
		if code := p.exit(grace); code != 0 {
			t.Errorf("exit status %d, want 0", code)
		}
	})
	// With -t 6 at 10 s: TERM first (no room to quiet it earlier), a 3 s
	// job finishes, Sidekiq exits 0 by itself.
	t.Run("drain kept", func(t *testing.T) {
		s := newSidekiq(t)
		jid := s.enqueue("3")[0]
		p := s.start(jid, []string{"-t", "6"}, "--grace-period", grace.String())
		sent := p.signal(syscall.SIGTERM)
		p.waitFor(`stop rung: draining.*signal=TERM`, 2*time.Second)
		noPresetChange(t, p, "sidekiq")
		p.waitFor(`slow done 3 jid=`+jid, 5*time.Second)
		if code := p.exit(grace); code != 0 {
			t.Errorf("exit status %d, want 0", code)
		}
		end := p.waitFor(`child stopped.*outcome=graceful`, time.Second)
		if got := s.where(jid); got != "done" {
			t.Errorf("job after the stop: %s, want done", got)
		}
		t.Logf("Sidekiq exited %s after the stop", end.at.Sub(sent).Round(time.Millisecond))
	})
	// A job longer than -t 6: Sidekiq gives up at 6 s, pushes the job back
	// to its queue and exits 0, before supervise's KILL at 9 s.
	t.Run("cut", func(t *testing.T) {
		s := newSidekiq(t)
		jid := s.enqueue("60")[0]
		p := s.start(jid, []string{"-t", "6"}, "--grace-period", grace.String())
		sent := p.signal(syscall.SIGTERM)
		p.waitFor(`stop rung: draining.*signal=TERM`, 2*time.Second)
		if code := p.exit(grace); code != 0 {
			t.Errorf("exit status %d, want 0", code)
		}
		end := p.waitFor(`child stopped`, time.Second)
		if n := p.count(`signal=KILL`); n != 0 || end.at.Sub(sent) < 6*time.Second {
			t.Errorf("Sidekiq ended %s after the stop, KILL sent %d times; want it to end after its -t 6 by itself", end.at.Sub(sent), n)
		}
		if got := s.where(jid); got != "queued" {
			t.Errorf("job after the cut: %s, want it pushed back to the queue", got)
		}
		p.waitFor(`Work still in progress`, 0)
		t.Logf("Sidekiq pushed the job back and exited %s after the stop", end.at.Sub(sent).Round(time.Millisecond))
	})
	// Where the grace leaves room for -t after TERM, TSTP quiets Sidekiq
	// first: the running job finishes however long -t is, no new job is
	// fetched, and TERM comes -t plus 3 s before supervise's KILL. (With
	// TERM first, Sidekiq -t 2 would cut this 6 s job at 2 s.)
	t.Run("quiet first", func(t *testing.T) {
		b := ladder.Budget{Grace: 20 * time.Second}
		sidekiq, _ := ladder.Lookup("sidekiq")
		l, _ := ladder.Size(sidekiq.WithStopWait(2*time.Second+sidekiq.Timeout.After), b) // -t 2
		drain := l.Rungs[0].Wait
		s := newSidekiq(t)
		jid := s.enqueue("6")[0]
		p := s.start(jid, []string{"-t", "2"}, "--grace-period", b.Grace.String())
		p.waitFor(`stop protocol.*ladder=`+l.String()+` `, time.Second)
		sent := p.signal(syscall.SIGTERM)
		p.waitFor(`stop rung: draining.*signal=TSTP`, 2*time.Second)
		later := s.enqueue("1")[0]
		p.waitFor(`slow done 6 jid=`+jid, 10*time.Second)
		term := p.waitFor(`stop rung: escalating.*signal=TERM.*cause="drain deadline hit`, drain+5*time.Second)
		within(t, "TERM rung", term.at.Sub(sent), drain, tolerance)
		if code := p.exit(b.Grace); code != 0 {
			t.Errorf("exit status %d, want 0", code)
		}
		if got := s.where(jid); got != "done" {
			t.Errorf("the running job: %s, want done", got)
		}
		if got := s.where(later); got != "queued" {
			t.Errorf("a job enqueued after TSTP: %s, want it left in the queue (Sidekiq quiet)", got)
		}
	})
}
