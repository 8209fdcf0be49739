# Two commands on a fresh clone:  `make run`  (default experiment)  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# The CPU wheel of torch: an unpinned torch would pull a multi-GB CUDA build.
TORCH  ?= torch==2.13.0

.PHONY: install run test test-all bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH)"
	# compat: a plain .pth path, so Hydra discovers hydra_plugins/ (the strict finder hides it).
	$(PY) -m pip install -q -e ".[test]" --config-settings editable_mode=compat
	touch $@

run: install
	$(PY) -m gliner_exp $(ARGS)

test: install
	$(PY) -m pytest -q $(ARGS)

test-all: install
	$(PY) -m pytest -q -m "" $(ARGS)

bench: install
	$(PY) benchmarks/step_time.py

clean:
	rm -rf $(VENV) outputs multirun
