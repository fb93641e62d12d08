#!/usr/bin/env bash
# The README's test command: set up both environments, lint, then run every test this machine can run.
#   .venv          all tests except the `blender` ones (gpu tests skip themselves without CUDA)
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
echo "[test] pytest (bpy 4.2 LTS, 4.5 LTS, 5.0: one venv each)"
exec bash scripts/test_blender_versions.sh -- "$@"
