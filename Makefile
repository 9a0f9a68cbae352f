# Two set-up commands on a fresh machine (see README): `make demo` and `make test`.
# Both create .venv and install casetrack into it first; nothing else needs installing.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/casetrack contracts check contracts/
	$(BIN)/casetrack sla due --contract WH-2026-CCB --kind first_response --priority P2 --at 2026-10-09T20:30
	$(BIN)/casetrack sla due --contract WH-2026-CCB --kind onsite_arrival --site "威海市文登区龙山路" --emergency --at 2026-10-09T20:30
	$(BIN)/casetrack sla due --contract WH-2026-CCB --kind spare_ship --device FOC2231X0AB --at 2026-09-30T15:10

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python bench/clock.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis
