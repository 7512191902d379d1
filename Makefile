# The two commands of the README, each setting up everything it needs on a fresh machine:
#   make demo   the peg stack (controller, cameras, policy, supervisor) on the MuJoCo twin -> outputs/peg_stack
#   make test   lints (ruff) and type-checks every package (mypy), builds the colcon workspace, runs every package's tests, the training tests,
#               the RGB student end to end at toy scale, the core on Python 3.12, and the Isaac Lab backend on CPU (its own Python 3.12 env)
# Also: make twin-demo (scripted pick-and-insert through the 500 Hz loop, no ROS), make bench.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
VENV ?= .venv
ENV := source $(VENV)/bin/activate && export MUJOCO_GL=$${MUJOCO_GL:-egl} OMP_WAIT_POLICY=PASSIVE \
  ROS_AUTOMATIC_DISCOVERY_RANGE=$${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}
COLCON_DIRS := --build-base build --install-base install
WS := $(ENV) && source install/setup.bash
# A Python 3.12 interpreter: pyenv's if there is one, else the one on PATH.
PY312 ?= $(or $(lastword $(sort $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12))),python3.12)

ISAACLAB_VENV ?= .venv-isaaclab

.PHONY: demo twin-demo test setup setup-isaaclab build lint test-colcon test-training test-student test-core-py312 test-isaaclab bench

setup:
	bash scripts/bootstrap.sh

# Isaac Lab 3.0 (kit-less, Newton) in .venv-isaaclab: about 7 min and 7.8 GB the first time.
setup-isaaclab:
	OMNIRESET_PYTHON312=$(PY312) OMNIRESET_ISAACLAB_VENV=$(ISAACLAB_VENV) bash scripts/bootstrap_isaaclab.sh

build: setup
	$(ENV) && colcon build $(COLCON_DIRS) --base-paths src

# DEMO_ARGS: e.g. "--episodes 1 --duration 40 --require-success" (CI)
demo: build
	$(WS) && omnireset-peg-demo --output outputs/peg_stack $(DEMO_ARGS)

twin-demo: build
	$(WS) && omnireset-twin-demo --output outputs/twin_demo

# Packages one after another: the 500 Hz controller and stack tests check real-time periods on 2 cores.
test-colcon: build
	$(WS) && bash scripts/check_commands.sh
	$(WS) && colcon test $(COLCON_DIRS) --base-paths src --executor sequential --event-handlers console_direct+ \
	  && colcon test-result --test-result-base build --verbose \
	  && python scripts/test_summary.py build

# The core is pip-installable on its own: check it on Python 3.12 in a throwaway venv.
test-core-py312:
	rm -rf /tmp/omnireset-core-py312
	$(PY312) -m venv /tmp/omnireset-core-py312
	/tmp/omnireset-core-py312/bin/pip install -q --disable-pip-version-check ./src/omnireset_core pytest 2>&1 \
	  | grep -v "is ignored: it is neither" || true
	cd /tmp && /tmp/omnireset-core-py312/bin/python -m pytest -q -p no:cacheprovider $(CURDIR)/src/omnireset_core/test

# ruff (ruff.toml): pyflakes and pycodestyle over every Python file of the workspace.
lint: setup
	$(ENV) && ruff check --no-cache . && mypy

test-training: setup
	$(ENV) && cd training && python -m pytest -q -p no:cacheprovider tests

# The RGB student at toy scale: rollouts -> dataset -> training -> export -> the twin through ROS at 10 Hz.
test-student: build
	$(WS) && bash scripts/student_demo.sh outputs/student_toy

test-isaaclab: setup-isaaclab
	cd training && OMP_WAIT_POLICY=PASSIVE ../$(ISAACLAB_VENV)/bin/python -m pytest -q -p no:cacheprovider tests_isaaclab

test: lint test-colcon test-training test-student test-core-py312 test-isaaclab

bench: build
	$(WS) && python src/omnireset_sim/benchmarks/bench_loop.py && python src/omnireset_sim/benchmarks/bench_twin.py \
	  && python src/omnireset_core/benchmarks/bench_control.py && python src/omnireset_core/benchmarks/bench_policy.py \
	  && python src/omnireset_core/benchmarks/bench_encoder.py --skip-compile \
	  && python training/benchmarks/bench_env.py
