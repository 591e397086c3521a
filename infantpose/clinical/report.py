"""Pictures of one recording: an HTML report (matplotlib figures) and an interactive 3D viewer.

Both are single files that work offline (figures and data inlined, no library from the network).
The viewer draws the 3D keypoints on a canvas with fixed axes and scale (the recording's extent),
Y-up (:mod:`infantpose.clinical.mocap`), and can play, pause, scrub and be turned with the mouse.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from infantpose.clinical.kinematics import Kinematics
from infantpose.clinical.mocap import to_y_up
from infantpose.datasets.common import spread_indices
from infantpose.errors import InfantposeError
from infantpose.fileio import atomic_write_text
from infantpose.skeleton import MPII

_VIEWER = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>infantpose 3D viewer: __TITLE__</title>
<style>
body{font:14px system-ui,sans-serif;margin:0;background:#f4f4f4}
#bar{display:flex;gap:10px;align-items:center;padding:8px 12px;background:#fff;border-bottom:1px solid #ccc}
#scrub{flex:1} canvas{display:block;margin:0 auto;background:#fff;cursor:grab}
</style></head><body>
<div id="bar"><button id="play">Pause</button><input id="scrub" type="range" min="0" value="0">
<span id="label"></span><label>speed <select id="speed"><option>0.25</option><option>0.5</option>
<option selected>1</option><option>2</option></select></label><span>drag to turn</span></div>
<canvas id="view" width="760" height="560"></canvas>
<script id="data" type="application/json">__DATA__</script>
<script>
"use strict";
const D = JSON.parse(document.getElementById("data").textContent);
const cv = document.getElementById("view"), cx = cv.getContext("2d");
const scrub = document.getElementById("scrub"), label = document.getElementById("label");
const playBtn = document.getElementById("play"), speedSel = document.getElementById("speed");
scrub.max = D.frames.length - 1;
let yaw = 0.6, pitch = 0.35, frame = 0, playing = true, last = null, acc = 0;
function project(p) {
  const cy = Math.cos(yaw), sy = Math.sin(yaw), cp = Math.cos(pitch), sp = Math.sin(pitch);
  const x = cy * p[0] + sy * p[2], z = -sy * p[0] + cy * p[2];
  const y = cp * p[1] - sp * z, depth = sp * p[1] + cp * z;
  return [cv.width / 2 + x * D.scale, cv.height / 2 - y * D.scale, depth];
}
function line(a, b, colour, width) {
  const p = project(a), q = project(b);
  cx.strokeStyle = colour; cx.lineWidth = width;
  cx.beginPath(); cx.moveTo(p[0], p[1]); cx.lineTo(q[0], q[1]); cx.stroke();
}
function draw() {
  cx.clearRect(0, 0, cv.width, cv.height);
  const g = D.extent, step = D.grid;
  for (let v = -g; v <= g + 1e-9; v += step) {  // floor grid (Y = -extent): fixed, for scale
    line([v, -g, -g], [v, -g, g], "#e3e3e3", 1); line([-g, -g, v], [g, -g, v], "#e3e3e3", 1);
  }
  const axes = [[[g, 0, 0], "#d62728", "X"], [[0, g, 0], "#2ca02c", "Y"], [[0, 0, g], "#1f77b4", "Z"]];
  for (const [end, colour, name] of axes) {
    line([0, 0, 0], end, colour, 1.5);
    const p = project(end); cx.fillStyle = colour; cx.fillText(name + " " + g + " mm", p[0] + 4, p[1]);
  }
  const kp = D.frames[frame];
  if (kp === null) {
    cx.fillStyle = "#900"; cx.font = "20px system-ui"; cx.fillText("no infant", 20, 34); cx.font = "14px system-ui";
  } else {
    D.bones.forEach((b, i) => line(kp[b[0]], kp[b[1]], D.colours[i], 4));
    for (const p of kp) { const q = project(p); cx.fillStyle = "#222"; cx.beginPath();
      cx.arc(q[0], q[1], 3, 0, 2 * Math.PI); cx.fill(); }
  }
  label.textContent = "frame " + frame + " / " + (D.frames.length - 1) + "  t = " + D.t[frame].toFixed(2) + " s";
  scrub.value = frame;
}
function tick(now) {
  if (playing && last !== null) {
    acc += (now - last) / 1000 * D.fps * parseFloat(speedSel.value);
    while (acc >= 1) { frame = (frame + 1) % D.frames.length; acc -= 1; }
  }
  last = now; draw(); requestAnimationFrame(tick);
}
playBtn.onclick = () => { playing = !playing; playBtn.textContent = playing ? "Pause" : "Play"; };
scrub.oninput = () => { frame = parseInt(scrub.value, 10); playing = false; playBtn.textContent = "Play"; };
let drag = null;
cv.onmousedown = e => { drag = [e.clientX, e.clientY, yaw, pitch]; };
window.onmouseup = () => { drag = null; };
window.onmousemove = e => { if (drag) { yaw = drag[2] + (e.clientX - drag[0]) * 0.01;
  pitch = Math.max(-1.5, Math.min(1.5, drag[3] + (e.clientY - drag[1]) * 0.01)); } };
requestAnimationFrame(tick);
</script></body></html>
"""


