// Package models holds rpo's model families, each written top to bottom in
// the shape of its architecture on top of internal/nn: the latent
// autoencoder (autoencoder.go), the conditional U-Net (unet.go), the
// text-to-image model that joins them with the text encoder of
// internal/text (t2i.go, with DenoiseBatch in batch.go), and the image and
// dual encoders of the reward and metric models (encoder.go,
// dualencoder.go).
package models
