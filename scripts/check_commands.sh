#!/usr/bin/env bash
# Every command the README names must run as written after the README's set-up
# (source .venv/bin/activate && source install/setup.bash): each answers --help.
set -euo pipefail
status=0
for cmd in omnireset-peg-demo omnireset-twin-demo omnireset-check-hardware omnireset-urdf omnireset-train; do
  if ! command -v "$cmd" >/dev/null; then
    echo "README command not on PATH: $cmd" >&2; status=1; continue
  fi
  if ! "$cmd" --help >/dev/null 2>&1; then
    echo "README command fails: $cmd --help" >&2; status=1; continue
  fi
  echo "ok: $cmd -> $(command -v "$cmd")"
done
exit $status