def _hex(bgr: tuple[int, int, int]) -> str:
    b, g, r = bgr
    return f"#{r:02x}{g:02x}{b:02x}"


def write_viewer(path: Path, kp3d: np.ndarray, t: np.ndarray, fps: float, title: str) -> Path:
    """One-file 3D viewer of (F, 16, 3) camera-axes mm (NaN frames: "no infant") at times ``t`` s."""
    pts = to_y_up(kp3d)
    finite = pts[np.isfinite(pts).all(axis=(1, 2))]
    extent = float(np.ceil(np.abs(finite).max() / 50.0) * 50.0) if len(finite) else 300.0
    data = {
        "fps": float(fps),
        "t": [round(float(x), 4) for x in t],
        "frames": [None if not np.isfinite(p).all() else np.round(p, 1).tolist() for p in pts],
        "bones": [list(b) for b in MPII.bones],
        "colours": [_hex(c) for c in MPII.bone_colours()],
        "extent": extent,
        "grid": extent / 4,
        "scale": 230.0 / extent,  # pixels per mm, fixed for the whole recording
    }
    text = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")  # never closes the script tag
    page = _VIEWER.replace("__DATA__", text).replace("__TITLE__", html.escape(title))
    atomic_write_text(path, page)
    return path


def _figure_png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _table(rows: list[list[str]], head: list[str]) -> str:
    out = "<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"
    for r in rows:
        out += "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>"
    return out + "</table>"


def _fmt(v: Any, digits: int = 1) -> str:
    return "-" if v is None or (isinstance(v, float) and not np.isfinite(v)) else f"{v:.{digits}f}"


def annotated_frames(
    video: Path, records: list[dict[str, Any]], count: int = 4, deidentify: str = "off"
) -> list[tuple[str, str]]:
    """(caption, base64 JPEG) of ``count`` evenly spaced frames of ``video`` with their recorded 2D skeleton;
    ``deidentify`` ("blur", "mosaic"): the face covered first (:mod:`infantpose.deidentify`)."""
    import cv2

    from infantpose.deidentify import FaceMasker
    from infantpose.draw import draw_box, draw_skeleton

    masker = FaceMasker(deidentify) if deidentify != "off" else None

    cap = cv2.VideoCapture(str(video))
    if not cap.isOpened():
        raise InfantposeError(f"{video}: cannot open the video to annotate")
    wanted = set(spread_indices(len(records), count).tolist())
    out = []
    for i in range(len(records)):
        ok, img = cap.read()
        if not ok:
            break
        if i not in wanted:
            continue
        rec = records[i]
        if masker is not None:  # frames far apart: each on its own (nothing known: the whole frame)
            masker.reset()
            img = masker(img, rec.get("kp2d"), rec.get("conf"))
        if rec.get("kp2d") is not None:  # box and conf are optional in a record (older or foreign writers)
            if rec.get("box") is not None:
                draw_box(img, np.asarray(rec["box"], float), (0, 200, 255))
            conf = rec.get("conf")
            conf = np.ones(MPII.num_joints) if conf is None else np.asarray(conf, float)
            draw_skeleton(img, np.asarray(rec["kp2d"], float), MPII, conf, 0.1)
        scale = 360 / img.shape[0]
        img = cv2.resize(img, (round(img.shape[1] * scale), 360))
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])
        caption = f"frame {rec.get('frame', i)}, t = {float(rec.get('t', 0)):.2f} s" + (
            "" if rec.get("kp2d") is not None else " (no infant)")  # fmt: skip
        out.append((caption, base64.b64encode(buf.tobytes()).decode("ascii")))
    cap.release()
    return out


