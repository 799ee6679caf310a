package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/rpo-dev/rpo/internal/ckpt"
)

// NewLoRACmd builds `rpo lora` and `rpo lora merge`.
func NewLoRACmd() *cobra.Command {
	cmd := &cobra.Command{Use: "lora", Short: "LoRA adapters: merge them into a model directory"}
	var model, lora, out string
	var scale float64
	var sd SDFlags
	merge := &cobra.Command{
		Use:     "merge --lora FILE --out DIR",
		Short:   "Write a model directory with LoRA adapters merged into --model's weights",
		Example: `  rpo lora merge --model ~/models/stable-diffusion-v1-5 --lora runs/corgi/last/pytorch_lora_weights.safetensors --out corgi-merged`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if lora == "" || out == "" {
				return fmt.Errorf("--lora and --out are required")
			}
			m, _, label, err := openT2I(model, sd.options())
			if err != nil {
				return err
			}
			defer m.Close()
			merged, err := m.WithLoRA(lora, scale)
			if err != nil {
				return err
			}
			defer merged.Close()
			if err := merged.Save(out, ckpt.Provenance{Tool: "rpo " + Version, Command: "rpo lora merge", Created: time.Now().UTC(), Base: label,
				Notes: fmt.Sprintf("%s merged at scale %g", lora, scale)}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: %s with %s merged (scale %g)\n", out, label, lora, scale)
			return nil
		},
	}
	f := merge.Flags()
	f.StringVar(&model, "model", "", "the base model (default: the embedded one)")
	f.StringVar(&lora, "lora", "", "the adapters (diffusers' pytorch_lora_weights.safetensors or kohya's format)")
	f.StringVar(&out, "out", "", "the merged model directory (an existing model directory is replaced)")
	f.Float64Var(&scale, "lora-scale", 1, "strength of the adapters")
	f.IntVar(&sd.Resolution, "resolution", 0, "Stable Diffusion: the image side recorded with the merged model")
	cmd.AddCommand(merge)
	return cmd
}
