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
            + (
                f"{live['capture_to_result_ms']['p99']:.1f} ({live['p99_in_frame_intervals']:.2f}) | "
                f"{live['dropped']} of {live['published']} | "
                if live
                else "- | - | "
            )
            + f"{sum(r['model_mb'].values()):.1f} |"
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
    for name, why in report.get("skipped", {}).items():
        lines.append(f"| {name} | not run here: {why} | | | | | | | | |")
    if report["rows"]:
        sizes = list(report["rows"][0]["batch"]["pose2d"])
        lines += [
            "",
            "Batch throughput (items/s of the backend alone):",
            "",
            "| row | stage | " + " | ".join(f"batch {b}" for b in sizes) + " |",
            "|---|---|" + "---|" * len(sizes),
        ]
        for r in report["rows"]:
            for s in STAGES:
                cells = " | ".join(f"{v['items_per_s']:.0f}" for v in r["batch"][s].values())
                lines.append(f"| {r['name']} | {s} | {cells} |")
    targets = ratios(report)
    if targets:
        lines += ["", "Ratios from this run (end to end with tracking; targets from the benchmark issue):", ""]
        lines += ["| ratio | value | target | met |", "|---|---|---|---|"]
        lines += [f"| {t['what']} | {t['value']:.2f}{t['unit']} | {t['target']} | {'yes' if t['met'] else 'no'} |"
                  for t in targets]  # fmt: skip
    return "\n".join(lines)


def ratios(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The benchmark targets as measured in this report: FPS ratios and the live p99."""
    fps = {r["name"]: r["tracking"]["fps"] for r in report["rows"] + report.get("torch_rows", [])}
    peers = {r["name"]: r["tracking"]["fps"] for r in report.get("peers", [])}
    out = []
    for name in ("onnxruntime fp32", "onnxruntime int8"):
        if name not in fps:
            continue
        for peer, peer_fps in peers.items():
            out.append({"what": f"{name} / {peer}", "value": fps[name] / peer_fps, "unit": "x", "target": ">= 3x",
                        "met": fps[name] / peer_fps >= 3.0})  # fmt: skip
        seed = next((v for k, v in fps.items() if k.startswith("seed architecture")), None)
        if seed:
            out.append({"what": f"{name} / seed architecture (pytorch eager)", "value": fps[name] / seed, "unit": "x",
                        "target": ">= 50x", "met": fps[name] / seed >= 50.0})  # fmt: skip
    if "onnxruntime fp32" in fps and "onnxruntime int8" in fps:
        v = fps["onnxruntime int8"] / fps["onnxruntime fp32"]
        out.append({"what": "onnxruntime int8 / fp32", "value": v, "unit": "x", "target": ">= 1.3x", "met": v >= 1.3})
    for r in report["rows"]:
        v = (r["live"] or {}).get("p99_in_frame_intervals")
        if v is not None:
            out.append({"what": f"{r['name']}: live capture-to-result p99 (30 fps)", "value": v,
                        "unit": " frame intervals", "target": "<= 2", "met": v <= 2.0})  # fmt: skip
    return out


def plot(report: dict[str, Any], path: Path, width: int = 720) -> Path:
    """Horizontal stacked bars: median ms per stage phase (detector every frame), one bar per row."""
    rows = report["rows"]
    colours = {"detector": (60, 140, 255), "pose2d": (90, 200, 90), "lifter": (230, 150, 60)}
    bar_h, top, left = 34, 50, 170
    img = np.full((top + bar_h * len(rows) + 60, width, 3), 255, np.uint8)
    totals = [sum(_stage_ms(r, s) for s in STAGES) for r in rows]
    scale = (width - left - 30) / max(max(totals, default=0.0), 1e-6)
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
