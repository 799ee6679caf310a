// Package prompts embeds rpo's prompt files: DreamBench's evaluation
// prompts and classes, and RPO's training prompts.
package prompts

import (
	_ "embed"
	"strings"
)

// DreamBench is prompts_and_classes.txt, in DreamBench's own format.
//
//go:embed prompts_and_classes.txt
var DreamBench string

//go:embed rpo_train_object.txt
var trainObject string

//go:embed rpo_train_live.txt
var trainLive string

// TrainObject and TrainLive are RPO's 8 training prompt templates for
// objects and for live subjects ({0} token, {1} class).
func TrainObject() []string { return lines(trainObject) }
func TrainLive() []string   { return lines(trainLive) }

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
