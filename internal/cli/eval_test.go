package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/rpo-dev/rpo/internal/ckpt"
	"github.com/rpo-dev/rpo/internal/eval"
	"github.com/rpo-dev/rpo/internal/models"
	"github.com/rpo-dev/rpo/internal/oracle"
	"github.com/rpo-dev/rpo/internal/rpo"
)

func tinyDino(t *testing.T) string {
	e, err := models.NewEncoder(models.TinyEncoderConfig("tiny-dino", false, 16), nil, 5)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	dir := filepath.Join(t.TempDir(), "dino")
	if err := e.Save(dir, ckpt.Provenance{Tool: "test"}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestEvalEndToEnd(t *testing.T) {
	model, align, dino := tinyModel16(t), tinyRewardModel(t), tinyDino(t)
	out := filepath.Join(t.TempDir(), "eval")
	args := []string{"eval", "--bench", "minidreambench", "--method", "base", "--model", model, "--reward-model", align, "--clip-model", align,
		"--dino-model", dino, "--out", out, "--subjects", "dog,vase", "--images-per-prompt", "1", "--steps", "2"}
	got, err := execute(t, NewRootCmd(), args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, got)
	}
	if !strings.Contains(got, "| base |") || !strings.Contains(got, "| dog | dog |") || !strings.Contains(got, "report.html") {
		t.Errorf("output:\n%s", got)
	}
	merged := filepath.Join(t.TempDir(), "merged")
	got, err = execute(t, NewRootCmd(), "eval", "merge", "--out", merged, out)
	if err != nil || !strings.Contains(got, "merged 2 subjects") {
		t.Errorf("merge: %v %s", err, got)
	}
	// the merged report keeps the evaluation's description
	if md, _ := os.ReadFile(filepath.Join(merged, "results.md")); !strings.Contains(string(md), "1 images per prompt") {
		t.Errorf("merged results.md lost the meta:\n%s", md)
	}
	// the table of two evaluations: a row against itself differs by 0
	got, err = execute(t, NewRootCmd(), "eval", "table", out, merged)
	if err != nil || !strings.Contains(got, "| base | 2 |") || !strings.Contains(got, "| base | 2 | +0.0000 ± 0.0000 |") {
		t.Errorf("table: %v\n%s", err, got)
	}
	if _, err := execute(t, NewRootCmd(), "eval", "table", "--baseline", "2", out, merged); err == nil {
		t.Error("a baseline beyond the rows was accepted")
	}
	if _, err := execute(t, NewRootCmd(), append(args[:len(args):len(args)], "--select", "best@0.3")...); err == nil || !strings.Contains(err.Error(), "trains nothing") {
		t.Errorf("--select on base: %v", err)
	}
	if _, err := execute(t, NewRootCmd(), append(args[:len(args):len(args)], "--shard", "3/2")...); err == nil || !strings.Contains(err.Error(), "--shard") {
		t.Errorf("bad shard: %v", err)
	}
	// a run stopped before its results.json: its meta.json still describes it
	if err := os.Remove(filepath.Join(out, "results.json")); err != nil {
		t.Fatal(err)
	}
	partial := filepath.Join(t.TempDir(), "partial")
	if _, err := execute(t, NewRootCmd(), "eval", "merge", "--out", partial, out); err != nil {
		t.Fatal(err)
	}
	if md, _ := os.ReadFile(filepath.Join(partial, "results.md")); !strings.Contains(string(md), "1 images per prompt") || !strings.Contains(string(md), "# MiniDreamBench") {
		t.Errorf("merge without results.json lost the meta:\n%s", md)
	}
	if _, err := execute(t, NewRootCmd(), "eval", "--bench", "dreambench", "--model", model, "--reward-model", align, "--clip-model", align, "--dino-model", dino); err == nil || !strings.Contains(err.Error(), "--data") {
		t.Errorf("dreambench without data: %v", err)
	}
}

func TestEvalT2IEndToEnd(t *testing.T) {
	model, clip := tinyModel16(t), tinyRewardModel(t)
	out := filepath.Join(t.TempDir(), "t2i")
	got, err := execute(t, NewRootCmd(), "eval", "t2i", "--model", model, "--clip-model", clip, "--captions", "5", "--steps", "2", "--out", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, got)
	}
	for _, want := range []string{"5 held-out captions", "CLIP-T", "class top-1", "ratio", "without cube shape or painting style", "worst classes, generated: ", "; → "} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	for _, f := range []string{"check.json", "grid.png"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	if _, err := execute(t, NewRootCmd(), "eval", "t2i", "--model", model, "--clip-model", tinyDino(t), "--captions", "2", "--steps", "1", "--out", out); err == nil || !strings.Contains(err.Error(), "dual encoder") {
		t.Errorf("image-only encoder as clip: %v", err)
	}
}

func TestEvalEncodersEndToEnd(t *testing.T) {
	align, dino := tinyRewardModel(t), tinyDino(t)
	got, err := execute(t, NewRootCmd(), "eval", "encoders", "--reward-model", align, "--clip-model", align, "--dino-model", dino, "--images", "6", "--pairs", "5")
	if err != nil {
		t.Fatalf("%v\n%s", err, got)
	}
	for _, want := range []string{"class top-1", "r_λ > wrong identity", "align-mini", "dino-mini", "align-mini, worst classes: "} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if _, err := execute(t, NewRootCmd(), "eval", "encoders", "--reward-model", dino, "--clip-model", align, "--dino-model", dino, "--images", "2", "--pairs", "2"); err == nil || !strings.Contains(err.Error(), "dual encoder") {
		t.Errorf("image-only reward model: %v", err)
	}
}

// TestParseMethodBeta: --beta reaches trained methods and names the row;
// a method config's beta wins; β ≤ 0 is refused.
func TestParseMethodBeta(t *testing.T) {
	o := &EvalOptions{Method: "rpo", TrainSteps: 400, LR: 5e-5, Beta: 0.3, LambdaVal: 0.5}
	m, err := parseMethod(o)
	if err != nil || m.Beta != 0.3 || rowName(m) != "rpo β0.3 best@0.5" {
		t.Errorf("rpo --beta 0.3: %+v %q %v", m, rowName(m), err)
	}
	o.Beta = 1
	if m, _ = parseMethod(o); rowName(m) != "rpo best@0.5" {
		t.Errorf("β 1 renamed the row: %q", rowName(m))
	}
	cfg := filepath.Join(t.TempDir(), "rpo-b01.yaml")
	if err := os.WriteFile(cfg, []byte("loss: rpo\nselect: best@0.5\nbeta: 0.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o.Method = cfg
	if m, err = parseMethod(o); err != nil || m.Beta != 0.1 || rowName(m) != "rpo-b01 β0.1 best@0.5" {
		t.Errorf("config beta: %+v %q %v", m, rowName(m), err)
	}
	o.Method, o.Beta = "rpo", 0
	if _, err := parseMethod(o); err == nil {
		t.Error("β 0 accepted")
	}
}

func TestWorstClasses(t *testing.T) {
	m := map[string]float64{
		"class_top1": 0.7, "class_top1/dog": 0.5, "class_top1/cat": 0.25, "class_top1/vase": 1,
		"confusion/dog→cat": 0.5, "confusion/cat→dog": 0.5, "confusion/cat→teapot": 0.25,
	}
	if got, want := worstClasses(m, 2), "cat 25% (→ dog 50%), dog 50% (→ cat 50%)"; got != want {
		t.Errorf("worstClasses = %q, want %q", got, want)
	}
	if got, want := worstClasses(m, 9), "cat 25% (→ dog 50%), dog 50% (→ cat 50%), vase 100%"; got != want {
		t.Errorf("worstClasses = %q, want %q", got, want)
	}
	// the held-out line of rpo pretrain encoders: headline keys, then the three worst classes
	if got, want := formatEval(m), "class_top1 70.0%; worst classes: cat 25% (→ dog 50%), dog 50% (→ cat 50%), vase 100%"; got != want {
		t.Errorf("formatEval = %q, want %q", got, want)
	}
	if got, want := formatEval(map[string]float64{"identity_top1": 0.9}), "identity_top1 90.0%"; got != want {
		t.Errorf("formatEval = %q, want %q", got, want)
	}
}

// TestEvalBadOptions: out-of-range options are refused, one line per flag,
// before anything is generated or written.
func TestEvalBadOptions(t *testing.T) {
	out := filepath.Join(t.TempDir(), "eval")
	_, err := execute(t, NewRootCmd(), "eval", "--method", "base", "--out", out, "--lambda-val", "2", "--images-per-prompt", "0")
	if err == nil || !strings.Contains(err.Error(), "--images-per-prompt 0: must be at least 1\n  --lambda-val 2: must be in [0, 1]") {
		t.Fatalf("%v", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("%s was created", out)
	}
}

// TestEvalMergeRefusesMixedMethods: shards of one evaluation merge, a base
// and a real evaluation do not.
func TestEvalMergeRefusesMixedMethods(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "real-a"), filepath.Join(dir, "base")
	for _, c := range [][]string{
		{"eval", "--bench", "minidreambench", "--method", "real", "--subjects", "dog", "--out", a},
		{"eval", "--bench", "minidreambench", "--method", "real", "--subjects", "cat", "--out", filepath.Join(dir, "real-b")},
		{"eval", "--bench", "minidreambench", "--method", "base", "--subjects", "dog", "--images-per-prompt", "1", "--steps", "2", "--out", b},
	} {
		if got, err := execute(t, NewRootCmd(), c...); err != nil {
			t.Fatalf("%v: %v\n%s", c, err, got)
		}
	}
	if got, err := execute(t, NewRootCmd(), "eval", "merge", "--out", filepath.Join(dir, "m1"), a, filepath.Join(dir, "real-b")); err != nil || !strings.Contains(got, "merged 2 subjects") {
		t.Errorf("shards: %v\n%s", err, got)
	}
	if _, err := execute(t, NewRootCmd(), "eval", "merge", "--out", filepath.Join(dir, "m2"), a, b); err == nil || !strings.Contains(err.Error(), "method") {
		t.Errorf("mixed methods: %v", err)
	}
}

// TestEvalProgress: off a terminal, `rpo eval` logs each phase of a
// trained subject (negatives, steps, validations, generation).
func TestEvalProgress(t *testing.T) {
	model, align, dino := tinyModel16(t), tinyRewardModel(t), tinyDino(t)
	out := filepath.Join(t.TempDir(), "eval")
	got, err := execute(t, NewRootCmd(), "eval", "--bench", "minidreambench", "--method", "rpo", "--model", model, "--reward-model", align, "--clip-model", align,
		"--dino-model", dino, "--out", out, "--subjects", "can", "--images-per-prompt", "1", "--steps", "2", "--train-steps", "2", "--val-every", "1", "--val-per-prompt", "1")
	if err != nil {
		t.Fatalf("%v\n%s", err, got)
	}
	for _, phase := range []string{"msg=negatives", `msg="train can"`, "msg=validation", `msg="generate can"`} {
		if !strings.Contains(got, phase) {
			t.Errorf("no %s in the log:\n%s", phase, got)
		}
	}
}

// TestParseShard: --shard i/n, auto/n from a Kubernetes Indexed Job or a
// Slurm array, and the errors, each naming what is wrong.
func TestParseShard(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	for _, c := range []struct {
		spec string
		env  func(string) string
		i, n int
		err  string
	}{
		{"", env(), 0, 1, ""},
		{"2/4", env(), 2, 4, ""},
		{"auto/4", env("JOB_COMPLETION_INDEX", "3"), 3, 4, ""},
		{"auto/4", env("SLURM_ARRAY_TASK_ID", "12", "SLURM_ARRAY_TASK_MIN", "10"), 2, 4, ""},
		{"auto/4", env("SLURM_ARRAY_TASK_ID", "1"), 1, 4, ""},
		{"auto/4", env(), 0, 0, "neither JOB_COMPLETION_INDEX"},
		{"auto/4", env("JOB_COMPLETION_INDEX", "4"), 0, 0, "more tasks than shards"},
		{"auto/4", env("JOB_COMPLETION_INDEX", "x"), 0, 0, "not an integer"},
		{"4/4", env(), 0, 0, "not i/n"},
		{"auto", env(), 0, 0, "not i/n"},
	} {
		i, n, err := parseShard(c.spec, c.env)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: %v, want an error with %q", c.spec, err, c.err)
			}
			continue
		}
		if err != nil || i != c.i || n != c.n {
			t.Errorf("%q: %d/%d %v, want %d/%d", c.spec, i, n, err, c.i, c.n)
		}
	}
}

// TestEvalShardHelper is not a test: TestEvalShardProcesses runs the test
// binary as shard processes of one evaluation.
func TestEvalShardHelper(t *testing.T) {
	args := os.Getenv("RPOTEST_EVAL_ARGS")
	if args == "" {
		t.Skip("run by TestEvalShardProcesses")
	}
	if got, err := execute(t, NewRootCmd(), strings.Split(args, "\x1f")...); err != nil {
		t.Fatalf("%v\n%s", err, got)
	}
}

// TestEvalShardProcesses: an evaluation run as three concurrent processes
// (--shard auto/3, the index from a Kubernetes or a Slurm environment),
// sharing one negatives cache, merges into the result of one process, and
// the cache's manifest keeps every process's negatives.
func TestEvalShardProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("trains three subjects twice")
	}
	model, align, dino := tinyModel16(t), tinyRewardModel(t), tinyDino(t)
	dir := t.TempDir()
	common := []string{"eval", "--bench", "minidreambench", "--method", "rpo", "--model", model, "--reward-model", align, "--clip-model", align,
		"--dino-model", dino, "--subjects", "dog,can,cat2", "--images-per-prompt", "1", "--steps", "2", "--train-steps", "2", "--val-every", "1", "--val-per-prompt", "1"}
	single := filepath.Join(dir, "single")
	if got, err := execute(t, NewRootCmd(), append(common, "--out", single)...); err != nil {
		t.Fatalf("%v\n%s", err, got)
	}
	cache := filepath.Join(dir, "negatives")
	envs := [][]string{{"JOB_COMPLETION_INDEX=0"}, {"JOB_COMPLETION_INDEX=1"}, {"SLURM_ARRAY_TASK_ID=7", "SLURM_ARRAY_TASK_MIN=5"}}
	var shards []string
	var cmds []*exec.Cmd
	for i, e := range envs {
		out := filepath.Join(dir, fmt.Sprintf("shard-%d", i))
		shards = append(shards, out)
		args := append(common[:len(common):len(common)], "--shard", "auto/3", "--negatives-cache", cache, "--out", out)
		c := exec.Command(os.Args[0], "-test.run=^TestEvalShardHelper$")
		c.Env = append(append(os.Environ(), "RPOTEST_EVAL_ARGS="+strings.Join(args, "\x1f")), e...)
		var log strings.Builder
		c.Stdout, c.Stderr = &log, &log
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, c)
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("shard %d:\n%s", i, log.String())
			}
		})
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("shard %d: %v", i, err)
		}
	}
	merged := filepath.Join(dir, "merged")
	if got, err := execute(t, NewRootCmd(), append([]string{"eval", "merge", "--out", merged}, shards...)...); err != nil || !strings.Contains(got, "merged 3 subjects") {
		t.Fatalf("merge: %v\n%s", err, got)
	}
	read := func(d string) eval.Report {
		var r eval.Report
		b, err := os.ReadFile(filepath.Join(d, "results.json"))
		if err != nil || json.Unmarshal(b, &r) != nil {
			t.Fatalf("%s: %v", d, err)
		}
		return r
	}
	one, three := read(single), read(merged)
	for _, m := range eval.Metrics {
		if one.Summary[m.Key] != three.Summary[m.Key] {
			t.Errorf("%s: one process %+v, three shards %+v", m.Key, one.Summary[m.Key], three.Summary[m.Key])
		}
	}
	for i := range one.Subjects {
		if a, b := one.Subjects[i], three.Subjects[i]; a.Subject != b.Subject || a.Summary["reward"] != b.Summary["reward"] {
			t.Errorf("subject %d: one process %s %+v, shards %s %+v", i, a.Subject, a.Summary["reward"], b.Subject, b.Summary["reward"])
		}
	}
	// every shard's negatives are in the shared manifest: those of the single run's cache
	count := func(f string) int {
		var man struct{ Negatives []json.RawMessage }
		b, err := os.ReadFile(f)
		if err != nil || json.Unmarshal(b, &man) != nil {
			t.Fatalf("%s: %v", f, err)
		}
		return len(man.Negatives)
	}
	if a, b := count(filepath.Join(single, "runs", "negatives", "negatives.json")), count(filepath.Join(cache, "negatives.json")); a != b || a == 0 {
		t.Errorf("the shared manifest holds %d negatives, one process's %d", b, a)
	}
}

