package rpo

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// PlotRewards writes reward.png: the mean validation reward r_λ over
// steps, one line per λ.
func PlotRewards(path string, vals []ValidationEvent) error {
	p, err := RewardPlot(vals)
	if err != nil {
		return err
	}
	return p.Save(6*vg.Inch, 4*vg.Inch, path)
}

// RewardPlot draws the mean validation reward r_λ over steps, one line
// per λ.
func RewardPlot(vals []ValidationEvent) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "validation reward"
	p.X.Label.Text = "step"
	p.Y.Label.Text = "mean r_λ"
	byLambda := map[string]plotter.XYs{}
	for _, v := range vals {
		for l, r := range v.Reward {
			byLambda[l] = append(byLambda[l], plotter.XY{X: float64(v.Step), Y: r})
		}
	}
	keys := make([]string, 0, len(byLambda))
	for k := range byLambda {
		keys = append(keys, k)
	}
	lambda := func(k string) float64 { // "0.5", or "mean@0.5" (the arithmetic mean)
		v, _ := strconv.ParseFloat(strings.TrimPrefix(k, "mean@"), 64)
		return v
	}
	sort.Slice(keys, func(i, j int) bool {
		if ai, aj := strings.HasPrefix(keys[i], "mean@"), strings.HasPrefix(keys[j], "mean@"); ai != aj {
			return aj
		}
		return lambda(keys[i]) < lambda(keys[j])
	})
	var args []any
	for _, k := range keys {
		label := "λ = " + k
		if strings.HasPrefix(k, "mean@") {
			label = "arithmetic, λ = " + strings.TrimPrefix(k, "mean@")
		}
		args = append(args, label, byLambda[k])
	}
	if err := plotutil.AddLinePoints(p, args...); err != nil {
		return nil, fmt.Errorf("rpo: plot: %w", err)
	}
	return p, nil
}

// LossPlot draws L_sim and L_pref over the steps of a run.
func LossPlot(steps []StepEvent) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "training loss"
	p.X.Label.Text = "step"
	var sim, pref plotter.XYs
	for _, s := range steps {
		sim = append(sim, plotter.XY{X: float64(s.Step), Y: s.LSim})
		pref = append(pref, plotter.XY{X: float64(s.Step), Y: s.LPref})
	}
	p.Legend.Top = true
	if err := plotutil.AddLines(p, "L_sim", sim, "L_pref", pref); err != nil {
		return nil, fmt.Errorf("rpo: plot: %w", err)
	}
	return p, nil
}
