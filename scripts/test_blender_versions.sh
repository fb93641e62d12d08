#!/usr/bin/env bash
# Run the add-on's `blender` tests (tests/blender) under several Blender versions, one venv per version with
# the bpy wheel from PyPI standing in for that Blender, and print a pass/fail table.
#
#   scripts/test_blender_versions.sh                 4.2 LTS, 4.5 LTS and 5.0: the set CI runs (scripts/test.sh)
#   scripts/test_blender_versions.sh 4.3 4.5         any of 4.2 4.3 4.4 4.5 5.0
#   scripts/test_blender_versions.sh 4.2 -- -x -k keys   arguments after `--` go to pytest
#
# Venvs: .venv-blender42, .venv-blender43, ... (5.0 uses .venv-blender, the one scripts/setup.sh makes).
# A missing venv is created (about 400 MB of downloads each, ~35 s here; pip's cache is $PIP_CACHE_DIR,
# default ~/.cache/pip, outside the repo), an existing one is kept unless its bpy differs from the pin below,
# so a second run starts testing at once. The end-to-end tests also need the backend venv (.venv,
# scripts/setup.sh); without it they skip. Each run's output goes to the console and to
# out/blender_versions/bpy-VERSION.log.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}  # bpy 4.2-5.0 wheels exist for CPython 3.11 only
export PIP_DISABLE_PIP_VERSION_CHECK=1
export PIP_CACHE_DIR=${PIP_CACHE_DIR:-$HOME/.cache/pip}

declare -A PIN=([4.2]=4.2.23 [4.3]=4.3.0 [4.4]=4.4.0 [4.5]=4.5.15 [5.0]=5.0.1)
DEFAULT=(4.2 4.5 5.0)  # what CI runs; the README's support line names these

versions=()
while [[ $# -gt 0 && "$1" != "--" ]]; do versions+=("$1"); shift; done
[[ "${1:-}" == "--" ]] && shift
pytest_args=("$@")
[[ ${#versions[@]} -eq 0 ]] && versions=("${DEFAULT[@]}")
for v in "${versions[@]}"; do
  if [[ -z "${PIN[$v]:-}" ]]; then
    echo "unknown Blender version '$v'; choose from: $(printf '%s\n' "${!PIN[@]}" | sort -V | xargs)" >&2
    exit 2
  fi
done
command -v "$PY" >/dev/null || { echo "$PY not found (bpy needs CPython 3.11); set PYTHON=..." >&2; exit 2; }

venv_of() { [[ "$1" == 5.0 ]] && echo .venv-blender || echo ".venv-blender${1/./}"; }

ensure_venv() {  # VERSION -> a venv whose bpy is the pinned one
  local venv pin have
  venv=$(venv_of "$1")
  pin=${PIN[$1]}
  have=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("bpy"))' 2>/dev/null || true)
  if [[ "$have" == "$pin" ]] && "$venv/bin/python" -c 'import pytest, numpy, scipy' 2>/dev/null; then
    return 0
  fi
  echo "[versions] $venv: installing bpy==$pin"
  [[ -x "$venv/bin/python" ]] || "$PY" -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q "bpy==$pin" "numpy<2" "scipy<1.15" "pytest>=8"
}

summary_count() {  # LOG WORD-REGEX -> the number before it in pytest's last summary line (0 if absent)
  local line
  line=$(grep -E '[0-9]+ (passed|failed|skipped|errors?|deselected)' "$1" | tail -1 || true)
  echo "$line" | grep -oE "[0-9]+ $2" | grep -oE '^[0-9]+' || echo 0
}

mkdir -p out/blender_versions
rows=()
status=0
for v in "${versions[@]}"; do
  ensure_venv "$v"
  venv=$(venv_of "$v")
  log="out/blender_versions/bpy-${PIN[$v]}.log"
  echo "[versions] bpy ${PIN[$v]}: pytest tests/blender (log: $log)"
  start=$SECONDS
  set +e
  "$venv/bin/python" -m pytest -m blender tests/blender -q -p no:cacheprovider ${pytest_args[@]+"${pytest_args[@]}"} \
    2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  set -e
  verdict=$([[ $rc -eq 0 ]] && echo PASS || echo "FAIL (rc $rc$([[ $rc -eq 5 ]] && echo ': no tests collected'))")
  [[ $rc -eq 0 ]] || status=1
  rows+=("$(printf '%-7s %-8s %7s %7s %8s %7s %7s  %s' "$v" "${PIN[$v]}" "$(summary_count "$log" passed)" \
    "$(summary_count "$log" failed)" "$(summary_count "$log" skipped)" "$(summary_count "$log" 'errors?')" \
    "$((SECONDS - start))s" "$verdict")")
done

echo
printf '%-7s %-8s %7s %7s %8s %7s %7s  %s\n' Blender bpy passed failed skipped errors time result
for row in "${rows[@]}"; do echo "$row"; done
exit $status
