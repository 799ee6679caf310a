// Package cli holds rpo's commands, one file each. A command parses its
// flags into an options struct (resolved by internal/config) and calls a
// run function; the constructor takes that function, so tests check parsing
// without side effects (the pattern of cli/cli). Commands do no math.
package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/rpo-dev/rpo/internal/config"
	"github.com/rpo-dev/rpo/internal/imageio"
)

// Global are the options every command takes.
type Global struct {
	LogLevel  string       `mapstructure:"log_level" yaml:"log_level"`
	LogFormat string       `mapstructure:"log_format" yaml:"log_format"`
	MaxPixels int          `mapstructure:"max_image_pixels" yaml:"-"`
	Out       io.Writer    `mapstructure:"-" yaml:"-"` // standard output of the command
	Err       io.Writer    `mapstructure:"-" yaml:"-"` // standard error (logs, progress)
	Logger    *slog.Logger `mapstructure:"-" yaml:"-"`
}

// NewRootCmd builds the rpo command tree.
func NewRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "rpo",
		Short: "Subject-driven text-to-image fine-tuning with Reward Preference Optimization",
		Long: `rpo fine-tunes a text-to-image diffusion model on a few photos of a subject
(your dog, a backpack) with Reward Preference Optimization (Miao et al.,
NeurIPS 2024), so that the model draws that subject in new scenes from text.

Configuration: flag defaults < --config FILE.yaml < RPO_* environment < flags.
"rpo config COMMAND [flags]" prints what a command would run with.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().String(config.FileFlag, "", "YAML file of options (keys are flag names with _ for -); env RPO_CONFIG")
	root.PersistentFlags().String("log-level", "info", "log level: debug, info, warn, error")
	root.PersistentFlags().String("log-format", "text", "log format: text or json")
	root.PersistentFlags().Int("max-image-pixels", imageio.DefaultMaxPixels, "largest width×height of an input image (larger ones are refused before they are decoded)")

	evalCmd := NewEvalCmd(RunEval)
	evalCmd.AddCommand(NewEvalT2ICmd(RunEvalT2I), NewEvalEncodersCmd(RunEvalEncoders))
	root.AddCommand(
		NewVersionCmd(),
		NewConfigCmd(),
		NewSelftestCmd(RunSelftest),
		NewWorldCmd(),
		NewPretrainCmd(),
		NewGenerateCmd(RunGenerate),
		NewScoreCmd(RunScore),
		NewTrainCmd(RunTrain),
		evalCmd,
		NewLoRACmd(),
	)
	return root
}

// options is what every command's options struct is: it embeds Global.
type options[O any] interface {
	*O
	global() *Global
}

func (g *Global) global() *Global { return g }

// runE is the RunE of a command without arguments: it resolves a fresh
// options struct (flags, file, environment) and calls run with it.
func runE[O any, P options[O]](run func(context.Context, P) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		o := P(new(O))
		if err := resolve(cmd, o, o.global()); err != nil {
			return err
		}
		return run(cmd.Context(), o)
	}
}

// resolve fills the global part of a command's options and its logger.
func resolve(cmd *cobra.Command, opts any, g *Global) error {
	warnings, err := config.Load(cmd, opts)
	if err != nil {
		return err
	}
	g.Out, g.Err = cmd.OutOrStdout(), cmd.ErrOrStderr()
	if g.MaxPixels < 1 {
		return fmt.Errorf("--max-image-pixels %d: must be at least 1", g.MaxPixels)
	}
	imageio.MaxPixels = g.MaxPixels
	logger, err := NewLogger(g.Err, g.LogLevel, g.LogFormat)
	if err != nil {
		return err
	}
	g.Logger = logger
	for _, w := range warnings {
		logger.Warn(w)
	}
	return nil
}
