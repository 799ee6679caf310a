package eval

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/rpo-dev/rpo/internal/dreambench"
)

// Row is one method's evaluation in a comparison table.
type Row struct {
	Dir    string
	Report Report
}

// LoadRows reads results.json of each evaluation directory.
func LoadRows(dirs []string) ([]Row, error) {
	var rows []Row
	for _, d := range dirs {
		r, err := ReadReport(d)
		if err != nil {
			return nil, err
		}
		if len(r.Subjects) == 0 {
			return nil, fmt.Errorf("eval: %s: no subjects", filepath.Join(d, "results.json"))
		}
		rows = append(rows, Row{Dir: d, Report: *r})
	}
	return rows, nil
}

// OnlySubjects keeps the named subjects of each row and summarises the
// rows again over them: a table on a fixed subset while evaluations grow.
// A name that no row evaluated is an error (a typo would otherwise only
// shrink the table).
func OnlySubjects(rows []Row, names []string) ([]Row, error) {
	want, found := map[string]bool{}, map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := make([]Row, len(rows))
	for i, r := range rows {
		var kept []SubjectResult
		for _, s := range r.Report.Subjects {
			if want[s.Subject] {
				kept = append(kept, s)
				found[s.Subject] = true
			}
		}
		if len(kept) == 0 {
			return nil, fmt.Errorf("eval: %s: none of the subjects %s", r.Dir, strings.Join(names, ","))
		}
		out[i] = r
		out[i].Report.Subjects, out[i].Report.Summary = kept, summaryOver(kept)
	}
	for _, n := range names {
		if !found[n] {
			return nil, fmt.Errorf("eval: subject %q is in none of the evaluations", n)
		}
	}
	return out, nil
}

// Paired returns, for one metric, the per-subject differences row − base
// over the subjects both rows evaluated, summarised (mean, 95% interval).
// Subjects are the unit: each difference is of two per-subject means
// (over prompts), so the interval is that of a paired t-test.
func Paired(row, base Report, metric string) dreambench.Summary {
	of := map[string]float64{}
	for _, s := range base.Subjects {
		of[s.Subject] = s.Summary[metric].Mean
	}
	var d []float64
	for _, s := range row.Subjects {
		if b, ok := of[s.Subject]; ok {
			d = append(d, s.Summary[metric].Mean-b)
		}
	}
	return dreambench.Summarize(d)
}

// CompareMarkdown is the paper's table: one row per method (mean ± 95%
// interval over subjects), then the paired differences of every row
// against rows[baseline] (a difference whose interval excludes 0 is
// marked *).
func CompareMarkdown(rows []Row, baseline int) string {
	var b strings.Builder
	header := func(first string) {
		b.WriteString("| " + first + " | subjects |")
		for _, m := range Metrics {
			fmt.Fprintf(&b, " %s |", m.Name)
		}
		b.WriteString("\n| --- | --- |" + strings.Repeat(" --- |", len(Metrics)) + "\n")
	}
	header("method")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %d |", r.Report.Meta.Method, len(r.Report.Subjects))
		for _, m := range Metrics {
			s := r.Report.Summary[m.Key]
			fmt.Fprintf(&b, " %s |", meanCI(s, 4, false))
		}
		b.WriteString("\n")
	}
	if baseline < 0 || baseline >= len(rows) || len(rows) < 2 {
		return b.String()
	}
	fmt.Fprintf(&b, "\nPaired differences against %s (same subjects, mean ± 95%% interval; * the interval excludes 0):\n\n", rows[baseline].Report.Meta.Method)
	header("method − " + rows[baseline].Report.Meta.Method)
	for i, r := range rows {
		if i == baseline {
			continue
		}
		var n int
		var cells strings.Builder
		for _, m := range Metrics {
			s := Paired(r.Report, rows[baseline].Report, m.Key)
			n = s.N
			mark := ""
			if s.N > 1 && (s.Mean-s.CI95 > 0 || s.Mean+s.CI95 < 0) {
				mark = " *"
			}
			fmt.Fprintf(&cells, " %s%s |", meanCI(s, 4, true), mark)
		}
		fmt.Fprintf(&b, "| %s | %d |%s\n", r.Report.Meta.Method, n, cells.String())
	}
	return b.String()
}
