package world

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/rpo-dev/rpo/internal/imageio"
	"github.com/rpo-dev/rpo/prompts"
)

// Export writes MiniDreamBench variant into dir in the DreamBench layout:
// <dir>/<subject>/NN.png, prompts_and_classes.txt (DreamBench's prompts and
// class list) and a README.md describing each subject.
func Export(dir string, variant int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("world: %w", err)
	}
	var readme strings.Builder
	fmt.Fprintf(&readme, "# MiniDreamBench, variant %d\n\nDreamBench's 30 subjects rebuilt in rpo's procedural world (64×64 PNG), exported by `rpo world export --variant %d`.\nIdentities come from the part of identity space that pretraining never samples. The prompts file is DreamBench's (CC BY 4.0, google/dreambooth).\n\n| subject | class | references | identity |\n| --- | --- | --- | --- |\n", variant, variant)
	for _, s := range MiniDreamBench(variant) {
		sd := filepath.Join(dir, s.Name)
		if err := os.MkdirAll(sd, 0o755); err != nil {
			return fmt.Errorf("world: %w", err)
		}
		for i, sc := range s.References() {
			if err := imageio.SavePNG(filepath.Join(sd, fmt.Sprintf("%02d.png", i)), sc.Render()); err != nil {
				return err
			}
		}
		fmt.Fprintf(&readme, "| %s | %s | %d | %s |\n", s.Name, s.Class.Name, s.Refs, s.Describe())
	}
	if err := os.WriteFile(filepath.Join(dir, "prompts_and_classes.txt"), []byte(prompts.DreamBench), 0o644); err != nil {
		return fmt.Errorf("world: %w", err)
	}
	return os.WriteFile(filepath.Join(dir, "README.md"), []byte(readme.String()), 0o644)
}
