package rpo

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Rule is a checkpoint-selection rule: keep the weights of the validation
// with the best mean r_λ at λ (best@λ), with the best mean of the
// arithmetic λ·ALIGN-I + (1−λ)·ALIGN-T instead of the harmonic r_λ
// (best-mean@λ, the appendix ablation), or the last weights (last).
type Rule struct {
	Last   bool
	Arith  bool    // the arithmetic mean instead of the λ-Harmonic reward
	Lambda float64 // λ_val of a best rule
}

// Name is the rule's directory name: "best@0.5", "best-mean@0.5" or "last".
func (r Rule) Name() string {
	switch {
	case r.Last:
		return "last"
	case r.Arith:
		return "best-mean@" + LambdaKey(r.Lambda)
	}
	return "best@" + LambdaKey(r.Lambda)
}

// Key is where a validation records a best rule's reward: "0.5" for r_0.5
// (as always), "mean@0.5" for the arithmetic mean.
func (r Rule) Key() string {
	if r.Arith {
		return "mean@" + LambdaKey(r.Lambda)
	}
	return LambdaKey(r.Lambda)
}

// LambdaKey is how a λ is written wherever it names something: in a rule
// ("best@0.5") and in a validation's rewards ({"0.5": …}).
func LambdaKey(l float64) string { return strconv.FormatFloat(l, 'f', -1, 64) }

// ParseRules reads "best@0.3,best@0.5,last" (a bare "best" uses
// defaultLambda). Rules that differ only in which checkpoint they keep
// share one training run.
func ParseRules(s string, defaultLambda float64) ([]Rule, error) {
	var rules []Rule
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		var r Rule
		switch {
		case part == "last":
			r.Last = true
		case part == "best":
			r.Lambda = defaultLambda
		case part == "best-mean":
			r.Lambda, r.Arith = defaultLambda, true
		case strings.HasPrefix(part, "best@"), strings.HasPrefix(part, "best-mean@"):
			_, lam, _ := strings.Cut(part, "@")
			v, err := strconv.ParseFloat(lam, 64)
			if err != nil || v < 0 || v > 1 {
				return nil, fmt.Errorf("rpo: selection rule %q: λ must be a number in [0, 1]", part)
			}
			r.Lambda, r.Arith = v, strings.HasPrefix(part, "best-mean@")
		default:
			return nil, fmt.Errorf("rpo: selection rule %q is not best, best@λ, best-mean@λ or last", part)
		}
		if !seen[r.Name()] {
			seen[r.Name()] = true
			rules = append(rules, r)
		}
	}
	if len(rules) == 0 {
		return nil, fmt.Errorf("rpo: no selection rule in %q", s)
	}
	return rules, nil
}

// Selector tracks, for each rule, the best validation so far.
type Selector struct {
	Rules []Rule
	Best  map[string]float64 // by rule name: best mean reward
	Step  map[string]int     // by rule name: its step
	// Base is the base model's reward by rule name when it was recorded
	// with ObserveBase: a baseline to compare the kept weights with, not a
	// candidate.
	Base map[string]float64
}

// NewSelector starts a selector.
func NewSelector(rules []Rule) *Selector {
	return &Selector{Rules: rules, Best: map[string]float64{}, Step: map[string]int{}, Base: map[string]float64{}}
}

// ObserveBase records the base model's validation (step 0) as the
// baseline of each best@λ rule without making its weights a candidate:
// the reference code's rules choose among fine-tuned weights only, so a
// run always ends with fine-tuned weights, however they score.
func (s *Selector) ObserveBase(rewards map[string]float64) {
	for _, r := range s.Rules {
		if !r.Last {
			s.Base[r.Name()] = r.reward(rewards)
		}
	}
}

// reward is a best rule's validation reward among rewards (by Key).
func (r Rule) reward(rewards map[string]float64) float64 {
	v, ok := rewards[r.Key()]
	if !ok {
		panic(fmt.Sprintf("rpo: no validation reward %s", r.Key()))
	}
	return v
}

// Observe records a validation at step with the mean reward of each rule
// (rewards[rule.Key()]) and returns the rules whose kept weights become this step's:
// every last rule, and each best@λ rule whose reward strictly improved.
func (s *Selector) Observe(step int, rewards map[string]float64) []Rule {
	var keep []Rule
	for _, r := range s.Rules {
		name := r.Name()
		if r.Last {
			keep = append(keep, r)
			s.Step[name] = step
			continue
		}
		v := r.reward(rewards)
		if best, seen := s.Best[name]; !seen || v > best {
			s.Best[name], s.Step[name] = v, step
			keep = append(keep, r)
		}
	}
	return keep
}

// EarlyStopper stops training when the validation reward has not improved
// by more than MinDelta for Patience validations in a row, in the manner
// of gonum's optimize.FunctionConverge. The zero value never stops
// (the paper's default: train to the last step, keep the best).
type EarlyStopper struct {
	Patience int     // validations without improvement before stopping; 0: never stop
	MinDelta float64 // improvement smaller than this does not count

	best  float64
	seen  bool
	stale int
}

// earlyStopperJSON is an EarlyStopper in a checkpoint: its options and its
// state, so that a resumed run stops where an uninterrupted one does.
// (Checkpoints of earlier versions hold the options only.)
type earlyStopperJSON struct {
	Patience int
	MinDelta float64
	Best     float64 `json:"best,omitempty"`
	Seen     bool    `json:"seen,omitempty"`
	Stale    int     `json:"stale,omitempty"`
}

// MarshalJSON writes the stopper with its state.
func (e EarlyStopper) MarshalJSON() ([]byte, error) {
	return json.Marshal(earlyStopperJSON{e.Patience, e.MinDelta, e.best, e.seen, e.stale})
}

// UnmarshalJSON restores what MarshalJSON wrote.
func (e *EarlyStopper) UnmarshalJSON(b []byte) error {
	var j earlyStopperJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*e = EarlyStopper{Patience: j.Patience, MinDelta: j.MinDelta, best: j.Best, seen: j.Seen, stale: j.Stale}
	return nil
}

// Update records a validation reward and reports whether to stop.
func (e *EarlyStopper) Update(reward float64) (stop bool) {
	if !e.seen || reward > e.best+e.MinDelta {
		e.best, e.seen, e.stale = reward, true, 0
		return false
	}
	e.stale++
	return e.Patience > 0 && e.stale >= e.Patience
}
