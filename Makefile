# Two commands do everything on a fresh machine:
#   make lab    set up the environment and open the course in JupyterLab
#   make test   set up the environment (and a browser for the browser tests) and run every check
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: lab test system-packages release validate clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(INSTALLED)

# JupyterLab refuses to run as root (containers, CI machines) unless told it may.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: $(INSTALLED)
	$(BIN)/jupyter lab --ServerApp.root_dir=notebooks $(ALLOW_ROOT)

system-packages:
	bash .ci/install-system-packages

test: $(INSTALLED) system-packages
	$(BIN)/ruff check .
	$(BIN)/python -m grader release --check
	$(BIN)/python -m pytest -rs

release: $(INSTALLED)
	$(BIN)/python -m grader release

validate: $(INSTALLED)
	$(BIN)/python -m grader validate

clean:
	rm -rf $(VENV) test-artifacts
