package cli

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rpo-dev/rpo/internal/imageio"
	"github.com/rpo-dev/rpo/internal/world"
)

// NewWorldCmd builds `rpo world`: preview, export, sheets and vocab.
func NewWorldCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "world",
		Short: "Render the procedural world and MiniDreamBench",
		Long: `The procedural world is what rpo's embedded models learn: the 15 DreamBench
classes as parametric figures in every DreamBench and RPO context and modifier,
at 64×64. MiniDreamBench is DreamBench's 30 subjects rebuilt in it.`,
	}
	cmd.AddCommand(NewWorldPreviewCmd(RunWorldPreview), NewWorldExportCmd(RunWorldExport), NewWorldSheetsCmd(RunWorldSheets), newWorldVocabCmd())
	return cmd
}

// WorldPreviewOptions are the options of `rpo world preview`.
type WorldPreviewOptions struct {
	Global       `mapstructure:",squash" yaml:",inline"`
	Prompt       string `mapstructure:"prompt" yaml:"prompt"`
	Class        string `mapstructure:"class" yaml:"class"`
	Context      string `mapstructure:"context" yaml:"context"`
	Modifier     string `mapstructure:"modifier" yaml:"modifier"`
	IdentitySeed int64  `mapstructure:"identity_seed" yaml:"identity_seed"`
	Subject      string `mapstructure:"subject" yaml:"subject"`
	Variant      int    `mapstructure:"variant" yaml:"variant"`
	N            int    `mapstructure:"n" yaml:"n"`
	Seed         uint64 `mapstructure:"seed" yaml:"seed"`
	OutFile      string `mapstructure:"out" yaml:"out"`
	Force        bool   `mapstructure:"force" yaml:"force"`
}

// NewWorldPreviewCmd builds `rpo world preview`.
func NewWorldPreviewCmd(run func(context.Context, *WorldPreviewOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "preview",
		Short: "Render a grid of scenes of one class, setting and modifier",
		Example: `  rpo world preview --class dog --context "on the beach" --n 16 --out grid.png
  rpo world preview --prompt "a red dog wearing a santa hat in the snow" --identity-seed 3
  rpo world preview --subject dog6 --context "on the Moon"`,
		Args: cobra.NoArgs,
		RunE: runE(run),
	}
	f := cmd.Flags()
	f.String("prompt", "", `a whole caption, e.g. "a shiny cat on the beach" (instead of --class/--context/--modifier)`)
	f.String("class", "dog", "class noun: "+classNames())
	f.String("context", "", `setting, by phrase ("on the beach") or name ("beach"); empty: plain reference settings`)
	f.String("modifier", "", `modifier by phrase or name ("red", "wearing a santa hat", "cube")`)
	f.Int64("identity-seed", -1, "draw one identity from this seed and keep it in every image (-1: a new identity per image)")
	f.String("subject", "", "use a MiniDreamBench subject's identity (dog6, backpack_dog, ...)")
	f.Int("variant", 0, "MiniDreamBench variant for --subject")
	f.Int("n", 16, "number of images")
	f.Uint64("seed", 1, "seed of cameras and scenery")
	f.String("out", "preview.png", "grid PNG to write")
	f.Bool("force", false, "replace --out if it exists")
	return cmd
}

