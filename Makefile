# Two commands do everything on a fresh machine:
#   make lab    set up the environment and open the course in JupyterLab
#   make test   set up the environment (and a browser for the browser tests) and run every check
#               (it lists the 40 slowest tests at the end, to keep CI short)
# For a class on JupyterHub: make hub-install (README, "The course on JupyterHub").
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# JupyterHub's proxy comes from npm, into the venv. 4.6 runs on any Node.js from 10 on (5.x needs 20).
PROXY := $(VENV)/node/node_modules/.bin/configurable-http-proxy
PROXY_VERSION := 4.6.3

.PHONY: lab test system-packages hub-install proxy release validate clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,hub]'
	touch $(INSTALLED)

# JupyterLab refuses to run as root (containers, CI machines) unless told it may.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: $(INSTALLED)
	$(BIN)/jupyter lab --ServerApp.root_dir=notebooks $(ALLOW_ROOT)

system-packages:
	bash .ci/install-system-packages

# Without npm the hub cannot start: the hub's tests then skip with that reason.
proxy: $(INSTALLED)
	@if [ -x $(PROXY) ]; then :; elif command -v npm >/dev/null 2>&1; then \
		npm install --prefix $(VENV)/node --no-audit --no-fund --loglevel=error \
			configurable-http-proxy@$(PROXY_VERSION); \
	else echo "WARNING: npm not found: JupyterHub's proxy is not installed, the hub cannot start" >&2; fi

hub-install: $(INSTALLED) system-packages proxy

test: $(INSTALLED) system-packages proxy
	$(BIN)/ruff check .
	$(BIN)/python -m grader release --check
	$(BIN)/python -m pytest -rs --durations=40

release: $(INSTALLED)
	$(BIN)/python -m grader release

validate: $(INSTALLED)
	$(BIN)/python -m grader validate

clean:
	rm -rf $(VENV) test-artifacts
