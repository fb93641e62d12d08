#!/usr/bin/env bash
# The package as users install it (issue 18 §2): build the wheel, install it into a fresh venv, and from a folder
# outside the checkout run what a user runs first:
#   1. mogents generate              the shipped model, ONNX Runtime from the wheel's own dependencies
#   2. mogents serve                 /healthz, then /v1/health and one /v1/generate with the token of its state
#                                    file (and a 401 without it); SIGTERM stops it and removes the state file
#   3. mogents render videos         one motion at 64x64 with Workbench, in the Blender a user points it at
#   4. the CPU-only runtime          onnxruntime-gpu swapped for onnxruntime (what macOS and ARM install), generate
# Every step checks its output; any failure stops the script with a non-zero status. scripts/test.sh runs it.
#
# Blender: an installed package cannot find a checkout's .venv-blender, so, like a user, the check names one:
# $MOGENTS_BLENDER (a blender binary or a Python with bpy), default this checkout's .venv-blender/bin/python.
# The wheel is built from the checkout's files (tracked and untracked, not ignored) copied to a temporary folder,
# with .venv's setuptools, so the checkout gets no build/ folder. pip's cache: $PIP_CACHE_DIR (default
# ~/.cache/pip, outside the repo). KEEP_WHEEL_WORK=1 keeps the temporary folder.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
export PIP_DISABLE_PIP_VERSION_CHECK=1
export PIP_CACHE_DIR=${PIP_CACHE_DIR:-$HOME/.cache/pip}
BLENDER=${MOGENTS_BLENDER:-$REPO/.venv-blender/bin/python}
[[ -x .venv/bin/python ]] || { echo "[wheel] .venv is missing: run scripts/setup.sh first" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mogents-wheel.XXXXXX")
SERVER_PID=
cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then kill -KILL "$SERVER_PID" 2>/dev/null || true; fi
  if [[ "${KEEP_WHEEL_WORK:-0}" == 1 ]]; then echo "[wheel] kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
START=$SECONDS
step() { echo "[wheel] $* (t=$((SECONDS - START)) s)"; }
fail() { echo "[wheel] FAILED: $*" >&2; exit 1; }

step "build the wheel"
mkdir -p "$WORK/src" "$WORK/dist"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  if [[ -e "$f" ]]; then printf '%s\0' "$f"; fi  # tracked files deleted in the working tree are left out
done | tar --null -T - -cf - | tar -xf - -C "$WORK/src"
.venv/bin/pip wheel -q --no-deps --no-build-isolation -w "$WORK/dist" "$WORK/src" >"$WORK/build.log" 2>&1 \
  || { cat "$WORK/build.log"; fail "the wheel did not build"; }
WHEEL=$(echo "$WORK"/dist/mogents_studio-*.whl)
[[ -f "$WHEEL" ]] || fail "no wheel in $WORK/dist"
echo "[wheel] $(basename "$WHEEL"): $(du -m "$WHEEL" | cut -f1) MB"

step "install it into a fresh venv"
"$PY" -m venv "$WORK/venv"
VENV=$WORK/venv
"$VENV/bin/pip" install -q "$WHEEL" >"$WORK/install.log" 2>&1 || { cat "$WORK/install.log"; fail "pip install"; }

# From here on nothing may come from the checkout: a folder outside it, the user's folders in $WORK.
mkdir -p "$WORK/user" "$WORK/config" "$WORK/home"
cd "$WORK/user"
export MOGENTS_CONFIG_DIR=$WORK/config MOGENTS_HOME=$WORK/home
unset MOGENTS_TOKEN PYTHONPATH
"$VENV/bin/python" - "$VENV" "$REPO" <<'EOF'
import sys
from pathlib import Path

import backend
from backend.render.blender_worker import WORKER_SCRIPT

venv, repo = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
package = Path(backend.__file__).resolve().parent
assert package.is_relative_to(venv) and not package.is_relative_to(repo), package
assert WORKER_SCRIPT.is_file() and WORKER_SCRIPT.is_relative_to(package), WORKER_SCRIPT
print(f"[wheel] backend from {package}")
EOF

check_motion() {  # FILE SECONDS -> a motion of about SECONDS at 20 fps, finite joints (T, 22, 3)
  "$VENV/bin/python" - "$1" "$2" <<'EOF'
import sys

import numpy as np

with np.load(sys.argv[1]) as z:
    joints, features = z["joints"], z["features"]
frames = round(float(sys.argv[2]) * 20)
assert joints.ndim == 3 and joints.shape[1:] == (22, 3) and abs(len(joints) - frames) <= 1, joints.shape
assert features.shape[1] == 263 and np.isfinite(joints).all() and np.ptp(joints[:, 0], axis=0).max() > 0.05
print(f"[wheel] {sys.argv[1]}: {joints.shape[0]} frames, finite, the root moves")
EOF
}

step "mogents generate"
"$VENV/bin/mogents" generate "a person walks forward" --seconds 2 --seed 3 -o walk.npz 2>/dev/null \
  || fail "mogents generate"
check_motion walk.npz 2

step "mogents serve"
"$VENV/bin/mogents" serve --port 0 >"$WORK/serve.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 240); do
  [[ -f "$WORK/config/server.json" ]] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/serve.log"; fail "the server exited before listening"; }
  sleep 0.5
done
[[ -f "$WORK/config/server.json" ]] || { cat "$WORK/serve.log"; fail "no state file after 120 s"; }
"$VENV/bin/python" - "$WORK/config/server.json" <<'EOF'
import json
import sys
import urllib.error
import urllib.request

state = json.load(open(sys.argv[1]))
url, token = state["url"], state["token"]


def call(path, body=None, token=token):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


status, _ = call("/healthz", token=None)
assert status == 200, status
status, health = call("/v1/health")
assert status == 200, (status, health)
status, refused = call("/v1/generate", {"prompt": "a person walks"}, token=None)
assert status == 401, (status, refused)
status, result = call("/v1/generate", {"prompt": "a person jumps up", "seconds": 2.0, "seed": 1})
assert status == 200, (status, result)
(motion,) = result["motions"]
frames = len(motion["joints"])
assert abs(frames - 40) <= 1 and len(motion["joints"][0]) == 22, frames
print(f"[wheel] {url}: healthz 200, /v1/health 200 ({health.get('provider')}), generate without the token "
      f"401, with it 200 ({frames} frames)")
EOF
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" || { cat "$WORK/serve.log"; fail "the server did not exit 0 on SIGTERM"; }
SERVER_PID=
[[ ! -e "$WORK/config/server.json" ]] || fail "the state file outlived the server"

step "mogents render videos"
if [[ -x "$BLENDER" ]]; then
  mkdir -p motions && cp walk.npz motions/
  "$VENV/bin/mogents" render videos motions --out videos --resolution 64 --blender "$BLENDER" 2>/dev/null \
    | tee "$WORK/render.log"
  grep -q "1 rendered, 0 already finished, 0 failed" "$WORK/render.log" || fail "mogents render videos"
  [[ -s videos/walk.mp4 ]] || fail "no videos/walk.mp4"
  echo "[wheel] videos/walk.mp4: $(stat -c %s videos/walk.mp4) bytes"
elif [[ "${SKIP_BLENDER_VENV:-0}" == 1 ]]; then
  echo "[wheel] no Blender at $BLENDER (SKIP_BLENDER_VENV=1): render not checked"
else
  fail "no Blender at $BLENDER (set MOGENTS_BLENDER, or run scripts/setup.sh)"
fi

step "the CPU-only onnxruntime (macOS, ARM)"
ORT_VERSION=$("$VENV/bin/python" -c 'import onnxruntime; print(onnxruntime.__version__)')
"$VENV/bin/pip" uninstall -q -y onnxruntime-gpu
"$VENV/bin/pip" install -q "onnxruntime==$ORT_VERSION" >"$WORK/ort.log" 2>&1 \
  || { cat "$WORK/ort.log"; fail "pip install onnxruntime==$ORT_VERSION"; }
"$VENV/bin/python" -c '
import importlib.metadata as m, onnxruntime as ort
names = {d.metadata["Name"] for d in m.distributions()}
assert "onnxruntime" in names and "onnxruntime-gpu" not in names, names
assert "CUDAExecutionProvider" not in ort.get_available_providers()
print("[wheel] onnxruntime", ort.__version__, ort.get_available_providers())'
"$VENV/bin/mogents" generate "a person walks forward" --seconds 2 --seed 3 -o walk_cpu.npz 2>/dev/null \
  || fail "mogents generate with onnxruntime"
check_motion walk_cpu.npz 2

step "passed"
