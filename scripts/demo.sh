#!/usr/bin/env bash
# The README's main command: set up, then generate a motion from a prompt with the shipped default model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
OUT=${OUT:-out}
PROMPT=${PROMPT:-"a person walks forward"}
mkdir -p "$OUT"
.venv/bin/mogents generate "$PROMPT" --seconds 4 --seed 0 -o "$OUT/demo.npz"
.venv/bin/mogents generate "$PROMPT" --seconds 4 --seed 0 -o "$OUT/demo.bvh" --quiet
.venv/bin/mogents generate "$PROMPT" --seconds 4 --seed 0 -o "$OUT/demo.gif" --quiet
echo "wrote $OUT/demo.npz (joints, features), $OUT/demo.bvh and $OUT/demo.gif for: $PROMPT"
