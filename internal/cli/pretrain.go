package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rpo-dev/rpo/internal/ckpt"
	"github.com/rpo-dev/rpo/internal/models"
	"github.com/rpo-dev/rpo/internal/pretrain"
	"github.com/rpo-dev/rpo/internal/text"
)

// NewPretrainCmd builds `rpo pretrain STAGE`.
func NewPretrainCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pretrain",
		Short: "Pretrain the embedded models on the procedural world",
		Long: `Pretrain the embedded models on the procedural world, rendered on the fly.
Each stage checkpoints every few minutes (weights, optimizer, step, RNG) and
resumes exactly with --resume; it writes metrics.jsonl, sample grids under
samples/, and ends with a model directory under model/.

Stages: ae (the latent autoencoder), then t2i (text encoder + U-Net on the
latents of a frozen autoencoder); encoders (align-mini, clip-mini, dino-mini).`,
	}
	cmd.AddCommand(NewPretrainAECmd(RunPretrainAE), NewPretrainT2ICmd(RunPretrainT2I), NewPretrainEncodersCmd(RunPretrainEncoders),
		NewPretrainAllCmd(RunPretrainAll))
	return cmd
}

// PretrainAllOptions are the options of `rpo pretrain all`.
type PretrainAllOptions struct {
	Global       `mapstructure:",squash" yaml:",inline"`
	OutDir       string `mapstructure:"out" yaml:"out"`
	Resume       bool   `mapstructure:"resume" yaml:"resume"`
	AESteps      int    `mapstructure:"ae_steps" yaml:"ae_steps"`
	T2ISteps     int    `mapstructure:"t2i_steps" yaml:"t2i_steps"`
	EncoderSteps int    `mapstructure:"encoder_steps" yaml:"encoder_steps"`
}

// NewPretrainAllCmd builds `rpo pretrain all`.
func NewPretrainAllCmd(run func(context.Context, *PretrainAllOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "all",
		Short: "Run every pretraining stage in order: ae, t2i (on that autoencoder), encoders",
		Long: `Run the stages in order, each with its own defaults, in out/ae, out/t2i and
out/encoders: the autoencoder, then the text encoder and U-Net on the latents
of out/ae/model, then align-mini, clip-mini and dino-mini. With --resume, a
stage that has a checkpoint continues from it (a finished stage only
re-evaluates and rewrites its model) and a stage without one starts.
Copy the model directories to internal/embedded/ to make them the defaults.`,
		Example: `  rpo pretrain all --out runs/all
  rpo pretrain all --out runs/all --resume    # after Ctrl-C, a crash or the end of a sitting`,
		Args: cobra.NoArgs,
		RunE: runE(run),
	}
	f := cmd.Flags()
	f.String("out", "runs/pretrain-all", "directory of the three stages (ae/, t2i/, encoders/)")
	f.Bool("resume", false, "continue the stages that have a checkpoint")
	f.Int("ae-steps", 6000, "step budget of the autoencoder")
	f.Int("t2i-steps", 20000, "step budget of the text-to-image stage")
	f.Int("encoder-steps", 1500, "step budget of each encoder")
	return cmd
}

// pretrainAllDirs are the run directories of the stages of `rpo pretrain
// all` under out.
func pretrainAllDirs(out string) (ae, t2i, encoders string) {
	return filepath.Join(out, "ae"), filepath.Join(out, "t2i"), filepath.Join(out, "encoders")
}

