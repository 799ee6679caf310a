package cli

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/rpo-dev/rpo/internal/diffusion"
	"github.com/rpo-dev/rpo/internal/dreambench"
	"github.com/rpo-dev/rpo/internal/embedded"
	"github.com/rpo-dev/rpo/internal/eval"
	"github.com/rpo-dev/rpo/internal/models"
	"github.com/rpo-dev/rpo/internal/rpo"
	"github.com/rpo-dev/rpo/internal/world"
)

// EvalOptions are the options of `rpo eval`.
type EvalOptions struct {
	SDFlags         `mapstructure:",squash" yaml:",inline"`
	Global          `mapstructure:",squash" yaml:",inline"`
	Bench           string   `mapstructure:"bench" yaml:"bench"`
	Variant         int      `mapstructure:"variant" yaml:"variant"`
	Data            string   `mapstructure:"data" yaml:"data"`
	Method          string   `mapstructure:"method" yaml:"method"`
	Model           string   `mapstructure:"model" yaml:"model"`
	RewardModel     string   `mapstructure:"reward_model" yaml:"reward_model"`
	ClipModel       string   `mapstructure:"clip_model" yaml:"clip_model"`
	DinoModel       string   `mapstructure:"dino_model" yaml:"dino_model"`
	OutDir          string   `mapstructure:"out" yaml:"out"`
	Runs            string   `mapstructure:"runs" yaml:"runs"`
	NegativesCache  string   `mapstructure:"negatives_cache" yaml:"negatives_cache"`
	KeepBase        bool     `mapstructure:"keep_base" yaml:"keep_base"`
	Select          string   `mapstructure:"select" yaml:"select"`
	Subjects        []string `mapstructure:"subjects" yaml:"subjects"`
	Shard           string   `mapstructure:"shard" yaml:"shard"`
	ImagesPerPrompt int      `mapstructure:"images_per_prompt" yaml:"images_per_prompt"`
	Steps           int      `mapstructure:"steps" yaml:"steps"`
	Guidance        float64  `mapstructure:"guidance" yaml:"guidance"`
	LambdaVal       float64  `mapstructure:"lambda_val" yaml:"lambda_val"`
	Seed            uint64   `mapstructure:"seed" yaml:"seed"`
	TrainSteps      int      `mapstructure:"train_steps" yaml:"train_steps"`
	LR              float64  `mapstructure:"lr" yaml:"lr"`
	Beta            float64  `mapstructure:"beta" yaml:"beta"`
	ValEvery        int      `mapstructure:"val_every" yaml:"val_every"`
	ValPerPrompt    int      `mapstructure:"val_per_prompt" yaml:"val_per_prompt"`
	Token           string   `mapstructure:"token" yaml:"token"`
}

// parseShard reads --shard: "" (every subject), i/n, or auto/n with i
// from the environment of a batch system's array job.
func parseShard(spec string, getenv func(string) string) (int, int, error) {
	if spec == "" {
		return 0, 1, nil
	}
	a, b, ok := strings.Cut(spec, "/")
	n, err := strconv.Atoi(b)
	if !ok || err != nil || n < 1 {
		return 0, 0, fmt.Errorf("--shard %q is not i/n or auto/n with 0 ≤ i < n", spec)
	}
	if a == "auto" {
		var i int
		switch {
		case getenv("JOB_COMPLETION_INDEX") != "":
			if i, err = strconv.Atoi(getenv("JOB_COMPLETION_INDEX")); err != nil {
				return 0, 0, fmt.Errorf("--shard %s: JOB_COMPLETION_INDEX=%q is not an integer", spec, getenv("JOB_COMPLETION_INDEX"))
			}
		case getenv("SLURM_ARRAY_TASK_ID") != "":
			id, e1 := strconv.Atoi(getenv("SLURM_ARRAY_TASK_ID"))
			lo, e2 := strconv.Atoi(cmp.Or(getenv("SLURM_ARRAY_TASK_MIN"), "0"))
			if e1 != nil || e2 != nil {
				return 0, 0, fmt.Errorf("--shard %s: SLURM_ARRAY_TASK_ID=%q, SLURM_ARRAY_TASK_MIN=%q are not integers", spec, getenv("SLURM_ARRAY_TASK_ID"), getenv("SLURM_ARRAY_TASK_MIN"))
			}
			i = id - lo
		default:
			return 0, 0, fmt.Errorf("--shard %s: neither JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) nor SLURM_ARRAY_TASK_ID (a Slurm array job) is set; give the index as --shard i/%d", spec, n)
		}
		if i < 0 || i >= n {
			return 0, 0, fmt.Errorf("--shard %s: the batch system's index %d is not in [0, %d): the job has more tasks than shards", spec, i, n)
		}
		return i, n, nil
	}
	i, err := strconv.Atoi(a)
	if err != nil || i < 0 || i >= n {
		return 0, 0, fmt.Errorf("--shard %q is not i/n or auto/n with 0 ≤ i < n", spec)
	}
	return i, n, nil
}

