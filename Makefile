# Every target bootstraps what it needs from the locks (uv.lock, tools/prism/package-lock.json).
PY          ?= python3
UV_VERSION  := 0.13.9
UV          := .uv/bin/uv
VENV        := .venv
BIN         := $(VENV)/bin
PRISM       := tools/prism/node_modules/.bin/prism
PYTEST_ARGS ?=

export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
# Installed packages get their bytecode at install time: otherwise a shell with PYTHONDONTWRITEBYTECODE set
# compiles Prefect's thousands of modules again at every start (docs/benchmarks.md: the fixed cost).
export UV_COMPILE_BYTECODE := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1
# Prefect's home (ephemeral database, settings) stays inside the project unless the caller sets one.
export PREFECT_HOME ?= $(CURDIR)/.prefect

.PHONY: install lint typecheck test test-fast demo bench chaos sandbox deploy format lock clean

$(UV):
	$(PY) -m venv .uv
	.uv/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --extra s3 --python $(PY)
	@touch $@

$(PRISM): tools/prism/package-lock.json
	npm ci --prefix tools/prism --no-audit --no-fund --loglevel=error
	@touch $@

install: $(VENV)/.installed  ## create .venv with the project and its dev dependencies, and data/ (the input root)
	@mkdir -p data

lint: install  ## ruff (lint + format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: install $(PRISM) lint  ## lint, type-check and run every test (Prism contract tests included)
	$(BIN)/pytest $(PYTEST_ARGS)

test-fast: install  ## the tests without lint
	$(BIN)/pytest -x -q $(PYTEST_ARGS)

demo: install  ## start the sandbox, onboard examples/onboarding.csv through the bulk flow, print the summary
	$(BIN)/compliance demo

bench: install  ## benchmarks that print ratios against a baseline measured in the same run
	$(BIN)/python -m bench

chaos: install  ## the fault suite at 1,000 rows
	$(BIN)/python -m bench.chaos

sandbox: install  ## serve the sandbox on http://127.0.0.1:4010/v2
	$(BIN)/compliance sandbox

deploy: install  ## apply deployments/prefect.yaml to the server in PREFECT_API_URL (creates compliance-pool when missing)
	$(BIN)/prefect work-pool inspect compliance-pool >/dev/null 2>&1 || \
		$(BIN)/prefect work-pool create compliance-pool --type process
	$(BIN)/prefect --no-prompt deploy --all --prefect-file deployments/prefect.yaml

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

lock: $(UV)
	$(UV) lock

clean:
	rm -rf $(VENV) .uv tools/prism/node_modules .mypy_cache .pytest_cache .ruff_cache
