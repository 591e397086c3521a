"""Training targets and runtime decoding agree: a 'perfect' backend that returns the
training targets must give back the ground truth through the runtime stages."""

import numpy as np
import pytest

pytest.importorskip("torch", reason="the train extra (torch) is not installed")

from infantpose.stages import parse_params
from infantpose.stages.detector import DetectorStage
from infantpose.stages.lifter import LifterStage
from infantpose.stages.pose2d import PoseStage
from infantpose.train import data as D
from infantpose.train.recipes import get_recipe, recipe_params

from .fixtures import make_minirgbd


class _Fixed:
    """Backend returning precomputed outputs."""

    name = "fixed"
    input_names = ("image",)

    def __init__(self, outputs):
        self.outputs = outputs
        self.output_names = list(outputs)

    def __call__(self, inputs):
        return self.outputs


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    root = tmp_path_factory.mktemp("mini")
    make_minirgbd(root, sequences=("01", "02"), frames=3)
    return D.load_samples(root, "all")


def test_pose_targets_decode_to_ground_truth(samples):
    params = recipe_params("pose2d", get_recipe("pose2d", "edge-effnet"))
    ds = D.Pose2DDataset(samples, params, augment=False)
    import cv2

    for i, s in enumerate(samples[:3]):
        _, target, weight = ds[i]
        stage = PoseStage(_Fixed({"heatmaps": target.numpy()[None]}), params)
        kp, _ = stage([cv2.imread(str(s.image))], s.box[None])
        ok = weight.numpy() > 0
        assert ok.sum() >= 12
        err = np.linalg.norm(kp[0][ok] - s.joints2d[ok], axis=1)
        # DARK on a perfect Gaussian: well below a heatmap pixel (here ~2-4 image px).
        assert err.max() < 1.0, err


def test_detector_targets_decode_to_ground_truth(samples):
    params = recipe_params("detector", get_recipe("detector", "edge"))
    ds = D.DetectorDataset(samples, params, augment=False)
    import cv2

    for i, s in enumerate(samples[:3]):
        t = ds[i]
        centre = np.log(
            np.clip(t["centre"].numpy(), 1e-6, 1 - 1e-6) / (1 - np.clip(t["centre"].numpy(), 1e-6, 1 - 1e-6))
        )
        h, w = centre.shape[1:]
        cx, cy = t["cell"].numpy()
        size = np.zeros((2, h, w), np.float32)
        offset = np.zeros((2, h, w), np.float32)
        size[:, cy, cx] = t["size"].numpy()
        offset[:, cy, cx] = t["offset"].numpy()
        stage = DetectorStage(_Fixed({"centre": centre[None], "size": size[None], "offset": offset[None]}), params)
        boxes, scores = stage([cv2.imread(str(s.image))])
        np.testing.assert_allclose(boxes[0], s.box, atol=0.5)
        assert scores[0] > 0.99


def test_lifter_normalisation_round_trip(samples):
    seqs = D.lifter_sequences(samples)
    stats = D.normalisation_stats(seqs)
    ds = D.LifterDataset(seqs, stats, window=1, augment=False)
    x, y = ds[0]
    params = parse_params("lifter", {"arch": "martinez", **stats}, "test")
    stage = LifterStage(_Fixed({"kp3d": y.numpy()[None]}), params)
    out = stage(seqs[0].kp2d[:1])
    np.testing.assert_allclose(out[0], seqs[0].kp3d[0], atol=1e-3)
    np.testing.assert_allclose(x.numpy() * stats["std_2d"] + stats["mean_2d"], seqs[0].kp2d[0].reshape(-1), atol=1e-3)
