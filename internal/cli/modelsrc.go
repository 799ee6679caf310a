package cli

import (
	"io/fs"
	"os"

	"github.com/rpo-dev/rpo/internal/ckpt"
	"github.com/rpo-dev/rpo/internal/embedded"
	"github.com/rpo-dev/rpo/internal/models"
)

// modelFS returns the model directory dir, or the embedded model name when
// dir is empty, with a label for messages and provenance.
func modelFS(dir, name string) (fs.FS, string, error) {
	if dir != "" {
		return os.DirFS(dir), dir, nil
	}
	fsys, err := embedded.Model(name)
	return fsys, embedded.Label(name), err
}

// openT2I loads the text-to-image model of --model (the embedded one when
// empty).
func openT2I(dir string) (*models.T2I, fs.FS, string, error) {
	fsys, label, err := modelFS(dir, embedded.T2I)
	if err != nil {
		return nil, nil, label, err
	}
	m, err := models.LoadT2IFrom(fsys, label)
	return m, fsys, label, err
}

// openEncoder loads an encoder model directory (the embedded name when dir
// is empty).
func openEncoder(dir, name string) (*models.Encoder, string, error) {
	fsys, label, err := modelFS(dir, name)
	if err != nil {
		return nil, label, err
	}
	e, err := models.LoadEncoderFrom(fsys, label)
	return e, label, err
}

// modelID identifies the weights of the model directory dir (the embedded
// name when dir is empty): rpo.ModelID.
func modelID(dir, name string) (string, error) {
	fsys, _, err := modelFS(dir, name)
	if err != nil {
		return "", err
	}
	return ckpt.ModelID(fsys)
}
