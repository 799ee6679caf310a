package eval

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"

	"github.com/rpo-dev/rpo/internal/rpo"
)

// History is a trained subject's run as its report draws it: the losses
// of every step, the validation reward of every validation, and which
// step's weights were evaluated.
type History struct {
	Run        string         `json:"run"`  // the run directory
	Rule       string         `json:"rule"` // the selection rule evaluated
	KeptStep   int            `json:"kept_step"`
	Steps      []int          `json:"steps"`
	LSim       []float64      `json:"l_sim"`
	LPref      []float64      `json:"l_pref"`
	Validation []RewardAtStep `json:"validation"`
}

// RewardAtStep is one validation: the mean r_λ by λ ("0.5").
type RewardAtStep struct {
	Step   int                `json:"step"`
	Reward map[string]float64 `json:"reward"`
}

// readHistory reads the history of the run in dir from its metrics.jsonl;
// kept is the step whose weights rule kept.
func readHistory(dir, rule string, kept int) (*History, error) {
	steps, vals, err := rpo.ReadMetrics(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		return nil, err
	}
	h := &History{Run: dir, Rule: rule, KeptStep: kept}
	for _, s := range steps {
		h.Steps, h.LSim, h.LPref = append(h.Steps, s.Step), append(h.LSim, s.LSim), append(h.LPref, s.LPref)
	}
	for _, v := range vals {
		h.Validation = append(h.Validation, RewardAtStep{Step: v.Step, Reward: v.Reward})
	}
	return h, nil
}

// Plots draws the history's two figures (validation reward, losses) as
// PNG data URIs for the report.
func (h *History) Plots() ([]template.URL, error) {
	vals := make([]rpo.ValidationEvent, len(h.Validation))
	for i, v := range h.Validation {
		vals[i] = rpo.ValidationEvent{Step: v.Step, Reward: v.Reward}
	}
	steps := make([]rpo.StepEvent, len(h.Steps))
	for i := range h.Steps {
		steps[i] = rpo.StepEvent{Step: h.Steps[i], LSim: h.LSim[i], LPref: h.LPref[i]}
	}
	rp, err := rpo.RewardPlot(vals)
	if err != nil {
		return nil, err
	}
	rp.Title.Text = fmt.Sprintf("validation reward (%s kept step %d)", h.Rule, h.KeptStep)
	lp, err := rpo.LossPlot(steps)
	if err != nil {
		return nil, err
	}
	var out []template.URL
	for _, p := range []*plot.Plot{rp, lp} {
		w, err := p.WriterTo(4.5*vg.Inch, 2.8*vg.Inch, "png")
		if err != nil {
			return nil, fmt.Errorf("eval: plot: %w", err)
		}
		var b bytes.Buffer
		if _, err := w.WriteTo(&b); err != nil {
			return nil, fmt.Errorf("eval: plot: %w", err)
		}
		out = append(out, template.URL("data:image/png;base64,"+base64.StdEncoding.EncodeToString(b.Bytes())))
	}
	return out, nil
}

// keptStep is the step whose weights rule kept in a run's result.
func keptStep(res rpo.Result, rule string) int {
	if s, ok := res.BestStep[rule]; ok {
		return s
	}
	return -1
}
