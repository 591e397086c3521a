"""``infantpose synth``: render sequences of synthetic infants in the MINI-RGBD layout.

Everything random about a sequence comes from ``(seed, sequence index)`` and
everything random about a frame from ``(seed, sequence index, frame)``, so a
seed always gives the same joints and images, and ``--resume`` can render any
missing frame on its own.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from infantpose.datasets.minirgbd import CARD, head_segment_thresholds, rgb_path, write_frame
from infantpose.fileio import atomic_write_text
from infantpose.geometry import MINI_RGBD_INTRINSICS, Intrinsics, project

GENERATOR_VERSION = "1.1"
# "v1": supine, top-down (+-6 deg), 0.7-1.1 m, as MINI-RGBD. "v2": postures (supine, side-lying,
# prone), oblique cameras 0-45 deg aimed at the infant, 0.4-1.5 m.
VARIETIES = ("v1", "v2")
IMAGE_SIZE = (640, 480)
LICENCE = "Rendered with the anny body model (Apache-2.0 code, CC0 MakeHuman assets); no SMPL/SMIL data is used."


def default_splits(names: list[str]) -> dict[str, list[str]]:
    """MINI-RGBD-like split: about 2/3 train, 1/6 val, 1/6 test (the last sequences)."""
    n = len(names)
    n_test = max(1, round(n / 6)) if n >= 3 else 0
    n_val = max(1, round(n / 6)) if n >= 3 else 0
    return {
        "train": names[: n - n_val - n_test],
        "val": names[n - n_val - n_test : n - n_test],
        "test": names[n - n_test :],
    }


@dataclass
class SequencePlan:
    """A sequence fully decided before any pixel is drawn."""

    name: str
    index: int
    vertices: np.ndarray  # (F, V, 3) camera frame, metres
    joints: np.ndarray  # (F, 25, 3) camera frame, metres
    colours: np.ndarray  # (V, 3)
    background: np.ndarray  # (H, W, 3) RGB 0-1
    mattress: np.ndarray  # (H, W) depth, metres
    light_dir: np.ndarray  # (3,) camera frame
    light: tuple[float, float]  # (intensity, ambient)
    noise: float
    blur: float
    card: dict[str, Any]


def plan_sequence(
    body: Any, seed: int, index: int, frames: int, intrinsics: Intrinsics, variety: str = "v1", spread: float = 1.0
) -> SequencePlan:
    """Phenotype, motion (``spread``: :func:`motion.sample_motion`), camera, lighting and background
    of sequence ``index`` (1-based)."""
    from infantpose.synth.body import sample_phenotype
    from infantpose.synth.motion import sample_motion, sample_posture
    from infantpose.synth.scene import background, fit_camera, mattress_depth, place_body

    rng = np.random.default_rng([seed, index])
    phenotype = sample_phenotype(rng)
    posture = "supine"
    if variety == "v2":
        # Its own generator: v1 sequences stay byte-identical for a given seed.
        posture = sample_posture(np.random.default_rng([seed, index, 2]))
    motion = sample_motion(rng, frames, posture, spread)
    verts, joints = body.pose(phenotype, motion.bone_rotations())
    verts, joints = place_body(verts, joints, motion.roll, motion.plane)
    if variety == "v2":
        camera = fit_camera(verts, intrinsics, IMAGE_SIZE, rng, distance_range=(0.4, 1.5), max_tilt_deg=45.0,
                            oblique=True)  # fmt: skip
    else:
        camera = fit_camera(verts, intrinsics, IMAGE_SIZE, rng)
    v_cam = camera.to_camera(verts).astype(np.float32)
    j_cam = camera.to_camera(joints)
    light_dir = np.array([rng.uniform(-0.5, 0.5), rng.uniform(-0.5, 0.5), 1.0])
    light_dir /= np.linalg.norm(light_dir)
    light = (float(rng.uniform(2.0, 4.5)), float(rng.uniform(0.25, 0.5)))
    noise = float(rng.uniform(1.0, 4.0))
    blur = float(rng.uniform(0.0, 1.2)) if rng.random() < 0.5 else 0.0
    colours = body.vertex_colours(phenotype, rng)
    bg = background(rng, IMAGE_SIZE) * rng.uniform(0.8, 1.1)
    uv = project(j_cam, intrinsics)
    px, mm = head_segment_thresholds(uv, j_cam * 1000.0)
    name = f"{index:02d}"
    card = {
        "frames": frames,
        "variety": variety,
        "posture": posture,
        "phenotype": phenotype.to_dict(),
        "camera_distance_m": round(camera.distance, 4),
        "camera_tilt": np.round(camera.tilt, 5).tolist(),
        "light": {"direction": np.round(light_dir, 4).tolist(), "intensity": light[0], "ambient": light[1]},
        "noise_sigma": noise,
        "blur_sigma": blur,
        "pckh_2d": round(px, 4),
        "pckh_3d": round(mm, 4),
    }
    return SequencePlan(
        name=name,
        index=index,
        vertices=v_cam,
        joints=j_cam,
        colours=colours,
        background=bg.astype(np.float32),
        mattress=mattress_depth(camera, intrinsics, IMAGE_SIZE),
        light_dir=light_dir,
        light=light,
        noise=noise,
        blur=blur,
        card=card,
    )


def render_frame(plan: SequencePlan, renderer: Any, faces: np.ndarray, seed: int, frame: int) -> tuple:
    """(BGR uint8 image, mask uint8, depth uint16 mm) of one frame."""
    from infantpose.synth.scene import composite, sensor

    rng = np.random.default_rng([seed, plan.index, frame, 1])
    rgb, depth = renderer.render(plan.vertices[frame], faces, plan.colours)
    mask = depth > 0
    img = composite(rgb, mask, plan.background, plan.light_dir, rng)
    bgr = sensor(img, rng, plan.noise, plan.blur)
    depth_mm = np.where(mask, depth, plan.mattress) * 1000.0
    return bgr, (mask * 255).astype(np.uint8), np.clip(depth_mm, 0, 65535).astype(np.uint16)


def _worker(job: tuple, queue: Any) -> tuple[str, dict]:
    """Render one sequence in a worker process; reports progress through ``queue``."""
    out, seed, index, frames, resume, cache, variety, spread = job
    from infantpose.synth.body import InfantBody
    from infantpose.synth.render import BodyRenderer

    intr = MINI_RGBD_INTRINSICS
    body = InfantBody(cache=Path(cache) if cache else None)
    plan = plan_sequence(body, seed, index, frames, intr, variety, spread)
    seq_dir = Path(out) / plan.name
    renderer = BodyRenderer(intr, IMAGE_SIZE)
    renderer.set_light(plan.light_dir, *plan.light)
    done = 0
    for f in range(frames):
        if resume and rgb_path(seq_dir, f).is_file():
            queue.put(("skip", plan.name, 1))
            continue
        bgr, mask, depth = render_frame(plan, renderer, body.faces, seed, f)
        write_frame(seq_dir, f, bgr, mask, plan.joints[f], intr, depth)
        done += 1
        queue.put(("frame", plan.name, 1))
    renderer.close()
    return plan.name, plan.card


def _write_card(
    out: Path,
    seed: int,
    frames: int,
    names: list[str],
    sequences: dict[str, dict],
    variety: str = "v1",
    spread: float = 1.0,
) -> None:
    card = {
        "generator": "infantpose.synth",
        "version": GENERATOR_VERSION,
        "variety": variety,
        "seed": seed,
        "fps": 30,
        "image_size": list(IMAGE_SIZE),
        "camera": MINI_RGBD_INTRINSICS.to_dict(),
        "joints": "MINI-RGBD 25 (joints_3D in metres, camera frame; joints_2Ddep x y depth_mm id)",
        "licence": LICENCE,
        **({"motion_spread": spread} if spread != 1.0 else {}),  # cards of usual motion stay as they were
        "splits": default_splits(names),
        "sequences": {k: sequences[k] for k in sorted(sequences)},
    }
    atomic_write_text(out / CARD, json.dumps(card, indent=2) + "\n")


def generate(
    out: Path,
    sequences: int = 12,
    frames: int = 500,
    seed: int = 0,
    workers: int = 1,
    resume: bool = False,
    cache: Path | None = None,
    progress: bool = True,
    variety: str = "v1",
    spread: float = 1.0,
) -> dict[str, Any]:
    """Render ``sequences`` x ``frames`` into ``out``; returns a summary with frames/s.

    ``variety``: "v1" (MINI-RGBD-like: supine, top-down) or "v2" (postures, oblique cameras).
    ``spread``: how widely the joints move (:func:`infantpose.synth.motion.sample_motion`; 1: as usual).
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    if variety not in VARIETIES:
        from infantpose.errors import InfantposeError

        raise InfantposeError(f"unknown synth variety {variety!r} (choose {', '.join(VARIETIES)})")
    out.mkdir(parents=True, exist_ok=True)
    names = [f"{i:02d}" for i in range(1, sequences + 1)]
    old = {}
    if resume and (out / CARD).is_file():
        from infantpose.errors import InfantposeError

        old_card = json.loads((out / CARD).read_text())
        if old_card.get("seed") != seed:
            raise InfantposeError(f"{out / CARD}: was generated with seed {old_card.get('seed')}, not {seed}")
        old_spread = old_card.get("motion_spread", 1.0)
        if old_spread != spread:
            raise InfantposeError(f"{out / CARD}: was generated with motion spread {old_spread}, not {spread}")
        old = old_card.get("sequences", {})
    cards: dict[str, dict] = dict(old)
    jobs, seen = [], 0
    for i, name in enumerate(names, start=1):
        complete = all(rgb_path(out / name, f).is_file() for f in range(frames))
        if resume and complete and old.get(name, {}).get("frames") == frames:
            seen += frames  # nothing to render: skip planning the sequence too
            continue
        jobs.append((str(out), seed, i, frames, resume, str(cache) if cache else None, variety, spread))
    total = sequences * frames
    rendered = 0
    start = time.perf_counter()
    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager, ctx.Pool(max(1, workers)) as pool:
        queue = manager.Queue()
        results = [pool.apply_async(_worker, (job, queue)) for job in jobs]
        columns = [
            TextColumn("[bold]synth"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[fps]:.1f} frames/s"),
            TimeRemainingColumn(),
        ]
        with Progress(*columns, disable=not progress) as bar:
            task = bar.add_task("synth", total=total, fps=0.0, completed=seen)
            pending = list(results)
            while pending or seen < total:
                while not queue.empty():
                    kind, _, n = queue.get()
                    seen += n
                    rendered += n if kind == "frame" else 0
                    elapsed = time.perf_counter() - start
                    bar.update(task, advance=n, fps=rendered / max(elapsed, 1e-6))
                for r in [r for r in pending if r.ready()]:
                    name, card = r.get()  # re-raises a worker's exception
                    cards[name] = card
                    _write_card(out, seed, frames, names, cards, variety, spread)
                    pending.remove(r)
                if not pending and queue.empty():
                    break
                time.sleep(0.05)
    elapsed = time.perf_counter() - start
    _write_card(out, seed, frames, names, cards, variety, spread)
    return {
        "sequences": sequences,
        "frames": total,
        "rendered": rendered,
        "seconds": elapsed,
        "frames_per_s": rendered / max(elapsed, 1e-9),
        "workers": workers,
    }
