#!/usr/bin/env bash
# Sets up everything the workspace needs on a fresh Debian machine, idempotently:
# Debian's GL/USB libraries (offscreen rendering, pyrealsense2) and a Python 3.11 venv in .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${OMNIRESET_VENV:-.venv}
PYTHON=${OMNIRESET_PYTHON:-python3.11}

apt_packages=(libosmesa6 libegl1 libgl1-mesa-dri libusb-1.0-0)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "[bootstrap] installing Debian packages: ${missing[*]}"
  if [[ $(id -u) -eq 0 ]]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

stamp="$VENV/.requirements.sha256"
want=$(cat requirements.txt training/pyproject.toml | sha256sum | cut -d' ' -f1)
if [[ ! -x "$VENV/bin/python" ]] || [[ "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  echo "[bootstrap] creating $VENV with $PYTHON and installing requirements.txt (about 1-2 min)"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r requirements.txt 2>&1 \
    | grep -v "is ignored: it is neither a file nor a directory" || true
  # The training project imports the core and the twin from this checkout (no index lookup for them).
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps \
    -e src/omnireset_core -e src/omnireset_sim -e training
  "$VENV/bin/python" -c "import mujoco, torch, rclpy, numpy, rsl_rl, omnireset_training"
  echo "$want" > "$stamp"
fi
echo "[bootstrap] environment ready: $VENV"
