"""Offscreen rendering of the posed infant with pyrender (OSMesa when there is no display)."""

from __future__ import annotations

import os

import numpy as np

from infantpose.geometry import Intrinsics

# OpenGL cameras look down -Z with Y up; ours look down +Z with Y down.
_CV_TO_GL = np.array([1.0, -1.0, -1.0], dtype=np.float32)


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(V, 3) unit normals: area-weighted mean of the adjacent face normals."""
    tri = vertices[faces]
    fn = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    idx = faces.reshape(-1)
    w = np.repeat(fn, 3, axis=0)
    n = np.stack([np.bincount(idx, weights=w[:, c], minlength=len(vertices)) for c in range(3)], axis=1)
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)


class BodyRenderer:
    """Renders one mesh (camera-frame vertices) to RGB and depth at the given intrinsics."""

    def __init__(self, intrinsics: Intrinsics, size: tuple[int, int]) -> None:
        os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")
        import pyrender

        self._pr = pyrender
        self.size = size
        self.renderer = pyrender.OffscreenRenderer(*size)
        self.scene = pyrender.Scene(bg_color=[0, 0, 0, 0], ambient_light=[0.35, 0.35, 0.35])
        cam = pyrender.IntrinsicsCamera(
            intrinsics.fx, intrinsics.fy, intrinsics.cx, intrinsics.cy, znear=0.05, zfar=5.0
        )
        self.scene.add(cam, pose=np.eye(4))
        self.light = self.scene.add(pyrender.DirectionalLight(color=np.ones(3), intensity=3.0), pose=np.eye(4))
        self.material = pyrender.MetallicRoughnessMaterial(
            baseColorFactor=[1.0, 1.0, 1.0, 1.0], metallicFactor=0.0, roughnessFactor=0.85
        )
        self._node = None

    def set_light(self, direction_cam: np.ndarray, intensity: float, ambient: float) -> None:
        """Directional light travelling along ``direction_cam`` (camera frame, unit)."""
        d = np.asarray(direction_cam, float) * _CV_TO_GL
        z = -d / np.linalg.norm(d)  # the light shines along its -Z axis
        x = np.cross([0.0, 1.0, 0.0], z)
        x /= max(np.linalg.norm(x), 1e-9)
        pose = np.eye(4)
        pose[:3, :3] = np.stack([x, np.cross(z, x), z], axis=1)
        self.scene.set_pose(self.light, pose)
        self.light.light.intensity = intensity
        self.scene.ambient_light = np.full(3, ambient)

    def render(self, vertices_cam: np.ndarray, faces: np.ndarray, colours: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """RGB (H, W, 3) float 0-1 and depth (H, W) float32 metres (0 where empty)."""
        pr = self._pr
        v = (vertices_cam * _CV_TO_GL).astype(np.float32)
        prim = pr.Primitive(
            positions=v,
            normals=vertex_normals(v, faces).astype(np.float32),
            color_0=colours,
            indices=faces,
            material=self.material,
        )
        if self._node is not None:
            self.scene.remove_node(self._node)
        self._node = self.scene.add(pr.Mesh([prim]))
        rgb, depth = self.renderer.render(self.scene)
        return rgb.astype(np.float32) / 255.0, depth.astype(np.float32)

    def close(self) -> None:
        self.renderer.delete()
