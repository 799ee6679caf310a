package cli

import (
	"fmt"
	"image"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/rpo-dev/rpo/internal/ckpt"
	"github.com/rpo-dev/rpo/internal/config"
	"github.com/rpo-dev/rpo/internal/imageio"
)

// lockRunDir takes the lock of a run directory (created if needed) for
// the life of the run: a second run into it is refused while the first
// lives.
func lockRunDir(dir string, logger *slog.Logger) (*ckpt.Lock, error) {
	lock, err := ckpt.LockDir(dir)
	if err != nil {
		return nil, err
	}
	if lock.Took != "" {
		logger.Warn("took over the lock of a run that did not end (its process is gone)", "dir", dir, "pid", lock.Took)
	}
	return lock, nil
}

// recordRun writes the run's options into its run.yaml, which `--out DIR
// --resume` reads back (config.RunFile); a resumed run keeps the run.yaml
// it started with (the checkpoint refuses other options, so it still
// describes the run). extra is appended to a new run.yaml.
func recordRun(dir string, opts any, resume bool, extra string) error {
	runFile := filepath.Join(dir, config.RunFile)
	if resume && fileExists(runFile) {
		return nil
	}
	b, err := config.Dump(opts)
	if err != nil {
		return err
	}
	return ckpt.WriteFileAtomic(runFile, append(b, extra...))
}

// holdsRun reports whether dir has anything in it but its lock file.
func holdsRun(dir string) bool {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != ckpt.LockFile {
			return true
		}
	}
	return false
}

// loadRefs loads a subject's reference images, telling the user about
// files it skips and about a subject with fewer images than DreamBench's.
func loadRefs(dir string, side int, logger *slog.Logger, embeddedFamily bool) ([]*image.RGBA, error) {
	refs, sides, skipped, err := imageio.LoadDirSizes(dir, side)
	for _, s := range skipped {
		logger.Warn("--refs: skipped", "file", s)
	}
	if err != nil {
		return nil, err
	}
	if len(refs) < 3 {
		logger.Warn("--refs: few reference images; DreamBench subjects have 4 to 6", "dir", dir, "images", len(refs))
	}
	largest, smallest := 0, 1<<30
	for _, s := range sides {
		largest, smallest = max(largest, s), min(smallest, s)
	}
	switch {
	case embeddedFamily && largest > 2*side: // photos, not renders of the procedural world
		logger.Warn(fmt.Sprintf("--refs: these are %d-pixel photos; the embedded model draws only rpo's procedural %d×%d world, so they are shrunk to %d×%d "+
			"and the fine-tune will not look like them. Fine-tune a real model instead: --model DIR (Stable Diffusion in the diffusers layout) "+
			"or --model FILE.safetensors (a single-file checkpoint)", largest, side, side, side, side))
	case !embeddedFamily && smallest < side:
		logger.Warn("--refs: some images are smaller than the model's resolution and were enlarged (blurred); use larger photos or a lower --resolution",
			"smallest", smallest, "resolution", side)
	}
	return refs, nil
}

// absPath makes a path flag absolute, so that run.yaml still names the same
// files when the run is resumed from another directory ("" stays "").
func absPath(p string) string {
	if p == "" {
		return p
	}
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// shellQuote quotes an argument for a POSIX shell where it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// resumeHint is the line an interrupted run prints: the command that
// continues it from its directory alone.
func resumeHint(command, dir string) string {
	return fmt.Sprintf("Resume with:\n  %s --out %s --resume\n", command, shellQuote(dir))
}
