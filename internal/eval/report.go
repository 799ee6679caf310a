package eval

import (
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"image/png"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/rpo-dev/rpo/internal/ckpt"
	"github.com/rpo-dev/rpo/internal/dreambench"
)

// Meta describes an evaluation for its reports: which models, how prompts
// were cleaned, which seeds, how many images per prompt.
type Meta struct {
	Bench           string   `json:"bench"`
	Method          string   `json:"method"`
	Models          []string `json:"models"`
	PromptCleaning  string   `json:"prompt_cleaning"`
	Seeds           string   `json:"seeds"`
	ImagesPerPrompt int      `json:"images_per_prompt"`
	Sampler         string   `json:"sampler"`
	LambdaVal       float64  `json:"lambda_val"`
	Training        string   `json:"training,omitempty"` // how each subject's model was trained (methods that train)
	Version         string   `json:"version"`
	// Caveats are what a reader must know to read the numbers (world-trained
	// encoders scoring real photos, say).
	Caveats []string `json:"caveats,omitempty"`
	Data    string   `json:"data,omitempty"`  // the benchmark directory (for rpo eval rescore)
	Token   string   `json:"token,omitempty"` // the identifier token of the prompts
}

// Report is results.json.
type Report struct {
	Meta     Meta                          `json:"meta"`
	Summary  map[string]dreambench.Summary `json:"summary"` // over subjects (each a mean over its prompts)
	Subjects []SubjectResult               `json:"subjects"`
	Seconds  map[string]float64            `json:"seconds"` // each phase summed over the subjects (the time of the processes that evaluated them)
}

// Metrics in report order, with their column names.
var Metrics = []struct{ Key, Name string }{{"dino", "DINO"}, {"clip_i", "CLIP-I"}, {"clip_t", "CLIP-T"}, {"reward", "r_λ"}}

// ReadReport reads dir/results.json.
func ReadReport(dir string) (*Report, error) {
	var r Report
	if err := readJSON(filepath.Join(dir, "results.json"), &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// WriteMeta writes an evaluation's description to DIR/meta.json when it
// starts, so that `rpo eval merge` of a directory whose run was stopped
// before its results.json still describes it.
func WriteMeta(dir string, m Meta) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	return ckpt.WriteFileAtomic(filepath.Join(dir, "meta.json"), b)
}

// ReadMeta returns the description of the evaluation in dir: from its
// results.json, or from the meta.json written when it started.
func ReadMeta(dir string) (Meta, error) {
	if r, err := ReadReport(dir); err == nil {
		return r.Meta, nil
	}
	var m Meta
	err := readJSON(filepath.Join(dir, "meta.json"), &m)
	return m, err
}

// readJSON reads the JSON file at path into v; errors name the file
// (os.ErrNotExist stays detectable with errors.Is).
func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("eval: %s: %w", path, err)
	}
	return nil
}

// summaryOver summarises each metric over the subjects (each a mean over
// its prompts).
func summaryOver(subjects []SubjectResult) map[string]dreambench.Summary {
	sum := map[string]dreambench.Summary{}
	for _, m := range Metrics {
		var v []float64
		for _, s := range subjects {
			v = append(v, s.Summary[m.Key].Mean)
		}
		sum[m.Key] = dreambench.Summarize(v)
	}
	return sum
}

