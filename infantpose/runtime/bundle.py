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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from infantpose.errors import BundleError
from infantpose.fileio import atomic_write_text
from infantpose.skeleton import JOINT_SETS
from infantpose.stages import STAGES as STAGE_DEFS
from infantpose.stages import ParamsError, StageParams, TensorSpec, parse_params

# 2: every stage's params name their "arch" and are validated as that stage's dataclass; the
# old "kind" key is gone. Version 1 bundles (infantpose 0.1 exports, which also wrote "arch") load.
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
MANIFEST = "manifest.json"
STAGES: tuple[str, ...] = tuple(STAGE_DEFS)
FORMATS: tuple[str, ...] = ("onnx", "engine")
PRECISIONS: tuple[str, ...] = ("fp32", "fp16", "int8")


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
    # ONNX external-data files (weights kept beside the model): file name -> sha256.
    external: dict[str, str] = field(default_factory=dict)


@dataclass
class Stage:
    """A pipeline stage: shared pre/post-processing parameters and its artifacts."""

    params: StageParams
    artifacts: list[Artifact]


@dataclass
class Manifest:
    """The whole bundle description (see ARCHITECTURE.md, "Bundle")."""

    joint_set: str
    stages: dict[str, Stage]
    format_version: int = FORMAT_VERSION
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for name, stage in self.stages.items():
            d["stages"][name]["params"] = stage.params.to_dict()
        return d

    @staticmethod
    def from_dict(d: dict[str, Any], source: str = MANIFEST) -> Manifest:
        """Parse and validate a manifest dict; BundleError names what is wrong."""
        try:
            version = d["format_version"]
            if version not in READABLE_VERSIONS:
                raise BundleError(
                    f"{source}: format_version {version!r} is not supported (this infantpose reads "
                    f"{', '.join(map(str, READABLE_VERSIONS))}): re-export the bundle with this version's "
                    "`infantpose export`"
                )
            stages = {}
            for name, s in _typed(d["stages"], dict, "stages", source).items():
                if name not in STAGES:
                    raise BundleError(f"{source}: unknown stage {name!r} (known: {', '.join(STAGES)})")
                s = _typed(s, dict, f"stages.{name}", source)
                arts = []
                for a in _typed(s["artifacts"], list, f"stages.{name}.artifacts", source):
                    a = _typed(a, dict, f"stages.{name}.artifacts[]", source)
                    art = Artifact(
                        file=_typed(a["file"], str, f"{name} artifact file", source),
                        format=a["format"],
                        precision=a["precision"],
                        inputs=[TensorSpec(**_typed(t, dict, f"{name} input", source)) for t in a["inputs"]],
                        outputs=[TensorSpec(**_typed(t, dict, f"{name} output", source)) for t in a["outputs"]],
                        sha256=_typed(a.get("sha256", ""), str, f"{name} sha256", source),
                        info=_typed(a.get("info", {}), dict, f"{name} info", source),
                        external=_typed(a.get("external", {}), dict, f"{name} external", source),
                    )
                    _check_artifact(art, name, source)
                    arts.append(art)
                if not arts:
                    raise BundleError(f"{source}: stage {name!r} lists no artifacts")
                params = _typed(s.get("params", {}), dict, f"stages.{name}.params", source)
                if version == 1:  # "kind" repeated "arch" (or nothing) in version 1
                    params = {k: v for k, v in params.items() if k != "kind"}
                stages[name] = Stage(params=parse_params(name, params, source), artifacts=arts)
            joint_set = _typed(d["joint_set"], str, "joint_set", source)
            if joint_set not in JOINT_SETS:
                raise BundleError(f"{source}: unknown joint_set {joint_set!r} (known: {', '.join(JOINT_SETS)})")
            # Parsed into this version's types: written back, it is a version FORMAT_VERSION manifest.
            return Manifest(joint_set=joint_set, stages=stages, meta=d.get("meta", {}))
        except KeyError as e:
            raise BundleError(f"{source}: missing field {e.args[0]!r}") from None
        except ParamsError as e:
            raise BundleError(str(e)) from None
        except (TypeError, AttributeError) as e:
            raise BundleError(f"{source}: malformed entry ({e})") from None


def _typed(value: Any, kind: type, what: str, source: str) -> Any:
    if not isinstance(value, kind):
        raise BundleError(f"{source}: {what} must be a JSON {_JSON_NAME[kind]}, not {type(value).__name__}")
    return value


_JSON_NAME = {dict: "object", list: "array", str: "string"}


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
            art.external = {name: sha256_file(root / name) for name in art.external}
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
    except RecursionError:
        raise BundleError(f"{path}: JSON nested too deeply to be a manifest") from None
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
            for name, digest in art.external.items():
                x = root / name
                if Path(name).name != name or not x.is_file():
                    raise BundleError(f"{x}: external data file of {art.file} is missing")
                if sha256_file(x) != digest:
                    raise BundleError(f"{x}: sha256 does not match the manifest (file modified or corrupt)")


def load_bundle(root: str | Path, verify: bool = True) -> Bundle:
    """Read a bundle folder; with ``verify`` every model file's sha256 is checked."""
    manifest = read_manifest(root)
    if verify:
        verify_files(root, manifest)
    return Bundle(root=Path(root), manifest=manifest)
