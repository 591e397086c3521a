#!/usr/bin/env bash
# Real infant photos, each on its own, through every shipped model (PCK@0.2 torso, by posture where the
# COCO file names one): docs/benchmarks/coco_NAME_MODEL.json. The photos stay local (SyRIP and NYCU are
# for research evaluation only: never committed); the scores are committed.
# Usage: scripts/real_photos.sh NAME COCO.json IMAGES/   e.g. scripts/real_photos.sh syrip dev/coco.json dev/img
set -euo pipefail
NAME=$1; COCO=$2; IMAGES=$3
IP=${IP:-.venv/bin/infantpose}
mkdir -p docs/benchmarks
for model in fast accurate; do
    echo "== $NAME, $model"
    $IP eval --coco "$COCO" --images "$IMAGES" --model "$model" --json "docs/benchmarks/coco_${NAME}_${model}.json"
done
echo "== $NAME, blazepose (the previous default)"
$IP eval --coco "$COCO" --images "$IMAGES" --bundle infantpose/assets/bundle --json "docs/benchmarks/coco_${NAME}_blazepose.json"
