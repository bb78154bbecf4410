package main

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// row is one measure: a value per init, and which way is better.
type row struct {
	name   string
	unit   string
	lower  bool // lower is better
	values map[string]float64
	note   string
	goal   string
}

// table collects rows and prints them with ratios to the best peer.
type table struct {
	inits []initSpec
	rows  []*row
}

func newTable(inits []initSpec) *table { return &table{inits: inits} }

func (t *table) add(name, unit string, lower bool, goal string, values map[string]float64) {
	t.rows = append(t.rows, &row{name: name, unit: unit, lower: lower, values: values, goal: goal})
}

// print writes a Markdown table: one column per init, the supervise/best
// peer ratio, and the goal.
func (t *table) print(w io.Writer) {
	head := []string{"measure"}
	for _, in := range t.inits {
		head = append(head, in.name)
	}
	head = append(head, "supervise / best peer", "goal")
	fmt.Fprintln(w, "| "+strings.Join(head, " | ")+" |")
	fmt.Fprintln(w, "|"+strings.Repeat("---|", len(head)))
	for _, r := range t.rows {
		cells := []string{r.name + " (" + r.unit + ")"}
		best := math.NaN()
		for _, in := range t.inits {
			v, ok := r.values[in.name]
			if !ok {
				cells = append(cells, "n/a")
				continue
			}
			cells = append(cells, format(v))
			if in.peer && (math.IsNaN(best) || (r.lower && v < best) || (!r.lower && v > best)) {
				best = v
			}
		}
		ratio := "n/a"
		if v, ok := r.values["supervise"]; ok && !math.IsNaN(best) {
			switch {
			case best == 0 && v == 0:
				ratio = "1.00x"
			case best == 0:
				ratio = "inf"
			default:
				ratio = fmt.Sprintf("%.2fx", v/best)
			}
		}
		cells = append(cells, ratio, r.goal)
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
