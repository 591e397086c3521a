"""Scene around the infant: mattress backgrounds, camera placement, compositing, sensor noise.

The bed frame has x and y in the mattress plane and z pointing into the
mattress (away from the camera); the mattress surface is z = 0. The camera
sits at height ``distance`` above it, tilted by a few degrees.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from infantpose.geometry import Intrinsics, project
from infantpose.synth.motion import rotation

# anny (X left, Y back, Z head) -> bed frame for an infant on its back, head up
# in the image, face towards the camera: X -> +x, Z -> -y, Y (back) -> +z.
ANNY_TO_BED = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


@dataclass
class Camera:
    """Camera pose over the bed: p_cam = tilt @ (p_bed - position)."""

    position: np.ndarray  # (3,) bed frame, z = -distance
    tilt: np.ndarray  # (3, 3)

    @property
    def distance(self) -> float:
        return float(-self.position[2])

    def to_camera(self, points_bed: np.ndarray) -> np.ndarray:
        return (points_bed - self.position) @ self.tilt.T


def place_body(
    vertices: np.ndarray, joints: np.ndarray, roll: np.ndarray, plane: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """anny-frame (F, V, 3) vertices and (F, J, 3) joints to the bed frame, lying on the mattress.

    ``roll`` turns the body about its long axis, ``plane`` about the mattress
    normal (degrees, (F,)). Each frame's lowest point touches z = 0.
    """
    r = rotation("z", plane) @ ANNY_TO_BED[None] @ rotation("z", roll)
    v = np.einsum("fij,fvj->fvi", r.astype(np.float32), vertices)
    j = np.einsum("fij,fvj->fvi", r, joints)
    lift = v[..., 2].max(axis=1)  # back of the body on the mattress
    v[..., 2] -= lift[:, None]
    j[..., 2] -= lift[:, None]
    return v, j


def fit_camera(
    vertices_bed: np.ndarray,
    intrinsics: Intrinsics,
    size: tuple[int, int],
    rng: np.random.Generator,
    distance_range: tuple[float, float] = (0.7, 1.1),
    max_tilt_deg: float = 6.0,
    margin_px: float = 12.0,
    oblique: bool = False,
) -> Camera:
    """A camera 0.7-1.1 m above the bed that keeps every vertex of every frame in view.

    The distance is drawn from ``distance_range`` and raised in 2 cm steps
    when the infant would leave the frame. ``oblique``: the tilt is drawn as a
    magnitude of 0-``max_tilt_deg`` in any direction and the camera is moved
    along its tilted axis so that it still looks at the infant (a phone or a
    cot-side camera), ``distance`` then being measured along that axis.
    """
    w, h = size
    sub = vertices_bed[:, :: max(1, vertices_bed.shape[1] // 1500)]
    if oblique:
        tilt = rotation("x", [rng.uniform(0, max_tilt_deg)])[0]
        tilt = tilt @ rotation("z", [rng.uniform(-180, 180)])[0]
    else:
        tilt = rotation("x", [rng.uniform(-max_tilt_deg, max_tilt_deg)])[0]
        tilt = rotation("y", [rng.uniform(-max_tilt_deg, max_tilt_deg)])[0] @ tilt
    centre = sub.reshape(-1, 3).mean(axis=0)
    offset = rng.uniform(-0.04, 0.04, 2)
    distance = rng.uniform(*distance_range)
    for _ in range(200):
        if oblique:  # back off along the optical axis (tilt's third row, in the bed frame)
            pos = centre + np.array([offset[0], offset[1], 0.0]) - distance * tilt[2]
        else:
            pos = np.array([centre[0] + offset[0], centre[1] + offset[1], -distance])
        cam = Camera(position=pos, tilt=tilt)
        uv = project(cam.to_camera(sub.reshape(-1, 3)), intrinsics)
        inside = (uv[:, 0] >= margin_px) & (uv[:, 0] <= w - 1 - margin_px)
        inside &= (uv[:, 1] >= margin_px) & (uv[:, 1] <= h - 1 - margin_px)
        if inside.all():
            return cam
        distance += 0.02
        offset *= 0.9
    raise RuntimeError("could not fit the infant in the frame")


def mattress_depth(camera: Camera, intrinsics: Intrinsics, size: tuple[int, int]) -> np.ndarray:
    """(H, W) float32 metres: depth Z of the mattress plane seen through each pixel."""
    w, h = size
    u, v = np.meshgrid(np.arange(w), np.arange(h))
    rays = np.stack(
        [(u - intrinsics.cx) / intrinsics.fx, (v - intrinsics.cy) / intrinsics.fy, np.ones_like(u, float)], -1
    )
    dz = rays @ camera.tilt[2]  # z component of each ray in the bed frame (tilt is a rotation)
    return (camera.distance / np.maximum(dz, 1e-3)).astype(np.float32)


def _low_freq(rng: np.random.Generator, size: tuple[int, int], cells: int) -> np.ndarray:
    w, h = size
    small = rng.normal(size=(cells, max(2, cells * w // h)))
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def background(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """(H, W, 3) float32 RGB 0-1: a procedural blanket or sheet (stripes, checks, dots, plain)."""
    w, h = size
    base = rng.uniform(0.25, 0.95, 3)
    second = np.clip(base * rng.uniform(0.5, 1.3, 3) + rng.uniform(-0.2, 0.2, 3), 0, 1)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    kind = rng.choice(["plain", "stripes", "checks", "dots", "waves"])
    ang = rng.uniform(0, np.pi)
    coord = xx * np.cos(ang) + yy * np.sin(ang)
    period = rng.uniform(12, 60)
    if kind == "stripes":
        m = (np.mod(coord, period) < period * rng.uniform(0.3, 0.7)).astype(np.float32)
    elif kind == "checks":
        other = -xx * np.sin(ang) + yy * np.cos(ang)
        m = 0.5 * ((np.mod(coord, period) < period / 2).astype(np.float32) + (np.mod(other, period) < period / 2))
    elif kind == "dots":
        other = -xx * np.sin(ang) + yy * np.cos(ang)
        d = np.hypot(np.mod(coord, period) - period / 2, np.mod(other, period) - period / 2)
        m = (d < period * rng.uniform(0.15, 0.3)).astype(np.float32)
    elif kind == "waves":
        m = 0.5 + 0.5 * np.sin(coord / period * 2 * np.pi + 3 * np.sin(yy / (period * 3)))
    else:
        m = np.zeros((h, w), np.float32)
    img = base * (1 - m[..., None]) + second * m[..., None]
    # Folds and uneven lighting, then fabric grain.
    shade = 1 + 0.12 * _low_freq(rng, size, 4) + 0.05 * _low_freq(rng, size, 12)
    img = img * shade[..., None] + rng.normal(0, 0.015, (h, w, 1))
    return np.clip(img, 0, 1).astype(np.float32)


def composite(
    body_rgb: np.ndarray, mask: np.ndarray, bg: np.ndarray, light_dir: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Lay the rendered infant (H, W, 3 float RGB) over the background with a soft shadow."""
    m = mask.astype(np.float32)
    h, w = m.shape
    # The shadow is soft: blur it at quarter resolution.
    dx, dy = (light_dir[:2] * 14).astype(int)
    small = cv2.resize(np.roll(np.roll(m, dy, axis=0), dx, axis=1), (w // 4, h // 4), interpolation=cv2.INTER_AREA)
    shadow = cv2.resize(cv2.GaussianBlur(small, (0, 0), 2.25), (w, h), interpolation=cv2.INTER_LINEAR)
    under = bg * (1 - 0.35 * shadow[..., None])
    alpha = cv2.GaussianBlur(m, (3, 3), 0.7)[..., None]  # soft silhouette edge
    return under * (1 - alpha) + body_rgb * alpha


def sensor(img: np.ndarray, rng: np.random.Generator, noise: float, blur: float) -> np.ndarray:
    """Float RGB 0-1 -> uint8 BGR with Gaussian noise (sigma in 0-255 units) and blur."""
    out = (img * 255.0).astype(np.float32)
    if blur > 0.3:
        out = cv2.GaussianBlur(out, (0, 0), blur)
    grain = np.empty(out.shape, np.float32)
    cv2.setRNGSeed(int(rng.integers(2**31)))  # OpenCV's generator: fast and seeded from ours
    cv2.randn(grain, 0.0, noise)
    out += grain
    return cv2.cvtColor(np.clip(out, 0, 255).astype(np.uint8), cv2.COLOR_RGB2BGR)
