package eval

import "github.com/rpo-dev/rpo/prompts"

func promptsTrainLive() []string   { return prompts.TrainLive() }
func promptsTrainObject() []string { return prompts.TrainObject() }
