package main

import (
	goflag "flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/supervise/supervise/internal/cgroup"
	"github.com/supervise/supervise/internal/detect"
	"github.com/supervise/supervise/internal/ladder"
	"github.com/supervise/supervise/internal/metrics"
	"github.com/supervise/supervise/internal/plan"
	"github.com/supervise/supervise/internal/supervisor"
)

// update rewrites the generated sections of the docs: go test
// ./cmd/supervise -run TestDocs -update.
var update = goflag.Bool("update", false, "rewrite the docs' generated sections")

// section replaces, or with -update writes, the text between
// "<!-- generated: NAME ..." and "<!-- end NAME -->" in path, and fails
// when the file differs from what the binary says.
func section(t *testing.T, path, name, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	start := strings.Index(s, "<!-- generated: "+name)
	end := strings.Index(s, "<!-- end "+name+" -->")
	if start < 0 || end < start {
		t.Fatalf("%s has no generated section %q", path, name)
	}
	start += strings.Index(s[start:], "\n") + 1
	if s[start:end] == want {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(s[:start]+want+s[end:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s: section %q differs from what the binary says (go test ./cmd/supervise -run TestDocs -update):\n%s",
		path, name, want)
}

// presetTable is the README's table of presets, from the presets
// themselves.
func presetTable() string {
	var b strings.Builder
	b.WriteString("| preset | at 10s | at 30s | at 300s | without a grace period | auto picks it for |\n|---|---|---|---|---|---|\n")
	for _, name := range ladder.Names() {
		p, ok := ladder.Lookup(name)
		if !ok {
			continue
		}
		if len(p.Rungs) == 0 {
			fmt.Fprintf(&b, "| `%s` | forwarded as received, never a timer | | | | only when chosen |\n", name)
			continue
		}
		fmt.Fprintf(&b, "| `%s` |", name)
		for _, g := range plan.PresetGraces {
			l, _ := ladder.Size(p, ladder.Budget{Grace: g})
			fmt.Fprintf(&b, " `%s` |", l)
		}
		l, _ := ladder.Size(p, ladder.Budget{})
		untimed := "`" + l.String() + "`"
		if l.RepeatForwards {
			untimed = "forwarded as received"
		}
		picks := "any other program under `auto`"
		if r := detect.Recognised(name); len(r) > 0 {
			picks = "`" + strings.Join(r, "`, `") + "`"
		}
		fmt.Fprintf(&b, " %s | %s |\n", untimed, picks)
	}
	return b.String()
}

// The README's preset table and `supervise plan` example are the binary's
// own output.
func TestDocs(t *testing.T) {
	section(t, "../../README.md", "presets", presetTable())

	t.Setenv("SUPERVISE_GRACE_PERIOD", "10s")
	argv := []string{"huey_consumer", "app.huey", "-k", "process"}
	code, out, stderr := runCLI(append([]string{"plan", "--"}, argv...)...)
	if code != 0 {
		t.Fatalf("plan: exit %d: %s", code, stderr)
	}
	example := "```\n$ SUPERVISE_GRACE_PERIOD=10s supervise plan -- " + strings.Join(argv, " ") + "\n" + out + "```\n"
	section(t, "../../README.md", "plan-example", example)
}

// docs/reference.md lists every option with its default and variable,
// every exit status supervise gives of its own, and every metric it
// exports, and nothing else.
func TestReference(t *testing.T) {
	b, err := os.ReadFile("../../docs/reference.md")
	if err != nil {
		t.Fatal(err)
	}
	ref := string(b)
	rows := map[string]string{} // an option's name -> its table row
	for _, line := range strings.Split(ref, "\n") {
		if !strings.HasPrefix(line, "| `-") {
			continue
		}
		cells := strings.Split(line, "|")
		for _, m := range regexp.MustCompile("--([a-z-]+)").FindAllStringSubmatch(cells[1], -1) {
			rows[m[1]] = line
		}
		for _, m := range regexp.MustCompile("`-([a-zA-Z])[ ,`]").FindAllStringSubmatch(cells[1], -1) {
			rows["-"+m[1]] = line
		}
	}
	for _, o := range runOptions {
		if o.hidden {
			continue
		}
		row, ok := rows[o.name]
		if !ok && o.alias != "" { // tini's -v is documented as -v alone
			row, ok = rows["-"+o.alias]
		}
		switch {
		case !ok:
			t.Errorf("docs/reference.md has no row for --%s", o.name)
			continue
		case o.alias != "" && rows["-"+o.alias] == "":
			t.Errorf("docs/reference.md does not give -%s for --%s", o.alias, o.name)
		case o.def != "" && o.kind == text && !strings.Contains(row, "`"+o.def+"`"):
			t.Errorf("docs/reference.md: --%s's row does not give its default %q: %s", o.name, o.def, row)
		}
		delete(rows, o.name)
		delete(rows, "-"+o.alias)
	}
	for name := range rows {
		if !strings.HasPrefix(name, "-") && !slices.Contains([]string{"rewrite"}, name) {
			t.Errorf("docs/reference.md documents --%s, which supervise does not take", name)
		}
	}
	for _, code := range []int{supervisor.ExitUsage, supervisor.ExitNotExecutable, supervisor.ExitNotFound} {
		if !regexp.MustCompile(fmt.Sprintf(`\| %d \|`, code)).MatchString(ref) {
			t.Errorf("docs/reference.md's exit statuses do not give %d", code)
		}
	}

	// Every metric a scrape shows, and no other supervise_* name. The
	// cgroup and heartbeat series need their sources to show: a cgroup
	// v2 directory of files, and a heartbeat.
	dir := t.TempDir()
	for f, v := range map[string]string{"memory.current": "1000\n", "memory.max": "4096\n", "memory.events": "oom_kill 0\n"} {
		os.WriteFile(dir+"/"+f, []byte(v), 0o644)
	}
	m := metrics.New(cgroup.Memory{Version: cgroup.V2, Dir: dir}, metrics.Build{Version: "v", Revision: "r", GoVersion: "go"})
	m.HeartbeatAge(func() (time.Duration, bool) { return time.Second, true })
	m.Check("tcp:x:1", true, time.Millisecond)
	m.Rung(0, 15)
	m.Stopped("graceful", time.Second)
	m.SignalReceived(15)
	m.SignalForwarded(15)
	text, err := m.Text()
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]bool{}
	for _, mm := range regexp.MustCompile(`(?m)^# TYPE (supervise_\w+) `).FindAllStringSubmatch(string(text), -1) {
		exported[mm[1]] = true
	}
	documented := map[string]bool{}
	for _, mm := range regexp.MustCompile("\\| `(supervise_\\w+)` \\|").FindAllStringSubmatch(ref, -1) {
		documented[mm[1]] = true
	}
	for n := range exported {
		if !documented[n] {
			t.Errorf("docs/reference.md does not list the metric %s", n)
		}
	}
	for n := range documented {
		if !exported[n] {
			t.Errorf("docs/reference.md lists %s, which supervise does not export", n)
		}
	}
}

// repoFiles are the repository's files (.git left out), as paths from
// its root: "docs/testing.md".
func repoFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && d.Name() == ".git":
			return filepath.SkipDir
		case !d.IsDir():
			files = append(files, filepath.ToSlash(strings.TrimPrefix(path, "../../")))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// grepGo calls found with re's first group at each match in the
// repository's Go files whose names end in suffix, every build tag's.
func grepGo(t *testing.T, suffix string, re *regexp.Regexp, found func(string)) {
	t.Helper()
	for _, f := range repoFiles(t) {
		if !strings.HasSuffix(f, suffix) {
			continue
		}
		b, err := os.ReadFile("../../" + f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			found(m[1])
		}
	}
}

// testNames are the test and fuzz functions of the repository's tests,
// every build tag's.
func testNames(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	grepGo(t, "_test.go", regexp.MustCompile(`(?m)^func ((Test|Fuzz)\w+)\(`), func(n string) { names[n] = true })
	return names
}

// Every row of docs/reference.md's option, exit-status, endpoint and
// metric tables names the tests that hold it, in its "held by" column,
// and each named test exists; so do the tests SECURITY.md names.
func TestHeldBy(t *testing.T) {
	names := testNames(t)
	testRe := regexp.MustCompile("`((Test|Fuzz)\\w+)\\*?`")
	rows, tables := 0, 0
	for _, doc := range []string{"../../docs/reference.md", "../../SECURITY.md"} {
		b, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		held := false
		for _, line := range strings.Split(string(b), "\n") {
			switch {
			case strings.HasPrefix(line, "| ") && strings.HasSuffix(line, " held by |"):
				held = true
				tables++
				continue
			case !strings.HasPrefix(line, "|"):
				held = false
				continue
			case strings.HasPrefix(line, "|---"):
				continue
			}
			cells := strings.Split(strings.Trim(line, "|"), "|")
			if held {
				rows++
				if !testRe.MatchString(cells[len(cells)-1]) {
					t.Errorf("%s: a row names no test that holds it: %s", doc, line)
				}
			}
		}
		for _, m := range testRe.FindAllStringSubmatch(string(b), -1) {
			if !names[m[1]] && !strings.HasSuffix(m[0], "*`") {
				t.Errorf("%s names %s, which no test file declares", doc, m[1])
			}
		}
	}
	if tables < 4 {
		t.Errorf("docs/reference.md has %d tables with a held-by column, want the option, exit-status, endpoint and metric tables", tables)
	}
	t.Logf("%d rows in %d tables name their tests", rows, tables)
}

// goDecls are the names the repository's Go code declares: functions,
// methods, types, fields, constants and variables (each a line that
// starts with the name, after "func", "func (...)", "type" or
// indentation), every build tag's.
func goDecls(t *testing.T) (names, types map[string]bool) {
	t.Helper()
	names, types = map[string]bool{}, map[string]bool{}
	grepGo(t, ".go", regexp.MustCompile(`(?m)^(?:func (?:\([^)]*\) )?|type |\t+|var |const )?([A-Za-z_]\w*)[ \t(\[\n]`),
		func(n string) { names[n] = true })
	grepGo(t, ".go", regexp.MustCompile(`(?m)^(?:type |\t)([A-Za-z_]\w*) (?:struct|interface|int|string|func|\[\]|map)`),
		func(n string) { types[n] = true })
	return names, types
}

// The docs that describe the code name only what exists: every Go name
// (`ladder.Size`, `machine.step`, `evAnnounce`), file and make target that
// docs/architecture.md, docs/testing.md, the Makefile's comments and
// .ci/run's header name. Every make target says what it runs and how
// long it takes.
func TestDocsNameWhatExists(t *testing.T) {
	decls, types := goDecls(t)
	pkgs := map[string]bool{}
	dirs, _ := os.ReadDir("../../internal")
	for _, d := range dirs {
		pkgs[d.Name()] = true
	}
	targets := map[string]bool{}
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	target := regexp.MustCompile(`(?m)^([a-z][a-z0-9-]*):`)
	for _, m := range target.FindAllStringSubmatch(string(mk), -1) {
		targets[m[1]] = true
	}
	files := repoFiles(t)
	fileExists := func(name string) bool {
		for _, f := range files {
			if f == name || strings.HasSuffix(f, "/"+name) {
				return true
			}
		}
		return false
	}
	texts := map[string]string{}
	for _, doc := range []string{"docs/architecture.md", "docs/testing.md"} {
		b, err := os.ReadFile("../../" + doc)
		if err != nil {
			t.Fatal(err)
		}
		texts[doc] = string(b)
	}
	var comments []string
	for _, l := range strings.Split(string(mk), "\n") {
		if strings.HasPrefix(l, "#") {
			comments = append(comments, l)
		}
	}
	texts["Makefile's comments"] = strings.Join(comments, "\n")
	ci, err := os.ReadFile("../../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	header, _, _ := strings.Cut(string(ci), "\nset -")
	texts[".ci/run's header"] = header

	quoted := regexp.MustCompile("`([^`\\n]+)`")
	goName := regexp.MustCompile(`^(?:[a-z]\w*\.)?(?:[A-Z]\w*\.)?([A-Za-z_]\w*)(?:\(\))?$`)
	fileName := regexp.MustCompile(`^[\w./-]+\.(go|sh|md|yml|yaml|patch|toml|json)$`)
	makeRef := regexp.MustCompile("make ([a-z][a-z0-9-]*)")
	goPrefix := regexp.MustCompile(`^(ev|do|Test|Fuzz)[A-Z]`)
	checked := 0
	for doc, text := range texts {
		for _, m := range makeRef.FindAllStringSubmatch(text, -1) {
			checked++
			if !targets[m[1]] && m[1] != "targets" {
				t.Errorf("%s names make %s, which the Makefile does not have", doc, m[1])
			}
		}
		for _, m := range quoted.FindAllStringSubmatch(text, -1) {
			q := m[1]
			switch {
			case fileName.MatchString(q):
				checked++
				if !fileExists(strings.TrimPrefix(q, "./")) {
					t.Errorf("%s names %s, which is not in the repository", doc, q)
				}
			case strings.Contains(q, ".") || goPrefix.MatchString(q):
				g := goName.FindStringSubmatch(q)
				first, _, dotted := strings.Cut(q, ".")
				if g == nil || dotted && !pkgs[first] && !types[first] {
					continue // a value, a command line, a sysctl, a package name of Debian's
				}
				checked++
				if !decls[g[1]] {
					t.Errorf("%s names %s, which no Go code declares", doc, q)
				}
			}
		}
	}
	// Every target has a comment that says how long it takes.
	lines := strings.Split(string(mk), "\n")
	assign := regexp.MustCompile(`^[A-Z_]+ *[:?+]?=`)
	howLong := regexp.MustCompile(`\b([0-9]+|a|an|a few|two|three|five|ten|fifteen) (ms|s|seconds?|minutes?|hours?)\b|under a second`)
	for i, l := range lines {
		m := target.FindStringSubmatch(l)
		if m == nil || m[1] == "clean" {
			continue
		}
		var block []string
		for j := i - 1; j >= 0 && (strings.HasPrefix(lines[j], "#") || assign.MatchString(lines[j])); j-- {
			block = append(block, lines[j])
		}
		c := strings.Join(block, " ")
		if !howLong.MatchString(c) {
			t.Errorf("make %s: its comment does not say how long it takes", m[1])
		}
	}
	if checked < 50 {
		t.Errorf("only %d names checked: the patterns no longer find them", checked)
	}
	t.Logf("%d names in the docs checked against the code, the files and the Makefile", checked)
}

// make test-deps installs every Debian package an end-to-end test asks
// for by name (need, needPython in test/e2e), so that on a new machine
// those tests run instead of saying SKIP.
func TestTestDepsInstallWhatTestsNeed(t *testing.T) {
	cmd := exec.Command("make", "-n", "test-deps")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("make -n test-deps: %v", err)
	}
	installs := map[string]bool{}
	for _, w := range strings.Fields(string(out)) {
		installs[w] = true
	}
	needed := map[string]bool{}
	grepGo(t, "_test.go", regexp.MustCompile(`need(?:Python)?\(t, "[^"]+", "([^"]+)"`), func(pkg string) { needed[pkg] = true })
	if len(needed) < 5 {
		t.Fatalf("only %d packages named by need and needPython: the pattern no longer finds them", len(needed))
	}
	for pkg := range needed {
		if !installs[pkg] {
			t.Errorf("test/e2e needs %s, which make test-deps does not install", pkg)
		}
	}
}
