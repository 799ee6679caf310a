// Package models holds rpo's model families, each written top to bottom in
// the shape of its architecture on top of internal/nn: the conditional
// U-Net (this file set), and later the latent autoencoder, the text encoder
// and the dual encoders.
package models
