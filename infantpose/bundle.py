"""Model bundle: a folder with ``manifest.json`` and one or more model files per stage.

The manifest is the contract between export and runtime. Per stage
(``detector``, ``pose2d``, ``lifter``) it holds the pre/post-processing
parameters shared by all variants (``params``) and the list of artifacts (one
per format and precision), each with its file name, sha256, input and output
tensor specs. The runtime refuses a file whose hash does not match.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from infantpose.errors import BundleError

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
STAGES: tuple[str, ...] = ("detector", "pose2d", "lifter")
FORMATS: tuple[str, ...] = ("onnx", "engine")
PRECISIONS: tuple[str, ...] = ("fp32", "fp16", "int8")


@dataclass
class TensorSpec:
    """One model input or output. Dynamic dimensions are strings (e.g. "N")."""

    name: str
    shape: list[int | str]
    dtype: str = "float32"
    layout: str = ""


@dataclass
class Artifact:
    """One model file of a stage: a format and precision of the same network."""

    file: str
    format: str
    precision: str
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    sha256: str = ""
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class Stage:
    """A pipeline stage: shared pre/post-processing parameters and its artifacts."""

    params: dict[str, Any]
    artifacts: list[Artifact]


@dataclass
class Manifest:
    """The whole bundle description (see ARCHITECTURE.md, "Bundle")."""

    joint_set: str
    stages: dict[str, Stage]
    format_version: int = FORMAT_VERSION
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_dict(d: dict[str, Any], source: str = MANIFEST) -> Manifest:
        """Parse and validate a manifest dict; BundleError names what is wrong."""
        try:
            version = d["format_version"]
            if version != FORMAT_VERSION:
                raise BundleError(f"{source}: format_version {version} is not supported (expected {FORMAT_VERSION})")
            stages = {}
            for name, s in d["stages"].items():
                if name not in STAGES:
                    raise BundleError(f"{source}: unknown stage {name!r} (known: {', '.join(STAGES)})")
                arts = []
                for a in s["artifacts"]:
                    art = Artifact(
                        file=a["file"],
                        format=a["format"],
                        precision=a["precision"],
                        inputs=[TensorSpec(**t) for t in a["inputs"]],
                        outputs=[TensorSpec(**t) for t in a["outputs"]],
                        sha256=a.get("sha256", ""),
                        info=a.get("info", {}),
                    )
                    _check_artifact(art, name, source)
                    arts.append(art)
                if not arts:
                    raise BundleError(f"{source}: stage {name!r} lists no artifacts")
                stages[name] = Stage(params=dict(s.get("params", {})), artifacts=arts)
            return Manifest(joint_set=d["joint_set"], stages=stages, format_version=version, meta=d.get("meta", {}))
        except KeyError as e:
            raise BundleError(f"{source}: missing field {e.args[0]!r}") from None
        except TypeError as e:
            raise BundleError(f"{source}: malformed entry ({e})") from None


def _check_artifact(art: Artifact, stage: str, source: str) -> None:
    if art.format not in FORMATS:
        raise BundleError(f"{source}: {stage}/{art.file}: unknown format {art.format!r}")
    if art.precision not in PRECISIONS:
        raise BundleError(f"{source}: {stage}/{art.file}: unknown precision {art.precision!r}")
    if Path(art.file).name != art.file:
        raise BundleError(f"{source}: {stage}: artifact file {art.file!r} must be a plain file name")


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write text to ``path`` through a temporary file and rename (never half-written)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class Bundle:
    """A loaded bundle: its folder and manifest."""

    root: Path
    manifest: Manifest

    def stage(self, name: str) -> Stage:
        try:
            return self.manifest.stages[name]
        except KeyError:
            raise BundleError(f"{self.root}: bundle has no {name!r} stage") from None

    def artifact(self, stage: str, precision: str = "fp32", fmt: str = "onnx") -> Artifact:
        """The artifact of ``stage`` with this precision and format; BundleError lists what exists."""
        for art in self.stage(stage).artifacts:
            if art.precision == precision and art.format == fmt:
                return art
        have = ", ".join(f"{a.format}/{a.precision}" for a in self.stage(stage).artifacts)
        raise BundleError(f"{self.root}: stage {stage!r} has no {fmt}/{precision} artifact (has: {have})")

    def select(self, stage: str, precision: str = "fp32", fmt: str = "onnx") -> Artifact:
        """The artifact of ``precision``/``fmt``, or the stage's FP32 ONNX model when it has none."""
        for art in self.stage(stage).artifacts:
            if art.precision == precision and art.format == fmt:
                return art
        return self.artifact(stage, "fp32", "onnx")

    def path(self, artifact: Artifact) -> Path:
        return self.root / artifact.file


def write_manifest(root: str | Path, manifest: Manifest) -> Path:
    """Hash every artifact file under ``root`` into the manifest and write it atomically."""
    root = Path(root)
    for name, stage in manifest.stages.items():
        for art in stage.artifacts:
            _check_artifact(art, name, str(root / MANIFEST))
            f = root / art.file
            if not f.is_file():
                raise BundleError(f"{f}: artifact file does not exist")
            art.sha256 = sha256_file(f)
    path = root / MANIFEST
    atomic_write_text(path, json.dumps(manifest.to_dict(), indent=2, sort_keys=False) + "\n")
    return path


def read_manifest(root: str | Path) -> Manifest:
    """Parse ``root/manifest.json`` without checking the model files."""
    root = Path(root)
    path = root / MANIFEST
    if not root.is_dir():
        raise BundleError(f"{root}: bundle folder does not exist")
    if not path.is_file():
        raise BundleError(f"{path}: bundle manifest not found")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BundleError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(data, dict):
        raise BundleError(f"{path}: manifest must be a JSON object")
    return Manifest.from_dict(data, source=str(path))


def verify_files(root: str | Path, manifest: Manifest) -> None:
    """Check every artifact's sha256; BundleError names the first missing or changed file."""
    root = Path(root)
    for stage in manifest.stages.values():
        for art in stage.artifacts:
            f = root / art.file
            if not f.is_file():
                raise BundleError(f"{f}: model file listed in the manifest is missing")
            if not art.sha256:
                raise BundleError(f"{f}: manifest records no sha256 for this file")
            if sha256_file(f) != art.sha256:
                raise BundleError(f"{f}: sha256 does not match the manifest (file modified or corrupt)")


def load_bundle(root: str | Path, verify: bool = True) -> Bundle:
    """Read a bundle folder; with ``verify`` every model file's sha256 is checked."""
    manifest = read_manifest(root)
    if verify:
        verify_files(root, manifest)
    return Bundle(root=Path(root), manifest=manifest)
