# One task runner for people and CI. `make run` and `make test` start from a fresh checkout.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
WEB_VENDOR := src/proofdesk/web/static/vendor
WEB_STAMP := $(WEB_VENDOR)/.built
export PROOFDESK_DATA_DIR ?= var

.PHONY: web run test lint typecheck pytest fuzz bench bench-ledger bench-anchoring bench-auth bench-contracts bench-assistant demo clean install screenshot contracts

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip==26.3
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	@touch $(STAMP)

# Development tools from npm (anvil, for the chain integration tests), pinned in package-lock.json.
# `npm ci` installs exactly what the lock pins and never rewrites it, so neither `make run` nor
# `make test` leaves a tracked file modified. The lock lists every platform's optional anvil
# binary (npm 11 drops them from a lock made on one platform, and `npm ci` then refuses it):
# after changing package.json, run `npm install` and commit the lock it writes.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $(NODE_STAMP)

# The web UI's front-end packages, from npm (pinned in package-lock.json), copied into the
# package's static files; nothing is fetched from a CDN at run time. The receipt verifier
# (one self-contained HTML file) and the rule editor are bundled from web/frontend/ by esbuild
# into the same (untracked) folder.
WEB_FRONTEND := $(wildcard src/proofdesk/web/frontend/*)
$(WEB_STAMP): $(NODE_STAMP) $(WEB_FRONTEND)
	mkdir -p $(WEB_VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js node_modules/htmx-ext-sse/dist/sse.min.js \
	  node_modules/uplot/dist/uPlot.iife.min.js node_modules/uplot/dist/uPlot.min.css $(WEB_VENDOR)/
	node src/proofdesk/web/frontend/build.mjs
	@touch $(WEB_STAMP)

web: $(WEB_STAMP)

contracts: $(STAMP)
	$(BIN)/python -m proofdesk.chain.contracts

run: $(STAMP) $(WEB_STAMP)
	$(BIN)/proofdesk migrate
	$(BIN)/proofdesk demo
	$(BIN)/proofdesk serve

demo: $(STAMP)
	$(BIN)/proofdesk demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench docs
	$(BIN)/ruff format --check src tests bench docs
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) $(NODE_STAMP) $(WEB_STAMP)
	$(BIN)/pytest -n 2 --dist loadfile $(PYTEST_ARGS)

test: lint typecheck pytest

# A longer fuzzing campaign of every API operation than the one `make test` runs (examples per
# operation and credential; see tests/api/test_fuzz.py).
fuzz: $(STAMP)
	PROOFDESK_FUZZ_EXAMPLES=$${PROOFDESK_FUZZ_EXAMPLES:-200} $(BIN)/pytest -q -s tests/api/test_fuzz.py

bench: $(STAMP)
	$(BIN)/python bench/api_load.py

bench-ledger: $(STAMP)
	$(BIN)/python bench/ledger.py --sizes 1e4,1e5,1e6

bench-contracts: $(STAMP)
	$(BIN)/python bench/contracts.py

bench-assistant: $(STAMP)
	$(BIN)/python bench/assistant.py

bench-auth: $(STAMP)
	$(BIN)/python bench/auth.py

bench-anchoring: $(STAMP) $(NODE_STAMP)
	$(BIN)/python bench/anchoring.py

screenshot: $(STAMP)
	$(BIN)/python docs/img/render.py

clean:
	rm -rf $(VENV) var node_modules $(WEB_VENDOR) .pytest_cache .mypy_cache .ruff_cache
