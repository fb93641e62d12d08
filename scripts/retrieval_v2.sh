#!/usr/bin/env bash
# Retrieval models on corpus v2 (Generator v2 issue): LAVIMO 3-modal (the default retrieval model) and the v2
# evaluator exported for text-only search, on a corpus v2 subset of corpus4k's size, every stage skipped when
# its output exists. State under $RUNS (default ~/mogents-runs/v2); only the exported folders are committed.
#   bash scripts/retrieval_v2.sh [stage ...]   stages: subset render lavimo export_lavimo export_evaluator eval
# THREADS=N gives the trainer N torch threads. Rendering is the long part (8,000 clips x 8 frames at 64x64).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-$HOME/mogents-runs/v2}
FULL=${FULL:-$RUNS/data/corpus_v2}
DATA=$RUNS/data/corpus_v2_4k
FRAMES=$RUNS/data/corpus_v2_4k_frames64
M=".venv/bin/mogents"
THREADS_ARG=()
[[ -n "${THREADS:-}" ]] && THREADS_ARG=(--threads "$THREADS")
stages=("$@")
[[ ${#stages[@]} -gt 0 ]] || stages=(subset render lavimo export_lavimo export_evaluator eval)
mkdir -p "$RUNS/eval"
for stage in "${stages[@]}"; do
  case $stage in
    subset) [[ -f "$DATA/all.txt" ]] || .venv/bin/python -m training.corpus.subset "$FULL" "$DATA" --originals 4000 ;;
    render) $M render videos "$DATA" --out "$FRAMES" --resolution 64 --sample-frames 8 --seed 0 ;;
    lavimo) [[ -f "$RUNS/lavimo3/model.pt" ]] || $M train lavimo "${THREADS_ARG[@]}" --config training/configs/v2/lavimo3.toml \
              --out "$RUNS/lavimo3" --set "data.root=$DATA" "data.frames=$FRAMES" ;;
    export_lavimo) [[ -f "$RUNS/export_lavimo/retrieval.json" ]] || $M export retrieval "$RUNS/lavimo3/model.pt" \
                     --out "$RUNS/export_lavimo" --name mogents-corpus-v2-lavimo --eval-data "$DATA" ;;
    export_evaluator) [[ -f "$RUNS/export_evaluator/retrieval.json" ]] || $M export retrieval \
                        training/eval/checkpoints/evaluator_v2.pt --out "$RUNS/export_evaluator" \
                        --name mogents-corpus-v2-evaluator --eval-data "$DATA" ;;
    eval) [[ -f "$RUNS/eval/retrieval_v2.json" ]] || $M eval retrieval --model "$RUNS/export_lavimo" \
            --model "$RUNS/export_evaluator" --model backend/models/retrieval_default \
            --model backend/models/retrieval_evaluator --data "$DATA" --videos "$FRAMES" \
            --json "$RUNS/eval/retrieval_v2.json" --markdown "$RUNS/eval/retrieval_v2.md" ;;
    *) echo "unknown stage $stage"; exit 2 ;;
  esac
done
echo "[retrieval] finished: ${stages[*]}"
