// Package embedded holds the model directories compiled into the binary:
// the text-to-image model and the three encoders, pretrained on the
// procedural world. A folder that holds only its README means the model
// has not been pretrained yet.
package embedded

import (
	"embed"
	"fmt"
	"io/fs"
)

//go:embed t2i align-mini clip-mini dino-mini autoencoder
var files embed.FS

// Names of the embedded models.
const (
	T2I         = "t2i"
	AlignMini   = "align-mini"
	ClipMini    = "clip-mini"
	DinoMini    = "dino-mini"
	Autoencoder = "autoencoder"
)

// Model returns the embedded model directory called name, or an error
// saying it has not been pretrained yet.
func Model(name string) (fs.FS, error) {
	sub, err := fs.Sub(files, name)
	if err != nil {
		return nil, fmt.Errorf("embedded: %w", err)
	}
	if _, err := fs.Stat(sub, "model.yaml"); err != nil {
		return nil, fmt.Errorf("embedded: no embedded %s model yet (it comes from rpo pretrain); give a model directory", name)
	}
	return sub, nil
}

// Label names an embedded model in messages and provenance.
func Label(name string) string { return "embedded:" + name }