// TestKubernetesEvalJob: deploy/kubernetes/eval-job.yaml is an Indexed Job
// with as many completions as shards, whose command is an rpo eval that
// takes every flag it is given and its index from the Job.
func TestKubernetesEvalJob(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(oracle.Root(), "deploy", "kubernetes", "eval-job.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var job struct {
		Kind string
		Spec struct {
			CompletionMode string `yaml:"completionMode"`
			Completions    int
			Parallelism    int
			Template       struct {
				Spec struct {
					Containers []struct{ Args []string }
				}
			}
		}
	}
	if err := yaml.Unmarshal(b, &job); err != nil {
		t.Fatal(err)
	}
	s := job.Spec
	if job.Kind != "Job" || s.CompletionMode != "Indexed" || s.Completions != s.Parallelism || len(s.Template.Spec.Containers) != 1 || len(s.Template.Spec.Containers[0].Args) != 1 {
		t.Fatalf("not an Indexed Job of one container: %+v", job)
	}
	words := strings.Fields(s.Template.Spec.Containers[0].Args[0])
	if words[0] != "rpo" || !strings.Contains(strings.Join(words, " "), fmt.Sprintf("--shard auto/%d", s.Completions)) {
		t.Fatalf("the command is not rpo eval --shard auto/%d: %v", s.Completions, words)
	}
	root := NewRootCmd()
	cmd, rest, err := root.Find(words[1:])
	if err != nil || cmd.Name() != "eval" {
		t.Fatalf("%v: %v", words, err)
	}
	if err := cmd.ParseFlags(rest); err != nil {
		t.Error(err)
	}
}

