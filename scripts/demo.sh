#!/usr/bin/env bash
# The README's main command: set up, then run the main job on the embedded default.
# Until the generator ships, the main job synthesises the procedural corpus and writes a preview.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
OUT=${OUT:-out}
mkdir -p "$OUT"
.venv/bin/mogents data synth --out "$OUT/corpus" --clips "${CLIPS:-500}" --seed 0 --overwrite
.venv/bin/mogents data stats "$OUT/corpus"
.venv/bin/mogents data preview "$OUT/corpus" 000000 --out "$OUT/preview.gif"
echo "wrote $OUT/corpus, $OUT/preview.gif and $OUT/preview.png"
