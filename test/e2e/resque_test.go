package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/supervise/supervise/internal/ladder"
	"github.com/supervise/supervise/test/testenv"
)

// resqueEnv is a Resque 3.0.0 application (testdata/resque) against one
// Redis: Resque's keys live under the "resque:" namespace.
type resqueEnv struct {
	t   *testing.T
	url string
	dir string
	env []string
	// jobs counts the jobs pushed, for their ids.
	jobs int
}

func newResque(t *testing.T) *resqueEnv {
	t.Helper()
	src := testenv.Resque(t)
	need(t, "rake", "rake")
	need(t, "ruby", "ruby")
	dir, _ := filepath.Abs("testdata/resque")
	r := &resqueEnv{t: t, url: redisServer(t), dir: dir}
	// INTERVAL: an idle worker polls its queue every half second (5 s by
	// default), which is also how soon it sees a QUIT while idle.
	r.env = []string{"REDIS_URL=" + r.url, "RUBYLIB=" + filepath.Join(src, "lib"), "QUEUE=default", "INTERVAL=0.5"}
	return r
}

// argv is `rake resque:work`, as Resque's README starts a worker.
func (r *resqueEnv) argv() []string {
	return []string{"rake", "-f", filepath.Join(r.dir, "Rakefile"), "resque:work"}
}

// enqueue queues one SlowJob per duration (seconds) and returns their ids.
func (r *resqueEnv) enqueue(seconds ...string) []string {
	r.t.Helper()
	var ids []string
	for _, sec := range seconds {
		ids = append(ids, r.push("SlowJob", sec))
	}
	return ids
}

// push queues one job of class with args and a new id as its last
// argument, as Resque.enqueue does, and returns the id.
func (r *resqueEnv) push(class string, args ...string) string {
	r.t.Helper()
	r.jobs++
	id := fmt.Sprintf("job%d-%d", time.Now().UnixNano(), r.jobs)
	job, _ := json.Marshal(map[string]any{"class": class, "args": append(args, id)})
	redisDo(r.t, r.url, "SADD", "resque:queues", "default")
	redisDo(r.t, r.url, "RPUSH", "resque:queue:default", string(job))
	return id
}

// where says where job id is: "done", "failed" (Resque's failed list,
// with the exception), "queued", or "nowhere".
func (r *resqueEnv) where(id string) string {
	r.t.Helper()
	if v := redisDo(r.t, r.url, "GET", "resque:done:"+id); len(v) > 0 {
		return "done"
	}
	for _, f := range redisDo(r.t, r.url, "LRANGE", "resque:failed", "0", "-1") {
		if strings.Contains(f, id) {
			var rec struct{ Exception string }
			json.Unmarshal([]byte(f), &rec)
			return "failed " + rec.Exception
		}
	}
	for _, j := range redisDo(r.t, r.url, "LRANGE", "resque:queue:default", "0", "-1") {
		if strings.Contains(j, id) {
			return "queued"
		}
	}
	return "nowhere"
}

