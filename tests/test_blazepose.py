"""BlazePose from its .tflite: our reader reproduces the TFLite interpreter; checkpoints and ONNX round-trip.

The weights (6 MB) come from the mediapipe wheel on PyPI; ``make weights`` (or the first
``infantpose train pose2d``) puts them in the cache. Without them these tests skip.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the train extra (torch) is not installed")
pytest.importorskip("tflite", reason="the train extra (tflite reader) is not installed")

from infantpose.train.models import blazepose  # noqa: E402
from infantpose.train.models.tflite_graph import _same_pads  # noqa: E402


def test_same_padding_follows_tensorflow():
    assert _same_pads(256, 3, 2) == (0, 1)  # TF pads the extra pixel after
    assert _same_pads(256, 3, 1) == (1, 1)
    assert _same_pads(5, 3, 2) == (1, 1)
    assert _same_pads(8, 5, 1, 2) == (4, 4)
    assert _same_pads(4, 1, 1) == (0, 0)


@pytest.fixture(scope="module")
def model():
    path = blazepose.cache_path()
    if not path.is_file():
        pytest.skip(f"BlazePose weights not in {path} (make weights)")
    m, kwargs = blazepose.build_pretrained(path)
    return m.eval(), kwargs


def _pattern() -> torch.Tensor:
    yy, xx = np.mgrid[0:256, 0:256] / 255.0
    x = np.stack([0.5 + 0.5 * np.sin(6 * xx + 3 * yy), 0.5 + 0.5 * np.cos(5 * yy - 2 * xx), xx * yy])
    return torch.from_numpy(x.astype(np.float32))[None]


def test_reader_reproduces_the_tflite_interpreter(model):
    net = model[0].net
    with torch.no_grad():
        logits, presence = net(_pattern())
    hm = logits[0].permute(1, 2, 0).numpy()  # NHWC like TFLite
    # Recorded with ai-edge-litert 2.3.0 (TFLite interpreter) on the same input.
    ref = [-15.0785, -0.8057, -14.9707, -10.9114]
    np.testing.assert_allclose(hm[[5, 17, 40, 63], [7, 30, 50, 12], [0, 11, 23, 38]], ref, atol=2e-3)
    ref_mean = [-12.5128, -14.341, -13.5707, -12.3259, -16.0727, -16.3671,
                -15.6419, -10.7705, -10.2738, -12.0789, -14.108, -9.0875]  # fmt: skip
    np.testing.assert_allclose(hm.mean((0, 1))[:12], ref_mean, atol=2e-3)
    assert presence.shape == (1, 1, 1, 1)


def test_checkpoint_and_onnx_round_trip(model, tmp_path):
    from infantpose.export.onnx import export_onnx
    from infantpose.train.checkpoint import atomic_save, load_checkpoint, make_checkpoint, model_from_checkpoint

    m, kwargs = model
    params = {"input_size": [256, 256], "padding": 2.0, "mean": [0, 0, 0], "std": [1, 1, 1], "colour": "RGB"}
    atomic_save(make_checkpoint("pose2d", "blazepose", kwargs, params, m), tmp_path / "bp.pt")
    ck = load_checkpoint(tmp_path / "bp.pt")  # weights_only=True: the graph is plain data
    again = model_from_checkpoint(ck)
    x = _pattern()
    with torch.no_grad():
        y, presence = m(x)
        y2, presence2 = again(x)
    assert torch.equal(y, y2) and torch.equal(presence, presence2)
    assert y.shape == (1, len(kwargs["channels"]), 64, 64) and float(y.min()) >= 0 and float(y.max()) <= 1
    assert presence.shape == (1, 1)
    ort = pytest.importorskip("onnxruntime")
    export_onnx(ck, tmp_path / "bp.onnx")
    sess = ort.InferenceSession(str(tmp_path / "bp.onnx"))
    assert [o.name for o in sess.get_outputs()] == ["heatmaps", "presence"]
    heat, pres = sess.run(None, {"image": x.numpy()})
    np.testing.assert_allclose(heat, y.numpy(), atol=1e-4)
    np.testing.assert_allclose(pres, presence.numpy(), atol=1e-3)
