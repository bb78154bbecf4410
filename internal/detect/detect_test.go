package detect

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/supervise/supervise/internal/ladder"
)

func TestCommand(t *testing.T) {
	cases := map[string]string{
		"huey_consumer app.huey -w 4":                   "huey",
		"/usr/local/bin/huey_consumer.py app.huey":      "huey",
		"python -m huey.bin.huey_consumer app.huey":     "huey",
		"python3.11 /app/huey_consumer.py app.huey":     "huey",
		"rq worker --url redis://r high default":        "rq",
		"/usr/bin/python3 /usr/bin/rq worker":           "rq",
		"rqworker default":                              "rq",
		"rq info":                                       Generic,
		"celery -A proj worker -l info":                 "celery",
		"python -m celery -A proj worker":               "celery",
		"celery -A proj beat":                           Generic,
		"env FOO=1 nice -n 5 dramatiq app":              "dramatiq",
		"gunicorn -w 4 app:app":                         "gunicorn",
		"python -u -W ignore -m uvicorn app:app":        "uvicorn",
		"arq app.WorkerSettings":                        "arq",
		"bundle exec sidekiq -t 25":                     "sidekiq",
		"nginx -g daemon off;":                          "nginx",
		"postgres -D /data":                             "postgres",
		"php-fpm8.2 -F":                                 "php-fpm",
		"sh -c exec huey_consumer app.huey":             Generic, // Fields splits the -c string: sh runs "exec"
		"/usr/bin/ruby3.1 /usr/bin/sidekiq -r ./app.rb": "sidekiq",
		"ruby -I lib -r bundler/setup -S sidekiq":       "sidekiq",
		"ruby -e Resque::Worker.new.work":               Generic,
		"rake resque:work":                              "resque",
		"bundle exec rake environment resque:work":      "resque",
		"rake db:migrate":                               Generic,
		"php-fpm -F":                                    "php-fpm",
		"python -c import x":                            Generic,
		"/app/entrypoint.sh huey_consumer":              Generic,
	}
	for in, want := range cases {
		if got := Command(strings.Fields(in)); got.Preset != want {
			t.Errorf("Command(%q) = %s (%s), want %s", in, got.Preset, got.Reason, want)
		}
	}
	if got := Command(nil); got.Preset != Generic {
		t.Errorf("Command(nil) = %v", got)
	}
	if got := Command(strings.Fields("python3 -c pass")); got.Reason != "no known worker in python -c" {
		t.Errorf("python -c: reason %q", got.Reason)
	}
}

func FuzzCommand(f *testing.F) {
	f.Add("python -m celery -A x worker")
	f.Add("env A=1 exec nice huey_consumer")
	f.Add("python3 -W")
	f.Fuzz(func(t *testing.T, in string) {
		d := Command(strings.Fields(in))
		if !slices.Contains(Presets(), d.Preset) {
			t.Fatalf("Command(%q) = unknown preset %q", in, d.Preset)
		}
	})
}

