#!/usr/bin/env bash
# The README's test command: set up both environments, lint, then run every test this machine can run.
#   .venv          all tests except the `blender` ones (gpu tests skip themselves without CUDA)
#   .venv-blender  the `blender` tests, against real bpy 5.0.1 headless
# Extra arguments go to both pytest runs (e.g. -x, -k NAME).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "[test] ruff"
.venv/bin/ruff check .
echo "[test] pytest (.venv)"
.venv/bin/python -m pytest -m "not blender" "$@"
echo "[test] pytest (.venv-blender, bpy)"
set +e
.venv-blender/bin/python -m pytest -m blender tests/blender "$@"
rc=$?
set -e
if [[ $rc -eq 5 ]]; then echo "[test] no blender tests collected"; exit 1; fi
exit $rc
