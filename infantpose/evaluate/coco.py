"""COCO-keypoint files: scoring any bundle on labelled real images, and a labelme converter.

Infant pose datasets (SyRIP, MINI-RGBD conversions, clinical sets) ship COCO
keypoint JSON. ``infantpose eval --coco`` runs the runtime chain on each
image on its own (detector every image, no tracking, window or smoothing), or
reads another model's COCO results file (``--results``: e.g. MediaPipe Pose's,
written by ``infantpose/benchmarks/peers/mediapipe_pose.py --coco``), and
reports, over the joints both sides know (the 12 limb joints for COCO-17):

- OKS AP with pycocotools (the maintained COCO tool; ``pip install pycocotools``),
  per-keypoint sigmas from COCO, object area = the annotation's ``area``;
- PCK@0.2 torso: a joint is correct when its error is at most 0.2 x the torso
  size, the mean of the two shoulder-to-opposite-hip distances of the ground truth;
- PCK per joint.

Coordinates are image pixels; keypoints (K, 3) x, y, v with v = 0 unlabelled.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from infantpose.errors import DatasetError, InfantposeError
from infantpose.skeleton import MPII

# COCO-17 names of the joints the chain predicts (MPII names -> COCO names).
MPII_TO_COCO = {
    "l_shoulder": "left_shoulder", "r_shoulder": "right_shoulder", "l_elbow": "left_elbow",
    "r_elbow": "right_elbow", "l_wrist": "left_wrist", "r_wrist": "right_wrist", "l_hip": "left_hip",
    "r_hip": "right_hip", "l_knee": "left_knee", "r_knee": "right_knee", "l_ankle": "left_ankle",
    "r_ankle": "right_ankle",
}  # fmt: skip
LIMB_KEYPOINTS = tuple(MPII_TO_COCO.values())  # COCO order of the 12 limb joints
# COCO's per-keypoint OKS sigmas (cocoapi, person keypoints) for those joints.
COCO_SIGMAS = {"left_shoulder": 0.079, "right_shoulder": 0.079, "left_elbow": 0.072, "right_elbow": 0.072,
               "left_wrist": 0.062, "right_wrist": 0.062, "left_hip": 0.107, "right_hip": 0.107,
               "left_knee": 0.087, "right_knee": 0.087, "left_ankle": 0.089, "right_ankle": 0.089}  # fmt: skip
TORSO_DIAGONALS = (("left_shoulder", "right_hip"), ("right_shoulder", "left_hip"))
PCK_FACTOR = 0.2

# labelme point labels of the NYCU infant set (22 keypoints) -> COCO names; others are ignored.
LABELME_NAMES = {
    f"{part}_{side[0].upper()}": f"{side}_{part.lower()}"
    for part in ("Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle")
    for side in ("left", "right")
}


@dataclass(frozen=True)
class CocoImage:
    """One annotated image: file, size (W, H) and (K, 3) keypoints in the file's keypoint order."""

    id: int
    file: str
    size: tuple[int, int]
    keypoints: np.ndarray
    area: float
    posture: str | None = None  # the image's "posture" field where the file has one (SyRIP: Supine, Prone, ...)


@dataclass(frozen=True)
class CocoSet:
    """Ground truth: keypoint names (K,) and one infant per image (the first annotation)."""

    names: tuple[str, ...]
    images: tuple[CocoImage, ...]


def _read_json(path: Path) -> Any:
    """The parsed JSON file; DatasetError in one line when it is missing or not JSON."""
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DatasetError(f"{path}: not a JSON file ({type(e).__name__})") from None


