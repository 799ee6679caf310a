package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/rpo-dev/rpo/internal/config"
)

// NewConfigCmd builds `rpo config [COMMAND [flags]]`: the resolved
// configuration (defaults < --config file < RPO_* env < flags) as YAML, for
// the global options or for what COMMAND would run with.
func NewConfigCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config [COMMAND [flags]]",
		Short: "Print the resolved configuration as YAML",
		Long: `Print the resolved configuration as YAML: flag defaults, overridden by the
--config file, by RPO_* environment variables and by flags, in that order.
Without COMMAND it prints the global options; "rpo config selftest --steps 50"
prints what "rpo selftest --steps 50" would run with.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var g Global
			if err := resolve(cmd, &g, &g); err != nil {
				return err
			}
			return printYAML(&g, g)
		},
	}
	cmd.AddCommand(NewSelftestCmd(func(_ context.Context, o *SelftestOptions) error { return printYAML(&o.Global, o) }))
	world := &cobra.Command{Use: "world", Short: "Configuration of the world commands"}
	world.AddCommand(
		NewWorldPreviewCmd(func(_ context.Context, o *WorldPreviewOptions) error { return printYAML(&o.Global, o) }),
		NewWorldExportCmd(func(_ context.Context, o *WorldExportOptions) error { return printYAML(&o.Global, o) }),
		NewWorldSheetsCmd(func(_ context.Context, o *WorldSheetsOptions) error { return printYAML(&o.Global, o) }),
	)
	cmd.AddCommand(world)
	pre := &cobra.Command{Use: "pretrain", Short: "Configuration of the pretraining stages"}
	pre.AddCommand(
		NewPretrainAECmd(func(_ context.Context, o *PretrainAEOptions) error { return printYAML(&o.Global, o) }),
		NewPretrainT2ICmd(func(_ context.Context, o *PretrainT2IOptions) error { return printYAML(&o.Global, o) }),
		NewPretrainEncodersCmd(func(_ context.Context, o *PretrainEncodersOptions) error { return printYAML(&o.Global, o) }),
		NewPretrainAllCmd(func(_ context.Context, o *PretrainAllOptions) error { return printYAML(&o.Global, o) }),
	)
	cmd.AddCommand(pre)
	cmd.AddCommand(NewTrainCmd(func(_ context.Context, o *TrainOptions) error { return printYAML(&o.Global, o) }))
	cmd.AddCommand(NewScoreCmd(func(_ context.Context, o *ScoreOptions) error { return printYAML(&o.Global, o) }))
	ev := NewEvalCmd(func(_ context.Context, o *EvalOptions) error { return printYAML(&o.Global, o) })
	for _, c := range ev.Commands() {
		ev.RemoveCommand(c) // merge has no configuration
	}
	ev.AddCommand(
		NewEvalT2ICmd(func(_ context.Context, o *EvalT2IOptions) error { return printYAML(&o.Global, o) }),
		NewEvalEncodersCmd(func(_ context.Context, o *EvalEncodersOptions) error { return printYAML(&o.Global, o) }),
	)
	cmd.AddCommand(ev)
	cmd.AddCommand(NewGenerateCmd(func(_ context.Context, o *GenerateOptions) error { return printYAML(&o.Global, o) }))
	return cmd
}

func printYAML(g *Global, opts any) error {
	b, err := config.Dump(opts)
	if err != nil {
		return err
	}
	_, err = g.Out.Write(b)
	return err
}