// NewEvalCmd builds `rpo eval` and `rpo eval merge`.
func NewEvalCmd(run func(context.Context, *EvalOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Evaluate a method on MiniDreamBench or DreamBench (DINO, CLIP-I, CLIP-T, r_λ)",
		Long: `For each subject: fine-tune with the method (or take the base model), generate
--images-per-prompt images for each of its 25 prompts with fixed seeds, and
measure DINO (dino-mini), CLIP-I and CLIP-T (clip-mini; prompts with the token
removed and the class kept) and the λ-Harmonic reward (align-mini). Results per
subject land in out/subjects/ (a rerun skips them); the reports (results.json,
subjects.csv, results.md, report.html) aggregate per prompt, subject and
benchmark with 95% intervals. Split subjects with --subjects or --shard i/n
and combine the directories with rpo eval merge.`,
		Example: `  rpo eval --bench minidreambench --method rpo --model M --reward-model A --clip-model C --dino-model D
  rpo eval --bench dreambench --data ../shared/dreambench/dataset --method base ...
  rpo eval --method rpo --select best@0.3 --runs eval/rpo/runs --out eval/rpo-0.3   # λ_val sweep: no new training
  rpo eval ... --shard 0/4 --out eval/s0   # on four machines, then:
  rpo eval merge --out eval/all eval/s0 eval/s1 eval/s2 eval/s3`,
		Args: cobra.NoArgs,
		RunE: runE(run),
	}
	f := cmd.Flags()
	addSDFlags(f)
	f.String("bench", "minidreambench", "minidreambench or dreambench")
	f.Int("variant", 0, "MiniDreamBench variant (0: the standard 30 subjects)")
	f.String("data", "", "DreamBench directory (<subject>/*.jpg + prompts_and_classes.txt) for --bench dreambench")
	f.String("method", "rpo", "rpo, dreambooth (pure L_sim, last weights), dreambooth-prior (with prior preservation), base, real (the references against each other: the upper bound), or a run config YAML (configs/)")
	f.String("model", "", "base text-to-image model directory (default: the embedded model)")
	f.String("reward-model", "", "align-mini model directory, the λ-Harmonic reward (default: embedded)")
	f.String("clip-model", "", "clip-mini model directory, CLIP-I and CLIP-T (default: embedded)")
	f.String("dino-model", "", "dino-mini model directory, DINO (default: embedded)")
	f.String("out", "eval", "output directory")
	f.String("runs", "", "directory of the per-subject training runs (default: OUT/runs); evaluations that differ only in --select share one")
	f.String("negatives-cache", "", "directory of base-model samples (negatives, class images) shared by runs (default: RUNS/negatives; subjects of one class share their negatives)")
	f.String("select", "", "whose weights are evaluated: best@λ, best-mean@λ (arithmetic mean) or last (default: the method's: best@λ_val for rpo, last for dreambooth, a config's first select rule); every run keeps best@0.3, best@0.5, best@0.7 and last")
	f.StringSlice("subjects", nil, "evaluate only these subjects")
	f.String("shard", "", "i/n: evaluate every n-th subject starting at i; auto/n: i from the batch system (JOB_COMPLETION_INDEX of a Kubernetes Indexed Job, SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN of a Slurm array)")
	f.Int("images-per-prompt", 4, "images per prompt")
	f.Int("steps", 50, "DDIM steps")
	f.Float64("guidance", 7.5, "classifier-free guidance")
	f.Float64("lambda-val", rpo.DefaultLambdaVal, "λ of the reward column")
	f.Uint64("seed", 0, "seed base of the generated images")
	d := rpo.DefaultOptions()
	f.Int("train-steps", d.Steps, "fine-tuning steps of trained methods")
	f.Float64("lr", d.LR, "fine-tuning learning rate")
	f.Float64("beta", d.Beta, "β of L_pref for trained methods (rpo train --beta; a method config's beta: wins)")
	f.Int("val-every", d.ValEvery, "validation interval of trained methods (rpo train --val-every)")
	f.Int("val-per-prompt", d.ValPerPrompt, "validation images per training prompt (rpo train --val-per-prompt)")
	f.String("token", d.Token, "unique identifier token")
	f.Bool("keep-base", false, "trained methods: let best@λ keep the base model's weights when no fine-tuned weights score higher (the rule of earlier versions, whose run directories need it; default: choose among fine-tuned weights, as the reference code does)")
	cmd.AddCommand(newEvalMergeCmd(), newEvalTableCmd(), newEvalRescoreCmd())
	return cmd
}

func newEvalMergeCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "merge --out DIR EVALDIR...",
		Short: "Combine the subjects of several evaluation directories (shards) into one report",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			meta := eval.Meta{Method: "merged", PromptCleaning: "token removed, class kept"}
			if m, err := eval.ReadMeta(args[0]); err == nil {
				meta = m
			}
			if err := sameEvaluation(args); err != nil {
				return err
			}
			rep, err := eval.Merge(args, out, meta)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "merged %d subjects into %s\n", len(rep.Subjects), out)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "eval/merged", "output directory")
	return cmd
}

func newEvalRescoreCmd() *cobra.Command {
	var out, data, token, clip, dino, rw string
	var lambda float64
	cmd := &cobra.Command{
		Use:     "rescore EVALDIR --out DIR",
		Short:   "Recompute an evaluation's metrics from its saved images with other encoders (no generation)",
		Example: `  rpo eval rescore eval/rpo --clip-model ~/models/clip-vit-base-patch16 --dino-model ~/models/dino-vits16 --out eval/rpo-real-encoders`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			meta, err := eval.ReadMeta(dir)
			if err != nil {
				return err
			}
			if out == "" || filepath.Clean(out) == filepath.Clean(dir) {
				return fmt.Errorf("--out: give a new directory (the evaluation %s is kept as it is)", dir)
			}
			if old, _ := filepath.Glob(filepath.Join(out, "subjects", "*.json")); len(old) > 0 {
				return fmt.Errorf("--out %s already holds %d subjects: choose another directory", out, len(old))
			}
			if data == "" {
				data = meta.Data
			}
			if data == "" {
				return fmt.Errorf("%s does not record its benchmark directory: give --data", dir)
			}
			if token == "" {
				token = defaultStr(meta.Token, "sks")
			}
			b, err := dreambench.Load(data)
			if err != nil {
				return err
			}
			var m eval.Models
			closeAll, err := openEvalEncoders(&m, rw, clip, dino)
			if err != nil {
				return err
			}
			defer closeAll()
			n, err := eval.Rescore(dir, out, m, b, token, lambda)
			if err != nil {
				return err
			}
			meta.Models = append(meta.Models[:min(1, len(meta.Models))], encoderLabels(&m, rw, clip, dino)...)
			meta.LambdaVal = lambda
			meta.Caveats = append(meta.Caveats, "rescored from "+dir)
			rep, err := eval.Merge([]string{out}, out, meta)
			if err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), eval.Markdown(rep))
			fmt.Fprintf(cmd.OutOrStdout(), "\nrescored %d subjects into %s\n", n, out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&out, "out", "", "the new evaluation directory (required)")
	f.StringVar(&data, "data", "", "the benchmark directory (default: the one the evaluation recorded)")
	f.StringVar(&token, "token", "", "identifier token of the prompts (default: the recorded one)")
	f.StringVar(&clip, "clip-model", "", "CLIP for CLIP-I and CLIP-T: a CLIPModel directory (default: the embedded clip-mini)")
	f.StringVar(&dino, "dino-model", "", "DINO: a ViTModel directory (default: the embedded dino-mini)")
	f.StringVar(&rw, "reward-model", "", "the reward's dual encoder: a CLIPModel directory (default: the embedded align-mini)")
	f.Float64Var(&lambda, "lambda-val", 0.5, "λ of r_λ in the report")
	return cmd
}

