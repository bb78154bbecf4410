package plan

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/supervise/supervise/internal/detect"
	"github.com/supervise/supervise/internal/ladder"
)

// PresetGraces are the grace periods `supervise presets` shows each
// ladder at: Docker's default, Kubernetes' default, and a long-task one.
var PresetGraces = []time.Duration{10 * time.Second, 30 * time.Second, 300 * time.Second}

// WritePresets writes every preset, as `supervise presets` prints it: its
// summary, its ladder at PresetGraces, without a grace period, and at
// b.Grace if set and not among them (with b's stop delay, drain timeout
// and fast stop), its source, the releases it was tested with, and what
// auto picks it for.
func WritePresets(w io.Writer, b ladder.Budget) {
	graces := PresetGraces
	if b.Grace > 0 && !slices.Contains(graces, b.Grace) {
		graces = append(append([]time.Duration{}, graces...), b.Grace)
	}
	for _, name := range ladder.Names() {
		if name == "auto" {
			fmt.Fprintf(w, "auto (the default)\n  picks a preset from the child's command line, at start and again at the\n"+
				"  stop; any program it does not know gets %s\n\n", ladder.Generic)
			continue
		}
		p, _ := ladder.Lookup(name)
		fmt.Fprintf(w, "%s\n%s", name, wrap(p.Summary, "  ", 78))
		if len(p.Rungs) == 0 {
			fmt.Fprintf(w, "  ladder: none: stop signals are forwarded as received, no timer\n")
		} else {
			for _, g := range graces {
				l, _ := ladder.Size(p, ladder.Budget{Grace: g, StopDelay: b.StopDelay, DrainTimeout: b.DrainTimeout, FastStop: b.FastStop})
				label := "grace " + g.String()
				if g == b.Grace {
					label += " (yours)"
				}
				fmt.Fprintf(w, "  %-20s %s\n", label+":", l)
			}
			l, _ := ladder.Size(p, ladder.Budget{})
			fmt.Fprintf(w, "  %-20s %s (… = on a repeated stop signal)\n", "no grace period:", l)
		}
		fmt.Fprint(w, wrap("source: "+p.Source, "  ", 78))
		fmt.Fprint(w, wrap("tested with: "+p.Tested, "  ", 78))
		if r := detect.Recognised(name); len(r) > 0 {
			fmt.Fprintf(w, "  auto picks it for: %s\n", strings.Join(r, ", "))
		}
		if t := detect.Titles(name); len(t) > 0 {
			fmt.Fprint(w, wrap("and by its process title: "+strings.Join(t, ", "), "  ", 78))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "What a stop of your own command would do: supervise plan [OPTIONS] -- COMMAND\n"+
		"How each worker stops, with sources: docs/workers.md in supervise's source.\n")
}

// wrap breaks text into lines of at most width columns, each starting
// with indent and ending in a newline.
func wrap(text, indent string, width int) string {
	var b strings.Builder
	line := indent
	for _, word := range strings.Fields(text) {
		if len(line) > len(indent) && len(line)+1+len(word) > width {
			b.WriteString(line + "\n")
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += word
	}
	b.WriteString(line + "\n")
	return b.String()
}
