#!/usr/bin/env bash
# The README's test command: set up both environments, lint, then run every test this machine can run.
#   .venv          all tests except the `blender` ones (gpu tests skip themselves without CUDA)
#   the wheel      scripts/test_wheel.sh: build it, install it into a fresh venv, and run generate, serve and
#                  render videos from outside the checkout (under a minute here); SKIP_WHEEL_CHECK=1 leaves it out
#   .venv-blender* the `blender` tests, against real bpy 4.2, 4.5 and 5.0.1 headless, one venv each
#                  (scripts/test_blender_versions.sh makes the 4.x ones on first use)
# Extra arguments go to both pytest runs (e.g. -x, -k NAME).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "[test] ruff"
.venv/bin/ruff check .
echo "[test] pytest (.venv)"
.venv/bin/python -m pytest -m "not blender" "$@"
if [[ "${SKIP_WHEEL_CHECK:-0}" != 1 ]]; then
  echo "[test] the wheel, installed as users install it (scripts/test_wheel.sh)"
  bash scripts/test_wheel.sh
fi
echo "[test] pytest (bpy 4.2 LTS, 4.5 LTS, 5.0: one venv each)"
exec bash scripts/test_blender_versions.sh -- "$@"
