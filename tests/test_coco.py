"""COCO keypoint scoring (PCK@0.2 torso by hand, OKS AP through pycocotools) and the labelme converter."""

import json

import numpy as np
import pytest

from infantpose.errors import DatasetError
from infantpose.evaluate.coco import (
    LIMB_KEYPOINTS,
    CocoImage,
    CocoSet,
    evaluate_coco,
    format_coco_report,
    labelme_to_coco,
    pck_torso,
    read_coco,
    read_coco_results,
    score_coco,
    shared_joints,
)
from infantpose.skeleton import MPII


def _gt_keypoints() -> np.ndarray:
    """(12, 3) COCO-order limb keypoints: shoulders 100 px apart, hips 100 px below them."""
    pos = {
        "left_shoulder": (200, 100), "right_shoulder": (100, 100), "left_elbow": (230, 150),
        "right_elbow": (70, 150), "left_wrist": (240, 200), "right_wrist": (60, 200), "left_hip": (200, 200),
        "right_hip": (100, 200), "left_knee": (210, 260), "right_knee": (90, 260), "left_ankle": (215, 320),
        "right_ankle": (85, 320),
    }  # fmt: skip
    return np.array([[*pos[n], 2.0] for n in LIMB_KEYPOINTS])


def test_pck_torso_by_hand():
    gt = _gt_keypoints()[None]
    torso = np.hypot(100, 100)  # both shoulder-to-opposite-hip diagonals
    pred = gt[..., :2].copy()
    pred[0, 0] += [0.2 * torso - 1, 0]  # just inside
    pred[0, 1] += [0, 0.2 * torso + 1]  # just outside
    gt[0, 2, 2] = 0  # unlabelled: not counted
    c = pck_torso(pred, gt, list(LIMB_KEYPOINTS))
    assert c[0, 0] == 1 and c[0, 1] == 0 and np.isnan(c[0, 2])
    assert np.nanmean(c) == pytest.approx(10 / 11)


def _coco_doc(tmp_path):
    kp = _gt_keypoints()
    doc = {
        "images": [{"id": 7, "file_name": "a.png", "width": 320, "height": 400}],
        "annotations": [{"id": 1, "image_id": 7, "category_id": 1, "keypoints": kp.reshape(-1).tolist(),
                         "area": 300.0 * 250.0, "bbox": [50, 90, 200, 240]}],
        "categories": [{"id": 1, "name": "person", "keypoints": list(LIMB_KEYPOINTS)}],
    }  # fmt: skip
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(doc))
    return path


def test_perfect_predictions_score_full_marks(tmp_path):
    pytest.importorskip("pycocotools")
    gt = read_coco(_coco_doc(tmp_path))
    joints = shared_joints(gt.names)
    truth = np.zeros((MPII.num_joints, 2))
    for m, g, _ in joints:
        truth[m] = gt.images[0].keypoints[g, :2]
    report = evaluate_coco(gt, tmp_path, lambda img: (truth, 0.9), lambda p: np.zeros((4, 4, 3), np.uint8))
    assert report["pck@0.2_torso"] == 100.0 and report["oks"]["ap"] == pytest.approx(1.0)
    far = truth + 80.0
    report = evaluate_coco(gt, tmp_path, lambda img: (far, 0.9), lambda p: np.zeros((4, 4, 3), np.uint8))
    assert report["pck@0.2_torso"] == 0.0 and report["oks"]["ap"] < 0.1


def _two_image_gt(tmp_path):
    """The one-infant file of :func:`_coco_doc` with a second image (id 8) of the same pose."""
    path = _coco_doc(tmp_path)
    doc = json.loads(path.read_text())
    doc["images"].append({"id": 8, "file_name": "b.png", "width": 320, "height": 400})
    doc["annotations"].append({**doc["annotations"][0], "id": 2, "image_id": 8})
    path.write_text(json.dumps(doc))
    return read_coco(path)


def test_another_model_s_results_are_scored_best_entry_per_image_and_a_missing_image_is_a_miss(tmp_path):
    pytest.importorskip("pycocotools")
    gt = _two_image_gt(tmp_path)
    kp = gt.images[0].keypoints.copy()
    far = kp.copy()
    far[:, :2] += 80.0
    partial = kp.copy()
    partial[0, 2] = 0  # left shoulder not predicted: wrong, not skipped
    results = [
        {"image_id": 7, "category_id": 1, "keypoints": far.reshape(-1).tolist(), "score": 0.2},
        {"image_id": 7, "category_id": 1, "keypoints": partial.reshape(-1).tolist(), "score": 0.9},
    ]
    path = tmp_path / "results.json"
    path.write_text(json.dumps(results))
    pred, scores, found = read_coco_results(path, gt)
    assert found == 1 and scores.tolist() == [0.9, 0.0]
    assert np.isnan(pred[1]).all() and np.isnan(pred[0, MPII.index("l_shoulder")]).all()
    report = score_coco(gt, pred, scores, "test")
    assert report["pck_per_image"] == [pytest.approx(100 * 11 / 12), 0.0]
    assert report["pck@0.2_torso"] == pytest.approx(100 * 11 / 24)
    # One of two infants found: recall 0.5 caps AP (pycocotools' 101 recall points, 51 reached); a miss
    # must not count as a hit (pycocotools matches a NaN similarity). The found pose has OKS 11/12 (the
    # joint not predicted is far off), a hit at 9 of the 10 OKS thresholds 0.50 ... 0.95.
    assert report["oks"]["ap"] == pytest.approx(0.9 * 51 / 101, abs=1e-6)