def read_coco(path: Path) -> CocoSet:
    """Read a COCO keypoint file; one clear DatasetError for anything that is not one (a field of the
    wrong type, a non-finite coordinate, an image name that leaves the image folder)."""
    doc = _read_json(path)
    keys = ("images", "annotations", "categories")
    if not isinstance(doc, dict) or not all(isinstance(doc.get(k), list) for k in keys):
        raise DatasetError(f"{path}: not a COCO file (needs lists 'images', 'annotations', 'categories')")
    cats = [c for c in doc["categories"] if isinstance(c, dict) and isinstance(c.get("keypoints"), list)]
    if not cats:
        raise DatasetError(f"{path}: no category with 'keypoints' (not a COCO keypoint file)")
    names = tuple(str(n) for n in cats[0]["keypoints"])
    cat_id = cats[0].get("id")  # a file with one category may leave its id out
    anns: dict[int, dict] = {}
    for n, a in enumerate(doc["annotations"]):
        if not isinstance(a, dict):
            raise DatasetError(f"{path}: annotation {n} is not an object")
        if cat_id is None or a.get("category_id", cat_id) == cat_id:
            anns.setdefault(_int_id(a.get("image_id"), f"{path}: annotation {n} image_id"), a)  # the first one
    images = []
    for n, im in enumerate(doc["images"]):
        if not isinstance(im, dict):
            raise DatasetError(f"{path}: image {n} is not an object")
        image_id = _int_id(im.get("id"), f"{path}: image {n} id")
        if image_id in anns:
            images.append(_coco_image(im, image_id, anns[image_id], len(names), f"{path}: image {n}"))
    if not images:
        raise DatasetError(f"{path}: no image has a keypoint annotation")
    return CocoSet(names, tuple(images))