// sameEvaluation refuses to merge directories of different evaluations
// (another method, benchmark, sampler, models or images per prompt): shards
// of one evaluation agree on all of them.
func sameEvaluation(dirs []string) error {
	first, err := eval.ReadMeta(dirs[0])
	if err != nil {
		return nil // an evaluation of an older version: nothing to compare
	}
	for _, d := range dirs[1:] {
		m, err := eval.ReadMeta(d)
		if err != nil {
			return fmt.Errorf("%s: %w", d, err)
		}
		for _, f := range []struct{ name, a, b string }{
			{"method", first.Method, m.Method}, {"benchmark", first.Bench, m.Bench}, {"sampler", first.Sampler, m.Sampler},
			{"models", strings.Join(first.Models, ", "), strings.Join(m.Models, ", ")},
			{"images per prompt", fmt.Sprint(first.ImagesPerPrompt), fmt.Sprint(m.ImagesPerPrompt)},
			{"λ_val", fmt.Sprint(first.LambdaVal), fmt.Sprint(m.LambdaVal)},
		} {
			if f.a != f.b {
				return fmt.Errorf("%s and %s are different evaluations (%s %q and %q): merge only shards of one evaluation (rpo eval table compares evaluations)", dirs[0], d, f.name, f.a, f.b)
			}
		}
	}
	return nil
}

func newEvalTableCmd() *cobra.Command {
	var baseline int
	var out string
	var subjects []string
	cmd := &cobra.Command{
		Use:     "table EVALDIR...",
		Short:   "One table of several evaluations (the paper's rows) with paired differences against a baseline row",
		Example: `  rpo eval table --baseline 1 eval/base eval/sim eval/rpo eval/rpo-0.3   # differences against eval/sim`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rows, err := eval.LoadRows(args)
			if err != nil {
				return err
			}
			if len(subjects) > 0 {
				if rows, err = eval.OnlySubjects(rows, subjects); err != nil {
					return fmt.Errorf("--subjects: %w", err)
				}
			}
			if baseline >= len(rows) {
				return fmt.Errorf("--baseline %d: there are %d evaluations", baseline, len(rows))
			}
			md := eval.CompareMarkdown(rows, baseline)
			if out != "" {
				if err := os.WriteFile(out, []byte(md), 0o644); err != nil {
					return err
				}
			}
			fmt.Fprint(cmd.OutOrStdout(), md)
			return nil
		},
	}
	cmd.Flags().IntVar(&baseline, "baseline", 0, "index of the row the others are compared with (-1: none)")
	cmd.Flags().StringVar(&out, "out", "", "also write the Markdown to this file")
	cmd.Flags().StringSliceVar(&subjects, "subjects", nil, "only these subjects (comma-separated), every row summarised again over them")
	return cmd
}