def test_results_that_are_not_coco_keypoint_results_are_one_clear_error(tmp_path):
    gt = _two_image_gt(tmp_path)
    bad = tmp_path / "bad.json"
    for doc, message in [
        ({"annotations": []}, "not COCO keypoint results"),
        ([{"keypoints": [1, 2, 2]}], "entry 0 has no image_id"),
        ([{"image_id": 7, "keypoints": [1.0, 2.0, 2]}], "expected 36"),
        ([{"image_id": 7, "keypoints": ["a"] * 36}], "not numbers"),
    ]:
        bad.write_text(json.dumps(doc))
        with pytest.raises(DatasetError, match=message):
            read_coco_results(bad, gt)
    with pytest.raises(DatasetError, match="no such file"):
        read_coco_results(tmp_path / "missing.json", gt)


def test_eval_scores_a_results_file_from_the_command_line(tmp_path):
    pytest.importorskip("pycocotools")
    from typer.testing import CliRunner

    from infantpose.cli import app

    gt_path = _coco_doc(tmp_path)
    kp = json.loads(gt_path.read_text())["annotations"][0]["keypoints"]
    res = tmp_path / "r.json"
    res.write_text(json.dumps([{"image_id": 7, "keypoints": kp, "score": 1.0}]))
    out = CliRunner().invoke(
        app, ["eval", "--coco", str(gt_path), "--results", str(res), "--json", str(tmp_path / "o.json")]
    )
    assert out.exit_code == 0, out.output
    assert "results for 1 of 1 images" in out.output and "PCK@0.2 torso: 100.0 %" in out.output
    assert json.loads((tmp_path / "o.json").read_text())["images_with_results"] == 1
    out = CliRunner().invoke(app, ["eval", "--results", str(res)])
    assert out.exit_code != 0


def test_read_coco_rejects_what_is_not_a_keypoint_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"images": [], "annotations": []}))
    with pytest.raises(DatasetError, match="not a COCO file"):
        read_coco(bad)
    with pytest.raises(DatasetError, match="no such file"):
        read_coco(tmp_path / "missing.json")
    with pytest.raises(DatasetError, match="share no joint"):
        shared_joints(["nose", "tail"])
    assert isinstance(CocoSet(("a",), (CocoImage(1, "x", (1, 1), np.zeros((1, 3)), 1.0),)), CocoSet)


def test_labelme_converter(tmp_path):
    shapes = [{"label": "Shoulder_L", "points": [[10.5, 20.0]], "shape_type": "point"},
              {"label": "Nose", "points": [[1, 1]], "shape_type": "point"}]  # fmt: skip
    (tmp_path / "f.json").write_text(json.dumps({"shapes": shapes, "imagePath": "../img/f.jpg",
                                                 "imageWidth": 64, "imageHeight": 48}))  # fmt: skip
    doc = labelme_to_coco([tmp_path / "f.json"])
    kp = np.array(doc["annotations"][0]["keypoints"]).reshape(-1, 3)
    assert doc["images"][0]["file_name"] == "f.jpg" and doc["images"][0]["width"] == 64
    assert kp[LIMB_KEYPOINTS.index("left_shoulder")].tolist() == [10.5, 20.0, 2.0]
    assert doc["annotations"][0]["num_keypoints"] == 1
    (tmp_path / "g.json").write_text("{not json")
    with pytest.raises(DatasetError, match="not a labelme file"):
        labelme_to_coco([tmp_path / "g.json"])


@pytest.mark.parametrize("name", ["turn_90", "turn_-45", "shrunk_0.5", "half_size", "greyscale"])
def test_photo_variants_map_predictions_back_to_the_photo(name):
    """A mark's position found in the changed photo, mapped back, is where it was in the photo."""
    import cv2

    from infantpose.benchmarks.photo_variants import VARIANTS

    image = np.zeros((120, 160, 3), np.uint8)
    spots = np.array([[40.0, 30.0], [120.0, 90.0]])
    for x, y in spots:
        cv2.circle(image, (int(x), int(y)), 4, (255, 255, 255), -1)
    changed, back = VARIANTS[name](image)
    grey = cv2.cvtColor(changed, cv2.COLOR_BGR2GRAY).astype(np.float64)
    n, labels = cv2.connectedComponents((grey > 200).astype(np.uint8))
    found = np.array([np.argwhere(labels == i)[:, ::-1].mean(0) for i in range(1, n)])
    assert len(found) == 2
    mapped = back(found)
    for s in spots:
        assert np.linalg.norm(mapped - s, axis=1).min() < 1.0


def test_scores_are_reported_by_posture_where_the_file_names_one(tmp_path):
    """A file whose images carry a "posture" (as SyRIP's do) is scored per posture too: one right and one
    wrong image are 100 and 0 under their own posture, 50 pooled."""
    pytest.importorskip("pycocotools")
    path = _coco_doc(tmp_path)
    doc = json.loads(path.read_text())
    doc["images"][0]["posture"] = "Supine"
    doc["images"].append({"id": 8, "file_name": "b.png", "width": 320, "height": 400, "posture": "Prone"})
    doc["annotations"].append({**doc["annotations"][0], "id": 2, "image_id": 8})
    path.write_text(json.dumps(doc))
    gt = read_coco(path)
    truth = np.zeros((MPII.num_joints, 2))
    for m, g, _ in shared_joints(gt.names):
        truth[m] = gt.images[0].keypoints[g, :2]
    pred = np.stack([truth, truth + 80.0])
    report = score_coco(gt, pred, np.array([0.9, 0.9]), "test")
    assert report["pck_by_posture"] == {"prone": {"images": 1, "pck@0.2_torso": 0.0},
                                        "supine": {"images": 1, "pck@0.2_torso": 100.0}}  # fmt: skip
    assert report["pck@0.2_torso"] == 50.0 and "prone 0.0 (n=1)" in format_coco_report(report)
