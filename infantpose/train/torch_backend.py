"""A PyTorch model behind the runtime's Backend protocol, so evaluation of checkpoints
runs through exactly the same stage code (pre/post-processing) as the deployed models."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from infantpose.runtime.backends.base import Closing
from infantpose.stages import StageParams


class TorchBackend(Closing):
    """Runs an eval-mode ``nn.Module`` on float32 numpy inputs (batched, no grad), with the tensor names
    of the stage contract ``params`` describes (the names the ONNX export gives the same network)."""

    def __init__(
        self, model: nn.Module, params: StageParams, device: str | torch.device = "cpu", batch: int = 64
    ) -> None:
        self.model = model.eval().to(device)
        self.whole_frame = params.whole_frame
        self.device = torch.device(device)
        self.batch = batch
        self.input_names, self.output_names = list(params.io.inputs), list(params.io.outputs)
        self.input_ranks: dict[str, int] = {}  # a PyTorch module does not declare them
        self.output_ranks: dict[str, int] = {}
        self.input_dtypes: dict[str, str] = {}
        self.output_dtypes: dict[str, str] = {}
        self.name = f"pytorch/{self.device.type}"

    def close(self) -> None:
        """Drop the model (and the CUDA allocator's cached blocks when it ran on a GPU)."""
        self.model = None
        if self.device.type == "cuda":
            torch.cuda.empty_cache()

    @torch.no_grad()
    def __call__(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        x = inputs[self.input_names[0]]
        if self.whole_frame:  # torchvision detection: a list of images in, dicts out
            out = self.model([torch.from_numpy(x).to(self.device)])[0]
            keep = out["labels"] == 1
            return {"boxes": out["boxes"][keep].cpu().numpy(), "scores": out["scores"][keep].cpu().numpy()}
        chunks: list[Any] = []
        for i in range(0, len(x), self.batch):
            y = self.model(torch.from_numpy(np.ascontiguousarray(x[i : i + self.batch])).to(self.device))
            chunks.append(y if isinstance(y, tuple) else (y,))
        return {
            name: torch.cat([c[k] for c in chunks]).float().cpu().numpy() for k, name in enumerate(self.output_names)
        }


def stage_from_checkpoint(ckpt: dict[str, Any], device: str = "cpu") -> Any:
    """The runtime stage (DetectorStage / PoseStage / LifterStage) running a checkpoint's model."""
    from infantpose.stages import make_stage
    from infantpose.train.checkpoint import model_from_checkpoint

    backend = TorchBackend(model_from_checkpoint(ckpt), ckpt["params"], device)
    return make_stage(ckpt["stage"], backend, ckpt["params"])