def _int_id(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DatasetError(f"{what} must be an integer, not {value!r:.40}")
    return value


def _coco_image(im: dict, image_id: int, a: dict, k: int, what: str) -> CocoImage:
    """One image and its annotation, every field checked (DatasetError naming ``what``)."""
    try:
        kp = np.asarray(a.get("keypoints", []), np.float64)
        size = (int(im["width"]), int(im["height"]))
        bbox = np.asarray(a.get("bbox") or [0, 0, 0, 0], np.float64)
        area = float(a.get("area") or 0)
    except KeyError as e:
        raise DatasetError(f"{what} has no {e.args[0]!r}") from None
    except (TypeError, ValueError):
        raise DatasetError(f"{what}: keypoints, bbox, area, width and height must be numbers") from None
    if kp.shape != (3 * k,):
        raise DatasetError(f"{what}: its annotation has {kp.size} keypoint values, expected {3 * k}")
    if bbox.shape != (4,):
        raise DatasetError(f"{what}: bbox has {bbox.size} numbers, expected 4 (x, y, width, height)")
    if not (np.isfinite(kp).all() and np.isfinite(bbox).all() and np.isfinite(area)) or min(size) < 1:
        raise DatasetError(f"{what}: a coordinate, area or size is not a finite positive number")
    file = im.get("file_name")
    if not isinstance(file, str) or not file or Path(file).is_absolute() or ".." in Path(file).parts:
        raise DatasetError(f"{what}: file_name {file!r:.80} must be a path inside the image folder")
    kp = kp.reshape(k, 3)
    posture = im.get("posture")
    posture = posture.strip().lower()[:40] if isinstance(posture, str) and posture.strip() else None
    return CocoImage(image_id, file, size, kp, area or float(bbox[2] * bbox[3]) or _keypoint_area(kp), posture)


def _keypoint_area(kp: np.ndarray) -> float:
    """Area (px^2) of the labelled keypoints' box grown by 10 % per side: a stand-in for a segment area."""
    pts = kp[kp[:, 2] > 0, :2]
    if len(pts) < 2:
        return 1.0
    w, h = (pts.max(0) - pts.min(0)) * 1.2
    return float(max(w * h, 1.0))


def shared_joints(names: Iterable[str]) -> list[tuple[int, int, str]]:
    """(MPII index, ground-truth index, COCO name) for every predicted joint the file labels."""
    names = list(names)
    out = [(MPII.index(m), names.index(c), c) for m, c in MPII_TO_COCO.items() if c in names]
    if not out:
        raise DatasetError(f"the keypoint names share no joint with ours ({', '.join(LIMB_KEYPOINTS)})")
    return out


def pck_torso(pred: np.ndarray, gt: np.ndarray, names: list[str], factor: float = PCK_FACTOR) -> np.ndarray:
    """(N, K) correct / wrong (NaN where unlabelled or no torso) for (N, K, 2) predictions vs (N, K, 3) truth."""
    diag = []
    for a, b in TORSO_DIAGONALS:
        if a in names and b in names:
            ia, ib = names.index(a), names.index(b)
            ok = (gt[:, ia, 2] > 0) & (gt[:, ib, 2] > 0)
            diag.append(np.where(ok, np.linalg.norm(gt[:, ia, :2] - gt[:, ib, :2], axis=1), np.nan))
    if not diag:
        raise DatasetError("PCK@torso needs both shoulders and both hips among the keypoints")
    torso = np.nanmean(np.stack(diag), axis=0) if len(diag) > 1 else diag[0]
    err = np.linalg.norm(pred - gt[..., :2], axis=-1)
    correct = (err <= factor * torso[:, None]).astype(float)
    correct[(gt[..., 2] <= 0) | ~np.isfinite(torso)[:, None]] = np.nan
    return correct


def require_pycocotools() -> None:
    """InfantposeError in one line when pycocotools (OKS AP) is not installed: checked before any work."""
    import importlib.util

    if importlib.util.find_spec("pycocotools") is None:
        raise InfantposeError("OKS AP needs pycocotools: pip install 'infantpose[eval]'")


def oks_ap(gt: CocoSet, pred: np.ndarray, scores: np.ndarray, joints: list[tuple[int, int, str]]) -> dict[str, float]:
    """OKS AP / AP50 / AP75 from pycocotools over ``joints`` (predictions (N, K_ours, 2) px)."""
    require_pycocotools()
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    names = [c for _, _, c in joints]
    cat = {"id": 1, "name": "infant", "keypoints": names, "skeleton": []}
    images, anns, dets = [], [], []
    for n, im in enumerate(gt.images):
        kp = im.keypoints[[g for _, g, _ in joints]]
        vis = kp[:, 2] > 0
        xs, ys = kp[vis, 0], kp[vis, 1]
        box = [float(xs.min()), float(ys.min()), float(np.ptp(xs)), float(np.ptp(ys))] if vis.any() else [0, 0, 0, 0]
        images.append({"id": im.id, "file_name": im.file, "width": im.size[0], "height": im.size[1]})
        anns.append({"id": n + 1, "image_id": im.id, "category_id": 1, "iscrowd": 0, "area": im.area, "bbox": box,
                     "num_keypoints": int(vis.sum()), "keypoints": kp.reshape(-1).tolist()})  # fmt: skip
        xy = pred[n][[m for m, _, _ in joints]]
        if not np.isfinite(xy).any():
            continue  # nothing found on this image: no detection (a missed infant lowers recall)
        # pycocotools matches a NaN similarity as a hit: a joint not predicted is placed far off instead.
        xy = np.where(np.isfinite(xy), xy, -1e6)
        p = np.concatenate([xy, np.ones((len(joints), 1))], axis=1)
        dets.append({"image_id": im.id, "category_id": 1, "keypoints": p.reshape(-1).tolist(),
                     "score": float(scores[n])})  # fmt: skip
    if not dets:  # pycocotools cannot load an empty result list: nothing found is AP 0
        return {"ap": 0.0, "ap50": 0.0, "ap75": 0.0}
    quiet = io.StringIO()
    with contextlib.redirect_stdout(quiet):  # pycocotools prints progress lines
        coco = COCO()
        coco.dataset = {"images": images, "annotations": anns, "categories": [cat]}
        coco.createIndex()
        res = coco.loadRes(dets)
        ev = COCOeval(coco, res, "keypoints")
        ev.params.kpt_oks_sigmas = np.array([COCO_SIGMAS.get(c, 0.08) for c in names])
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {"ap": float(ev.stats[0]), "ap50": float(ev.stats[1]), "ap75": float(ev.stats[2])}


def predict_still(pipe: Any, frame: np.ndarray) -> tuple[np.ndarray, float]:
    """A pipeline's (J, 2) px keypoints on one photo (NaN when it finds no infant) and detector score."""
    from infantpose.skeleton import get_joint_set

    r = pipe.still(frame)
    kp = r.kp2d if r.kp2d is not None else np.full((get_joint_set(pipe.joint_set).num_joints, 2), np.nan)
    return kp, float(r.score or 0.0)


def evaluate_coco(
    gt: CocoSet,
    images: Path,
    predict: Callable[[np.ndarray], tuple[np.ndarray, float]],
    read: Callable[[Path], np.ndarray],
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Run ``predict`` (BGR image -> (J, 2) px MPII joints, detector score) on every image and score it.

    An image that cannot be read (missing, oversized, not an image) is one warning line and counts
    as a miss; the report lists it under ``unreadable``."""
    import warnings

    preds, scores, unreadable = [], [], []
    root = images.resolve()
    for n, im in enumerate(gt.images):
        path = images / im.file
        try:
            if root not in path.resolve().parents:  # a symlink out of the folder is refused too
                raise DatasetError(f"{path}: lies outside {images}")
            kp, score = predict(read(path))
        except DatasetError as e:
            warnings.warn(f"{e}; counted as a miss", stacklevel=2)
            unreadable.append(im.file)
            kp, score = np.full((MPII.num_joints, 2), np.nan), 0.0
        preds.append(kp)
        scores.append(score)
        if progress is not None:
            progress(n + 1, len(gt.images))
    report = score_coco(gt, np.stack(preds), np.asarray(scores, float), "detector on every image, no tracking")
    report["unreadable"] = unreadable
    return report


def score_coco(gt: CocoSet, pred: np.ndarray, scores: np.ndarray, source: str) -> dict[str, Any]:
    """The report for (N, J, 2) px MPII-order predictions (NaN: not found) and (N,) scores, one per image;
    ``source`` says where the predictions came from (recorded in the report's protocol)."""
    joints = shared_joints(gt.names)
    names = [c for _, _, c in joints]
    sub_gt = np.stack([im.keypoints[[g for _, g, _ in joints]] for im in gt.images])
    sub_pred = pred[:, [m for m, _, _ in joints]]
    correct = pck_torso(sub_pred, sub_gt, names)
    postures = sorted({im.posture for im in gt.images if im.posture is not None})
    by_posture = {}
    for name in postures:  # each posture's joints pooled, as the whole set's are
        rows = np.array([im.posture == name for im in gt.images])
        by_posture[name] = {"images": int(rows.sum()), "pck@0.2_torso": float(np.nanmean(correct[rows]) * 100)}
    return {
        "images": len(gt.images),
        "joints": names,
        "pck@0.2_torso": float(np.nanmean(correct) * 100),
        "pck_by_posture": by_posture,
        "pck_per_joint": {c: float(np.nanmean(correct[:, i]) * 100) for i, c in enumerate(names)},
        "pck_per_image": [float(np.nanmean(r) * 100) if np.isfinite(r).any() else None for r in correct],
        "oks": oks_ap(gt, pred, scores, joints),
        "protocol": f"{source}; PCK threshold 0.2 x mean shoulder-to-opposite-hip distance; OKS with COCO sigmas "
        "over the joints listed",
    }


def read_coco_results(path: Path, gt: CocoSet) -> tuple[np.ndarray, np.ndarray, int]:
    """Another model's COCO keypoint results, as :func:`score_coco` takes them.

    The file is COCO's results format: a list of ``{"image_id", "keypoints", "score"}`` with
    ``keypoints`` x, y, v in the ground truth's keypoint order (image px; v = 0: not predicted).
    Per image the highest-scoring entry counts (one infant per image, as for a bundle); an image
    with no entry is a miss. Returns (N, J, 2) px in MPII order (NaN where not predicted),
    (N,) scores (0 for a miss) and how many images had an entry.
    """
    doc = _read_json(path)
    if not isinstance(doc, list):
        raise DatasetError(f"{path}: not COCO keypoint results (needs a list of {{image_id, keypoints, score}})")
    k = len(gt.names)
    best: dict[int, tuple[float, np.ndarray]] = {}
    for n, r in enumerate(doc):
        kp = r.get("keypoints") if isinstance(r, dict) else None
        if not isinstance(kp, list) or "image_id" not in r:
            raise DatasetError(f"{path}: entry {n} has no image_id and keypoints list")
        try:
            arr, score = np.asarray(kp, float), float(r.get("score", 1.0))
        except (TypeError, ValueError):
            raise DatasetError(f"{path}: entry {n} has keypoints or a score that are not numbers") from None
        if arr.size != 3 * k:
            raise DatasetError(f"{path}: entry {n} has {arr.size} keypoint values, expected {3 * k} (x, y, v for "
                               f"each of the ground truth's {k} keypoints, in its order)")  # fmt: skip
        if r["image_id"] not in best or score > best[r["image_id"]][0]:
            best[r["image_id"]] = (score, arr.reshape(k, 3))
    pred = np.full((len(gt.images), MPII.num_joints, 2), np.nan)
    scores = np.zeros(len(gt.images))
    joints = shared_joints(gt.names)
    for n, im in enumerate(gt.images):
        if im.id not in best:
            continue
        scores[n], kp = best[im.id]
        for m, g, _ in joints:
            if kp[g, 2] > 0:
                pred[n, m] = kp[g, :2]
    return pred, scores, sum(im.id in best for im in gt.images)


def format_coco_report(r: dict[str, Any]) -> str:
    """A few readable lines of an :func:`evaluate_coco` report."""
    lines = [
        f"images: {r['images']}  joints: {len(r['joints'])}",
        f"PCK@0.2 torso: {r['pck@0.2_torso']:.1f} %"
        + "".join(f"  {k} {v['pck@0.2_torso']:.1f} (n={v['images']})" for k, v in r.get("pck_by_posture", {}).items()),
        f"OKS AP: {r['oks']['ap'] * 100:.1f}  AP50: {r['oks']['ap50'] * 100:.1f}  AP75: {r['oks']['ap75'] * 100:.1f}",
        "per joint PCK: " + ", ".join(f"{k} {v:.0f}" for k, v in r["pck_per_joint"].items()),
    ]
    return "\n".join(lines)


def labelme_to_coco(files: list[Path], names: dict[str, str] | None = None) -> dict[str, Any]:
    """A COCO keypoint document from labelme JSON files (point shapes; image next to the JSON or in ../img).

    ``names`` maps labelme labels to COCO names (default: the NYCU infant labels, 12 limb joints).
    """
    names = names or LABELME_NAMES
    order = list(LIMB_KEYPOINTS)
    images, anns = [], []
    for n, f in enumerate(sorted(files), start=1):
        try:
            doc = json.loads(Path(f).read_text())
            shapes = doc["shapes"]
            w, h = int(doc["imageWidth"]), int(doc["imageHeight"])
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise DatasetError(f"{f}: not a labelme file ({type(e).__name__})") from None
        kp = np.zeros((len(order), 3))
        for s in shapes:
            coco = names.get(str(s.get("label")))
            if coco in order and s.get("shape_type", "point") == "point" and s.get("points"):
                x, y = s["points"][0][:2]
                kp[order.index(coco)] = (float(x), float(y), 2.0)
        image_name = Path(str(doc.get("imagePath") or Path(f).with_suffix(".jpg").name)).name
        images.append({"id": n, "file_name": image_name, "width": w, "height": h})
        anns.append({"id": n, "image_id": n, "category_id": 1, "iscrowd": 0, "keypoints": kp.reshape(-1).tolist(),
                     "num_keypoints": int((kp[:, 2] > 0).sum()), "area": _keypoint_area(kp)})  # fmt: skip
    cat = {"id": 1, "name": "infant", "supercategory": "person", "keypoints": order, "skeleton": []}
    return {"images": images, "annotations": anns, "categories": [cat]}
