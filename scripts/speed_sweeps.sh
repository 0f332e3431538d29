#!/usr/bin/env bash
# The journal's training-speed sweeps (iteration 9) as scripts/sweep.py grids, on our builtin qwen2.5-0.5b-shape.
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
name=${1:?usage: $0 batch|input|draws|mixed|packing|liger|all [finetuning flags...]}
shift
# The journal's grid encoding, so tokens per sample match the journal's sweeps (flags after the name override it).
common=(--model-path "$MODEL" --batch-size 16 --max-steps "$STEPS" --logging-steps 5
        --grid-encoder "GridShapeEncoder(RowNumberEncoder(MinimalGridEncoder()))" "$@")

sweep() {  # sweep NAME [sweep.py flags...] -- (common flags follow)
  local out="$OUT/$1"
  shift
  # shellcheck disable=SC2086  # SWEEP_FLAGS is a list of flags
  "$PYTHON" scripts/sweep.py --output-dir "$out" ${SWEEP_FLAGS:-} "$@" -- "${common[@]}"
}

run() {
  case "$1" in
    # Samples/s vs per-device batch and GPUs, at the journal's 1 input of 10x10 with 5 draws.
    batch) sweep batch --per-device-train-batch-size 1,2,4,8 --n-processes "1,$NPROC" \
             --n-inputs 1 --max-side 10 --sizes fixed --draws 5 --max-seq-len 512 ;;
    # Samples/s vs tokens per sample: inputs x side, batch and context shrinking as samples grow (as the journal).
    input) sweep input --zip --n-processes "$NPROC" --sizes fixed --draws 5 \
             --n-inputs 1,2,4,1,1,2,3,4,2,3,5,6,4 \
             --max-side 10,10,10,20,30,20,20,20,30,30,20,20,26 \
             --per-device-train-batch-size 8,4,2,2,2,2,1,1,1,1,1,1,1 \
             --max-seq-len 512,1024,2048,2048,4096,4096,8192,8192,8192,8192,8192,8192,8192 ;;
    # Output size: 3 inputs of 20x20 with 1-20 draws.
    draws) sweep draws --n-processes "$NPROC" --n-inputs 3 --max-side 20 --sizes fixed --draws 1,5,10,20 \
             --per-device-train-batch-size 1 --max-seq-len 8192 ;;
    # Mixed sizes: one input, side 30, 5-30 and 5.
    mixed) sweep mixed --zip --n-processes "$NPROC" --n-inputs 1 --draws 5 --min-side 30,5,5 --max-side 30,30,5 \
             --per-device-train-batch-size 2 --max-seq-len 4096 ;;
    # Padding waste on mixed sizes: padded, length-grouped, padding-free (sdpa masks the whole packed row;
    # flex_attention skips the blocks between samples), at two per-device batches.
    packing) for bs in 2 8; do
               sweep "packing-bs$bs" --zip --n-processes "$NPROC" --n-inputs 1 --draws 5 --max-side 30 --sizes mixed \
                 --mixed-min-side 5 --per-device-train-batch-size "$bs" --max-seq-len 3072 \
                 --packing off,off,on,on --group-by-length-window 0,256,0,0 \
                 --set attn_implementation=sdpa,sdpa,sdpa,flex_attention
             done ;;
    # Liger kernels (CUDA only) vs batch size, on mixed sizes.
    liger) sweep liger --n-processes "$NPROC" --n-inputs 1 --draws 5 --max-side 30 --sizes mixed \
             --mixed-min-side 5 --liger off,on --per-device-train-batch-size 2,4,8 --max-seq-len 3072 ;;
    all) for s in batch input draws mixed packing liger; do run "$s"; done ;;
    *) echo "unknown sweep: $1 (batch|input|draws|mixed|packing|liger|all)" >&2; exit 2 ;;
  esac
}

run "$name"
