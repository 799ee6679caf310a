// Package nn is rpo's neural-network engine: gorgonia builds the graphs,
// differentiates them and runs the tape; this package owns the operators that
// are slow or wrong in gorgonia (a copying reshape, Conv2d, GroupNorm with
// optional fused SiLU, nearest 2× upsampling, per-channel add), the layers
// composed from them (Linear, Conv, GroupNorm, LayerNorm, multi-head
// attention, ResBlock, sinusoidal timestep embedding), a parameter store with
// stable hierarchical names, initialisers, and AdamW with decoupled weight
// decay and global-norm gradient clipping.
//
// Model code never touches gorgonia's op plumbing: it calls a Builder, whose
// Ops field chooses between the owned operators (Owned, the default) and a
// composition of stock gorgonia operators with the known fixes (Stock, kept
// to cross-check gradients).
//
// Operators work in float32 (training) and float64 (gradient tests).
package nn
