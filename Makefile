# The README's two front-door commands are `make demo` and `make test`; everything else is a helper.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test node-deps lint fmt typecheck imports pytest bench clean help

help:
	@echo "make demo   - set up .venv and run the demo (a connector with a generated dev identity)"
	@echo "make test   - set up .venv and run ruff, mypy --strict, lint-imports and pytest"
	@echo "make lint | fmt | typecheck | imports | pytest | bench | clean"

# Create the venv with the interpreter on PATH (must be 3.11+), then install the exact, hash-checked
# versions from the locks; the project itself goes in editable, without dependency resolution.
$(STAMP): requirements.lock requirements-dev.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found %s); set PYTHON=python3.11" % sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
		-r requirements.lock -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

# `make demo DEMO_ARGS=--keep` leaves the data space running (consoles, URLs and keys are printed).
demo: $(STAMP)
	$(BIN)/gxc demo $(DEMO_ARGS)

test: $(STAMP) node-deps lint typecheck imports pytest

# The interop tests compare our canonicalization and JOSE output with the Node libraries Gaia-X services run.
# They are installed from the npm lock when Node.js is present (CI always has it; elsewhere those tests skip).
NODE_DIR := tests/interop/node
node-deps:
	@if [ -f $(NODE_DIR)/package-lock.json ] && command -v npm >/dev/null 2>&1; then \
		if [ ! -f $(NODE_DIR)/node_modules/.package-lock.json ] || \
		   [ $(NODE_DIR)/package-lock.json -nt $(NODE_DIR)/node_modules/.package-lock.json ]; then \
			npm ci --prefix $(NODE_DIR) --no-audit --no-fund --loglevel=error; \
		fi; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

bench: $(STAMP)
	@for f in bench/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
