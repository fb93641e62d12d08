#!/usr/bin/env bash
# Measure the Generator v2 campaign (scripts/campaign_v2.sh) for its model card. Every result goes under
# $RUNS/eval as JSON; rerunning skips what exists (the protocol runs also resume per repeat via --partial).
#   bash scripts/campaign_v2_eval.sh [part ...]   parts: split real v2_small v2_large v2_side v1 prompts curves bench
# (v2_shipped: the committed default, backend/models/default, for a side-by-side run with a new export)
# The protocol runs on `test_eval`, every EVAL_EVERY-th line of the corpus's test split (default 12: 500 of
# 6,000 clips; the whole split costs 12x the CPU time per repeat), with 5 repeats, MultiModality over 20
# captions x 10 samples. Parts are independent: two shells can run different parts side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-$HOME/mogents-runs/v2}
DATA=${DATA:-$RUNS/data/corpus_v2}
EVAL=$RUNS/eval
EVALUATOR=${EVALUATOR:-$RUNS/evaluator/model.pt}
V1=${V1:-backend/models/generator_v1}
REPEATS=${REPEATS:-5}
M=".venv/bin/mogents"
THREADS_ARG=()  # EVAL_THREADS=N: ONNX Runtime threads per evaluation (two parts side by side: 1 each)
[[ -n "${EVAL_THREADS:-}" ]] && THREADS_ARG=(--threads "$EVAL_THREADS")
mkdir -p "$EVAL"
parts=("$@")
[[ ${#parts[@]} -gt 0 ]] || parts=(split real v2_small v2_large v1 prompts curves bench)

protocol() {  # name json [generator args...]
  local name=$1 out=$2; shift 2
  [[ -f "$out" ]] && { echo "[eval] $out exists"; return; }
  $M eval generation --data "$DATA" --split test_eval --evaluator "$EVALUATOR" --repeats "$REPEATS" \
    --mm-texts 20 --mm-samples 10 --name "$name" --partial "$out.partial" --json "$out" "${THREADS_ARG[@]}" "$@"
}

for part in "${parts[@]}"; do
  case $part in
    split) awk -v n="${EVAL_EVERY:-12}" 'NR % n == 1' "$DATA/test.txt" > "$DATA/test_eval.txt"
           wc -l "$DATA/test_eval.txt" ;;
    real) [[ -f "$EVAL/floor.json" ]] || $M eval generation --data "$DATA" --split test_eval \
            --evaluator "$EVALUATOR" --repeats "$REPEATS" --baseline random-train-clip --json "$EVAL/floor.json" ;;
    v2_shipped) protocol "shipped default" "$EVAL/v2_shipped.json" --model backend/models/default ;;
    v2_small|v2_large|v2_side) protocol "mogents-corpus-v2-${part#v2_}" "$EVAL/$part.json" --model "$RUNS/export_${part#v2_}" ;;
    v1) protocol "mogents-corpus-small (v1)" "$EVAL/v1.json" --model "$V1" ;;
    prompts)
      for size in small large side; do
        [[ -f "$RUNS/export_$size/generator.json" ]] || continue
        [[ -f "$EVAL/prompts_$size.json" ]] || $M eval prompts --model "$RUNS/export_$size" --seeds 3 \
          --corpus "$DATA" --json "$EVAL/prompts_$size.json" --quiet "${THREADS_ARG[@]}"
      done ;;
    curves) .venv/bin/python -m training.eval.curves --run small="$RUNS/mask_small" --run large="$RUNS/mask_large" \
              --residual "$RUNS/residual_small/model.pt" --length "$RUNS/length/model.pt" --data "$DATA" \
              --split test_eval --evaluator "$EVALUATOR" --every "${CURVE_EVERY:-8}" --json "$EVAL/curves.json" \
              --png "$EVAL/curves.png" --reference "$EVAL/floor.json" ;;
    bench) $M bench generate --model "$V1" --model "$RUNS/export_small" --model "$RUNS/export_large" \
             --batch 1 --frames 196 --repeats 10 --json "$EVAL/bench.json" ;;
    *) echo "unknown part $part"; exit 2 ;;
  esac
done
echo "[eval] finished: ${parts[*]}"
