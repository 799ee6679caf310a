package eval

import (
	"math"
	"strings"
	"testing"

	"github.com/rpo-dev/rpo/internal/dreambench"
)

func report(method string, subjects map[string]float64) Report {
	r := Report{Meta: Meta{Method: method}, Summary: map[string]dreambench.Summary{}}
	var v []float64
	for _, name := range []string{"a", "b", "c"} {
		x, ok := subjects[name]
		if !ok {
			continue
		}
		r.Subjects = append(r.Subjects, SubjectResult{Subject: name, Summary: map[string]dreambench.Summary{"clip_t": {Mean: x}}})
		v = append(v, x)
	}
	r.Summary["clip_t"] = dreambench.Summarize(v)
	return r
}

func TestPairedDifferences(t *testing.T) {
	base := report("sim", map[string]float64{"a": 0.5, "b": 0.6, "c": 0.7})
	row := report("rpo", map[string]float64{"a": 0.6, "b": 0.8, "c": 0.9}) // +0.1, +0.2, +0.2
	s := Paired(row, base, "clip_t")
	// mean 0.5/3; sd of (0.1, 0.2, 0.2) = 0.057735; t(0.975, 2) = 4.302653
	if s.N != 3 || math.Abs(s.Mean-0.5/3) > 1e-12 || math.Abs(s.CI95-4.302653*0.0577350/math.Sqrt(3)) > 1e-5 {
		t.Errorf("paired = %+v", s)
	}
	// only common subjects are paired
	part := report("part", map[string]float64{"a": 1, "c": 1})
	if s := Paired(part, base, "clip_t"); s.N != 2 || math.Abs(s.Mean-0.4) > 1e-12 {
		t.Errorf("paired over common subjects = %+v", s)
	}
	md := CompareMarkdown([]Row{{Report: base}, {Report: row}}, 0)
	if !strings.Contains(md, "| rpo | 3 |") || !strings.Contains(md, "+0.1667 ± 0.1434 *") {
		t.Errorf("table:\n%s", md)
	}
}

// TestOnlySubjects: a table on a subset summarises every row again over the
// named subjects alone, and a name no row has is refused.
func TestOnlySubjects(t *testing.T) {
	base := report("sim", map[string]float64{"a": 0.5, "b": 0.6, "c": 0.7})
	row := report("rpo", map[string]float64{"a": 0.6, "c": 0.9})
	rows, err := OnlySubjects([]Row{{Report: base}, {Report: row}}, []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	if got := rows[0].Report.Summary["clip_t"]; got.N != 2 || math.Abs(got.Mean-0.55) > 1e-12 {
		t.Errorf("sim over a, b: %+v, want the mean of 0.5 and 0.6", got)
	}
	if got := rows[1].Report.Summary["clip_t"]; got.N != 1 || math.Abs(got.Mean-0.6) > 1e-12 {
		t.Errorf("rpo over a: %+v", got)
	}
	if base.Summary["clip_t"].N != 3 {
		t.Error("the rows read were changed")
	}
	if _, err := OnlySubjects([]Row{{Report: base}}, []string{"a", "teapott"}); err == nil || !strings.Contains(err.Error(), "teapott") {
		t.Errorf("a subject in no row: %v", err)
	}
}
