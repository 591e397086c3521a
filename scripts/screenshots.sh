#!/usr/bin/env bash
# The README's screenshots, made headless from the shipped demo clip (a rendered infant, ours to show):
# an annotated photo whose infant sits top right (the 3D inset goes to a corner the body is not in)
# and a de-identified frame. Usage: scripts/screenshots.sh  (IP: the infantpose command to use)
set -euo pipefail
cd "$(dirname "$0")/.."
IP=${IP:-.venv/bin/infantpose}
PY=${PY:-.venv/bin/python}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$PY" - "$tmp" <<'PYEOF'
import sys
import cv2
import numpy as np
from infantpose.runtime.pipeline import DEFAULT_BUNDLE

cap = cv2.VideoCapture(str(DEFAULT_BUNDLE.parent / "demo.mp4"))
for _ in range(120):
    ok, frame = cap.read()
assert ok, "the demo clip has fewer than 120 frames"
cv2.imwrite(f"{sys.argv[1]}/frame.png", frame)
h, w = frame.shape[:2]
shift = np.float32([[1, 0, 0.28 * w], [0, 1, -0.2 * h]])  # the infant moved towards the top right
fill = tuple(float(v) for v in np.median(frame.reshape(-1, 3), axis=0))  # the mattress colour
cv2.imwrite(f"{sys.argv[1]}/photo.png", cv2.warpAffine(frame, shift, (w, h), borderValue=fill))
PYEOF
"$IP" run "$tmp/photo.png" --out docs/images/annotated_photo.jpg --show-angles
"$IP" run "$tmp/frame.png" --out docs/images/deidentified_frame.jpg --deidentify blur --inset off
