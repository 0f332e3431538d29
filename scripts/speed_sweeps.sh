#!/usr/bin/env bash
# The journal's training-speed sweeps (iteration 9) on our builtin qwen2.5-0.5b-shape: each is a preset of
# scripts/sweep.py (configs/sweeps/NAME.yaml, on the speed_benchmark recipe), run here with this machine's settings.
#
#   scripts/speed_sweeps.sh batch|input|draws|mixed|packing|liger|all [extra finetuning.py flags...]
#
# Environment: MODEL (default qwen2.5-0.5b-shape; a local HF folder works too), NPROC (processes per run,
# default 1; the journal used 2 GPUs), OUT (default runs/sweeps), STEPS (optimizer steps per point, default 30),
# PYTHON (default .venv/bin/python if present, else python), SWEEP_FLAGS (extra scripts/sweep.py flags, e.g.
# "--dry-run" or "--timeout-s 900"). Results: $OUT/<name>/results.csv and PNGs.
set -euo pipefail
cd "$(dirname "$0")/.."

MODEL=${MODEL:-qwen2.5-0.5b-shape}
NPROC=${NPROC:-1}
OUT=${OUT:-runs/sweeps}
STEPS=${STEPS:-30}
if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python; fi
fi
SWEEPS=(batch input draws mixed packing liger)
name=${1:?usage: $0 ${SWEEPS[*]// /|}|all [finetuning flags...]}
shift
extra=("$@")

sweep() {  # sweep NAME: the preset, with the batch sweep also on NPROC processes and the others on NPROC only
  local processes=$NPROC
  [[ $1 == batch ]] && processes="1,$NPROC"
  # shellcheck disable=SC2086  # SWEEP_FLAGS is a list of flags
  "$PYTHON" scripts/sweep.py --preset "$1" --output-dir "$OUT/$1" --n-processes "$processes" ${SWEEP_FLAGS:-} \
    -- --model-path "$MODEL" --max-steps "$STEPS" --logging-steps 5 ${extra[@]+"${extra[@]}"}
}

case "$name" in
  all) for s in "${SWEEPS[@]}"; do sweep "$s"; done ;;
  batch|input|draws|mixed|packing|liger) sweep "$name" ;;
  *) echo "unknown sweep: $name (${SWEEPS[*]} or all)" >&2; exit 2 ;;
esac
