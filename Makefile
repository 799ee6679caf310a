# rpo — see README.md. Pure Go by default (CGO_ENABLED=0 works).
SHELL   := /bin/bash
.SHELLFLAGS := -o pipefail -c
GO      ?= go
BIN     ?= bin/rpo
BENCH   ?= .
# one training step of GORGONIA.md's Model A is ~3 s: a few iterations suffice
BENCHTIME ?= 5x

.PHONY: parity parity-full all build test lint bench bench-compare bench-openblas fuzz selftest report-check check-models eval-30 demo clean

all: lint test build

# the commit for `rpo version` when the build has no VCS stamp (-buildvcs=false)
COMMIT  := $(shell git rev-parse HEAD 2>/dev/null)$(shell git diff --quiet HEAD 2>/dev/null || echo -modified)
LDFLAGS := -X github.com/rpo-dev/rpo/internal/cli.Commit=$(COMMIT)

build:
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/rpo

# The test command of the README and of .ci/run.
test:
	$(GO) test ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Parity with the reference implementations (../shared/oracle: diffusers
# 0.21.4, openai CLIP): tiny random-weight Stable Diffusion models in the real
# layouts, the same inputs through both; prints every error. Needs
# ../shared/oracle/install.sh once.
parity:
	RPOTEST_ORACLE_REQUIRED=1 $(GO) test -count=1 -v -run 'MatchesDiffusers|MatchesCLIP|Trajectory|StableDiffusion|SingleFile|WeightFormats|Encoders|Preprocessing|EmbeddedCLIP|Align|WordPiece' ./internal/text/ ./internal/models/ ./internal/cli/ 2>&1 | grep -E '^(=== RUN|--- |ok|FAIL|PASS)|error|identical|Δ'

# The same at full size: SD 1.5's and SD 2.1's configurations with random
# weights built by diffusers (4 GB each under runs/sd-full, outside git),
# loaded by rpo, one small forward pass of every component compared; CLIP
# ViT-B/16 and B/32 and DINO ViT-S/16 at their real shapes (runs/enc-*);
# ALIGN at align-base's (EfficientNet-B7, BERT-base; runs/align-full).
# About 5 minutes and 16 GB of memory.
SDFULL ?= sd15 sd21
parity-full:
	mkdir -p runs/sd-full
	for v in $(SDFULL); do \
	  test -f runs/sd-full/$$v/expected.safetensors || ../shared/oracle/python internal/oracle/sd_full.py runs/sd-full/$$v $$v || exit 1; \
	  RPOTEST_SD_FULL=runs/sd-full/$$v $(GO) test -count=1 -v -timeout 30m -run FullSizeLayout ./internal/models/ || exit 1; \
	done
	for v in full full32; do \
	  test -f runs/enc-$$v/expected.safetensors || ../shared/oracle/python internal/oracle/encoders.py runs/enc-$$v $$v || exit 1; \
	  RPOTEST_ENC_FULL=runs/enc-$$v $(GO) test -count=1 -v -run EncodersFullSize ./internal/models/ || exit 1; \
	done
	test -f runs/align-full/expected.safetensors || ../shared/oracle/python internal/oracle/align.py runs/align-full full
	RPOTEST_ALIGN_FULL=$(CURDIR)/runs/align-full $(GO) test -count=1 -v -run AlignFullSize ./internal/models/

# Model A (GORGONIA.md) training step and forward pass: ms/step and peak RSS.
bench:
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchtime $(BENCHTIME) ./internal/models/

# The U-Net in PyTorch and in rpo side by side (Model A, embedded shapes).
bench-compare:
ifeq ($(MODELS),sd15)
	./bench/sd_compare.sh
else
	./bench/compare.sh
endif

# Render an evaluation report (REPORT=..., default a demo) in headless Chromium.
report-check:
	./bench/report-check.sh

# The same with OpenBLAS (needs Debian libopenblas-dev).
bench-openblas:
	CGO_LDFLAGS=-lopenblas $(GO) test -tags openblas -run '^$$' -bench '$(BENCH)' -benchtime $(BENCHTIME) ./internal/models/

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 60s ./internal/ckpt/

# The README's first set-up command: build rpo and check the engine.
selftest: build
	./$(BIN) selftest

# The README's first set-up command: the main job on the embedded models.
# RPO fine-tuning of the base model on MiniDreamBench's dog (its 5 rendered
# references), then 4 images of the subject in a new scene. ~5 minutes.
demo: build
	./$(BIN) world export --out runs/demo/minidreambench --force
	./$(BIN) train --subject dog --refs runs/demo/minidreambench/dog --out runs/demo/dog --force
	./$(BIN) generate --model "runs/demo/dog/best@0.5" --prompt "a sks dog on the beach" -n 4 --seed 1 --out runs/demo/generated

# The quality targets of the embedded models (issues #5, #6): held-out
# accuracies of the encoders and the r_λ pair check, then the base model on
# 200 held-out captions against real renders, measured with clip-mini (the
# metric model, as the issue asks). Other model directories: CLIP=DIR, MODEL=DIR.
# ~10 minutes.
CLIP  ?= internal/embedded/clip-mini
MODEL ?= internal/embedded/t2i
check-models: build
	mkdir -p runs
	./$(BIN) eval encoders --clip-model $(CLIP) --images 600 --pairs 600 | tee runs/check-encoders.txt
	./$(BIN) eval t2i --model $(MODEL) --clip-model $(CLIP) --captions 200 --out runs/check-t2i | tee runs/check-t2i.txt

# The full MiniDreamBench evaluation of one method (issue #8: all 30 subjects
# within 3 hours on 2 cores): RPO with the paper's procedure, 4 images per
# prompt, the embedded models. Interrupted: run it again (finished subjects
# are skipped, an unfinished training run resumes). results.md ends with
# where the time went; wall time in runs/eval-30-rpo.time (of the last sitting).
EVAL30 ?= runs/eval-30-rpo
eval-30: build
	mkdir -p $(EVAL30)
	/usr/bin/time -f "%e s wall" -o $(EVAL30).time ./$(BIN) eval --bench minidreambench --method rpo --out $(EVAL30) --log-format json 2> $(EVAL30).log
	tail -3 $(EVAL30)/results.md; cat $(EVAL30).time

clean:
	rm -rf bin
