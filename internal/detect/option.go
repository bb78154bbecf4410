package detect

import "strings"

// Option finds an option's value among the arguments of the program a
// command line runs: "--name value", "--name=value", and for a
// one-letter option also "-tVALUE". names are the option's spellings.
// It returns the spelling found and the value as written; false when
// argv carries none of them. The last one given wins, as in the
// programs' own parsers (argparse, click, OptionParser).
func Option(argv []string, names ...string) (name, value string, ok bool) {
	c := program(argv)
	if c.how == "shell -c" {
		c = program(c.args)
	}
	args := c.args
	for i, a := range args {
		if a == "--" {
			break
		}
		for _, n := range names {
			switch {
			case a == n && i+1 < len(args):
				name, value, ok = n, args[i+1], true
			case strings.HasPrefix(a, n+"="):
				name, value, ok = n, a[len(n)+1:], true
			case len(n) == 2 && n[0] == '-' && n[1] != '-' && strings.HasPrefix(a, n) && len(a) > 2:
				name, value, ok = n, a[2:], true
			}
		}
	}
	return name, value, ok
}