// pretrainAllStages are the command lines of the stages of `rpo pretrain
// all`: --resume goes to a stage only when it has a checkpoint (the
// encoders command decides per encoder).
func pretrainAllStages(o *PretrainAllOptions) [][]string {
	ae, t2i, enc := pretrainAllDirs(o.OutDir)
	stages := [][]string{
		{"pretrain", "ae", "--out", ae, "--steps", fmt.Sprint(o.AESteps)},
		{"pretrain", "t2i", "--out", t2i, "--autoencoder", filepath.Join(ae, "model"), "--steps", fmt.Sprint(o.T2ISteps)},
		{"pretrain", "encoders", "--out", enc, "--steps", fmt.Sprint(o.EncoderSteps)},
	}
	resume := []bool{pretrain.HasCheckpoint(ae), pretrain.HasCheckpoint(t2i), true}
	for i := range stages {
		if o.Resume && resume[i] {
			stages[i] = append(stages[i], "--resume")
		}
		stages[i] = append(stages[i], "--log-level", o.LogLevel, "--log-format", o.LogFormat)
	}
	return stages
}

// RunPretrainAll runs `rpo pretrain all`: the three stage commands in
// order, through the command tree, so that each stage has exactly the
// defaults, messages and resume behaviour of its own command.
func RunPretrainAll(ctx context.Context, o *PretrainAllOptions) error {
	for _, args := range pretrainAllStages(o) {
		o.Logger.Info("pretrain all: stage", "stage", args[1], "args", strings.Join(args[2:], " "))
		root := NewRootCmd()
		root.SetArgs(args)
		root.SetOut(o.Out)
		root.SetErr(o.Err)
		if err := root.ExecuteContext(ctx); err != nil {
			if errors.Is(err, context.Canceled) {
				fmt.Fprintf(o.Err, "pretrain all interrupted in stage %s. Resume every stage with:\n  rpo pretrain all --out %s --resume\n", args[1], o.OutDir)
			}
			return err
		}
	}
	ae, t2i, enc := pretrainAllDirs(o.OutDir)
	fmt.Fprintf(o.Out, "pretrain all: models in %s/model, %s/model and %s/{align-mini,clip-mini,dino-mini}/model\n", ae, t2i, enc)
	return nil
}

// PretrainAEOptions are the options of `rpo pretrain ae`.
type PretrainAEOptions struct {
	Global          `mapstructure:",squash" yaml:",inline"`
	OutDir          string        `mapstructure:"out" yaml:"out"`
	Resume          bool          `mapstructure:"resume" yaml:"resume"`
	Init            string        `mapstructure:"init" yaml:"init"`
	Steps           int           `mapstructure:"steps" yaml:"steps"`
	Batch           int           `mapstructure:"batch" yaml:"batch"`
	LR              float64       `mapstructure:"lr" yaml:"lr"`
	LRSchedule      string        `mapstructure:"lr_schedule" yaml:"lr_schedule"`
	KLWeight        float64       `mapstructure:"kl_weight" yaml:"kl_weight"`
	Seed            uint64        `mapstructure:"seed" yaml:"seed"`
	CheckpointEvery time.Duration `mapstructure:"checkpoint_every" yaml:"checkpoint_every"`
	EvalEvery       int           `mapstructure:"eval_every" yaml:"eval_every"`
	LogEvery        int           `mapstructure:"log_every" yaml:"log_every"`
	Channels        []int         `mapstructure:"channels" yaml:"channels"`
}

// NewPretrainAECmd builds `rpo pretrain ae`.
func NewPretrainAECmd(run func(context.Context, *PretrainAEOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ae",
		Short: "Train the latent autoencoder (64×64×3 ↔ 16×16×4)",
		Example: `  rpo pretrain ae --out runs/ae                 # start
  rpo pretrain ae --out runs/ae --resume        # continue after Ctrl-C or a crash
  rpo pretrain ae --out runs/ae2 --init internal/embedded/autoencoder --steps 2000`,
		Args: cobra.NoArgs,
		RunE: runE(run),
	}
	d := models.DefaultAutoencoder()
	f := cmd.Flags()
	f.String("out", "runs/pretrain-ae", "run directory (checkpoint/, samples/, metrics.jsonl, model/)")
	f.Bool("resume", false, "continue the run in --out from its checkpoint")
	f.String("init", "", "start from the weights of this autoencoder model directory")
	f.Int("steps", 6000, "step budget (the run stops there)")
	f.Int("batch", 32, "images per step")
	f.Float64("lr", 1e-3, "AdamW learning rate")
	f.String("lr-schedule", "cosine", "constant, or cosine decay to 5% at the step budget")
	f.Float64("kl-weight", 1e-4, "weight of the KL term (per latent element)")
	f.Uint64("seed", 1, "seed of the weights and of the rendered data")
	f.Duration("checkpoint-every", 3*time.Minute, "checkpoint interval")
	f.Int("eval-every", 250, "held-out PSNR and a sample grid every this many steps")
	f.Int("log-every", 10, "metrics.jsonl line (and log line off a terminal) every this many steps")
	f.IntSlice("channels", d.Channels, "channels per resolution (64, 32, 16)")
	return cmd
}