// TestParseMethodAblations: a method config sets λ_train, soft labels and
// online RPO, and refuses a misspelt key or a bad value, naming the file.
func TestParseMethodAblations(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	o := &EvalOptions{TrainSteps: 400, LR: 5e-5, Beta: 1, LambdaVal: 0.5}
	o.Method = write("soft.yaml", "loss: rpo\nlambda_train: 0.3\nlabel_mode: expected\nonline_every: 40\n")
	m, err := parseMethod(o)
	if err != nil || m.LambdaTrain != 0.3 || m.LabelMode != rpo.Expected || m.OnlineEvery != 40 {
		t.Errorf("%+v %v", m, err)
	}
	o.Method = write("lora.yaml", "loss: sim\nselect: last\nlr: 0.0001\nlora_rank: 8\nlora_targets: to_q, to_v\n")
	if m, err = parseMethod(o); err != nil || m.LoRA == nil || m.LoRA.Rank != 8 || m.LoRA.EffectiveAlpha() != 8 || strings.Join(m.LoRA.Targets, ",") != "to_q,to_v" || m.LR != 1e-4 {
		t.Errorf("LoRA config: %+v %+v %v", m, m.LoRA, err)
	}
	for body, want := range map[string]string{
		"lora_alpha: 4\n":                  "lora_rank 0",
		"loss: rpo\nlabel_mod: expected\n": "label_mod",
		"label_mode: soft\n":               "soft",
		"lambda_train: 2\n":                "lambda_train 2",
		"online_every: -1\n":               "online_every -1",
	} {
		o.Method = write("bad.yaml", body)
		if _, err := parseMethod(o); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "bad.yaml") {
			t.Errorf("%q: %v", body, err)
		}
	}
}
