"""Checkpoint -> ONNX: BatchNorm folded, dynamic batch axis, checked and simplified."""

from __future__ import annotations

import copy
import itertools
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval

from infantpose.runtime.bundle import Artifact
from infantpose.stages import TensorSpec, stage_def
from infantpose.train.checkpoint import model_from_checkpoint

OPSET = 18
_FUSABLE = (nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d, nn.Linear)
_BN = (nn.BatchNorm1d, nn.BatchNorm2d)


def _fuse(layer: nn.Module, bn: nn.Module) -> nn.Module:
    if isinstance(layer, nn.Linear):
        return fuse_linear_bn_eval(layer, bn)
    return fuse_conv_bn_eval(layer, bn, transpose=isinstance(layer, nn.ConvTranspose2d))


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """A copy of an eval-mode model with every (conv|linear) -> BatchNorm pair fused.

    Pairs are consecutive children of a Sequential, or sibling attributes named
    ``convK``/``bnK`` (ResNet blocks). Numerically the same function.
    """
    model = copy.deepcopy(model).eval()
    for module in model.modules():
        names = list(module._modules)
        if isinstance(module, nn.Sequential):
            pairs = list(itertools.pairwise(names))
        else:
            pairs = [(n, "bn" + n[4:]) for n in names if n.startswith("conv") and "bn" + n[4:] in names]
        for a, b in pairs:
            la, lb = module._modules[a], module._modules[b]
            if isinstance(la, _FUSABLE) and isinstance(lb, _BN):
                module._modules[a] = _fuse(la, lb)
                module._modules[b] = nn.Identity()
    return model


def example_input(ckpt: dict[str, Any], batch: int = 2, seed: int = 0) -> tuple[torch.Tensor, TensorSpec]:
    """A random input tensor of the checkpoint's contract and its spec (batch axis "N"), from its stage module."""
    params = ckpt["params"]
    x, spec = stage_def(ckpt["stage"]).example_input(params, batch, np.random.default_rng(seed))
    return torch.from_numpy(x), spec


def _output_specs(model: nn.Module, x: torch.Tensor, names: list[str]) -> list[TensorSpec]:
    with torch.no_grad():
        out = model(x)
    out = out if isinstance(out, tuple) else (out,)
    return [TensorSpec(n, ["N", *list(o.shape[1:])]) for n, o in zip(names, out, strict=True)]


class _WholeFrameOutputs(nn.Module):
    """torchvision detection model with a single image in and (boxes, scores) out."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.model([image])[0]
        return out["boxes"], out["scores"]


def export_onnx(ckpt: dict[str, Any], path: Path, opset: int = OPSET) -> Artifact:
    """Write the checkpoint's model as ONNX at ``path``; returns its bundle artifact entry."""
    import onnx

    params = ckpt["params"]
    in_names, out_names = list(params.io.inputs), list(params.io.outputs)
    model = model_from_checkpoint(ckpt)
    x, in_spec = example_input(ckpt)
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if params.whole_frame:
            # torchvision's detection models export through the TorchScript-based exporter.
            torch.onnx.export(
                _WholeFrameOutputs(model).eval(), (x,), str(path), input_names=in_names, output_names=out_names,
                opset_version=max(opset, 11), dynamic_axes={"image": {1: "H", 2: "W"}, "boxes": {0: "K"},
                                                             "scores": {0: "K"}}, dynamo=False,
            )  # fmt: skip
            outs = [TensorSpec("boxes", ["K", 4]), TensorSpec("scores", ["K"])]
        else:
            model = fold_batchnorm(model)
            outs = _output_specs(model, x, out_names)
            batch = torch.export.Dim("N", min=1, max=1024)
            torch.onnx.export(
                model, (x,), str(path), input_names=in_names, output_names=out_names, opset_version=opset,
                dynamic_shapes=({0: batch},), dynamo=True, optimize=True, verbose=False,
            )  # fmt: skip
    proto = onnx.load(str(path))  # the exporter may put weights in a side file: inline them
    Path(f"{path}.data").unlink(missing_ok=True)
    onnx.checker.check_model(proto, full_check=True)
    try:
        import onnxslim

        slim = onnxslim.slim(proto)
        onnx.checker.check_model(slim)
        proto = slim
    except ImportError:
        pass
    onnx.save(proto, str(path))
    return Artifact(file=path.name, format="onnx", precision="fp32", inputs=[in_spec], outputs=outs,
                    info={"opset": opset, "exporter": "torch.onnx (torchscript)" if params.whole_frame else
                          "torch.onnx (dynamo)"})  # fmt: skip


def store_exact_fp16(path: Path, min_elements: int = 256) -> dict[str, int]:
    """Rewrite, in place, float32 weights whose every value is exactly a float16 as float16 + Cast.

    Lossless (onnxruntime folds the Cast when the session loads, so outputs and speed are
    unchanged) and half the bytes for networks whose weights were float16 to begin with
    (BlazePose's come from an FP16 TFLite file). Returns counts for the artifact's info.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    proto = onnx.load(str(path))
    graph = proto.graph
    casts, saved = [], 0
    for init in graph.initializer:
        if init.data_type != TensorProto.FLOAT:
            continue
        w = numpy_helper.to_array(init)
        if w.size < min_elements:
            continue
        h = w.astype(np.float16)
        if not np.array_equal(h.astype(np.float32), w):
            continue
        name = init.name
        init.CopyFrom(numpy_helper.from_array(h, f"{name}__fp16"))
        casts.append(helper.make_node("Cast", [f"{name}__fp16"], [name], to=TensorProto.FLOAT, name=f"{name}__cast"))
        saved += w.nbytes - h.nbytes
    if not casts:
        return {}
    for node in reversed(casts):
        graph.node.insert(0, node)
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))
    return {"weights_stored_fp16": len(casts), "bytes_saved": saved}


def max_abs_diff(ckpt: dict[str, Any], onnx_path: Path, batch: int = 4, seed: int = 0) -> float:
    """Largest |PyTorch - onnxruntime (CPU)| over all outputs for a random input batch."""
    from infantpose.runtime.backends.onnxruntime import OnnxRuntimeBackend

    x, spec = example_input(ckpt, batch, seed)
    model = model_from_checkpoint(ckpt)
    whole_frame = ckpt["params"].whole_frame
    with torch.no_grad():
        ref = model([x])[0] if whole_frame else model(x)
    if whole_frame:
        ref = (ref["boxes"], ref["scores"])
    ref = ref if isinstance(ref, tuple) else (ref,)
    out = OnnxRuntimeBackend(onnx_path)({spec.name: x.numpy()})
    return max(float(np.abs(out[n] - r.numpy()).max()) for n, r in zip(out, ref, strict=True))
