VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: test demo install

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# torch first: with 2.13.0 (CPU build) in place, the dependency ranges pull no CUDA wheels.
install: $(PY)
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[test]"

# One thread per process: on a 2-core runner, torch's spinning thread pools fight the tests' own subprocesses.
test: install
	OMP_NUM_THREADS=1 $(PY) -m pytest -q

# The main job in miniature: look at the data, measure it, train the tiny model on CPU and watch the loss fall.
demo: install
	$(PY) scripts/render_tasks.py --seed 0 --n 8 --out runs/demo/tasks
	$(PY) scripts/benchmark_data.py --n 1000
	$(PY) finetuning.py --output-dir runs/demo --max-steps 150 --max-side 8 --max-seq-len 2048 \
		--batch-size 8 --per-device-train-batch-size 8 --logging-steps 10 --eval-steps 50 --save-steps 150 \
		--no-log-to-wandb --no-resume-from-checkpoint
