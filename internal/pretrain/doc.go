// Package pretrain holds the pretraining stages of the embedded models,
// trained on the procedural world rendered on the fly: each stage is a loop
// that checkpoints every few minutes (weights, optimizer moments, step and
// RNG, so a resumed run continues exactly), writes metrics.jsonl and
// fixed-sample grids, stops at a step budget, and ends with a model
// directory. Progress is reported through a callback; nothing here prints.
package pretrain
