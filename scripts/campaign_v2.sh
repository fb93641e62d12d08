#!/usr/bin/env bash
# Generator v2 training campaign on corpus v2, every stage resumable: rerun the script after an interruption
# and each trainer continues from its last checkpoint (finished stages are skipped). State lives outside the
# work tree, in $RUNS (default ~/mogents-runs/v2); only exported model folders are committed.
#   bash scripts/campaign_v2.sh [stage ...]     stages: data import vq mask_small residual_small length export
#                                               evaluator mask_large residual_large mask_side residual_side
#                                               (default: the first nine, in order)
# Long: run it with nohup and a log file. Each stage's progress bar and metrics.jsonl show where it is.
# SCALE=0.3 trains every generator stage for 0.3x its config's steps (a shorter campaign: give it its own RUNS);
# STEPS_<stage>=N (e.g. STEPS_vq=2000, STEPS_mask_small=6000) sets one stage's steps outright.
# Across machines: WARM=FOLDER with the `import` stage rebuilds torch checkpoints from a committed generator folder
# into $RUNS/init (its VQ becomes $RUNS/vq, so the vq stage is skipped), and INIT_<stage>=PATH (e.g.
# INIT_mask_side=$RUNS/init/mask/model.pt) starts that stage from those weights instead of from scratch.
# THREADS=N gives each trainer N torch threads (two stages side by side on 2 cores: THREADS=1 each).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-$HOME/mogents-runs/v2}
DATA=${DATA:-$RUNS/data/corpus_v2}
CLIPS=${CLIPS:-20000}
M=".venv/bin/mogents"
THREADS_ARG=()
[[ -n "${THREADS:-}" ]] && THREADS_ARG=(--threads "$THREADS")
SCALE=${SCALE:-1}
steps_of() {  # STEPS_<stage> when set, else the config's [train] steps times SCALE
  local override="STEPS_$(basename "$1" .toml)"
  if [[ -n "${!override:-}" ]]; then echo "${!override}"; return; fi
  .venv/bin/python -c "import sys, tomllib; c = tomllib.load(open(sys.argv[1], 'rb'));
print(max(1, round(c['train']['steps'] * float(sys.argv[2]))))" "$1" "$SCALE"
}
mkdir -p "$RUNS"
stages=("$@")
[[ ${#stages[@]} -gt 0 ]] || stages=(data vq mask_small residual_small length export evaluator mask_large residual_large export)

done_run() { [[ -f "$1/model.pt" ]]; }
train() {  # kind config run [extra args]
  local kind=$1 cfg=$2 run=$3; shift 3
  if done_run "$run"; then echo "[campaign] $run done"; return; fi
  local init="INIT_$(basename "$cfg" .toml)"
  [[ -n "${!init:-}" ]] && set -- "$@" --set "train.init=${!init}"
  echo "[campaign] train $kind -> $run ($(date -u +%H:%M))"
  $M train "$kind" "${THREADS_ARG[@]}" --config "$cfg" --data "$DATA" --out "$run" --steps "$(steps_of "$cfg")" \
    --set "model.vq=$RUNS/vq/model.pt" "$@" 2>&1 | tr '\r' '\n' | grep -v "it/s\]$" || true
  done_run "$run" || { echo "[campaign] $run did not finish"; exit 1; }
}

for stage in "${stages[@]}"; do
  case $stage in
    data)
      if [[ -f "$DATA/all.txt" ]]; then echo "[campaign] $DATA exists"; else
        $M data synth --out "$DATA" --clips "$CLIPS" --seed 0 --workers 2; fi ;;
    import)
      [[ -n "${WARM:-}" ]] || { echo "[campaign] the import stage needs WARM=GENERATOR_FOLDER"; exit 2; }
      [[ -f "$RUNS/init/mask/model.pt" ]] || $M export checkpoints "$WARM" --out "$RUNS/init"
      if [[ ! -f "$RUNS/vq/model.pt" ]]; then mkdir -p "$RUNS/vq"; cp "$RUNS/init/vq/model.pt" "$RUNS/vq/model.pt"; fi ;;
    evaluator) [[ -f "$RUNS/evaluator/model.pt" ]] || $M train evaluator "${THREADS_ARG[@]}" --config training/configs/v2/evaluator.toml \
                 --data "$DATA" --out "$RUNS/evaluator" ;;
    vq) [[ -f "$RUNS/vq/model.pt" ]] || $M train vq "${THREADS_ARG[@]}" --config training/configs/v2/vq.toml --data "$DATA" \
          --out "$RUNS/vq" --steps "$(steps_of training/configs/v2/vq.toml)" ;;
    mask_small|mask_large|mask_side) train mask "training/configs/v2/${stage}.toml" "$RUNS/$stage" ;;
    residual_small|residual_large|residual_side) train residual "training/configs/v2/${stage}.toml" "$RUNS/$stage" ;;
    length) [[ -f "$RUNS/length/model.pt" ]] || $M train length "${THREADS_ARG[@]}" --config training/configs/v2/length.toml \
              --data "$DATA" --out "$RUNS/length" --steps "$(steps_of training/configs/v2/length.toml)" ;;
    export)
      for size in small large side; do
        # a size without its own residual run shares the small one (the residual reads only the VQ's tokens)
        residual="$RUNS/residual_$size"; done_run "$residual" || residual="$RUNS/residual_small"
        if done_run "$RUNS/mask_$size" && done_run "$residual" && [[ ! -f "$RUNS/export_$size/generator.json" ]]; then
          $M export onnx --mask "$RUNS/mask_$size/model.pt" --residual "$residual/model.pt" \
            --length "$RUNS/length/model.pt" --out "$RUNS/export_$size" --name "mogents-corpus-v2-$size" --decode-steps 5
          .venv/bin/python -m training.export.quantize_text "$RUNS/export_$size"   # int8 text encoder (91 -> 23 MB)
        fi
      done ;;
    *) echo "unknown stage $stage"; exit 2 ;;
  esac
done
echo "[campaign] finished: ${stages[*]}"
