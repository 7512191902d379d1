#!/usr/bin/env bash
# Sets up the Isaac Lab training environment in .venv-isaaclab (Python 3.12), idempotently:
# requirements-isaaclab.txt from PyPI, then the workspace's core, twin and training projects from
# this checkout, then the USD assets converted from the project's MJCF (no download).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${OMNIRESET_ISAACLAB_VENV:-.venv-isaaclab}
PYTHON=${OMNIRESET_PYTHON312:-python3.12}

stamp="$VENV/.requirements.sha256"
want=$(cat requirements-isaaclab.txt training/pyproject.toml | sha256sum | cut -d' ' -f1)
if [[ ! -x "$VENV/bin/python" ]] || [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  echo "[bootstrap-isaaclab] creating $VENV with $PYTHON and installing Isaac Lab 3.0 (about 7 min, 7.8 GB)"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r requirements-isaaclab.txt 2>&1 \
    | grep -v "is ignored: it is neither a file nor a directory" || true
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps \
    -e src/omnireset_core -e src/omnireset_sim -e training
  "$VENV/bin/python" -c "import isaaclab, isaaclab_newton, newton, rsl_rl, omnireset_training.isaaclab.assets"
  echo "$want" > "$stamp"
fi
"$VENV/bin/omnireset-train" isaaclab-assets 2>&1 | grep -v "^Status:" || true
"$VENV/bin/python" -c "from omnireset_training.isaaclab.assets import asset_folder, usd_paths; usd_paths(asset_folder())"
echo "[bootstrap-isaaclab] environment ready: $VENV"