func TestScript(t *testing.T) {
	fs := map[string]string{
		"/app/worker.py":          "import os\nfrom redis import Redis\nfrom rq import Worker, Queue\n\nWorker([Queue()]).work()\n",
		"/app/hw/__main__.py":     "import logging\nimport tasks\nfrom huey.consumer import Consumer\nConsumer(tasks.huey).run()\n",
		"/app/indirect.py":        "import sys\nimport jobs as j\nj.app.worker_main(argv=['worker'])\n",
		"/app/jobs.py":            "import os, celery\n",
		"/app/api.py":             "from http.server import ThreadingHTTPServer\nfrom tasks import compute, huey\nserve()\n",
		"/app/tasks.py":           "from huey import SqliteHuey\nhuey = SqliteHuey('x')\n",
		"/app/web.py":             "from fastapi import FastAPI\nfrom rq import Queue\nq = Queue()\nq.enqueue(f)\n",
		"/app/old.py":             "from rq import Worker\n# Worker([q]).work()\n",
		"/app/run.py":             "from tasks import huey\nhuey.create_consumer(workers=2).run()\n",
		"/app/plain.py":           "print('hello')\n",
		"/lib/pkg/consumer.py":    "from dramatiq.cli import main\n",
		"/app/commented.py":       "# import rq\nx = 'import huey'\n",
		"/app/scripts/start.py":   "import helper\n",
		"/app/scripts/helper.py":  "from huey import SqliteHuey\n",
		"/app/scripts/helper2.py": "",
	}
	files := Files{Dir: "/app", PythonPath: []string{"/lib"}, Read: func(p string) ([]byte, error) {
		if s, ok := fs[p]; ok {
			return []byte(s), nil
		}
		return nil, errors.New("no such file")
	}}
	cases := map[string]string{
		"python -m worker":                "rq: worker.py imports rq",
		"python3 -m hw":                   "huey: __main__.py imports huey",
		"python3 indirect.py":             "celery: indirect.py imports jobs.py, which imports celery",
		"python3 /app/plain.py":           "",
		"python -m pkg.consumer":          "dramatiq: consumer.py imports dramatiq",
		"python3 commented.py":            "",
		"python3 scripts/start.py --flag": "generic: start.py imports helper.py, which imports huey, but starts no Huey consumer (huey_consumer, Consumer(, create_consumer(, consumer.run()): a producer, not a worker",
		"python3 api.py":                  "generic: api.py imports tasks.py, which imports huey, but starts no Huey consumer (huey_consumer, Consumer(, create_consumer(, consumer.run()): a producer, not a worker",
		"python3 web.py":                  "generic: web.py imports rq, but starts no RQ worker (Worker(...).work(), rq worker): a producer, not a worker",
		"python3 old.py":                  "generic: old.py imports rq, but starts no RQ worker (Worker(...).work(), rq worker): a producer, not a worker",
		"python3 run.py":                  "huey: run.py imports tasks.py, which imports huey",
		"python3 -m missing":              "",
		"rq worker":                       "",
		"python3 -c import rq":            "",
	}
	for in, want := range cases {
		d, ok := Script(strings.Fields(in), files)
		got := ""
		if ok {
			got = d.Preset + ": " + d.Reason
		}
		if got != want {
			t.Errorf("Script(%q) = %q, want %q", in, got, want)
		}
	}
	reads := 0
	many := Files{Dir: "/app", PythonPath: []string{"/a", "/b", "/c", "/d", "/e"}, Read: func(string) ([]byte, error) {
		reads++
		return []byte("import x1, x2, x3, x4, x5\n"), nil
	}}
	Script([]string{"python", "-m", "w"}, many)
	if reads > MaxScripts {
		t.Errorf("%d files read, at most %d", reads, MaxScripts)
	}
}

func FuzzImports(f *testing.F) {
	f.Add("import os, sys as s\nfrom rq.worker import Worker\n")
	f.Add("from . import x\nimport\n")
	f.Fuzz(func(t *testing.T, src string) {
		for _, m := range imports([]byte(src)) {
			if m == "" || strings.ContainsAny(m, " .\t\n,") {
				t.Fatalf("imports(%q) gave %q", src, m)
			}
		}
	})
}

// A shell's -c string, as a Dockerfile's shell form or a compose
// command: string runs it, is read for the command it runs.
func TestCommandShellString(t *testing.T) {
	cases := []struct {
		argv   []string
		preset string
		reason string
	}{
		{[]string{"/bin/sh", "-c", "QUEUE=* rake resque:work"}, "resque", "shell -c program rake with argument resque:work"},
		{[]string{"sh", "-c", "exec gunicorn -w 2 'app:create_app()'"}, "gunicorn", "shell -c program gunicorn"},
		{[]string{"bash", "-ec", "cd /app && exec huey_consumer app.huey"}, Generic, "no known worker in a shell's -c string"},
		{[]string{"sh", "-e", "-c", "exec env A=1 nginx -g 'daemon off;'"}, "nginx", "shell -c program nginx"},
		{[]string{"sh", "-c", "sh -c 'exec nginx'"}, Generic, "no known worker in a shell's -c string"},
		{[]string{"sh", "/entrypoint.sh", "nginx"}, Generic, "no known worker in program sh"},
		{[]string{"sh", "-c"}, Generic, "no known worker in program sh"},
		{[]string{"dash", "-c", "A=1 B=2"}, Generic, "no known worker in a shell's -c string"},
	}
	for _, c := range cases {
		if got := Command(c.argv); got.Preset != c.preset || got.Reason != c.reason {
			t.Errorf("Command(%q) = %s (%s), want %s (%s)", c.argv, got.Preset, got.Reason, c.preset, c.reason)
		}
	}
}