// RunPretrainAE runs `rpo pretrain ae`.
func RunPretrainAE(ctx context.Context, o *PretrainAEOptions) error {
	cfg := models.DefaultAutoencoder()
	cfg.Channels = o.Channels
	lock, err := openPretrainRun(o.OutDir, o, o.Resume, o.Logger)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	prog := NewProgress(o.Err, o.Logger, "pretrain ae", o.Steps, o.LogEvery)
	res, err := pretrain.TrainAutoencoder(ctx, pretrain.AutoencoderOptions{
		Out: o.OutDir, Steps: o.Steps, Batch: o.Batch, LR: o.LR, LRSchedule: o.LRSchedule, KLWeight: o.KLWeight, Seed: o.Seed,
		CheckpointEvery: o.CheckpointEvery, EvalEvery: o.EvalEvery, LogEvery: o.LogEvery,
		Resume: o.Resume, Init: o.Init, Config: cfg, Version: Version,
	}, func(m pretrain.Metrics) {
		attrs := []any{"recon", m.Recon, "kl", m.KL, "psnr", m.PSNR}
		if m.EvalPSNR != 0 {
			attrs = append(attrs, "eval_psnr", m.EvalPSNR)
			o.Logger.Info("held-out", "step", m.Step, "psnr_db", fmt.Sprintf("%.2f", m.EvalPSNR))
		}
		prog.StepElapsed(m.Step, seconds(m.Elapsed), fmt.Sprintf("psnr %.1f dB", m.PSNR), attrs...)
	})
	prog.Close()
	if errors.Is(err, context.Canceled) {
		fmt.Fprintf(o.Err, "interrupted at step %d; checkpoint saved. %s", res.Steps, resumeHint("rpo pretrain ae", o.OutDir))
		return err
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "pretrain ae: %d steps; held-out PSNR %.2f dB; latent scaling factor %.5f; wrote %s\n", res.Steps, res.EvalPSNR, res.ScalingFactor, res.ModelDir)
	return nil
}

// PretrainT2IOptions are the options of `rpo pretrain t2i`.
type PretrainT2IOptions struct {
	Global          `mapstructure:",squash" yaml:",inline"`
	OutDir          string        `mapstructure:"out" yaml:"out"`
	Autoencoder     string        `mapstructure:"autoencoder" yaml:"autoencoder"`
	Resume          bool          `mapstructure:"resume" yaml:"resume"`
	Init            string        `mapstructure:"init" yaml:"init"`
	Steps           int           `mapstructure:"steps" yaml:"steps"`
	Batch           int           `mapstructure:"batch" yaml:"batch"`
	LR              float64       `mapstructure:"lr" yaml:"lr"`
	LRSchedule      string        `mapstructure:"lr_schedule" yaml:"lr_schedule"`
	CaptionDropout  float64       `mapstructure:"caption_dropout" yaml:"caption_dropout"`
	EMADecay        float64       `mapstructure:"ema_decay" yaml:"ema_decay"`
	SNRGamma        float64       `mapstructure:"snr_gamma" yaml:"snr_gamma"`
	Seed            uint64        `mapstructure:"seed" yaml:"seed"`
	CheckpointEvery time.Duration `mapstructure:"checkpoint_every" yaml:"checkpoint_every"`
	SampleEvery     int           `mapstructure:"sample_every" yaml:"sample_every"`
	SampleSteps     int           `mapstructure:"sample_steps" yaml:"sample_steps"`
	LogEvery        int           `mapstructure:"log_every" yaml:"log_every"`
}

