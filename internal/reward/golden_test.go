package reward

import (
	"encoding/json"
	"math"
	"os"
	"strconv"
	"testing"
)

// TestGolden checks ALIGN-I, ALIGN-T, r_λ and the Bradley–Terry probability
// against testdata/reward/golden.json, whose values testdata/make.py
// computes from RPO.md's formulas written out again (the first case by
// hand: cos = 1/√2 to both references, ALIGN-I = (1/√2 + 1)/2 = 0.85355;
// cos to the text = 1/2, ALIGN-T = 0.75; r_0.5 = 1/(0.5/0.85355 + 0.5/0.75)
// = 0.79843).
func TestGolden(t *testing.T) {
	b, err := os.ReadFile("../../testdata/reward/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		References [][]float64 `json:"references"`
		Cases      []struct {
			Image, Text []float64
			AI          float64            `json:"align_i"`
			AT          float64            `json:"align_t"`
			Reward      map[string]float64 `json:"reward"`
		} `json:"cases"`
		BT []struct {
			RRef float64 `json:"r_ref"`
			RGen float64 `json:"r_gen"`
			P    float64 `json:"p"`
		} `json:"bradley_terry"`
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	near := func(what string, got, want float64) {
		if math.Abs(got-want) > 1e-12 {
			t.Errorf("%s = %.15g, golden %.15g", what, got, want)
		}
	}
	if len(g.Cases) == 0 || len(g.BT) == 0 {
		t.Fatal("no golden cases")
	}
	for i, c := range g.Cases {
		s := Score(g.References, c.Text, c.Image)
		near("ALIGN-I", s.AlignI, c.AI)
		near("ALIGN-T", s.AlignT, c.AT)
		for l, want := range c.Reward {
			lambda, _ := strconv.ParseFloat(l, 64)
			near("case "+strconv.Itoa(i)+" r_"+l, s.Reward(lambda), want)
		}
	}
	for _, c := range g.BT {
		near("p", PreferenceProbability(c.RRef, c.RGen), c.P)
	}
}