// The titles the supported programs give themselves, as
// /proc/PID/cmdline showed them with the tested releases, are the
// programs they are; a command line that merely looks alike is not.
func TestTitle(t *testing.T) {
	cases := map[string]string{
		"nginx: master process nginx -g daemon off;":                       "nginx",
		"nginx: master process /usr/sbin/nginx -c /etc/nginx/nginx.conf":   "nginx",
		"php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)":          "php-fpm",
		"sidekiq 6.4.1  [0 of 10 busy]":                                    "sidekiq",
		"sidekiq 6.4.1 app [3 of 5 busy] stopping":                         "sidekiq",
		"resque-3.0.0: Waiting for default":                                "resque",
		"resque-3.0.0: Forked 14 at 1796668738":                            "resque",
		"resque: Starting":                                                 "resque",
		"[celeryd: celery@vm:MainProcess] -active- (-A tasks worker -c 1)": "celery",
		"rq:worker:831fdf9b89354caa888bbe96de912123: Listening on default": "rq",
		"rq: Listening on default":                                         "rq",
		"gunicorn: master [wsgi:app]":                                      "gunicorn",
		"nginx":                                                            "",
		"/usr/sbin/nginx -g daemon off;":                                   "",
		"sidekiq -t 25":                                                    "",
		"gunicorn: worker [wsgi:app]":                                      "",
		"[celerybeat]":                                                     "",
		"rq worker":                                                        "",
	}
	for in, want := range cases {
		d, ok := Title([]string{in, "", ""})
		got := ""
		if ok {
			got = d.Preset
		}
		if got != want {
			t.Errorf("Title(%q) = %q (%s), want %q", in, got, d.Reason, want)
		}
	}
	if _, ok := Title(nil); ok {
		t.Error("Title(nil) recognised something")
	}
}

// Every preset detection can return is one ladder has.
func TestPresetsExist(t *testing.T) {
	for _, p := range Presets() {
		if _, ok := ladder.Lookup(p); !ok {
			t.Errorf("detect returns preset %q, which ladder does not have", p)
		}
	}
}

func FuzzTitle(f *testing.F) {
	f.Add("nginx: master process nginx")
	f.Add("sidekiq 6.4.1 app [0 of 5 busy]")
	f.Fuzz(func(t *testing.T, in string) {
		if d, ok := Title([]string{in}); ok && !slices.Contains(Presets(), d.Preset) {
			t.Fatalf("Title(%q) = unknown preset %q", in, d.Preset)
		}
	})
}

func TestOption(t *testing.T) {
	cases := []struct {
		argv, names string
		name, value string
	}{
		{"gunicorn -w 4 --graceful-timeout 60 app:app", "--graceful-timeout", "--graceful-timeout", "60"},
		{"gunicorn --graceful-timeout=45 app:app", "--graceful-timeout", "--graceful-timeout", "45"},
		{"python -m uvicorn --timeout-graceful-shutdown 20 app:app", "--timeout-graceful-shutdown", "--timeout-graceful-shutdown", "20"},
		{"bundle exec sidekiq -t 25", "-t --timeout", "-t", "25"},
		{"sidekiq -t40", "-t --timeout", "-t", "40"},
		{"sidekiq --timeout=8 -t 9", "-t --timeout", "-t", "9"},
		{"/usr/bin/ruby3.1 /usr/bin/sidekiq -t 5 -r ./app.rb", "-t --timeout", "-t", "5"},
		{"gunicorn app:app", "--graceful-timeout", "", ""},
		{"gunicorn app:app -- --graceful-timeout 3", "--graceful-timeout", "", ""},
		{"gunicorn --graceful-timeout", "--graceful-timeout", "", ""},
	}
	for _, c := range cases {
		name, value, ok := Option(strings.Fields(c.argv), strings.Fields(c.names)...)
		if name != c.name || value != c.value || ok != (c.name != "") {
			t.Errorf("Option(%q, %q) = %q %q %v", c.argv, c.names, name, value, ok)
		}
	}
	if _, v, _ := Option([]string{"sh", "-c", "exec gunicorn --graceful-timeout 5 app"}, "--graceful-timeout"); v != "5" {
		t.Errorf("Option through sh -c = %q, want 5", v)
	}
}

func FuzzOption(f *testing.F) {
	f.Add("-t --timeout", "sidekiq -t 25")
	f.Add("--graceful-timeout", "gunicorn --graceful-timeout=")
	f.Fuzz(func(t *testing.T, names, argv string) {
		args := strings.Fields(argv)
		name, value, ok := Option(args, strings.Fields(names)...)
		if ok && (!slices.Contains(strings.Fields(names), name) || !strings.Contains(argv, value)) {
			t.Fatalf("Option(%q, %q) = %q %q", argv, names, name, value)
		}
	})
}
