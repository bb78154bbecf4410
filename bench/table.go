package main

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// goal is what a measure must reach, as a ratio of supervise to a
// reference (cardfloor, gofloor or the best C peer) or as an absolute
// ceiling; the zero goal is none.
type goal struct {
	card, gofloor, peer float64 // ratio ceilings, 0 = none
	max                 float64 // absolute ceiling in the row's unit
	hasMax              bool
}

func (g goal) String() string {
	var parts []string
	if g.card > 0 {
		parts = append(parts, fmt.Sprintf("<= %.2fx cardfloor", g.card))
	}
	if g.gofloor > 0 {
		parts = append(parts, fmt.Sprintf("<= %.2fx gofloor", g.gofloor))
	}
	if g.peer > 0 {
		parts = append(parts, fmt.Sprintf("<= %.2fx best C peer", g.peer))
	}
	if g.hasMax {
		parts = append(parts, fmt.Sprintf("<= %s", format(g.max)))
	}
	return strings.Join(parts, ", ")
}

// met reports whether the row's supervise value reaches the goal; false
// when the goal cannot be judged.
func (g goal) met(r *row) (bool, bool) {
	v, ok := r.values["supervise"]
	if !ok {
		return false, false
	}
	judged, good := false, true
	check := func(limit, ref float64, have bool) {
		if limit <= 0 || !have {
			return
		}
		judged = true
		if ref == 0 {
			good = good && v == 0
			return
		}
		good = good && v/ref <= limit+1e-9
	}
	card, hc := r.values["cardfloor"]
	gf, hg := r.values["gofloor"]
	peer, hp := r.bestPeer()
	check(g.card, card, hc)
	check(g.gofloor, gf, hg)
	check(g.peer, peer, hp)
	if g.hasMax {
		judged = true
		good = good && v <= g.max+1e-9
	}
	return good, judged
}

// row is one measure: a value per init.
type row struct {
	name   string
	unit   string
	lower  bool // lower is better
	values map[string]float64
	goal   goal
	inits  []initSpec
}

// bestPeer is the best C peer's value.
func (r *row) bestPeer() (float64, bool) {
	best, ok := 0.0, false
	for _, in := range r.inits {
		v, has := r.values[in.name]
		if !in.peer || !has {
			continue
		}
		if !ok || (r.lower && v < best) || (!r.lower && v > best) {
			best, ok = v, true
		}
	}
	return best, ok
}

// table collects rows and prints them.
type table struct {
	inits []initSpec
	rows  []*row
}

func newTable(inits []initSpec) *table { return &table{inits: inits} }

func (t *table) add(name, unit string, lower bool, g goal, values map[string]float64) {
	t.rows = append(t.rows, &row{name: name, unit: unit, lower: lower, values: values, goal: g, inits: t.inits})
}

func ratio(v, ref float64) string {
	switch {
	case ref == 0 && v == 0:
		return "1.00x"
	case ref == 0:
		return "inf"
	}
	return fmt.Sprintf("%.2fx", v/ref)
}

// print writes a Markdown table: one column per init, supervise's ratio
// to the best C peer and to cardfloor, the goal and whether it is met.
func (t *table) print(w io.Writer) {
	head := []string{"measure"}
	for _, in := range t.inits {
		head = append(head, in.name)
	}
	head = append(head, "vs best C peer", "vs cardfloor", "goal", "met")
	fmt.Fprintln(w, "| "+strings.Join(head, " | ")+" |")
	fmt.Fprintln(w, "|"+strings.Repeat("---|", len(head)))
	for _, r := range t.rows {
		cells := []string{r.name + " (" + r.unit + ")"}
		for _, in := range t.inits {
			if v, ok := r.values[in.name]; ok {
				cells = append(cells, format(v))
			} else {
				cells = append(cells, "")
			}
		}
		vsPeer, vsCard := "", ""
		if v, ok := r.values["supervise"]; ok {
			if p, ok := r.bestPeer(); ok {
				vsPeer = ratio(v, p)
			}
			if c, ok := r.values["cardfloor"]; ok {
				vsCard = ratio(v, c)
			}
		}
		met := ""
		if good, judged := r.goal.met(r); judged {
			met = map[bool]string{true: "yes", false: "**no**"}[good]
		}
		cells = append(cells, vsPeer, vsCard, r.goal.String(), met)
		fmt.Fprintln(w, "| "+strings.Join(cells, " | ")+" |")
	}
}

func format(v float64) string {
	switch {
	case v == 0:
		return "0"
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}
