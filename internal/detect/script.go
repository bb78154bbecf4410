package detect

import (
	"path"
	"regexp"
	"strings"
	"sync"
)

// Files is how Script reads a worker's own Python files: the
// child's working directory, its PYTHONPATH, and a bounded reader.
type Files struct {
	// Dir is the child's working directory; relative paths start there.
	Dir string
	// PythonPath lists the child's PYTHONPATH entries.
	PythonPath []string
	// Read returns the start of a file (MaxScriptBytes at most), or an
	// error when it does not exist or cannot be read.
	Read func(path string) ([]byte, error)
}

// Bounds of Script's reading: it looks into at most MaxScripts
// files, and reads at most MaxScriptBytes of each.
const (
	MaxScripts     = 4
	MaxScriptBytes = 64 << 10
)

// workerImports maps the Python packages whose import marks a worker
// script to their presets.
var workerImports = map[string]string{"rq": "rq", "huey": "huey", "celery": "celery", "dramatiq": "dramatiq"}

// starters are what starts a worker, per preset: a script that imports the
// queue library only to enqueue jobs (a web app, an API) is a producer, and
// stopping it like a worker would be wrong (Huey's INT makes a web app
// print a KeyboardInterrupt and exit 130). Compiled when first needed.
var starters = sync.OnceValue(func() map[string]*regexp.Regexp {
	return map[string]*regexp.Regexp{
		// huey_consumer, Consumer(huey), huey.create_consumer(), consumer.run()
		"huey": regexp.MustCompile(`huey_consumer|\bConsumer\s*\(|create_consumer\s*\(|consumer\.run\s*\(`),
		// Worker([...]).work(), w = Worker(...); w.work(), `rq worker`
		"rq": regexp.MustCompile(`Worker\b[\s\S]*\.work\s*\(|\brq\s+worker\b|\brqworker\b`),
		// app.worker_main(), app.Worker(), `celery -A app worker`
		"celery": regexp.MustCompile(`worker_main\s*\(|\.Worker\s*\(|\bcelery\b[^\n]*\bworker\b`),
		// dramatiq's own command line, or a Worker started by hand
		"dramatiq": regexp.MustCompile(`dramatiq\.cli|\bWorker\s*\([\s\S]*\.start\s*\(`),
	}
})

// starterNames says what starts a worker, for the reason a producer gets.
var starterNames = map[string]string{
	"huey":     "no Huey consumer (huey_consumer, Consumer(, create_consumer(, consumer.run())",
	"rq":       "no RQ worker (Worker(...).work(), rq worker)",
	"celery":   "no Celery worker (worker_main, app.Worker, celery ... worker)",
	"dramatiq": "no Dramatiq worker (dramatiq.cli, Worker(...).start())",
}

// withoutComments drops # comments, so a commented-out starter does not
// count. (A # inside a string is cut too; starters are code, not strings,
// but for `rq worker` in a command string, which keeps its words before
// any #.)
func withoutComments(src []byte) []byte {
	lines := strings.Split(string(src), "\n")
	for i, l := range lines {
		if j := strings.IndexByte(l, '#'); j >= 0 {
			lines[i] = l[:j]
		}
	}
	return []byte(strings.Join(lines, "\n"))
}

// importLine finds "import X", "import X.y", "from X import", "from X.y
// import" at the start of a line, and "import a, b". Compiled when first
// needed: most commands are no Python script, and start-up should not pay.
var importLine = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?m)^[ \t]*(?:from[ \t]+([A-Za-z_][A-Za-z0-9_.]*)[ \t]+import\b|import[ \t]+([A-Za-z_][A-Za-z0-9_., \t]*))`)
})

// RunsPython reports whether argv runs a Python script or module, the
// command lines Script can look into.
func RunsPython(argv []string) bool {
	how := program(argv).how
	return how == "python script" || how == "python module"
}

// Script looks inside the Python program a command line runs, for
// a worker started from its own module: "python -m worker" (worker.py or
// worker/__main__.py under the working directory or PYTHONPATH) or
// "python path/script.py". It finds imports of rq, huey, celery or
// dramatiq in that file, or in a local module it imports (one level), and
// then what starts that worker (starters) in the files it read. A script
// that imports a queue library but starts no worker is a producer: it gets
// Generic, with the reason. It returns false when argv runs no Python
// script or none of the libraries is imported.
func Script(argv []string, f Files) (Detection, bool) {
	c := program(argv)
	prog := c.name
	var candidates []string
	switch c.how {
	case "python module":
		rel := strings.ReplaceAll(prog, ".", "/")
		for _, dir := range append([]string{f.Dir}, f.PythonPath...) {
			candidates = append(candidates, join(f.Dir, dir, rel+".py"), join(f.Dir, dir, rel+"/__main__.py"))
		}
	case "python script":
		candidates = []string{join(f.Dir, "", prog)}
	default:
		return Detection{}, false
	}
	reads := 0
	read := func(p string) ([]byte, bool) {
		if reads >= MaxScripts {
			return nil, false
		}
		b, err := f.Read(p)
		if err != nil {
			return nil, false
		}
		reads++
		if len(b) > MaxScriptBytes {
			b = b[:MaxScriptBytes]
		}
		return b, true
	}
	for _, c := range candidates {
		src, ok := read(c)
		if !ok {
			continue
		}
		name := path.Base(c)
		sources := [][]byte{src}
		preset, via := "", ""
		mods := imports(src)
		for _, m := range mods {
			if p, ok := workerImports[m]; ok && preset == "" {
				preset, via = p, name+" imports "+m
			}
		}
		// One level of local imports: a module beside the script.
		for _, m := range mods {
			for _, local := range []string{path.Join(path.Dir(c), m+".py"), path.Join(path.Dir(c), m, "__init__.py")} {
				sub, ok := read(local)
				if !ok {
					continue
				}
				sources = append(sources, sub)
				for _, m2 := range imports(sub) {
					if p, ok := workerImports[m2]; ok && preset == "" {
						preset, via = p, name+" imports "+path.Base(local)+", which imports "+m2
					}
				}
			}
		}
		if preset == "" {
			return Detection{}, false // the script was found: look no further
		}
		for _, src := range sources {
			if starters()[preset].Match(withoutComments(src)) {
				return Detection{Preset: preset, Reason: via}, true
			}
		}
		return Detection{Preset: Generic, Reason: via + ", but starts " + starterNames[preset] + ": a producer, not a worker"}, true
	}
	return Detection{}, false
}

// imports lists the top-level package names a Python source imports, in
// order of appearance.
func imports(src []byte) []string {
	var out []string
	seen := map[string]bool{}
	add := func(dotted string) {
		top, _, _ := strings.Cut(strings.TrimSpace(dotted), ".")
		if top != "" && !seen[top] {
			seen[top] = true
			out = append(out, top)
		}
	}
	for _, m := range importLine().FindAllSubmatch(src, -1) {
		if len(m[1]) > 0 {
			add(string(m[1]))
			continue
		}
		for _, part := range strings.Split(string(m[2]), ",") {
			if f := strings.Fields(part); len(f) > 0 { // "x as y"
				add(f[0])
			}
		}
	}
	return out
}

// join resolves p against dir, and dir against the working directory.
func join(wd, dir, p string) string {
	if path.IsAbs(p) {
		return path.Clean(p)
	}
	if !path.IsAbs(dir) {
		dir = path.Join(wd, dir)
	}
	return path.Join(dir, p)
}
