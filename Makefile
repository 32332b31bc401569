# Two commands on a fresh machine: `make train` and `make test`. Both bootstrap .venv on first use.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
CORE := $(VENV)/.installed-core
FULL := $(VENV)/.installed-full
# CONFIG, MODEL, PORT and ARGS reach the recipes as environment variables (`make serve MODEL=...` on the command
# line exports them), used as "$$CONFIG", "$$MODEL", "$${PORT:-...}" and $$ARGS: the shell splits ARGS into words,
# never runs them. CONFIG (default configs/default.yaml) is the training config `make train` trains with, whose
# mlflow.* keys name the store (`make ui`, `make serve`) and the model served unless MODEL is given (its champion).
# The Python entry points set the run environment (offline models, no telemetry) themselves; `mlflow ui` and uvicorn
# are started through `python -m paper_areas.core.environment`, which sets it too.
# Commands found on PATH (mlflow, uvicorn) are the venv's own.
export PATH := $(abspath $(VENV))/bin:$(PATH)
RUN := $(PY) -m paper_areas.core.environment
TRACKING := $(PY) -m paper_areas.tracking $${CONFIG:+--config "$$CONFIG"}

.PHONY: setup train test ui serve lint clean

# Two stamps: `make train` needs the core install only; `make test` adds the spark and dev extras.
$(CORE): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e .
	@touch $(CORE)

$(FULL): $(CORE)
	$(PY) -m pip install -q -e '.[spark,dev]'
	@touch $(FULL)

# Headless Chromium for the browser tests: Debian's package, installed by `make test` when missing (as root, as CI
# runs), never by a test.
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

setup: $(FULL) $(CHROMIUM)

train: $(CORE)
	$(PY) train.py $${CONFIG:+--config "$$CONFIG"} $$ARGS

# Two pytest workers, each test file on one worker (its module fixtures built once): ~10% faster than one process
# on 2 cores, measured on the whole suite (839 s vs 934 s), which keeps CI under 20 minutes.
test: $(FULL) $(CHROMIUM)
	$(PY) -m pytest -q -n 2 --dist loadfile $$ARGS

# The store is MLFLOW_TRACKING_URI when set, else CONFIG's mlflow.tracking_uri: `python -m paper_areas.tracking`
# applies that rule.
ui: $(CORE)
	@uri="$$($(TRACKING))" && echo "MLflow UI over $$uri on http://127.0.0.1:$${PORT:-5000}" && \
		exec $(RUN) mlflow ui --backend-store-uri "$$uri" --host 127.0.0.1 --port "$${PORT:-5000}"

# MLflow's scoring app (the protocol of `mlflow models serve`) with paper_areas/prediction/serving.py's request limits;
# the model is MODEL, else CONFIG's champion (`python -m paper_areas.tracking --model` prints the store, then it).
serve: $(CORE)
	@found="$$($(TRACKING) --model $${MODEL:+"$$MODEL"})" && { read -r uri && read -r model; } <<< "$$found" && \
		echo "serving $$model from $$uri" && MLFLOW_TRACKING_URI="$$uri" PAPER_AREAS_MODEL="$$model" exec $(RUN) \
		$(PY) -m uvicorn --factory paper_areas.prediction.serving:scoring_app --host 127.0.0.1 --port "$${PORT:-5001}"

lint: $(FULL)
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache
