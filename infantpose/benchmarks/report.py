"""Benchmark JSON -> markdown table, a latency plot (drawn with OpenCV) and ratios between runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from infantpose.errors import InfantposeError

STAGES = ("detector", "pose2d", "lifter")


def _ms(row: dict, mode: str, key: str, stat: str = "median") -> float:
    return row[mode]["ms"].get(key, {}).get(stat, float("nan"))


def _stage_ms(row: dict, stage: str) -> float:
    """Median pre + infer + post ms of one stage with the detector on every frame."""
    return sum(_ms(row, "detector_every_frame", f"{stage}.{p}") for p in ("pre", "infer", "post"))


def markdown(report: dict[str, Any]) -> str:
    """The markdown table of a bench report (docs/results.md)."""
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
    """Horizontal stacked bars with a millisecond axis (matplotlib): median ms per stage with the
    detector on every frame, one bar per row. ``width`` in pixels."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise InfantposeError("--plot needs matplotlib: pip install 'infantpose[analysis]'") from None
    rows = report["rows"]
    colours = {"detector": "#ff8c3c", "pose2d": "#5ac85a", "lifter": "#3c96e6"}
    fig, ax = plt.subplots(figsize=(width / 100, 0.5 * len(rows) + 1.4), dpi=100)
    names = [r["name"] for r in rows]
    left = np.zeros(len(rows))
    for s in STAGES:
        ms = np.array([_stage_ms(r, s) for r in rows])
        ax.barh(names, ms, left=left, color=colours[s], label=s)
        left += ms
    for y, total in enumerate(left):
        ax.text(total, y, f" {total:.1f}", va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("median ms per frame (detector every frame)")
    ax.set_xlim(0, max(left.max(initial=0.0) * 1.15, 1e-3))
    ax.grid(axis="x", alpha=0.3)
    ax.legend(ncol=3, fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
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