// NewPretrainT2ICmd builds `rpo pretrain t2i`.
func NewPretrainT2ICmd(run func(context.Context, *PretrainT2IOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "t2i",
		Short: "Train the text encoder and the U-Net on a frozen autoencoder's latents",
		Example: `  rpo pretrain t2i --autoencoder runs/pretrain-ae/model --out runs/t2i
  rpo pretrain t2i --autoencoder runs/pretrain-ae/model --out runs/t2i --resume`,
		Args: cobra.NoArgs,
		RunE: runE(run),
	}
	f := cmd.Flags()
	f.String("out", "runs/pretrain-t2i", "run directory (checkpoint/, samples/, metrics.jsonl, model/)")
	f.String("autoencoder", "internal/embedded/autoencoder", "model directory of the trained autoencoder (rpo pretrain ae; default: the committed one, from the repository root)")
	f.Bool("resume", false, "continue the run in --out from its checkpoint")
	f.String("init", "", "start from the denoiser weights of this text-to-image model directory (to continue training an earlier run's model)")
	f.Int("steps", 20000, "step budget")
	f.Int("batch", 32, "images per step")
	f.Float64("lr", 3e-4, "AdamW learning rate")
	f.String("lr-schedule", "cosine", "constant, or cosine decay to 5% at the step budget")
	f.Float64("caption-dropout", 0.1, "share of empty captions (classifier-free guidance)")
	f.Float64("ema-decay", 0.999, "decay of the EMA of the weights used for samples and the final model")
	f.Float64("snr-gamma", 0, "Min-SNR-γ loss weighting (diffusers' --snr_gamma; 5 is the paper's value); 0: plain MSE")
	f.Uint64("seed", 1, "seed of the weights and of the rendered data")
	f.Duration("checkpoint-every", 3*time.Minute, "checkpoint interval")
	f.Int("sample-every", 500, "a grid of the fixed sample prompts every this many steps")
	f.Int("sample-steps", 25, "DDIM steps of the sample grids")
	f.Int("log-every", 10, "metrics.jsonl line (and log line off a terminal) every this many steps")
	return cmd
}

// RunPretrainT2I runs `rpo pretrain t2i`.
func RunPretrainT2I(ctx context.Context, o *PretrainT2IOptions) error {
	o.Init = absPath(o.Init) // (not --autoencoder: checkpoints record it as given, and a resume compares it)
	lock, err := openPretrainRun(o.OutDir, o, o.Resume, o.Logger)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	prog := NewProgress(o.Err, o.Logger, "pretrain t2i", o.Steps, o.LogEvery)
	res, err := pretrain.TrainT2I(ctx, pretrain.T2IOptions{
		Out: o.OutDir, Autoencoder: o.Autoencoder, Steps: o.Steps, Batch: o.Batch, LR: o.LR, LRSchedule: o.LRSchedule,
		CaptionDropout: o.CaptionDropout, EMADecay: o.EMADecay, SNRGamma: o.SNRGamma, Seed: o.Seed, CheckpointEvery: o.CheckpointEvery,
		SampleEvery: o.SampleEvery, SampleSteps: o.SampleSteps, LogEvery: o.LogEvery, Resume: o.Resume, Init: o.Init, Version: Version,
	}, func(m pretrain.Metrics) {
		msg, attrs := fmt.Sprintf("loss %.4f", m.Loss), []any{"loss", m.Loss, "grad_norm", m.GradNorm}
		if m.MSE != 0 { // --snr-gamma: the loss is weighted
			msg, attrs = msg+fmt.Sprintf(" (mse %.4f)", m.MSE), append(attrs, "mse", m.MSE)
		}
		prog.StepElapsed(m.Step, seconds(m.Elapsed), msg, attrs...)
	})
	prog.Close()
	if errors.Is(err, context.Canceled) {
		fmt.Fprintf(o.Err, "interrupted at step %d; checkpoint saved. %s", res.Steps, resumeHint("rpo pretrain t2i", o.OutDir))
		return err
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Out, "pretrain t2i: %d steps; MSE (last 100 steps) %.4f; wrote %s\n", res.Steps, res.MSE, res.ModelDir)
	return nil
}

