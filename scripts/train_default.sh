#!/usr/bin/env bash
# Reproduce the default edge models end to end on this machine:
#   generate the synthetic set -> train detector, lifter, temporal lifter, pose2d ->
#   fine-tune both lifters on the 2D network's predictions -> evaluate on the test split.
# Every step resumes where it stopped (re-run the script after an interruption).
# Usage: scripts/train_default.sh [DATA_DIR] [RUNS_DIR] [EXTRA_DIR]   (logs: RUNS_DIR/*.log)
set -euo pipefail
DATA=${1:-data/synth-default}
RUNS=${2:-runs/default}
EXTRA=${3:-data/synth-extra}
IP=${IP:-.venv/bin/infantpose}
mkdir -p "$RUNS"

# 12 infants x 500 frames at 30 fps, 640x480; splits 01-08 / 09-10 / 11-12 (card).
$IP synth --out "$DATA" --sequences 12 --frames 500 --seed 2026 --workers 2 --resume \
    --contact-sheet docs/synth_contact_sheet.jpg

# 48 more infants x 100 frames, training only: variety of bodies and blankets matters more
# than more frames of the same 8 infants (the detector over-fitted the 8 training blankets).
$IP synth --out "$EXTRA" --sequences 48 --frames 100 --seed 7777 --workers 2 --resume

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

step detector 11 detector --extra-data "$EXTRA"
step lifter 20 lifter --extra-data "$EXTRA"
step temporal 20 lifter --temporal --extra-data "$EXTRA"
step pose2d 10 pose2d --extra-data "$EXTRA"
step lifter_ft 6 lifter --extra-data "$EXTRA" --init "$RUNS/lifter/best.pt" --pose2d "$RUNS/pose2d/best.pt" --lr 2e-4
step temporal_ft 6 lifter --temporal --extra-data "$EXTRA" --init "$RUNS/temporal/best.pt" \
    --pose2d "$RUNS/pose2d/best.pt" --lr 2e-4

for proto in standard seed; do
    $IP eval --data "$DATA" --split test --protocol "$proto" --detector "$RUNS/detector/best.pt" \
        --pose2d "$RUNS/pose2d/best.pt" --lifter "$RUNS/lifter_ft/best.pt" --json "$RUNS/eval_single_$proto.json"
    $IP eval --data "$DATA" --split test --protocol "$proto" --detector "$RUNS/detector/best.pt" \
        --pose2d "$RUNS/pose2d/best.pt" --lifter "$RUNS/temporal_ft/best.pt" --json "$RUNS/eval_temporal_$proto.json"
done
echo "== all done ($(date -u +%H:%M:%S))"
