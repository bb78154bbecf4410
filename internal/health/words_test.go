package health

import (
	"reflect"
	"strings"
	"testing"
)

func TestSplitWords(t *testing.T) {
	cases := map[string][]string{
		`redis-cli -h redis ping`:              {"redis-cli", "-h", "redis", "ping"},
		`  sh -c 'test -f /tmp/ok && exit 0' `: {"sh", "-c", "test -f /tmp/ok && exit 0"},
		`echo "a \"b\" c\\d" e\ f`:             {"echo", `a "b" c\d`, "e f"},
		`x''y ""`:                              {"xy", ""},
		``:                                     nil,
	}
	for in, want := range cases {
		got, err := SplitWords(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("SplitWords(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{`'open`, `"open`, `end\`} {
		if _, err := SplitWords(bad); err == nil {
			t.Errorf("SplitWords(%q) accepted", bad)
		}
	}
}

func FuzzSplitWords(f *testing.F) {
	for _, s := range []string{`a b`, `'a b' "c\"d"`, `\ x`, `"`, `'`, `\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		words, err := SplitWords(in)
		if err != nil {
			return
		}
		// Words without quotes, blanks or backslashes read back unchanged.
		for _, w := range words {
			if strings.ContainsAny(w, "'\"\\ \t\n") || w == "" {
				return
			}
		}
		again, err := SplitWords(strings.Join(words, " "))
		if err != nil || !reflect.DeepEqual(again, words) {
			t.Fatalf("%q -> %q -> %q", in, words, again)
		}
	})
}