// PretrainEncodersOptions are the options of `rpo pretrain encoders`.
type PretrainEncodersOptions struct {
	Global          `mapstructure:",squash" yaml:",inline"`
	OutDir          string        `mapstructure:"out" yaml:"out"`
	Which           []string      `mapstructure:"which" yaml:"which"`
	Resume          bool          `mapstructure:"resume" yaml:"resume"`
	Steps           int           `mapstructure:"steps" yaml:"steps"`
	Batch           int           `mapstructure:"batch" yaml:"batch"`
	LR              float64       `mapstructure:"lr" yaml:"lr"`
	LRSchedule      string        `mapstructure:"lr_schedule" yaml:"lr_schedule"`
	Seed            uint64        `mapstructure:"seed" yaml:"seed"`
	CheckpointEvery time.Duration `mapstructure:"checkpoint_every" yaml:"checkpoint_every"`
	EvalEvery       int           `mapstructure:"eval_every" yaml:"eval_every"`
	EvalImages      int           `mapstructure:"eval_images" yaml:"eval_images"`
	Twins           float64       `mapstructure:"twins" yaml:"twins"`
	ClassOnly       float64       `mapstructure:"class_only" yaml:"class_only"`
	Init            string        `mapstructure:"init" yaml:"init"`
	LogEvery        int           `mapstructure:"log_every" yaml:"log_every"`
}

// NewPretrainEncodersCmd builds `rpo pretrain encoders`.
func NewPretrainEncodersCmd(run func(context.Context, *PretrainEncodersOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "encoders",
		Short: "Train align-mini (reward), clip-mini (metric) and dino-mini (subject fidelity)",
		Example: `  rpo pretrain encoders --out runs/encoders
  rpo pretrain encoders --out runs/encoders --which dino-mini --resume
  rpo pretrain encoders --out runs/encoders2 --init internal/embedded --steps 2500   # continue the embedded ones`,
		Args: cobra.NoArgs,
		RunE: runE(run),
	}
	f := cmd.Flags()
	f.String("out", "runs/pretrain-encoders", "directory; each encoder trains in out/<name>/")
	f.StringSlice("which", []string{"align-mini", "clip-mini", "dino-mini"}, "encoders to train, in order")
	f.Bool("resume", false, "continue each encoder's run from its checkpoint (those without one start)")
	f.Int("steps", 1500, "step budget per encoder")
	f.Int("batch", 64, "images (dual encoders) or identity pairs (dino-mini) per step")
	f.Float64("lr", 1e-3, "AdamW learning rate")
	f.String("lr-schedule", "cosine", "constant, or cosine decay to 5% at the step budget")
	f.Uint64("seed", 7, "seed (each encoder adds its own offset)")
	f.Duration("checkpoint-every", 3*time.Minute, "checkpoint interval")
	f.Int("eval-every", 250, "held-out evaluation every this many steps (0: only at the end)")
	f.Int("eval-images", 300, "held-out renders per evaluation")
	f.String("init", "", "directory of <encoder>/ model directories (internal/embedded, or a run's out) whose weights start each encoder (a later sitting)")
	f.Float64("class-only", 0.3, "dual encoders: share of captions without the setting phrase (\"a dog\" for a dog on the beach)")
	f.Float64("twins", 0.5, "dual encoders: share of batch pairs made hard negatives (the same scene with another class of the same colours)")
	f.Int("log-every", 10, "metrics.jsonl line (and log line off a terminal) every this many steps")
	return cmd
}

