package plan

import (
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/supervise/supervise/internal/detect"
	"github.com/supervise/supervise/internal/proctree"
)

// Env is what a plan may read beside the command line: the worker's own
// Python files, for auto's look inside a script, and its environment,
// for options a worker takes from there (GUNICORN_CMD_ARGS). A nil Env
// reads nothing.
type Env interface {
	// Files says how to read the worker's own files.
	Files() detect.Files
	// LookupEnv returns one variable of the worker's environment, and
	// whether it is set (Ruby's ENV[...] is true for a variable set
	// empty).
	LookupEnv(name string) (string, bool)
}

// lookupEnv is env's variable name, and whether it is set; unset when
// env is nil.
func lookupEnv(env Env, name string) (string, bool) {
	if env == nil {
		return "", false
	}
	return env.LookupEnv(name)
}

// getenv is env's variable name; "" when unset or env is nil.
func getenv(env Env, name string) string {
	v, _ := lookupEnv(env, name)
	return v
}

// StartEnv is the Env of a command about to start with the environment
// env, in supervise's working directory (at start, and for supervise
// plan).
func StartEnv(env []string) Env { return startEnv(env) }

type startEnv []string

func (e startEnv) Files() detect.Files {
	wd, _ := os.Getwd()
	return detect.Files{Dir: wd, PythonPath: pythonPath(getenv(e, "PYTHONPATH")), Read: readHead}
}

// LookupEnv reads the last of name's entries: the one the child gets
// (os/exec keeps the last of duplicates).
func (e startEnv) LookupEnv(name string) (v string, set bool) {
	for _, kv := range e {
		if s, ok := strings.CutPrefix(kv, name+"="); ok {
			v, set = s, true
		}
	}
	return v, set
}

// ChildEnv is the Env of the running child pid, as it sees it: its
// working directory (/proc/PID/cwd) and its environment
// (/proc/PID/environ, one variable at a time).
func ChildEnv(pid int) Env { return childEnv(pid) }

type childEnv int

func (c childEnv) Files() detect.Files {
	return detect.Files{Dir: proctree.Cwd(int(c)), PythonPath: pythonPath(getenv(c, "PYTHONPATH")), Read: readHead}
}

func (c childEnv) LookupEnv(name string) (string, bool) { return proctree.LookupEnv(int(c), name) }

func pythonPath(v string) []string {
	var out []string
	for _, p := range filepath.SplitList(v) {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// readHead reads the first MaxScriptBytes of a regular file.
func readHead(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil, os.ErrNotExist
	}
	return io.ReadAll(io.LimitReader(f, detect.MaxScriptBytes))
}
