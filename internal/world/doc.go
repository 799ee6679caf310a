// Package world renders rpo's procedural world: every DreamBench class as a
// parametric figure whose identity (palette, pattern, proportions, marking)
// is a parameter vector, in every context and modifier that the DreamBench
// and RPO prompts name, at 64×64, deterministically from a seed; captions in
// the DreamBench grammar over a closed vocabulary; and MiniDreamBench, the 30
// DreamBench subjects rebuilt from a part of identity space that pretraining
// never samples.
package world
