package ladder

import (
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestPlanFitsGrace(t *testing.T) {
	for _, name := range Names() {
		p, ok := Lookup(name)
		if !ok || len(p.Steps) == 0 {
			continue
		}
		for _, grace := range []time.Duration{5 * time.Second, 10 * time.Second, 30 * time.Second, 35 * time.Minute} {
			l, warns := Plan(p, Budget{Grace: grace})
			if l.Steps[len(l.Steps)-1].Signal != unix.SIGKILL {
				t.Errorf("%s: ladder %s does not end in KILL", name, l)
			}
			if grace >= 10*time.Second {
				if len(warns) > 0 {
					t.Errorf("%s at %s: warnings %v", name, grace, warns)
				}
				if got := l.Total(); got != grace-Margin(grace) {
					t.Errorf("%s at %s: ladder %s takes %s, want %s", name, grace, l, got, grace-Margin(grace))
				}
			}
			for i, s := range l.Steps[:len(l.Steps)-1] {
				if s.Wait < MinSpacing {
					t.Errorf("%s at %s: rung %d waits %s, below %s", name, grace, i, s.Wait, MinSpacing)
				}
			}
		}
	}
}

func TestPlanHuey(t *testing.T) {
	p, _ := Lookup("huey")
	l, _ := Plan(p, Budget{Grace: 10 * time.Second})
	if l.String() != "INT,4s,INT,5s,KILL" {
		t.Errorf("huey at 10s: %s", l)
	}
	l, _ = Plan(p, Budget{Grace: 35 * time.Minute, StopDelay: 5 * time.Second})
	if l.String() != "INT,34m49s,INT,5s,KILL" {
		t.Errorf("huey at 35m with 5s stop delay: %s", l)
	}
	l, warns := Plan(p, Budget{Grace: 10 * time.Second, DrainTimeout: 20 * time.Second})
	if l.String() != "INT,20s,INT,5s,KILL" || len(warns) != 1 {
		t.Errorf("huey with a drain past the grace: %s %v", l, warns)
	}
	l, warns = Plan(p, Budget{Grace: 4 * time.Second})
	if len(warns) == 0 || l.Total() > 4*time.Second {
		t.Errorf("huey at 4s: %s %v", l, warns)
	}
}

func TestParseStop(t *testing.T) {
	good := map[string]string{
		"TERM,290s,QUIT,5s,KILL": "TERM,4m50s,QUIT,5s,KILL",
		"INT,30,KILL":            "INT,30s,KILL",
		"TERM,30s":               "TERM,30s,KILL",
		"sigterm, 2s ,kill":      "TERM,2s,KILL",
		"KILL":                   "KILL",
	}
	for in, want := range good {
		l, err := ParseStop(in)
		if err != nil || l.String() != want {
			t.Errorf("ParseStop(%q) = %s, %v; want %s", in, l, err, want)
		}
	}
	for _, in := range []string{"", "TERM", "TERM,5s,QUIT", "TERM,1s,KILL", "TERM,x,KILL", "KILL,5s,TERM", "FOO,5s,KILL", "TERM,-5s,KILL", ",,"} {
		if l, err := ParseStop(in); err == nil {
			t.Errorf("ParseStop(%q) = %s, want an error", in, l)
		}
	}
}

func TestParseDuration(t *testing.T) {
	good := map[string]time.Duration{"30": 30 * time.Second, "1m30s": 90 * time.Second, "250ms": 250 * time.Millisecond, "0": 0, "8760h": MaxDuration}
	for in, want := range good {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "-1s", "abc", "8761h", "99999999999999", "1e3s", "30 s"} {
		if got, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", in, got)
		}
	}
}

func TestDetect(t *testing.T) {
	cases := map[string]string{
		"huey_consumer app.huey -w 4":               "huey",
		"/usr/local/bin/huey_consumer.py app.huey":  "huey",
		"python -m huey.bin.huey_consumer app.huey": "huey",
		"python3.11 /app/huey_consumer.py app.huey": "huey",
		"rq worker --url redis://r high default":    "rq",
		"/usr/bin/python3 /usr/bin/rq worker":       "rq",
		"rqworker default":                          "rq",
		"rq info":                                   "none",
		"celery -A proj worker -l info":             "celery",
		"python -m celery -A proj worker":           "celery",
		"celery -A proj beat":                       "none",
		"env FOO=1 nice -n 5 dramatiq app":          "dramatiq",
		"gunicorn -w 4 app:app":                     "gunicorn",
		"python -u -W ignore -m uvicorn app:app":    "uvicorn",
		"arq app.WorkerSettings":                    "arq",
		"bundle exec sidekiq -t 25":                 "sidekiq",
		"nginx -g daemon off;":                      "nginx",
		"postgres -D /data":                         "postgres",
		"php-fpm8.2 -F":                             "php-fpm",
		"sh -c exec huey_consumer app.huey":         "none",
		"python -c import x":                        "none",
		"/app/entrypoint.sh huey_consumer":          "none",
	}
	for in, want := range cases {
		if got := Detect(strings.Fields(in)); got.Preset != want {
			t.Errorf("Detect(%q) = %s (%s), want %s", in, got.Preset, got.Reason, want)
		}
	}
	if got := Detect(nil); got.Preset != "none" {
		t.Errorf("Detect(nil) = %v", got)
	}
}

func FuzzParseStop(f *testing.F) {
	for _, s := range []string{"TERM,290s,QUIT,5s,KILL", "INT,4s,INT,5s,KILL", "TERM,30", "KILL", "", ",", "TERM,1.5s,KILL"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		l, err := ParseStop(in)
		if err != nil {
			return
		}
		if len(l.Steps) == 0 || l.Steps[len(l.Steps)-1].Signal != unix.SIGKILL {
			t.Fatalf("ParseStop(%q) = %s: does not end in KILL", in, l)
		}
		for _, s := range l.Steps[:len(l.Steps)-1] {
			if s.Wait < MinSpacing || s.Signal == unix.SIGKILL {
				t.Fatalf("ParseStop(%q) = %s: bad rung %+v", in, l, s)
			}
		}
		again, err := ParseStop(l.String())
		if err != nil || again.String() != l.String() {
			t.Fatalf("round trip of %q: %s, %v", in, again, err)
		}
	})
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"30", "1m30s", "250ms", "-1s", "8760h", "999999999999", "1.5h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		d, err := ParseDuration(in)
		if err == nil && (d < 0 || d > MaxDuration) {
			t.Fatalf("ParseDuration(%q) = %v", in, d)
		}
	})
}

func FuzzDetect(f *testing.F) {
	f.Add("python -m celery -A x worker")
	f.Add("env A=1 exec nice huey_consumer")
	f.Add("python3 -W")
	f.Fuzz(func(t *testing.T, in string) {
		d := Detect(strings.Fields(in))
		if _, ok := Lookup(d.Preset); !ok {
			t.Fatalf("Detect(%q) = unknown preset %q", in, d.Preset)
		}
	})
}
