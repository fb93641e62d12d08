#!/usr/bin/env bash
# Creates (or refreshes) the two environments of DESIGN.md:
#   .venv          backend + training (torch/torchvision pair from the registry, transformers, timm, onnxruntime)
#   .venv-blender  bpy==5.0.1 + numpy<2 + pytest, standing in for Blender's own Python
# Idempotent: each venv keeps a stamp of the inputs it was built from; a second run with nothing
# changed returns in about a second.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
export PIP_DISABLE_PIP_VERSION_CHECK=1

stamp_of() { cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16; }
STAMP=$(stamp_of)

if [[ ! -f .venv/.stamp || "$(cat .venv/.stamp)" != "$STAMP" ]]; then
  echo "[setup] .venv (backend + training)"
  [[ -x .venv/bin/python ]] || "$PY" -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e ".[training,dev]"
  echo "$STAMP" > .venv/.stamp
else
  echo "[setup] .venv up to date"
fi

if [[ "${SKIP_BLENDER_VENV:-0}" != 1 ]]; then
  if [[ ! -f .venv-blender/.stamp || "$(cat .venv-blender/.stamp)" != "$STAMP" ]]; then
    echo "[setup] .venv-blender (bpy 5.0.1)"
    [[ -x .venv-blender/bin/python ]] || "$PY" -m venv .venv-blender
    .venv-blender/bin/pip install -q --upgrade pip
    .venv-blender/bin/pip install -q "bpy==5.0.1" "numpy<2" "scipy<1.15" "pytest>=8"
    echo "$STAMP" > .venv-blender/.stamp
  else
    echo "[setup] .venv-blender up to date"
  fi
fi
