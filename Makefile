# SAR Coastline: one command to install, one for the demo, one for the tests (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help
ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
VENV := $(ROOT)/.venv
PY := $(VENV)/bin/python
PROFILE := $(ROOT)/.qgis-profile
PLUGINS := $(PROFILE)/profiles/default/python/plugins
STAMPS := $(ROOT)/.stamps
QGIS_PROCESS := /usr/bin/qgis_process.bin
# The same names on Debian 12 and 13; python3-pip: the plugin's dependency installer runs QGIS's own Python's pip.
APT_PACKAGES := qgis python3-qgis qgis-providers python3-venv python3-pip python3-matplotlib openssl
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
DEMO_DIR := $(ROOT)/demo_output

# Every headless QGIS start needs offscreen Qt; the isolated profile keeps the user's own QGIS untouched.
export QT_QPA_PLATFORM := offscreen
export QGIS_CUSTOM_CONFIG_PATH := $(PROFILE)
export SAR_COASTLINE_VENV := $(VENV)
export PYTHONPATH := $(ROOT)/.pkg

.PHONY: help install demo test lint bench-classical bench-infer bench-infer-memory bench-memory bench-train bench-batch bench-accuracy train-default train-orientation-free train-paper test-debian13 clean package

help:
	@echo "make install  - Debian packages (QGIS, GDAL), .venv with the pinned requirements, plugin in $(PROFILE)"
	@echo "make demo     - install if needed, generate a scene, extract and evaluate its coastline with qgis_process"
	@echo "make test     - install if needed, lint, run the test suite"
	@echo "make package  - dist/sar_coastline-<version>.zip for Plugins > Manage and Install Plugins > Install from ZIP"
	@echo "make test-debian13 - make test in a Debian 13 chroot (QGIS 3.40, Python 3.13, numpy 2); root, about 8 GB in .debian13/"
	@echo "make bench-classical - accuracy and speed of the classical method on generated scenes"
	@echo "make bench-infer     - extraction speed vs the models' forward ceiling (GPU if seen, else CPU fast)"
	@echo "make bench-infer-memory - the same, plus peak RSS at ~25 and ~400 Mpx on the CPU"
	@echo "make bench-memory    - wall time and peak RSS per method at ~25 and ~400 Mpx (10 m pixels), against the targets"
	@echo "make bench-train     - training input pipeline and step throughput, with and without the loader"
	@echo "make bench-batch     - batch extraction (classical) on 1 and 2 local Dask workers: scenes/min, memory per worker"
	@echo "make bench-accuracy  - classical, paper and orientation-free methods on held-out generated scenes"
	@echo "make train-default   - retrain the coarse-to-fine method's context model on scenes generated on the fly (three stages, 126 min measured on 2 shared CPU cores; resumes)"
	@echo "make train-orientation-free - retrain the orientation-free method's bundled U-Net (2-3 hours on 2 CPU cores)"
	@echo "make train-paper     - the paper's four-member ensemble (table 1, B0 encoders) into .train-paper/"

install: $(STAMPS)/plugin

# Checked again when the Makefile (its package list) changes.
$(STAMPS)/apt: Makefile
	@mkdir -p $(STAMPS)
	@if [ "$$(dpkg-query -W -f='$${db:Status-Status}\n' $(APT_PACKAGES) 2>/dev/null | grep -c '^installed$$')" \
	     -ne $(words $(APT_PACKAGES)) ]; then \
	  echo "Installing Debian packages: $(APT_PACKAGES)"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(APT_PACKAGES); \
	fi
	@touch $@

# Debian's Python: the only one that imports qgis. System site packages give it QGIS, GDAL, numpy and scipy.
$(STAMPS)/venv: requirements.txt $(STAMPS)/apt
	@[ -x $(PY) ] || /usr/bin/python3 -m venv --system-site-packages $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(STAMPS)/plugin: $(STAMPS)/venv metadata.txt
	@mkdir -p $(ROOT)/.pkg $(PLUGINS)
	@ln -sfn .. $(ROOT)/.pkg/sar_coastline
	@ln -sfn $(ROOT) $(PLUGINS)/sar_coastline
	@$(QGIS_PROCESS) plugins enable sar_coastline >/dev/null 2>&1 || true
	@$(QGIS_PROCESS) list 2>/dev/null | grep -q 'coastline:extractcoastline' \
	  || { echo "The plugin did not load in qgis_process; run: QGIS_CUSTOM_CONFIG_PATH=$(PROFILE) $(QGIS_PROCESS) list"; exit 1; }
	@echo "Installed: venv $(VENV), plugin enabled in the QGIS profile $(PROFILE)"
	@touch $@