// Merge reads the finished subjects of one or more evaluation directories
// (shards), aggregates them and writes results.json, subjects.csv,
// results.md and report.html into out. A subject found twice is taken once.
func Merge(dirs []string, out string, meta Meta) (*Report, error) {
	seen := map[string]bool{}
	rep := &Report{Meta: meta, Summary: map[string]dreambench.Summary{}}
	for _, d := range dirs {
		files, _ := filepath.Glob(filepath.Join(d, "subjects", "*.json"))
		sort.Strings(files)
		for _, f := range files {
			var r SubjectResult
			if err := readJSON(f, &r); err != nil {
				return nil, err
			}
			if seen[r.Subject] {
				continue
			}
			seen[r.Subject] = true
			r.Grid, r.Refs = under(d, r.Grid), under(d, r.Refs)
			rep.Subjects = append(rep.Subjects, r)
		}
	}
	if len(rep.Subjects) == 0 {
		return nil, errNoResults
	}
	sort.Slice(rep.Subjects, func(i, j int) bool { return rep.Subjects[i].Subject < rep.Subjects[j].Subject })
	rep.Seconds = map[string]float64{}
	for _, sr := range rep.Subjects {
		for k, v := range sr.Seconds {
			rep.Seconds[k] += v
		}
	}
	rep.Summary = summaryOver(rep.Subjects)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	b, _ := json.MarshalIndent(rep, "", "  ")
	if err := ckpt.WriteFileAtomic(filepath.Join(out, "results.json"), b); err != nil {
		return nil, err
	}
	var csvb strings.Builder
	w := csv.NewWriter(&csvb)
	head := []string{"subject", "class", "method"}
	for _, m := range Metrics {
		head = append(head, m.Key, m.Key+"_std")
	}
	w.Write(head)
	for _, s := range rep.Subjects {
		row := []string{s.Subject, s.Class, s.Method}
		for _, m := range Metrics {
			row = append(row, fmt.Sprintf("%.4f", s.Summary[m.Key].Mean), fmt.Sprintf("%.4f", s.Summary[m.Key].Std))
		}
		w.Write(row)
	}
	w.Flush()
	if err := ckpt.WriteFileAtomic(filepath.Join(out, "subjects.csv"), []byte(csvb.String())); err != nil {
		return nil, err
	}
	if err := ckpt.WriteFileAtomic(filepath.Join(out, "results.md"), []byte(Markdown(rep))); err != nil {
		return nil, err
	}
	html, err := HTML(rep)
	if err != nil {
		return nil, err
	}
	return rep, ckpt.WriteFileAtomic(filepath.Join(out, "report.html"), []byte(html))
}

// under is path p of a result in directory d: p itself when absolute
// (a rescored evaluation points at the images it scored) or empty.
func under(d, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(d, p)
}

// Markdown is the paper's table: one row per method with mean ± 95%
// interval over subjects, then the per-subject rows.
func Markdown(r *Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s: %s\n\n", r.Meta.Bench, r.Meta.Method)
	fmt.Fprintf(&b, "Models: %s. Prompts: %s. %d images per prompt, seeds %s, %s; r_λ at λ = %g. Means over %d subjects ± 95%% interval.\n\n",
		strings.Join(r.Meta.Models, ", "), r.Meta.PromptCleaning, r.Meta.ImagesPerPrompt, r.Meta.Seeds, r.Meta.Sampler, r.Meta.LambdaVal, len(r.Subjects))
	for _, c := range r.Meta.Caveats {
		fmt.Fprintf(&b, "**Note:** %s\n\n", c)
	}
	b.WriteString("| method |")
	for _, m := range Metrics {
		fmt.Fprintf(&b, " %s |", m.Name)
	}
	b.WriteString("\n| --- |" + strings.Repeat(" --- |", len(Metrics)) + "\n")
	fmt.Fprintf(&b, "| %s |", r.Meta.Method)
	for _, m := range Metrics {
		s := r.Summary[m.Key]
		fmt.Fprintf(&b, " %s |", meanCI(s, 3, false))
	}
	b.WriteString("\n\n| subject | class |")
	for _, m := range Metrics {
		fmt.Fprintf(&b, " %s |", m.Name)
	}
	b.WriteString("\n| --- | --- |" + strings.Repeat(" --- |", len(Metrics)) + "\n")
	for _, s := range r.Subjects {
		fmt.Fprintf(&b, "| %s | %s |", s.Subject, s.Class)
		for _, m := range Metrics {
			fmt.Fprintf(&b, " %.3f |", s.Summary[m.Key].Mean)
		}
		b.WriteString("\n")
	}
	if t := timeLine(r.Seconds, len(r.Subjects)); t != "" {
		b.WriteString("\n" + t + "\n")
	}
	return b.String()
}

// timeLine says where an evaluation's time went, in minutes summed over
// its subjects: "Time: 41.2 min for 5 subjects — train 30.1 (negatives …)".
func timeLine(sec map[string]float64, n int) string {
	total := sec["train"] + sec["generate"] + sec["score"]
	if total == 0 {
		return ""
	}
	m := func(k string) string { return fmt.Sprintf("%.1f", sec[k]/60) }
	noun := "subjects"
	if n == 1 {
		noun = "subject"
	}
	line := fmt.Sprintf("Time: %.1f min for %d %s (%.1f min each) — ", total/60, n, noun, total/60/float64(n))
	if sec["train"] > 0 {
		line += "train " + m("train")
		if sec["train_steps"] > 0 {
			line += " (negatives and rewards " + m("train_negatives_and_rewards") + ", steps " + m("train_steps") + ", validations " + m("train_validations") + ")"
		}
		line += ", "
	}
	return line + "generate " + m("generate") + ", score " + m("score") + "."
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"f3":     func(v float64) string { return fmt.Sprintf("%.3f", v) },
	"meanCI": func(s dreambench.Summary) string { return meanCI(s, 3, false) },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rpo eval: {{.R.Meta.Bench}} — {{.R.Meta.Method}}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}img{image-rendering:pixelated;max-width:100%}
