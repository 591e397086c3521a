#!/usr/bin/env bash
# Reproduce the default edge models end to end on this machine:
#   generate the synthetic set -> train detector, lifter, temporal lifter, pose2d ->
#   fine-tune both lifters on the 2D network's predictions -> evaluate on the test split.
# Every step resumes where it stopped (re-run the script after an interruption).
# Usage: scripts/train_default.sh [DATA_DIR] [RUNS_DIR]      (logs: RUNS_DIR/*.log)
set -euo pipefail
DATA=${1:-data/synth-default}
RUNS=${2:-runs/default}
IP=${IP:-.venv/bin/infantpose}
mkdir -p "$RUNS"

# 12 infants x 500 frames at 30 fps, 640x480; splits 01-08 / 09-10 / 11-12 (card).
$IP synth --out "$DATA" --sequences 12 --frames 500 --seed 2026 --workers 2 --resume \
    --contact-sheet docs/synth_contact_sheet.jpg

# step NAME EPOCHS ARGS...: train unless the run already finished its epochs.
step() {
    local name=$1 epochs=$2; shift 2
    local dir="$RUNS/$name"
    if [ -f "$dir/log.jsonl" ] && [ "$(wc -l < "$dir/log.jsonl")" -ge "$epochs" ]; then
        echo "== $name: done"; return
    fi
    local resume=""
    [ -f "$dir/last.pt" ] && resume="--resume"
    echo "== $name: training ($(date -u +%H:%M:%S))"
    $IP train "$@" --data "$DATA" --out "$dir" --epochs "$epochs" $resume > "$RUNS/$name.log" 2>&1
}

step detector 12 detector
step lifter 40 lifter
step temporal 40 lifter --temporal
step pose2d 24 pose2d
step lifter_ft 15 lifter --init "$RUNS/lifter/best.pt" --pose2d "$RUNS/pose2d/best.pt" --lr 2e-4
step temporal_ft 15 lifter --temporal --init "$RUNS/temporal/best.pt" --pose2d "$RUNS/pose2d/best.pt" --lr 2e-4

for proto in standard seed; do
    $IP eval --data "$DATA" --split test --protocol "$proto" --detector "$RUNS/detector/best.pt" \
        --pose2d "$RUNS/pose2d/best.pt" --lifter "$RUNS/lifter_ft/best.pt" --json "$RUNS/eval_single_$proto.json"
    $IP eval --data "$DATA" --split test --protocol "$proto" --detector "$RUNS/detector/best.pt" \
        --pose2d "$RUNS/pose2d/best.pt" --lifter "$RUNS/temporal_ft/best.pt" --json "$RUNS/eval_temporal_$proto.json"
done
echo "== all done ($(date -u +%H:%M:%S))"