demo: install
	$(PY) -m sar_coastline.scripts.demo --out $(DEMO_DIR) --qgis-process $(QGIS_PROCESS)

# import_graph: no import cycle, no private name across modules, the plugin's imports at the top of files.
# qt6_check: the Qt 6 migration rules QGIS publishes for plugins, on the live PyQGIS (so it needs the venv's Python).
lint: $(STAMPS)/venv
	$(VENV)/bin/ruff check $(ROOT)
	$(PY) $(ROOT)/scripts/qt6_check.py $(ROOT)
	$(PY) $(ROOT)/scripts/import_graph.py

test: install lint
	cd $(ROOT) && $(PY) -m pytest -q $(PYTEST_ARGS)

# Not in CI (the first run downloads QGIS and torch): run it before a release and after changing requirements.txt
# or the Makefile. DEBIAN13_TARGETS and PYTEST_ARGS narrow it (scripts/debian13/test.sh says how).
test-debian13:
	$(ROOT)/scripts/debian13/test.sh

# Needs git (it packs what git tracks or sees) and any Python 3 (standard library only); prints the path and size.
package:
	python3 $(ROOT)/scripts/package.py --out $(ROOT)/dist

bench-classical: install
	$(PY) -m sar_coastline.benchmarks.bench_classical

bench-infer: install
	$(PY) -m sar_coastline.benchmarks.bench_infer

bench-infer-memory: install
	$(PY) -m sar_coastline.benchmarks.bench_infer --cpu-fast --memory

# BENCH_ARGS=--skip-model: the classical rows only (the model rows take long on a CPU)
bench-memory: install
	$(PY) -m sar_coastline.benchmarks.bench_memory $(BENCH_ARGS)

# BENCH_ARGS=--seed-base 3000: the second held-out set, for choosing between models without tuning on the benchmark
bench-accuracy: install
	$(PY) -m sar_coastline.benchmarks.bench_accuracy $(BENCH_ARGS)

bench-train: install
	$(PY) -m sar_coastline.benchmarks.bench_train

bench-batch: install
	$(PY) -m sar_coastline.benchmarks.bench_batch $(BENCH_ARGS)

# The coarse-to-fine method's model: the context model, a U-Net/MobileNetV2 (depth 4) over 40 m cells, trained
# on scenes generated on the fly (training/context.py: a new scene every step, half with the hard cases oversampled,
# a quarter dual-pol). Three stages (2400, 2400 and 2000 steps): each later one starts from the one before's best
# weights with a lower learning rate (2e-3, 1e-3, 5e-4) on scenes no earlier stage saw. A stopped stage resumes from
# its checkpoint in .train-context/ (run it again); the last stage's best validation model is copied into
# models/default/.
TRAIN_CONTEXT_DIR := $(ROOT)/.train-context
CONTEXT_RECIPE := --steps 2400 --checkpoint-every 200 --seed 0
CONTEXT_STAGE2 := --steps 2400 --checkpoint-every 200 --seed 1 --first-scene 2401 --learning-rate 1e-3
CONTEXT_STAGE3 := --steps 2000 --checkpoint-every 200 --seed 2 --first-scene 4802 --learning-rate 5e-4
train-default: install
	$(PY) -m sar_coastline.training.context --out $(TRAIN_CONTEXT_DIR) $(CONTEXT_RECIPE) $(TRAIN_ARGS)
	$(PY) -m sar_coastline.training.context --out $(TRAIN_CONTEXT_DIR)/stage2 $(CONTEXT_STAGE2) \
		--init-from $(TRAIN_CONTEXT_DIR)/context.safetensors $(TRAIN_ARGS)
	$(PY) -m sar_coastline.training.context --out $(TRAIN_CONTEXT_DIR)/stage3 $(CONTEXT_STAGE3) \
		--init-from $(TRAIN_CONTEXT_DIR)/stage2/context.safetensors $(TRAIN_ARGS)
	cp $(TRAIN_CONTEXT_DIR)/stage3/context.safetensors $(ROOT)/models/default/context.safetensors

