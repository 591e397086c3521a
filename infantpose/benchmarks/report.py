"""Benchmark JSON -> markdown table, a latency plot (drawn with OpenCV) and ratios between runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

STAGES = ("detector", "pose2d", "lifter")


def _ms(row: dict, mode: str, key: str, stat: str = "median") -> float:
    return row[mode]["ms"].get(key, {}).get(stat, float("nan"))


def _stage_ms(row: dict, stage: str) -> float:
    """Median pre + infer + post ms of one stage with the detector on every frame."""
    return sum(_ms(row, "detector_every_frame", f"{stage}.{p}") for p in ("pre", "infer", "post"))


def markdown(report: dict[str, Any]) -> str:
    """The README table of a bench report."""
    m = report["machine"]
    lines = [
        f"{report['frames']} frames of `{report['source']}` ({report['frame_size'][0]}x{report['frame_size'][1]}); "
        f"{m['cpu']}; onnxruntime {m['onnxruntime']}; threads: {m['threads']}; peak RSS {report['peak_rss_mb']:.0f} MB",
        "",
        "| row | FPS (tracking) | FPS (detector every frame) | detector ms | 2D ms | 3D ms | total ms median / p99 "
        "| live capture-to-result p99 ms (frame intervals) | dropped live | model MB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["rows"]:
        stage_ms = [_stage_ms(r, s) for s in STAGES]
        live = r["live"]
        lines.append(
            f"| {r['name']} | {r['tracking']['fps']:.1f} | {r['detector_every_frame']['fps']:.1f} | "
            f"{stage_ms[0]:.2f} | {stage_ms[1]:.2f} | {stage_ms[2]:.2f} | "
            f"{_ms(r, 'tracking', 'total'):.2f} / {_ms(r, 'tracking', 'total', 'p99'):.2f} | "
            f"{live['capture_to_result_ms']['p99']:.1f} ({live['p99_in_frame_intervals']:.2f}) | "
            f"{live['dropped']} of {live['published']} | {sum(r['model_mb'].values()):.1f} |"
        )
    for r in report.get("torch_rows", []):
        stage_ms = [_stage_ms(r, s) for s in STAGES]
        lines.append(
            f"| {r['name']} | {r['tracking']['fps']:.2f} | {r['detector_every_frame']['fps']:.2f} | "
            f"{stage_ms[0]:.2f} | {stage_ms[1]:.2f} | {stage_ms[2]:.2f} | "
            f"{_ms(r, 'tracking', 'total'):.2f} / {_ms(r, 'tracking', 'total', 'p99'):.2f} | - | - | - |"
        )
    for r in report.get("peers", []):
        t = r["tracking"]
        lines.append(
            f"| {r['name']} (peer, 2D + 3D landmarks) | {t['fps']:.1f} | - | - | - | - | "
            f"{t['ms']['total']['median']:.2f} / {t['ms']['total']['p99']:.2f} | - | - | - |"
        )
    lines += ["", "Batch throughput (items/s of the backend alone):", "",
              "| row | stage | " + " | ".join(f"batch {b}" for b in report["rows"][0]["batch"]["pose2d"]) + " |",
              "|---|---|" + "---|" * len(report["rows"][0]["batch"]["pose2d"])]  # fmt: skip
    for r in report["rows"]:
        for s in STAGES:
            cells = " | ".join(f"{v['items_per_s']:.0f}" for v in r["batch"][s].values())
            lines.append(f"| {r['name']} | {s} | {cells} |")
    return "\n".join(lines)


def plot(report: dict[str, Any], path: Path, width: int = 720) -> Path:
    """Horizontal stacked bars: median ms per stage phase (detector every frame), one bar per row."""
    rows = report["rows"]
    colours = {"detector": (60, 140, 255), "pose2d": (90, 200, 90), "lifter": (230, 150, 60)}
    bar_h, top, left = 34, 50, 170
    img = np.full((top + bar_h * len(rows) + 60, width, 3), 255, np.uint8)
    totals = [sum(_stage_ms(r, s) for s in STAGES) for r in rows]
    scale = (width - left - 30) / max(max(totals), 1e-6)
    title = "median ms per frame (detector every frame)"
    cv2.putText(img, title, (10, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    for i, r in enumerate(rows):
        y = top + i * bar_h
        cv2.putText(img, r["name"], (10, y + 22), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
        x = left
        for s in STAGES:
            w = round(_stage_ms(r, s) * scale)
            cv2.rectangle(img, (x, y + 6), (x + w, y + bar_h - 6), colours[s], -1)
            x += w
        cv2.putText(img, f"{totals[i]:.1f}", (x + 5, y + 22), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    y = top + len(rows) * bar_h + 25
    x = left
    for s, c in colours.items():
        cv2.rectangle(img, (x, y - 10), (x + 14, y + 2), c, -1)
        cv2.putText(img, s, (x + 20, y + 1), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
        x += 110
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), img)
    return path


def compare(a: dict[str, Any], b: dict[str, Any]) -> str:
    """FPS and total-latency ratios B / A for rows present in both reports."""
    rows_a = {r["name"]: r for r in a["rows"]}
    lines = ["| row | FPS A | FPS B | B / A | total ms A | total ms B |", "|---|---|---|---|---|---|"]
    for r in b["rows"]:
        if r["name"] in rows_a:
            ra = rows_a[r["name"]]
            fa, fb = ra["tracking"]["fps"], r["tracking"]["fps"]
            lines.append(f"| {r['name']} | {fa:.1f} | {fb:.1f} | {fb / fa:.2f} | {_ms(ra, 'tracking', 'total'):.2f} | "
                         f"{_ms(r, 'tracking', 'total'):.2f} |")  # fmt: skip
    return "\n".join(lines)
