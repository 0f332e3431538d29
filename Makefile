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

test: install
	$(PY) -m pytest -q

demo: install
	$(PY) scripts/render_tasks.py --seed 0 --n 8 --out runs/demo/tasks
	$(PY) scripts/benchmark_data.py --n 2000
