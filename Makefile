# Trainforge: `make demo` runs the pipeline locally; `make test` runs every check. Both set themselves up.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH_STAMP := $(VENV)/.installed-torch

.PHONY: install test lint typecheck layer console browser scanners synth deploy diff destroy demo local stop reset backup restore bench openapi docs dist clean screenshots

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 1

# pip byte-compiles one file at a time (80 of the 160 s this takes); compileall does it on every core. Left to
# first use instead, each test worker compiled the same modules again, slower still.
$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required") if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile -r requirements-dev.txt -e .
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib > /dev/null || true  # as pip, past the odd unparsable test file
	touch $(STAMP)

# PyTorch only for the tests (a real torch.distributed job): `make demo` and `make local` never wait for it.
# Apart, and without retries: where PyTorch's index is out of reach its file is on disk, and a retried index
# would cost seconds for every package.
$(TORCH_STAMP): $(STAMP) requirements-torch.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile --retries 0 -r requirements-torch.txt
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib/python3*/site-packages/torch > /dev/null || true
	touch $(TORCH_STAMP)

install: $(STAMP) $(TORCH_STAMP)

# The web console (console/): npm packages from its lockfile, its API types generated from docs/openapi.json, a
# type check, then one bundle into the Python package that serves it (trainforge/console_assets/static).
CONSOLE_BUILT := layers/trainforge/trainforge/console_assets/static/index.html
CONSOLE_SOURCES := $(shell find console/src -type f ! -name api-types.ts) console/index.html console/build.mjs console/tsconfig.json

console/node_modules/.package-lock.json: console/package.json console/package-lock.json
	cd console && npm ci --no-audit --no-fund --loglevel=error

$(CONSOLE_BUILT): console/node_modules/.package-lock.json $(CONSOLE_SOURCES) docs/openapi.json
	cd console && npm run --silent types > /dev/null && npm run --silent check && npm run --silent build

console: $(CONSOLE_BUILT)

# The console's tests drive Debian's chromium (Playwright's own browser download has no route out of here).
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
$(CHROMIUM):
	@command -v apt-get > /dev/null || { echo "install Chromium, then: make test CHROMIUM=/path/to/chromium"; exit 1; }
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium > /dev/null

browser: $(CHROMIUM)

# The security scanners the tests run on the synthesized templates: checkov (in a venv of its own: its pins are
# not the project's) and cfn-guard with AWS Control Tower's proactive rules (npm, from package-lock.json).
SCANNERS_VENV := .venv-scanners
CHECKOV := $(SCANNERS_VENV)/bin/checkov
$(CHECKOV):
	$(PYTHON) -m venv $(SCANNERS_VENV)
	$(SCANNERS_VENV)/bin/python -m pip install --quiet --disable-pip-version-check checkov==3.3.30

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

scanners: $(CHECKOV) node_modules/.package-lock.json

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy

# The Lambda layer: arm64 wheels for the functions' Python, byte-compiled (skipped when nothing changed).
layer: $(STAMP)
	$(BIN)/python -m stacks.layer_build

# Offline synthesis with cdk-nag, then cfn-lint (errors fail; warnings are CDK's own and printed).
synth: layer
	rm -rf cdk.out
	$(BIN)/python app.py $(foreach pair,$(CONTEXT),-c $(pair))
	$(BIN)/cfn-lint cdk.out/*.template.json; status=$$?; [ $$((status & 2)) -eq 0 ]

# The infra tests synthesize the app with cdk-nag and run cfn-lint on it: one synthesis serves both. Three workers
# on two cores (a third of the suite waits on local mode's processes, not the CPU), a file's tests together (each worker has its own database, emulator and local mode). The tests
# marked calendar run twice: today, and with both clocks an hour before a year ends (tests/clock.py).
test: $(TORCH_STAMP)
	$(MAKE) --no-print-directory -j4 lint typecheck layer console browser scanners  # CPU beside downloads
	CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest -q -n 3 --dist loadfile

# The API's OpenAPI document, as the handler generates it (tests fail when the checked-in copy is stale).
openapi: $(STAMP)
	$(BIN)/python -m lambdas.api.openapi docs/openapi.json

# Everything generated from the code: the OpenAPI document and docs/reference (tests fail when either is stale).
docs: openapi
	$(BIN)/python docs/reference/generate.py

# Local mode: the whole pipeline on this machine (AWS emulator, PostgreSQL, local SageMaker), no account needed.
demo: $(STAMP)
	$(BIN)/python -m local_mode demo

# Keeps its state in .local across stops and starts, on ports 8080 (API) and 8090 (AWS emulator).
local: $(STAMP) console
	$(BIN)/python -m local_mode serve

# Stops a running `make local` (or clears what a killed one left); reset also wipes .local, saying what goes.
stop: $(STAMP)
	$(BIN)/python -m local_mode stop

reset: $(STAMP)
	$(BIN)/python -m local_mode reset

# The ledger (local mode's database) into backups/ledger-<time>.tar.gz, running or not; and back, into a stopped,
# empty local mode (`make reset` first). Any database: python -m trainforge.ledger export|import FILE.
backup: $(STAMP)
	$(BIN)/python -m local_mode backup $(FILE)

restore: $(STAMP)
	$(BIN)/python -m local_mode restore $(FILE)

# A real AWS account (the credentials' account and region): bootstrap if needed, the layer, cdk deploy (the schema
# migration inside it), `trainforge check` against the new API, the outputs. STAGE=prod for production.
# CONTEXT="key=value ..." adds CDK context (admin_principals=arn:..., teams_file=teams.json, snapstart=true).
STAGE ?= dev
DEPLOY_CONTEXT = $(foreach pair,$(CONTEXT),--context $(pair))
deploy: $(STAMP)
	$(BIN)/python -m stacks.deploy deploy --stage $(STAGE) $(DEPLOY_CONTEXT)

diff: layer
	$(BIN)/python -m stacks.deploy diff --stage $(STAGE) $(DEPLOY_CONTEXT)

destroy: $(STAMP)
	$(BIN)/python -m stacks.deploy destroy --stage $(STAGE) $(DEPLOY_CONTEXT)

# Benchmarks: ratios against baselines measured in the same run; prints the table, writes bench/results.json.
bench: $(STAMP) layer
	$(BIN)/python bench/run.py

# The CLI as a wheel in dist/ (`pip install dist/trainforge-*.whl`, plus `[charts]` for charts): what a user
# installs on a laptop to reach a deployed Trainforge. Its dependencies are ranges in pyproject.toml.
dist: $(STAMP) console
	rm -rf dist build
	$(BIN)/python -m pip wheel --quiet --disable-pip-version-check --no-deps --no-build-isolation --wheel-dir dist .

# The README's console pictures, taken by the console's tests in a real Chromium.
screenshots: $(TORCH_STAMP) console browser
	TRAINFORGE_SCREENSHOTS=docs/images CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest -q tests/e2e/test_console.py

clean:
	rm -rf $(VENV) $(SCANNERS_VENV) dist build cdk.out .pytest_cache .mypy_cache .ruff_cache console/node_modules node_modules
