# Two set-up commands on a fresh machine (see README): `make demo` and `make test`.
# Both create .venv and install casetrack into it first; nothing else needs installing.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed
PORT   ?= 8000

UV_VERSION = 0.13.9

.PHONY: demo deadlines test lint bench clean lock drift

# Every package, transitive, dev and build ones included, comes from requirements.lock with
# its hashes checked; then casetrack itself is installed editable without fetching anything.
# Each step says what it does, and pip shows its own progress (a package a line, or bars on
# a terminal): the first `make demo` takes a minute or two and should never look stuck.
$(STAMP): requirements.lock pyproject.toml
	@echo "==> [1/3] creating $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)
	@echo "==> [2/3] installing $$(grep -c '^[A-Za-z0-9]' requirements.lock) pinned packages from requirements.lock, hashes checked (takes ~1-2 min)"
	$(BIN)/python -m pip install --disable-pip-version-check --require-hashes --no-deps -r requirements.lock
	@echo "==> [3/3] installing casetrack itself (editable, nothing downloaded)"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)
	@echo "==> $(VENV) is ready"

# Refresh the lock on purpose (newest releases that satisfy pyproject.toml), then run `make test`.
lock:
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet uv==$(UV_VERSION)
	.lock-venv/bin/uv pip compile pyproject.toml requirements-build.in --extra dev --extra bench \
	    --universal --python-version 3.11 --generate-hashes --no-header --upgrade -o requirements.lock
	rm -rf .lock-venv

# Report (never fail on) releases newer than the lock: what `make lock` would change.
drift:
	@bash scripts/drift.sh

# The server keeps running (demo cases and tokens in ./var/casetrack.db) until Ctrl-C.
demo: $(STAMP)
	$(BIN)/casetrack contracts check contracts/
	$(BIN)/casetrack serve --demo --port $(PORT)

# Example deadlines computed by hand from the contracts, with the rule behind each.
deadlines: $(STAMP)
	@echo "--- a P2 call on a Friday night: the call-center rule (1 h outside working hours)"
	$(BIN)/casetrack sla due --contract wdkn-hospital-2026 --kind first_response --priority P2 --at 2026-10-09T20:30
	@echo "--- an emergency on-site visit, zone found from the site's address"
	$(BIN)/casetrack sla due --contract wdkn-hospital-2026 --kind onsite_arrival --emergency --site "山东省威海市文登区峰山路66号" --at 2026-10-09T20:30
	@echo "--- a spare part diagnosed after the 15:00 cut-off on the eve of National Day"
	$(BIN)/casetrack sla due --contract wdkn-hospital-2026 --kind spare_ship --device FOC2211X0RB --at 2026-09-30T15:10
	@echo "--- a 24x7x48h part for the HIS server, diagnosed on a holiday night"
	$(BIN)/casetrack sla due --contract wdkn-hospital-2026 --kind spare_arrival --device CZJ9350FKR --at 2026-10-03T23:00

# mypy's settings and the few modules it excuses: pyproject.toml [tool.mypy], docs/typing.md
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check --exclude '*.md' .
	$(BIN)/mypy
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python bench/clock.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache .hypothesis
