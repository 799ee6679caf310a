package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestShippedConfigsParse: every file in configs/ resolves for its command.
func TestShippedConfigsParse(t *testing.T) {
	files, _ := filepath.Glob("../../configs/*.yaml")
	if len(files) < 5 {
		t.Fatalf("%d configs", len(files))
	}
	for _, f := range files {
		if stage, ok := strings.CutPrefix(strings.TrimSuffix(filepath.Base(f), ".yaml"), "pretrain-"); ok {
			// a pretraining stage's recipe: it resolves for that stage, and sets what it says
			got, err := execute(t, NewRootCmd(), "config", "pretrain", stage, "--config", f)
			if err != nil || !strings.Contains(got, "seed: ") {
				t.Errorf("%s: %v\n%s", f, err, got)
			}
			continue
		}
		var got *TrainOptions
		root := NewRootCmd()
		cmd := "train"
		if filepath.Base(f) == "selftest.yaml" {
			cmd = "selftest"
		}
		if cmd == "train" {
			for _, c := range root.Commands() {
				if c.Name() == "train" {
					root.RemoveCommand(c)
				}
			}
			root.AddCommand(NewTrainCmd(func(_ context.Context, o *TrainOptions) error { got = o; return nil }))
		} else {
			for _, c := range root.Commands() {
				if c.Name() == "selftest" {
					root.RemoveCommand(c)
				}
			}
			root.AddCommand(NewSelftestCmd(func(context.Context, *SelftestOptions) error { return nil }))
		}
		if _, err := execute(t, root, cmd, "--config", f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if cmd == "train" && (got == nil || got.Loss == "" || got.Select == "") {
			t.Errorf("%s: %+v", f, got)
		}
	}
}
