package plan

import (
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/supervise/supervise/internal/ladder"
	"github.com/supervise/supervise/internal/proctree"
)

// ScriptFiles is how auto reads a Python worker's own files before the
// child runs (at start, and for supervise plan): supervise's working
// directory and the PYTHONPATH of env.
func ScriptFiles(env []string) ladder.Files {
	wd, _ := os.Getwd()
	return ladder.Files{Dir: wd, PythonPath: pythonPath(envValue(env, "PYTHONPATH")), Read: readHead}
}

// ChildScriptFiles reads them as the running child pid sees them: its
// working directory (/proc/PID/cwd) and its PYTHONPATH.
func ChildScriptFiles(pid int) ladder.Files {
	return ladder.Files{Dir: proctree.Cwd(pid), PythonPath: pythonPath(proctree.Getenv(pid, "PYTHONPATH")),
		Read: readHead}
}

func pythonPath(v string) []string {
	var out []string
	for _, p := range filepath.SplitList(v) {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

func envValue(env []string, name string) string {
	v := ""
	for _, kv := range env {
		if s, ok := strings.CutPrefix(kv, name+"="); ok {
			v = s
		}
	}
	return v
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
	return io.ReadAll(io.LimitReader(f, ladder.MaxScriptBytes))
}
