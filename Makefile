# The two commands of the README, each setting up everything it needs on a fresh machine:
#   make demo   runs the MuJoCo twin of the cell under the 500 Hz controller (plot + video in outputs/)
#   make test   builds the colcon workspace and runs every package's tests (plus core on Python 3.12)
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
VENV ?= .venv
ENV := source $(VENV)/bin/activate && export MUJOCO_GL=$${MUJOCO_GL:-egl} OMP_WAIT_POLICY=PASSIVE
COLCON_DIRS := --build-base build --install-base install
WS := $(ENV) && source install/setup.bash
# A Python 3.12 interpreter: pyenv's if there is one, else the one on PATH.
PY312 ?= $(or $(lastword $(sort $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12))),python3.12)

.PHONY: demo test setup build test-colcon test-core-py312 bench

setup:
	bash scripts/bootstrap.sh

build: setup
	$(ENV) && colcon build $(COLCON_DIRS) --base-paths src

demo: build
	$(WS) && omnireset-twin-demo --output outputs/demo

test-colcon: build
	$(WS) && colcon test $(COLCON_DIRS) --base-paths src --event-handlers console_direct+ \
	  && colcon test-result --test-result-base build --verbose \
	  && python scripts/test_summary.py build

# The core is pip-installable on its own: check it on Python 3.12 in a throwaway venv.
test-core-py312:
	rm -rf /tmp/omnireset-core-py312
	$(PY312) -m venv /tmp/omnireset-core-py312
	/tmp/omnireset-core-py312/bin/pip install -q --disable-pip-version-check ./src/omnireset_core pytest 2>&1 \
	  | grep -v "is ignored: it is neither" || true
	cd /tmp && /tmp/omnireset-core-py312/bin/python -m pytest -q -p no:cacheprovider $(CURDIR)/src/omnireset_core/test

test: test-colcon test-core-py312

bench: build
	$(WS) && python src/omnireset_sim/benchmarks/bench_loop.py && python src/omnireset_sim/benchmarks/bench_twin.py \
	  && python src/omnireset_core/benchmarks/bench_control.py && python src/omnireset_core/benchmarks/bench_policy.py