def write_report(
    path: Path, k: Kinematics, summary: dict[str, Any], title: str, frames: list[tuple[str, str]] | None = None
) -> Path:
    """HTML report: angle and speed plots over time (matplotlib), the features and symmetry tables, and
    ``frames`` ((caption, base64 JPEG), from :func:`annotated_frames`) when given."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise InfantposeError("the HTML report needs matplotlib: pip install 'infantpose[analysis]'") from None
    figs = []
    groups = (("Knees and elbows: flexion", ("knee_flexion_deg", "elbow_flexion_deg")),
              ("Hips: flexion and abduction", ("hip_flexion_deg", "hip_abduction_deg")),
              ("Shoulders: elevation", ("shoulder_elevation_deg",)),
              ("Head: flexion and lateral flexion", ("head_flexion_deg", "head_lateral_flexion_deg")))  # fmt: skip
    plotted = set()
    for caption, names in groups:  # every angle of k.angles, left solid and right dashed
        fig, ax = plt.subplots(figsize=(9, 3))
        for n in names:
            sides = (("l", "-"), ("r", "--")) if f"l_{n}" in k.angles else (("", "-"),)
            for s, style in sides:
                name = f"{s}_{n}" if s else n
                plotted.add(name)
                ax.plot(k.t, k.angles[name], style, lw=1, label=name.removesuffix("_deg"))
        ax.set_xlabel("time (s)")
        ax.set_ylabel("degrees")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, ncol=4)
        figs.append((caption, _figure_png(fig)))
        plt.close(fig)
    missing = sorted(set(k.angles) - plotted)
    if missing:  # an angle without a group is a bug here, not a silent gap in the report
        raise InfantposeError(f"the report has no plot for {', '.join(missing)}")
    fig, ax = plt.subplots(figsize=(9, 3))
    for name in ("l_wrist", "r_wrist", "l_ankle", "r_ankle"):
        ax.plot(k.t, k.speed[:, MPII.index(name)], lw=1, label=name)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("speed (mm/s)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=4)
    figs.append(("Hands and feet: speed relative to the pelvis", _figure_png(fig)))
    plt.close(fig)
    limbs = [[name, _fmt(v.get("mean_speed_mm_s")), _fmt(v.get("path_length_mm"), 0), _fmt(v.get("dominant_hz"), 2),
              _fmt(v.get("power_0_1_hz"), 2), _fmt(v.get("power_1_3_hz"), 2), _fmt(v.get("power_3_6_hz"), 2)]
             for name, v in summary["limbs"].items()]  # fmt: skip
    sym = [[name, _fmt(v)] for name, v in summary["symmetry_index_pct"].items()]
    rom = [[name, _fmt(v["l"]), _fmt(v["r"])] for name, v in summary["range_of_motion_deg"].items()]
    body = "".join(f"<h2>{html.escape(c)}</h2><img alt='{html.escape(c)}' src='data:image/png;base64,{b}'>"
                   for c, b in figs)  # fmt: skip
    if frames:
        body += "<h2>Annotated frames (2D skeleton as recorded)</h2>" + "".join(
            f"<figure style='display:inline-block;margin:4px'><img alt='{html.escape(c)}' "
            f"src='data:image/jpeg;base64,{b}' style='height:240px'><figcaption>{html.escape(c)}</figcaption></figure>"
            for c, b in frames
        )
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font:14px system-ui,sans-serif;max-width:980px;margin:24px auto;padding:0 12px}}
table{{border-collapse:collapse;margin:8px 0 20px}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}
th{{background:#f0f0f0}}img{{max-width:100%}}</style></head><body>
<h1>{html.escape(title)}</h1>
<p>{summary["frames"]} frames, {_fmt(summary["seconds"])} s at {_fmt(summary["fps"])} fps. Angles and signs as
defined in <code>infantpose.clinical.kinematics</code>; speeds relative to the pelvis, smoothed over
{summary.get("smoothing_frames", 5)} frames. The 3D is a monocular estimate: read trends and
left/right differences, not single values.</p>
<h2>Quantity of movement and frequency content (hands: wrists, feet: ankles)</h2>
{_table(limbs, ["limb", "mean speed mm/s", "path mm", "dominant Hz", "power 0-1 Hz", "1-3 Hz", "3-6 Hz"])}
<h2>Left/right symmetry index (%; 0 = symmetric, positive = more on the left)</h2>
{_table(sym, ["quantity", "symmetry index %"])}
<h2>Range of motion (5th to 95th percentile, degrees)</h2>
{_table(rom, ["angle", "left", "right"])}
{body}
</body></html>
"""
    atomic_write_text(path, page)
    return path