func parseMethod(o *EvalOptions) (eval.Method, error) {
	m := eval.Method{Name: o.Method, Steps: o.TrainSteps, LR: o.LR, Beta: o.Beta}
	if m.Beta <= 0 {
		return m, fmt.Errorf("--beta %g: must be positive", o.Beta)
	}
	switch o.Method {
	case "base":
		return m, nil
	case "real": // the upper bound: each reference scored against the subject's other references
		m.Real = true
		return m, nil
	case "rpo":
		m.Train, m.Loss, m.Rule = true, rpo.DefaultOptions().Loss, rpo.Rule{Lambda: o.LambdaVal}.Name()
		return m, nil
	case "dreambooth":
		m.Train, m.Loss, m.Rule = true, rpo.LossWeights{Sim: 1}, "last"
		return m, nil
	case "dreambooth-prior":
		m.Train, m.Loss, m.Rule = true, rpo.LossWeights{Sim: 1, Prior: 1}, "last"
		return m, nil
	}
	b, err := os.ReadFile(o.Method)
	if err != nil {
		return m, fmt.Errorf("--method %q is not rpo, dreambooth, dreambooth-prior, base, real or a readable config file: %w", o.Method, err)
	}
	var c struct {
		Loss        string  `yaml:"loss"`
		Select      string  `yaml:"select"`
		Steps       int     `yaml:"steps"`
		LR          float64 `yaml:"lr"`
		Beta        float64 `yaml:"beta"`
		LambdaTrain float64 `yaml:"lambda_train"`
		LabelMode   string  `yaml:"label_mode"`
		OnlineEvery int     `yaml:"online_every"`
		LoRARank    int     `yaml:"lora_rank"`
		LoRAAlpha   float64 `yaml:"lora_alpha"`
		LoRATargets string  `yaml:"lora_targets"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true) // a misspelt key is an error, not a default
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return m, fmt.Errorf("--method %s: %w (a method config takes loss, select, steps, lr, beta, lambda_train, label_mode, online_every, lora_rank, lora_alpha, lora_targets)", o.Method, err)
	}
	if c.LambdaTrain < 0 || c.LambdaTrain > 1 || c.OnlineEvery < 0 {
		return m, fmt.Errorf("--method %s: lambda_train %g must be in [0, 1] and online_every %d at least 0", o.Method, c.LambdaTrain, c.OnlineEvery)
	}
	if c.LabelMode != "" {
		if m.LabelMode, err = rpo.ParseLabelMode(c.LabelMode); err != nil {
			return m, fmt.Errorf("--method %s: %w", o.Method, err)
		}
	}
	m.LambdaTrain, m.OnlineEvery = c.LambdaTrain, c.OnlineEvery
	if c.LoRARank < 0 || c.LoRAAlpha < 0 || (c.LoRARank == 0 && (c.LoRAAlpha != 0 || c.LoRATargets != "")) {
		return m, fmt.Errorf("--method %s: lora_rank %d, lora_alpha %g: the rank must be positive for LoRA (alpha and targets need it) and alpha not negative", o.Method, c.LoRARank, c.LoRAAlpha)
	}
	if c.LoRARank > 0 { // rpo train's --lora-rank, --lora-alpha, --lora-targets
		l := rpo.DefaultLoRA()
		l.Rank, l.Alpha = c.LoRARank, c.LoRAAlpha
		if c.LoRATargets != "" {
			l.Targets = nil
			for _, t := range strings.Split(c.LoRATargets, ",") {
				if t = strings.TrimSpace(t); t != "" {
					l.Targets = append(l.Targets, t)
				}
			}
		}
		m.LoRA = &l
	}
	if m.Loss, err = rpo.ParseLoss(defaultStr(c.Loss, "rpo")); err != nil {
		return m, fmt.Errorf("--method %s: %w", o.Method, err)
	}
	rules, err := rpo.ParseRules(defaultStr(c.Select, "best"), o.LambdaVal)
	if err != nil {
		return m, fmt.Errorf("--method %s: %w", o.Method, err)
	}
	m.Name, m.Train, m.Rule = strings.TrimSuffix(filepath.Base(o.Method), ".yaml"), true, rules[0].Name()
	if c.Steps > 0 {
		m.Steps = c.Steps
	}
	if c.LR > 0 {
		m.LR = c.LR
	}
	if c.Beta > 0 {
		m.Beta = c.Beta
	}
	return m, nil
}

// rowName names a trained method's row of a table: the method, β when it
// is not the paper's 1, and the rule whose weights are evaluated
// ("rpo β0.3 best@0.5").
func rowName(m eval.Method) string {
	if m.Beta != 1 {
		return fmt.Sprintf("%s β%g %s", m.Name, m.Beta, m.Rule)
	}
	return m.Name + " " + m.Rule
}

// selectRule applies --select to a trained method.
func selectRule(m *eval.Method, o *EvalOptions) error {
	if o.Select == "" {
		return nil
	}
	if !m.Train {
		return fmt.Errorf("--select %s: the method %s trains nothing", o.Select, m.Name)
	}
	r, err := rpo.ParseRules(o.Select, o.LambdaVal)
	if err != nil {
		return fmt.Errorf("--select: %w", err)
	}
	if len(r) != 1 {
		return fmt.Errorf("--select %q: one rule per evaluation (rows that share a run: one eval each, same --runs)", o.Select)
	}
	m.Rule = r[0].Name()
	return nil
}

// openEvalEncoders opens the reward, CLIP and DINO encoders of an
// evaluation into m (the embedded minis where a directory is ""); close
// releases them.
func openEvalEncoders(m *eval.Models, reward, clip, dino string) (close func(), err error) {
	var opened []*models.Encoder
	close = func() {
		for _, e := range opened {
			e.Close()
		}
	}
	for _, e := range []struct {
		dir, name string
		dst       **models.Encoder
		label     *string
	}{{reward, embedded.AlignMini, &m.Align, &m.RewardModel}, {clip, embedded.ClipMini, &m.Clip, &m.ClipModel}, {dino, embedded.DinoMini, &m.Dino, &m.DinoModel}} {
		if *e.dst, *e.label, err = openEncoder(e.dir, e.name); err != nil {
			close()
			return nil, err
		}
		opened = append(opened, *e.dst)
	}
	return close, nil
}

// encoderLabels names the reward, CLIP and DINO models of a report with the
// identity of their weights (the SHA-256 of their files, as the negatives
// cache keys models).
func encoderLabels(m *eval.Models, reward, clip, dino string) []string {
	var out []string
	for _, e := range []struct{ kind, dir, name, label string }{
		{"reward", reward, embedded.AlignMini, m.RewardModel}, {"CLIP", clip, embedded.ClipMini, m.ClipModel}, {"DINO", dino, embedded.DinoMini, m.DinoModel}} {
		l := e.kind + " " + e.label
		if id, err := modelID(e.dir, e.name); err == nil {
			l += " (id " + id + ")"
		}
		out = append(out, l)
	}
	return out
}

func defaultStr(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// checkEvalOptions refuses out-of-range options before any image is
// generated, with one line per bad flag.
func checkEvalOptions(o *EvalOptions) error {
	var bad badOptions
	bad.atLeastOne("--images-per-prompt", o.ImagesPerPrompt)
	bad.atLeastOne("--steps", o.Steps)
	bad.atLeastOne("--train-steps", o.TrainSteps)
	bad.atLeastOne("--val-every", o.ValEvery)
	bad.atLeastOne("--val-per-prompt", o.ValPerPrompt)
	bad.check(o.ValEvery <= o.TrainSteps || o.TrainSteps < 1, "--val-every %d: must not exceed --train-steps %d", o.ValEvery, o.TrainSteps)
	bad.unit("--lambda-val", o.LambdaVal)
	bad.check(o.LR > 0, "--lr %g: must be positive", o.LR)
	bad.check(o.Guidance >= 1, "--guidance %g: must be at least 1 (1: no guidance)", o.Guidance)
	return bad.err("rpo eval")
}

// RunEval runs `rpo eval`.
func RunEval(ctx context.Context, o *EvalOptions) error {
	method, err := parseMethod(o)
	if err != nil {
		return err
	}
	if err := selectRule(&method, o); err != nil {
		return err
	}
	if err := checkEvalOptions(o); err != nil {
		return err
	}
	shard, shards, err := parseShard(o.Shard, os.Getenv)
	if err != nil {
		return err
	}
	var data, benchName string
	switch o.Bench {
	case "minidreambench":
		data = filepath.Join(o.OutDir, "minidreambench")
		if _, err := os.Stat(filepath.Join(data, dreambench.PromptsFile)); err != nil {
			if err := world.Export(data, o.Variant); err != nil {
				return err
			}
		}
		benchName = fmt.Sprintf("MiniDreamBench variant %d", o.Variant)
	case "dreambench":
		if o.Data == "" {
			return fmt.Errorf("--bench dreambench needs --data DIR (for example ../shared/dreambench/dataset)")
		}
		data, benchName = o.Data, "DreamBench ("+o.Data+")"
	default:
		return fmt.Errorf("--bench %q is not minidreambench or dreambench", o.Bench)
	}
	b, err := dreambench.Load(data)
	if err != nil {
		return err
	}
	base, baseID, baseLabel, err := openT2I(o.Model, o.SDFlags.options())
	if err != nil {
		return err
	}
	defer base.Close()
	m := eval.Models{Base: base, BaseDir: baseLabel, BaseID: baseID}
	closeAll, err := openEvalEncoders(&m, o.RewardModel, o.ClipModel, o.DinoModel)
	if err != nil {
		return err
	}
	defer closeAll()
	if m.AlignID, err = modelID(o.RewardModel, embedded.AlignMini); err != nil {
		return err
	}
	var rules []rpo.Rule
	if method.Train {
		// every selection row of the paper from one training run
		if rules, err = rpo.ParseRules(method.Rule+",best@0.3,best@0.5,best@0.7,last", o.LambdaVal); err != nil {
			return err
		}
		method.Name = rowName(method)
	}
	sampler := diffusion.Sampler{Steps: o.Steps, Guidance: o.Guidance}
	var caveats []string
	if o.Bench == "dreambench" {
		var minis []string
		for _, e := range []struct{ flag, dir, name string }{{"--reward-model", o.RewardModel, "align-mini"}, {"--clip-model", o.ClipModel, "clip-mini"}, {"--dino-model", o.DinoModel, "dino-mini"}} {
			if e.dir == "" {
				minis = append(minis, e.name+" ("+e.flag+")")
			}
		}
		if len(minis) > 0 {
			caveats = append(caveats, fmt.Sprintf("real photos scored by %s, trained on rpo's procedural 64×64 world; "+
				"these numbers are not comparable with the papers' (give CLIP and DINO directories)", strings.Join(minis, ", ")))
			o.Logger.Warn(caveats[0])
		}
	}
	absData, _ := filepath.Abs(data)
	meta := eval.Meta{Caveats: caveats, Data: absData, Token: o.Token, Bench: benchName, Method: method.Name, Models: append([]string{fmt.Sprintf("base %s (id %s)", baseLabel, baseID)}, encoderLabels(&m, o.RewardModel, o.ClipModel, o.DinoModel)...),
		PromptCleaning: "token removed, class kept", Seeds: fmt.Sprintf("%d + 1000·prompt + image", o.Seed), ImagesPerPrompt: o.ImagesPerPrompt,
		Sampler: fmt.Sprintf("DDIM %d steps, guidance %g", o.Steps, o.Guidance), LambdaVal: o.LambdaVal, Version: Version}
	if method.Train {
		meta.Training = fmt.Sprintf("loss %g·L_sim + %g·L_pref (β %g) + %g·L_prior, %d steps, lr %g, λ_train %g, labels %s; validation every %d steps, %d images per prompt; the weights of %s",
			method.Loss.Sim, method.Loss.Pref, method.Beta, method.Loss.Prior, method.Steps, method.LR, method.LambdaTrain, cmp.Or(string(method.LabelMode), "bernoulli"), o.ValEvery, o.ValPerPrompt, method.Rule)
		if method.LoRA != nil {
			meta.Training += fmt.Sprintf("; LoRA rank %d, alpha %g on %s", method.LoRA.Rank, method.LoRA.EffectiveAlpha(), strings.Join(method.LoRA.Targets, ","))
		}
		if method.OnlineEvery > 0 {
			meta.Training += fmt.Sprintf("; online: negatives from the policy every %d steps", method.OnlineEvery)
		}
	}
	if method.Real { // nothing is generated: the references are the images
		meta.Seeds, meta.Sampler, meta.ImagesPerPrompt = "none", "no sampling (the references scored against each other)", 0
	}
	if err := eval.WriteMeta(o.OutDir, meta); err != nil {
		return err
	}
	trainOptions := rpo.DefaultOptions() // what eval.Run does not set per subject and method
	trainOptions.Rules, trainOptions.ValEvery, trainOptions.ValPerPrompt = rules, o.ValEvery, o.ValPerPrompt
	trainOptions.ValSampler.Guidance, trainOptions.NegSampler = o.Guidance, sampler
	// one display per phase: each subject's negatives, steps, validations, generation
	var steps *Progress
	var clock *RunClock
	var mu sync.Mutex // steps and clock: validations report beside the steps
	current := func() (*Progress, *RunClock) {
		mu.Lock()
		defer mu.Unlock()
		return steps, clock
	}
	trainOptions.NegSampler.Progress = NewPhase(o.Err, o.Logger, "negatives").Report
	trainOptions.ValSampler.Progress = NewPhase(o.Err, o.Logger, "validation").Beside(func() *Progress { p, _ := current(); return p }).Report
	generating := map[string]*Phase{}
	trainOptions.NegativesCache, trainOptions.KeepBase, trainOptions.Version = o.NegativesCache, o.KeepBase, Version
	start := time.Now()
	err = eval.Run(ctx, eval.Options{
		Bench: b, BenchName: benchName, Out: o.OutDir, Runs: o.Runs, Subjects: o.Subjects, Shard: shard, Shards: shards, Method: method,
		Token: o.Token, ImagesPerPrompt: o.ImagesPerPrompt, Sampler: sampler, LambdaVal: o.LambdaVal, Seed: o.Seed, Version: Version,
		OnValidation: func(subject string, ev rpo.ValidationEvent) {
			if _, c := current(); c != nil {
				c.Validated()
			}
			o.Logger.Info("training", "subject", subject, "validation_step", ev.Step, "of", method.Steps, "reward", ev.Reward, "elapsed", time.Since(start).Round(time.Second))
		},
		OnStep: func(subject string, ev rpo.StepEvent) {
			mu.Lock()
			if steps == nil {
				steps, clock = NewRunProgress(o.Err, o.Logger, "train "+subject, method.Steps, 50), NewRunClock(method.Steps, o.ValEvery)
			}
			mu.Unlock()
			status := fmt.Sprintf("L_sim %.4f L_pref %.4f", ev.LSim, ev.LPref)
			if left := clock.Step(ev.Step); left > 0 {
				status += fmt.Sprintf(", about %v left with validations", left.Round(time.Second))
			}
			steps.Step(ev.Step, status, "subject", subject)
			if ev.Step >= method.Steps { // the last validation, with nothing beside it, has its own display
				mu.Lock()
				steps.Close()
				steps = nil
				mu.Unlock()
			}
		},
		OnGenerate: func(subject string, done, total int) {
			if generating[subject] == nil {
				generating[subject] = NewPhase(o.Err, o.Logger, "generate "+subject)
			}
			generating[subject].Report(done, total)
		},
		Train: trainOptions,
	}, m, func(subject string, done, total int) {
		mu.Lock()
		defer mu.Unlock()
		if steps != nil { // a run that stopped early
			steps.Close()
			steps = nil
		}
		o.Logger.Info("subject done", "subject", subject, "done", done, "of", total, "elapsed", time.Since(start).Round(time.Second))
	})
	if err != nil {
		return err
	}
	rep, err := eval.Merge([]string{o.OutDir}, o.OutDir, meta)
	if err != nil {
		return err
	}
	fmt.Fprint(o.Out, eval.Markdown(rep))
	fmt.Fprintf(o.Out, "\nwrote %s (results.json, subjects.csv, results.md, report.html) in %s\n", o.OutDir, time.Since(start).Round(time.Second))
	return nil
}
