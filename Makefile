VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: test test-fast test-gpu-versions demo install

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# torch first: with 2.13.0 (CPU build) in place, the dependency ranges pull no CUDA wheels. constraints.txt pins
# the versions CI tests; pyproject.toml's ranges stay wide for machines that bring their own builds.
install: $(PY)
	$(PY) -m pip install -q -c constraints.txt torch==2.13.0
	$(PY) -m pip install -q -c constraints.txt -e ".[test]"

# One thread per process: on a 2-core runner, torch's spinning thread pools fight the tests' own subprocesses.
# The fast tests run one at a time (the sandbox's deadline tests want a core each); the slow ones, two at a time,
# which is what keeps a 2-core machine busy: most of them are one training process waiting on its own step.
test: install
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -m "not slow"
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -m slow -n 2 --dist worksteal

# The inner loop: everything but the tests marked slow (commands run in a subprocess, whole trainings, soaks).
test-fast: install
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -m "not slow"

# The library versions of the lent GPU machine (arc25/models/compat.py lists them), which CI cannot run: the fast
# suite and the multi-process resume tests in a second venv that swaps CI's pins for those. torch stays the CPU
# build (the box's 2.11 is a CUDA one).
GPU_VENV ?= .venv-gpu-versions
GPU_BOX_PINS := transformers==5.17.0 peft==0.21.0 huggingface_hub==1.33.0 tokenizers==0.23.2
test-gpu-versions:
	test -x $(GPU_VENV)/bin/python || python3 -m venv $(GPU_VENV)
	$(GPU_VENV)/bin/python -m pip install -q -c constraints.txt torch==2.13.0
	$(GPU_VENV)/bin/python -m pip install -q -c constraints.txt -e ".[test]"
	$(GPU_VENV)/bin/python -m pip install -q $(GPU_BOX_PINS)
	OMP_NUM_THREADS=1 $(GPU_VENV)/bin/python -m pytest -q -p no:cacheprovider -m "not slow"
	OMP_NUM_THREADS=1 $(GPU_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/test_scale_out.py -k "two_nodes"

# The main job in miniature: look at the data, measure it, train the tiny model on CPU until it reads grids, and say
# what changed (loss per program token and solve rate, before and after, beside guessing) and where the pictures are.
demo: install
	$(VENV)/bin/arc25-render-tasks --n 8 --output-dir runs/demo/tasks
	$(VENV)/bin/arc25-benchmark-data --n 1000
	OMP_NUM_THREADS=2 $(VENV)/bin/arc25-learning-ladder --config configs/recipes/ladder_demo.yaml --output-dir runs/demo/ladder
	@echo "task pictures: runs/demo/tasks/*.png"