.subject{margin:2em 0}.meta{color:#555}.refs img{height:{{.Side}}px}
.im{display:inline-block;width:{{.Side}}px;height:{{.Side}}px;margin-right:2px;image-rendering:pixelated;background-repeat:no-repeat}
td.ims{padding:2px;white-space:nowrap}.curves img{width:45%;margin-right:2%}
{{.Sprites}}
</style></head><body>
<h1>{{.R.Meta.Bench}}: {{.R.Meta.Method}}</h1>
<p class="meta">Models: {{range $i, $m := .R.Meta.Models}}{{if $i}}, {{end}}{{$m}}{{end}}. Prompts: {{.R.Meta.PromptCleaning}}.
{{.R.Meta.ImagesPerPrompt}} images per prompt, seeds {{.R.Meta.Seeds}}, {{.R.Meta.Sampler}}; r_λ at λ = {{.R.Meta.LambdaVal}}. rpo {{.R.Meta.Version}}.</p>
{{if .R.Meta.Training}}<p class="meta">Training: {{.R.Meta.Training}}.</p>{{end}}
{{range .R.Meta.Caveats}}<p class="meta"><b>Note:</b> {{.}}</p>{{end}}
<table id="summary"><tr><th>method</th>{{range .Metrics}}<th>{{.Name}}</th>{{end}}</tr>
<tr><td>{{.R.Meta.Method}}</td>{{range .Summary}}<td>{{meanCI .}}</td>{{end}}</tr></table>
<table id="subjects"><tr><th>subject</th><th>class</th>{{range .Metrics}}<th>{{.Name}}</th>{{end}}</tr>
{{range .Rows}}<tr><td><a href="#{{.Name}}">{{.Name}}</a></td><td>{{.Class}}</td>{{range .Values}}<td>{{f3 .}}</td>{{end}}</tr>
{{end}}</table>
{{range .Rows}}{{$name := .Name}}<div class="subject" id="{{.Name}}"><h2>{{.Name}} ({{.Class}})</h2>
{{if .Refs}}<p class="refs">references<br><img alt="the references of {{.Name}}" src="{{.Refs}}"></p>{{end}}
{{if .Curves}}<p class="curves">{{range .Curves}}<img alt="training curve of {{$name}}" src="{{.}}">{{end}}</p>{{end}}
{{if .Cells}}<table class="prompts"><tr><th>prompt</th><th>generated</th><th>DINO</th><th>CLIP-I</th><th>CLIP-T</th><th>r_λ</th></tr>
{{range .Cells}}<tr><td>{{.Prompt}}</td><td class="ims">{{range .Images}}<span class="im {{.Class}}" style="{{.Pos}}"></span>{{end}}</td><td>{{f3 .DINO}}</td><td>{{f3 .CLIPI}}</td><td>{{f3 .CLIPT}}</td><td>{{f3 .Reward}}</td></tr>
{{end}}</table>{{else}}{{if .Grid}}<img alt="generated images of {{.Name}}" src="{{.Grid}}">{{end}}
{{if .Prompts}}<table class="prompts"><tr><th>prompt</th><th>DINO</th><th>CLIP-I</th><th>CLIP-T</th><th>r_λ</th></tr>
{{range .Prompts}}<tr><td>{{.Prompt}}</td><td>{{f3 .DINO}}</td><td>{{f3 .CLIPI}}</td><td>{{f3 .CLIPT}}</td><td>{{f3 .Reward}}</td></tr>
{{end}}</table>{{end}}{{end}}</div>
{{end}}</body></html>
`))

// reportSide is the size, in CSS pixels, at which the report shows each
// image.
const reportSide = 96

// cell is one generated image of the report: a sprite of its subject's grid.
type cell struct {
	Class string       // the CSS class holding the grid as background
	Pos   template.CSS // its offset and scale
}

// promptRow is one prompt of a subject in the report: its images and scores.
type promptRow struct {
	PromptResult
	Images []cell
}

// HTML is a self-contained report: the summary and per-subject tables,
// and per subject its references, training curves and each prompt's
// generated images (sprites of the subject's grid, inlined once as a data
// URI) beside the prompt's scores.
func HTML(r *Report) (string, error) {
	type row struct {
		Name, Class string
		Values      []float64
		Refs, Grid  template.URL // data: URIs of PNGs
		Curves      []template.URL
		Prompts     []PromptResult
		Cells       []promptRow
	}
	data := struct {
		R       *Report
		Metrics []struct{ Key, Name string }
		Summary []dreambench.Summary
		Rows    []row
		Side    int
		Sprites template.CSS
	}{R: r, Side: reportSide}
	for _, m := range Metrics {
		data.Metrics = append(data.Metrics, struct{ Key, Name string }{m.Key, m.Name})
		data.Summary = append(data.Summary, r.Summary[m.Key])
	}
	var sprites strings.Builder
	for si, s := range r.Subjects {
		rw := row{Name: s.Subject, Class: s.Class, Prompts: s.Prompts}
		for _, m := range Metrics {
			rw.Values = append(rw.Values, s.Summary[m.Key].Mean)
		}
		if b, err := os.ReadFile(s.Refs); err == nil {
			rw.Refs = dataURI(b)
		}
		if s.Training != nil && len(s.Training.Steps) > 0 {
			var err error
			if rw.Curves, err = s.Training.Plots(); err != nil {
				return "", err
			}
		}
		if b, err := os.ReadFile(s.Grid); err == nil {
			rw.Grid = dataURI(b)
			class := fmt.Sprintf("g%d", si)
			if cells, ok := spriteCells(b, s, r.Meta.ImagesPerPrompt, class); ok {
				fmt.Fprintf(&sprites, ".%s{background-image:url(%s)}\n", class, rw.Grid)
				rw.Cells = cells
			}
		}
		data.Rows = append(data.Rows, rw)
	}
	data.Sprites = template.CSS(sprites.String())
	var b strings.Builder
	err := page.Execute(&b, data)
	return b.String(), err
}

// spriteCells cuts a subject's grid (PNG bytes, saveGrid's layout) into
// one cell per generated image, ipp per prompt; false when the grid does
// not hold that many square images.
func spriteCells(grid []byte, s SubjectResult, ipp int, class string) ([]promptRow, bool) {
	cfg, err := png.DecodeConfig(bytes.NewReader(grid))
	if err != nil || ipp < 1 || len(s.Prompts) == 0 {
		return nil, false
	}
	cols := s.Columns
	if cols == 0 {
		cols = 5 * ipp // grids written before the column count was recorded
	}
	n := len(s.Prompts) * ipp
	cols = min(cols, n)
	side := (cfg.Width-gridPad)/cols - gridPad
	rows := (n + cols - 1) / cols
	if side < 1 || rows*(side+gridPad)+gridPad != cfg.Height || cols*(side+gridPad)+gridPad != cfg.Width {
		return nil, false
	}
	scale := float64(reportSide) / float64(side)
	var out []promptRow
	for pi, p := range s.Prompts {
		pr := promptRow{PromptResult: p}
		for k := 0; k < ipp; k++ {
			i := pi*ipp + k
			x, y := gridPad+(i%cols)*(side+gridPad), gridPad+(i/cols)*(side+gridPad)
			pos := fmt.Sprintf("background-position:%.1fpx %.1fpx;background-size:%.1fpx %.1fpx",
				-float64(x)*scale, -float64(y)*scale, float64(cfg.Width)*scale, float64(cfg.Height)*scale)
			pr.Images = append(pr.Images, cell{Class: class, Pos: template.CSS(pos)})
		}
		out = append(out, pr)
	}
	return out, true
}

// dataURI inlines PNG bytes.
func dataURI(b []byte) template.URL {
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(b))
}

// meanCI prints a mean with its 95% interval, or with "(n = 1)" where one
// value has no interval (not "± 0.000").
func meanCI(s dreambench.Summary, prec int, sign bool) string {
	f := fmt.Sprintf("%%.%df", prec)
	if sign {
		f = fmt.Sprintf("%%+.%df", prec)
	}
	if s.N == 1 {
		return fmt.Sprintf(f+" (n = 1)", s.Mean)
	}
	return fmt.Sprintf(f+" ± %.*f", s.Mean, prec, s.CI95)
}