// RunPretrainEncoders runs `rpo pretrain encoders`.
func RunPretrainEncoders(ctx context.Context, o *PretrainEncodersOptions) error {
	o.Init = absPath(o.Init)
	lock, err := lockRunDir(o.OutDir, o.Logger)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	if err := recordRun(o.OutDir, o, o.Resume, ""); err != nil {
		return err
	}
	tk := text.NewTokenizer(16)
	encoders := []models.EncoderConfig{models.AlignMini(tk), models.ClipMini(tk), models.DinoMini()} // seed offsets 0, 101, 202 by this order, whatever --which says
	for i, name := range o.Which {
		k := slices.IndexFunc(encoders, func(c models.EncoderConfig) bool { return c.Name == name })
		if k < 0 {
			return fmt.Errorf("--which: %q is not align-mini, clip-mini or dino-mini", name)
		}
		c := encoders[k]
		dir := filepath.Join(o.OutDir, name)
		initDir := ""
		if o.Init != "" {
			initDir = filepath.Join(o.Init, name)
			if fileExists(filepath.Join(initDir, "model")) {
				initDir = filepath.Join(initDir, "model") // a run directory: out/<name>/model
			}
		}
		resume := o.Resume
		if resume && !pretrain.HasCheckpoint(dir) {
			o.Logger.Info("no checkpoint yet; starting", "encoder", name, "dir", dir)
			resume = false
		}
		prog := NewProgress(o.Err, o.Logger, "pretrain "+name, o.Steps, o.LogEvery)
		res, err := pretrain.TrainEncoder(ctx, pretrain.EncoderOptions{
			Out: dir, Config: c, Steps: o.Steps, Batch: o.Batch, LR: o.LR, LRSchedule: o.LRSchedule, Seed: o.Seed + uint64(101*k),
			CheckpointEvery: o.CheckpointEvery, EvalEvery: o.EvalEvery, EvalImages: o.EvalImages, LogEvery: o.LogEvery, Twins: o.Twins, ClassOnly: o.ClassOnly, Init: initDir,
			Resume: resume, Version: Version,
		}, func(m pretrain.Metrics) {
			if m.Eval != nil {
				o.Logger.Info("held-out", "encoder", name, "step", m.Step, "eval", formatEval(m.Eval))
			}
			prog.StepElapsed(m.Step, seconds(m.Elapsed), fmt.Sprintf("loss %.3f", m.Loss), "loss", m.Loss)
		})
		prog.Close()
		if errors.Is(err, context.Canceled) {
			fmt.Fprintf(o.Err, "interrupted %s at step %d; checkpoint saved. Resume with:\n  rpo pretrain encoders --out %s --which %s --resume\n", name, res.Steps, shellQuote(o.OutDir), strings.Join(o.Which[i:], ","))
			return err
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(o.Out, "pretrain %s: %d steps; held-out %s; wrote %s\n", name, res.Steps, formatEval(res.Eval), res.ModelDir)
	}
	return nil
}

func formatEval(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		if !strings.Contains(k, "/") { // the per-class and confusion keys: worstClasses
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %.1f%%", k, 100*m[k])
	}
	line := strings.Join(parts, ", ")
	if w := worstClasses(m, 3); w != "" {
		line += "; worst classes: " + w
	}
	return line
}

// openPretrainRun locks a pretraining stage's run directory and records its
// options, refusing a fresh run over a checkpoint before anything is written.
func openPretrainRun(dir string, opts any, resume bool, logger *slog.Logger) (*ckpt.Lock, error) {
	lock, err := lockRunDir(dir, logger)
	if err != nil {
		return nil, err
	}
	if !resume && pretrain.HasCheckpoint(dir) {
		lock.Unlock()
		return nil, fmt.Errorf("pretrain: %s: %w", dir, pretrain.ErrCheckpointExists)
	}
	if err := recordRun(dir, opts, resume, ""); err != nil {
		lock.Unlock()
		return nil, err
	}
	return lock, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