func classNames() string {
	names := make([]string, len(world.Classes))
	for i, c := range world.Classes {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// RunWorldPreview runs `rpo world preview`.
func RunWorldPreview(_ context.Context, o *WorldPreviewOptions) error {
	if fileExists(o.OutFile) && !o.Force {
		return fmt.Errorf("--out %s exists: choose another --out, or --force to replace it", o.OutFile)
	}
	text := o.Prompt
	if text == "" {
		text = "a " + o.Class
		if o.Modifier != "" {
			m := world.ModifierByName(o.Modifier)
			if m == nil {
				m = &world.Modifier{Phrase: o.Modifier}
			}
			if m.Prefix() {
				text = "a " + m.Phrase + " " + o.Class
			} else {
				text += " " + m.Phrase
			}
		}
		if o.Context != "" {
			phrase := o.Context
			if c := world.ContextByName(o.Context); c != nil {
				phrase = c.Phrase
			}
			text += " " + phrase
		}
	}
	p, err := world.ParsePrompt(text, "")
	if err != nil {
		return err
	}
	if o.N < 1 {
		return fmt.Errorf("--n must be at least 1")
	}
	rng := rand.New(rand.NewPCG(o.Seed, 3))
	var fixed *world.Identity
	switch {
	case o.Subject != "":
		s, ok := world.SubjectByName(o.Variant, o.Subject)
		if !ok {
			return fmt.Errorf("--subject %q is not a MiniDreamBench subject", o.Subject)
		}
		if s.Class != p.Class {
			return fmt.Errorf("--subject %s is a %s, the prompt asks for a %s", o.Subject, s.Class.Name, p.Class.Name)
		}
		fixed = &s.Identity
	case o.IdentitySeed >= 0:
		id := world.SampleIdentity(rand.New(rand.NewPCG(uint64(o.IdentitySeed), 5)), p.Class, false)
		fixed = &id
	}
	imgs := make([]image.Image, o.N)
	for i := range imgs {
		id := world.SampleIdentity(rng, p.Class, false)
		if fixed != nil {
			id = *fixed
		}
		imgs[i] = p.Scene(id, rng).Render()
	}
	cols := 4
	if o.N > 16 {
		cols = 8
	}
	if err := imageio.SavePNG(o.OutFile, imageio.Grid(imgs, cols, 2, color.White)); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "wrote %s: %d images of %q\n", o.OutFile, o.N, text)
	return nil
}

// WorldExportOptions are the options of `rpo world export`.
type WorldExportOptions struct {
	Global  `mapstructure:",squash" yaml:",inline"`
	OutDir  string `mapstructure:"out" yaml:"out"`
	Variant int    `mapstructure:"variant" yaml:"variant"`
	Force   bool   `mapstructure:"force" yaml:"force"`
}

// NewWorldExportCmd builds `rpo world export`.
func NewWorldExportCmd(run func(context.Context, *WorldExportOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write MiniDreamBench in the DreamBench layout (PNG)",
		Args:  cobra.NoArgs,
		RunE:  runE(run),
	}
	cmd.Flags().String("out", "minidreambench", "directory to write")
	cmd.Flags().Int("variant", 0, "0 is the standard set; any other number draws 30 new subjects")
	cmd.Flags().Bool("force", false, "write into a directory that already has files")
	return cmd
}

// RunWorldExport runs `rpo world export`.
func RunWorldExport(_ context.Context, o *WorldExportOptions) error {
	if entries, err := os.ReadDir(o.OutDir); err == nil && len(entries) > 0 && !o.Force {
		return fmt.Errorf("%s already has files; use --force to write into it", o.OutDir)
	}
	start := time.Now()
	if err := world.Export(o.OutDir, o.Variant); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "wrote MiniDreamBench variant %d to %s in %s\n", o.Variant, o.OutDir, time.Since(start).Round(time.Millisecond))
	return nil
}

// WorldSheetsOptions are the options of `rpo world sheets`.
type WorldSheetsOptions struct {
	Global `mapstructure:",squash" yaml:",inline"`
	OutDir string `mapstructure:"out" yaml:"out"`
	Seed   uint64 `mapstructure:"seed" yaml:"seed"`
}

// NewWorldSheetsCmd builds `rpo world sheets`.
func NewWorldSheetsCmd(run func(context.Context, *WorldSheetsOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sheets",
		Short: "Write contact sheets: classes × settings, one subject in every setting, MiniDreamBench references",
		Args:  cobra.NoArgs,
		RunE:  runE(run),
	}
	cmd.Flags().String("out", "docs/world", "directory for the PNGs")
	cmd.Flags().Uint64("seed", 1, "seed of identities, cameras and scenery")
	return cmd
}

// RunWorldSheets runs `rpo world sheets`.
func RunWorldSheets(_ context.Context, o *WorldSheetsOptions) error {
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return err
	}
	sheets := []struct {
		name string
		make func() ([]image.Image, int)
	}{
		{"classes.png", func() ([]image.Image, int) { return world.ClassSheet(o.Seed) }},
		{"contexts.png", func() ([]image.Image, int) { return world.ContextSheet(o.Seed) }},
		{"minidreambench.png", func() ([]image.Image, int) { return world.ReferenceSheet(0) }},
	}
	for _, s := range sheets {
		imgs, cols := s.make()
		path := filepath.Join(o.OutDir, s.name)
		if err := imageio.SavePNG(path, imageio.Grid(imgs, cols, 1, color.White)); err != nil {
			return err
		}
		fmt.Fprintf(o.Out, "wrote %s (%d images)\n", path, len(imgs))
	}
	return nil
}

func newWorldVocabCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "vocab",
		Short: "Print the world's closed vocabulary, one word per line",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, w := range world.Vocabulary() {
				fmt.Fprintln(cmd.OutOrStdout(), w)
			}
			return nil
		},
	}
}