// Resque 3.0.0 under supervise as PID 1 at Docker's 10 s grace. Resque's
// TERM kills the job's child at once (the job recorded failed); the
// resque preset sends QUIT, which lets the job finish, then INT at the
// deadline. Resque rewrites its title ("resque-3.0.0: Processing ...").
func TestResque(t *testing.T) {
	grace := 10 * time.Second
	drain := drainOf(t, "resque", grace)
	// Started by a shell's -c string, as a Dockerfile's shell form runs
	// it: auto reads `QUEUE=default rake resque:work` there; at the stop
	// the title keeps the preset. The job in flight finishes.
	t.Run("drain kept, shell form", func(t *testing.T) {
		r := newResque(t)
		id := r.enqueue("3")[0]
		cmd := "QUEUE=default exec " + strings.Join(r.argv(), " ")
		p := start(t, options{env: r.env}, "--listen", "off", "--grace-period", grace.String(), "--", "/bin/sh", "-c", cmd)
		p.waitFor(`stop protocol.*preset=resque reason="auto: shell -c program rake with argument resque:work"`, 5*time.Second)
		p.waitFor(`slow started 3 id=`+id, 30*time.Second)
		sent := p.signal(syscall.SIGTERM)
		p.waitFor(`stop rung: draining.*signal=QUIT`, 2*time.Second)
		noPresetChange(t, p, "resque")
		p.waitFor(`slow done 3 id=`+id, 5*time.Second)
		if code := p.exit(grace); code != 0 {
			t.Errorf("exit status %d, want 0", code)
		}
		end := p.waitFor(`child stopped.*outcome=graceful`, time.Second)
		if got := r.where(id); got != "done" {
			t.Errorf("job after the stop: %s, want done", got)
		}
		t.Logf("Resque exited %s after the stop", end.at.Sub(sent).Round(time.Millisecond))
	})
	// A job longer than the drain: the preset's INT at the deadline is
	// Resque's shutdown!, which kills the job's child; Resque records the
	// job in its failed list and exits before supervise's KILL.
	t.Run("cut", func(t *testing.T) {
		r := newResque(t)
		id := r.enqueue("60")[0]
		p := start(t, options{env: r.env}, append([]string{"--listen", "off", "--grace-period", grace.String(), "--"}, r.argv()...)...)
		p.waitFor(`slow started 60 id=`+id, 30*time.Second)
		sent := p.signal(syscall.SIGTERM)
		cut := p.waitFor(`stop rung: escalating.*signal=INT.*cause="drain deadline hit`, drain+5*time.Second)
		within(t, "INT rung", cut.at.Sub(sent), drain, tolerance)
		code := p.exit(grace)
		end := p.waitFor(`child stopped.*outcome=escalated`, time.Second)
		if n := p.count(`signal=KILL`); n != 0 {
			t.Errorf("KILL sent: Resque did not exit by itself after INT")
		}
		if got := r.where(id); !strings.HasPrefix(got, "failed") {
			t.Errorf("job after the cut: %s, want it in Resque's failed list", got)
		}
		t.Logf("INT to exit %s, exit status %d; job %s", end.at.Sub(cut.at).Round(time.Millisecond), code, r.where(id))
	})
	// With TERM_CHILD set, Resque's INT sends the job's child TERM (the
	// job sees Resque::TermException) and gives it RESQUE_TERM_TIMEOUT
	// (4 s by default) before it kills it: a job that saves its progress
	// and queues itself again needs that time after INT, or supervise's
	// KILL lands first and the job is nowhere (done, queued or failed).
	// The preset reads TERM_CHILD and RESQUE_TERM_TIMEOUT from the
	// worker's environment and gives INT that wait and 2 s.
	t.Run("TERM_CHILD", func(t *testing.T) {
		r := newResque(t)
		grace := 20 * time.Second
		cleanup := 3 * time.Second
		r.env = append(r.env, "TERM_CHILD=1")
		resque, _ := ladder.Lookup("resque")
		want, _ := ladder.Size(resque.WithStopWait(resque.Timeout.Default+resque.Timeout.After), ladder.Budget{Grace: grace})
		id := r.push("CheckpointJob", "60", fmt.Sprint(cleanup.Seconds()))
		p := start(t, options{env: r.env}, append([]string{"--listen", "off", "--grace-period", grace.String(), "--"}, r.argv()...)...)
		p.waitFor(`stop protocol.*preset=resque.* ladder=`+regexp.QuoteMeta(want.String())+` `, 5*time.Second)
		p.waitFor(`checkpoint started 60 id=`+id, 30*time.Second)
		sent := p.signal(syscall.SIGTERM)
		cut := p.waitFor(`stop rung: escalating.*signal=INT`, grace)
		within(t, "INT rung", cut.at.Sub(sent), want.Rungs[0].Wait, tolerance)
		term := p.waitFor(`checkpoint term id=`+id, grace)
		p.waitFor(`checkpoint requeued id=`+id, grace)
		code := p.exit(grace)
		if n := p.count(`signal=KILL`); n != 0 {
			t.Errorf("KILL sent: Resque did not exit by itself after the job queued itself again")
		}
		if got := r.where(id); got != "queued" {
			t.Errorf("job after the stop: %s, want it queued again by its own TermException handler", got)
		}
		t.Logf("ladder %s; the job's TERM %s after INT, exit status %d, job %s",
			want, term.at.Sub(cut.at).Round(time.Millisecond), code, r.where(id))
	})
}