# The orientation-free method's bundled model: U-Net/EfficientNet-B0, sea/no-data/land, scene-normalized log input, crops of
# 288-448 px resized to 256, one multi-resolution model. Stage 1: 36 generated scenes of 3, 10, 20 and 40 m pixels
# (seeds 1000-1035, the last 4 for validation; the accuracy benchmark uses others). Stage 2 fine-tunes it on the
# same seeds drawn at 10, 20, 40 and 3 m in turn (a quarter at each size): coarse pixels were its weak side. Scenes
# of 20 m and coarser are read at the model side (chosen on the second set, docs/benchmarks.md, session 12).
# It starts afresh each time (a checkpoint left in the folder would otherwise resume).
TRAIN_DEFAULT_DIR := $(ROOT)/.train-default
DEFAULT_MEMBER := unet_efficientnet-b0_softmax_log
# What the default model and the paper's ensemble share: the generated scenes, batches, crops and validation.
GENERATED_RECIPE := --generate 36 --generated-size 2048 --steps 100 --batch-size 8 --model-side 256 \
  --crop-range 288 448 --validation-share 0.12 --workers 1 --half
DEFAULT_RECIPE := $(GENERATED_RECIPE) --preset fast --head softmax
train-orientation-free: install
	rm -rf $(TRAIN_DEFAULT_DIR)
	$(PY) -m sar_coastline.training.cli $(DEFAULT_RECIPE) --out $(TRAIN_DEFAULT_DIR)/stage1 --epochs 8 \
	  --curriculum-epochs 3 --seed 0
	$(PY) -m sar_coastline.training.cli $(DEFAULT_RECIPE) --out $(TRAIN_DEFAULT_DIR)/stage2 --epochs 6 \
	  --curriculum-epochs 0 --seed 1 --generated-pixel-sizes 10 20 40 3 --learning-rate 5e-4 \
	  --inference-scales 20:256 --init $(TRAIN_DEFAULT_DIR)/stage1/$(DEFAULT_MEMBER).safetensors
	rm -f $(ROOT)/models/default/*.safetensors
	cp $(TRAIN_DEFAULT_DIR)/stage2/$(DEFAULT_MEMBER).safetensors $(TRAIN_DEFAULT_DIR)/stage2/ensemble.json \
	  $(ROOT)/models/default/

# The paper's ensemble (table 1: two B4 and two B3 U-Nets, softmax+coast, softmax, sigmoid log and linear) with
# B0 encoders so that it trains on a CPU, on the default model's scenes and pixel sizes. Each member starts from
# the bundled default model (same network; the heads that differ start afresh), as the paper's members start
# from pretrained encoders; 3 epochs each (about an hour on 2 CPU cores; TRAIN_ARGS="--epochs 8" for longer).
# bench-accuracy scores the paper method with it when .train-paper/ensemble.json exists.
TRAIN_PAPER_DIR := $(ROOT)/.train-paper
train-paper: install
	rm -rf $(TRAIN_PAPER_DIR)
	$(PY) -m sar_coastline.training.cli $(GENERATED_RECIPE) --out $(TRAIN_PAPER_DIR) --preset paper \
	  --encoder efficientnet-b0 --epochs 3 --curriculum-epochs 0 --seed 2 --generated-pixel-sizes 10 20 40 3 \
	  --inference-scales 20:256 --init $(ROOT)/models/default/$(DEFAULT_MEMBER).safetensors $(TRAIN_ARGS)

clean:
	rm -rf $(STAMPS) $(ROOT)/.pkg $(PROFILE) $(DEMO_DIR) $(TRAIN_DEFAULT_DIR) $(TRAIN_CONTEXT_DIR) $(TRAIN_PAPER_DIR) $(ROOT)/.pytest_cache $(ROOT)/.ruff_cache
