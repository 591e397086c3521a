"""Appearance randomisation towards real footage, applied to rendered frames at training time.

The renderer gives bare skin or plain clothes on procedural blankets, filmed
from above. Real recordings have printed sleepsuits, real bedding and rooms,
hands of adults, crib bars, night-vision greyscale, JPEG and privacy masks.
Using the foreground mask and the 2D joints of each rendered frame, this
module swaps in real photographs as background, paints textured garments
over the limbs, adds occluders and degrades the image like a camera would.

Real textures come from photo folders (Debian wallpaper packages by default,
see :data:`DEFAULT_TEXTURE_DIRS`); without any, procedural patterns stand in.
Everything random comes from the caller's ``numpy`` generator, so an item is
reproducible. Images are BGR uint8 (H, W, 3); joints (J, 2) frame px in MPII order.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from infantpose.skeleton import FACE_JOINTS, HANDS_FEET, LIMB_CHAINS, MPII, TORSO_POLYGON

# Installed by scripts/setup-system.sh --textures; used at training time only, never shipped.
DEFAULT_TEXTURE_DIRS = ("/usr/share/backgrounds", "/usr/share/wallpapers")
# Debian package -> licence of its images (from /usr/share/doc/PACKAGE/copyright), recorded in checkpoints.
TEXTURE_SOURCES = {
    "gnome-backgrounds": "CC-BY-SA-3.0 (per image, see its copyright file)",
    "plasma-workspace-wallpapers": "GPL-2+ / LGPL / CC-BY-SA (per wallpaper)",
    "ukui-wallpapers": "CC-BY-SA-3.0",
    "lomiri-wallpapers": "CC-BY-4.0, CC-BY-SA-3.0/4.0, CC0-1.0, Expat (per image)",
}
_MAX_SIDE = 720  # textures are kept in memory at this size
_EXTS = (".jpg", ".jpeg", ".png", ".webp")


def find_texture_files(dirs: Sequence[str | Path] = DEFAULT_TEXTURE_DIRS) -> list[Path]:
    """Image files under ``dirs``, one per wallpaper folder (its largest), sorted for determinism."""
    best: dict[Path, Path] = {}
    for d in map(Path, dirs):
        if not d.is_dir():
            continue
        for f in d.rglob("*"):
            if f.suffix.lower() not in _EXTS or not f.is_file():
                continue
            # KDE wallpapers ship one image per resolution under WALLPAPER/contents/images/.
            key = f.parents[2] if f.parent.name == "images" and f.parent.parent.name == "contents" else f
            if key not in best or f.stat().st_size > best[key].stat().st_size:
                best[key] = f
    return sorted(best.values())


@functools.lru_cache(maxsize=4)
def load_textures(files: tuple[Path, ...]) -> tuple[np.ndarray, ...]:
    """Decode and shrink texture photos once per process (BGR uint8, longest side <= 720)."""
    out = []
    for f in files:
        img = cv2.imread(str(f), cv2.IMREAD_COLOR)
        if img is None:
            continue
        s = _MAX_SIDE / max(img.shape[:2])
        if s < 1:
            img = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        out.append(img)
    return tuple(out)


def procedural_texture(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """(H, W, 3) BGR uint8 print: stripes, checks, dots or smooth noise in two random colours."""
    w, h = size
    a, b = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ang = rng.uniform(0, np.pi)
    u = xx * np.cos(ang) + yy * np.sin(ang)
    v = -xx * np.sin(ang) + yy * np.cos(ang)
    period = rng.uniform(6, 40)
    kind = rng.integers(4)
    if kind == 0:
        m = (np.mod(u, period) < period / 2).astype(np.float32)
    elif kind == 1:
        m = ((np.mod(u, period) < period / 2) ^ (np.mod(v, period) < period / 2)).astype(np.float32)
    elif kind == 2:
        m = (np.hypot(np.mod(u, period) - period / 2, np.mod(v, period) - period / 2) < period / 4).astype(np.float32)
    else:
        small = rng.uniform(0, 1, (max(2, h // 24), max(2, w // 24))).astype(np.float32)
        m = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    img = a * (1 - m[..., None]) + b * m[..., None]
    return np.clip(img, 0, 255).astype(np.uint8)


class Realism:
    """Callable appearance randomiser; see the module docstring.

    Args:
        texture_dirs: folders of photographs to use as backgrounds and fabric prints.
        strength: 0 disables everything, 1 is the default mix of probabilities.
    """

    def __init__(self, texture_dirs: Sequence[str | Path] = DEFAULT_TEXTURE_DIRS, strength: float = 1.0) -> None:
        self.files = tuple(find_texture_files(texture_dirs))
        self.strength = strength

    @property
    def textures(self) -> tuple[np.ndarray, ...]:
        return load_textures(self.files)

    def _p(self, p: float) -> float:
        return min(1.0, p * self.strength)

    def texture(self, rng: np.random.Generator, size: tuple[int, int], photo: float = 0.7) -> np.ndarray:
        """A (H, W, 3) BGR patch: a random scaled, rotated, flipped crop of a photo, or a print."""
        tex = self.textures
        if not tex or rng.random() > photo:
            return procedural_texture(rng, size)
        src = tex[rng.integers(len(tex))]
        w, h = size
        sh, sw = src.shape[:2]
        scale = rng.uniform(0.6, 2.5) * max(w / sw, h / sh)
        centre = (rng.uniform(0.2, 0.8) * sw, rng.uniform(0.2, 0.8) * sh)
        m = cv2.getRotationMatrix2D(centre, rng.uniform(-180, 180), scale)
        m[:, 2] += np.array([w / 2, h / 2]) - centre
        out = cv2.warpAffine(src, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        if rng.random() < 0.5:
            out = out[:, ::-1]
        return np.ascontiguousarray(out)

    # ---- scene and body -------------------------------------------------------------------------

    def background(self, img: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Replace everything outside the (H, W) uint8 mask by photos (one or two regions), with a shadow."""
        h, w = mask.shape
        bg = self.texture(rng, (w, h)).astype(np.float32)
        if rng.random() < 0.5:  # a blanket or mattress edge across the scene
            other = self.texture(rng, (w, h)).astype(np.float32)
            yy, xx = np.mgrid[0:h, 0:w]
            ang = rng.uniform(0, 2 * np.pi)
            line = (xx - rng.uniform(0, w)) * np.cos(ang) + (yy - rng.uniform(0, h)) * np.sin(ang)
            sel = cv2.GaussianBlur((line > 0).astype(np.float32), (0, 0), 2)[..., None]
            bg = bg * sel + other * (1 - sel)
        bg = bg * rng.uniform(0.6, 1.15)
        m = cv2.GaussianBlur((mask > 0).astype(np.float32), (0, 0), 0.8)
        shift = np.float32([[1, 0, rng.uniform(-15, 15)], [0, 1, rng.uniform(-15, 15)]])
        shadow = cv2.GaussianBlur(cv2.warpAffine(m, shift, (w, h)), (0, 0), rng.uniform(3, 12))
        bg *= (1 - rng.uniform(0.1, 0.45) * shadow)[..., None]
        out = img.astype(np.float32) * m[..., None] + bg * (1 - m[..., None])
        return np.clip(out, 0, 255).astype(np.uint8)

    def garment(self, img: np.ndarray, mask: np.ndarray, joints: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Paint a textured sleepsuit / onesie / trousers over torso and limbs, shaded by the render."""
        h, w = mask.shape
        size = _body_size(joints)
        region = np.zeros((h, w), np.uint8)
        covered = ["r_leg", "l_leg"] if rng.random() < 0.85 else []
        if rng.random() < 0.7:
            covered += ["r_arm", "l_arm"]
        thick = max(2, int(size * rng.uniform(0.14, 0.22)))
        for name in covered:
            pts = _points(joints, LIMB_CHAINS[name])
            if rng.random() < 0.4:  # short legs or sleeves end at the knee / elbow
                pts = pts[:2]
            cv2.polylines(region, [pts], False, 255, thick)
        cv2.fillPoly(region, [_points(joints, TORSO_POLYGON)], 255)
        cv2.polylines(region, [_points(joints, TORSO_POLYGON)], True, 255, thick)
        region = cv2.bitwise_and(region, (mask > 0).astype(np.uint8) * 255)
        if not region.any():
            return img
        tex = self.texture(rng, (w, h), photo=0.5).astype(np.float32)
        tex = tex * rng.uniform(0.6, 1.2, 3)  # dye
        lum = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float32)
        shade = np.clip(lum / max(float(lum[region > 0].mean()), 1.0), 0.35, 1.6)[..., None]
        a = cv2.GaussianBlur(region.astype(np.float32) / 255, (0, 0), 1.0)[..., None]
        out = img.astype(np.float32) * (1 - a) + tex * shade * a
        return np.clip(out, 0, 255).astype(np.uint8)

    def skin(self, img: np.ndarray, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Low-frequency tone variation and blotches on the body (rendered skin is flat)."""
        h, w = mask.shape
        small = rng.normal(0, 1, (max(2, h // 40), max(2, w // 40), 3)).astype(np.float32)
        var = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC) * rng.uniform(3, 12)
        gain = rng.uniform(0.75, 1.2, 3)
        m = (mask > 0).astype(np.float32)[..., None]
        out = img.astype(np.float32) * (1 - m) + (img.astype(np.float32) * gain + var) * m
        return np.clip(out, 0, 255).astype(np.uint8)

    def occluders(self, img: np.ndarray, joints: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One or two of: a blanket over part of the legs, an adult hand/arm, crib bars, a toy, mittens."""
        out = img.copy()
        h, w = img.shape[:2]
        size = _body_size(joints)
        kinds = rng.choice(["blanket", "hand", "bars", "toy", "mittens"], size=rng.integers(1, 3), replace=False)
        for kind in kinds:
            if kind == "blanket":
                centre = joints[MPII.index(rng.choice(["r_knee", "l_knee", "r_ankle", "l_ankle", "pelvis"]))]
                ang = rng.uniform(0, np.pi)
                half = np.array([np.cos(ang), np.sin(ang)]) * size * rng.uniform(0.5, 1.2)
                normal = np.array([-half[1], half[0]]) / max(np.linalg.norm(half), 1e-6) * size * rng.uniform(0.1, 0.3)
                quad = np.array([centre - half - normal, centre + half - normal, centre + half + normal,
                                 centre - half + normal]).astype(np.int32)  # fmt: skip
                reg = np.zeros((h, w), np.uint8)
                cv2.fillPoly(reg, [quad], 255)
                out = _paste(out, self.texture(rng, (w, h)), reg)
            elif kind == "hand":  # an adult's forearm and hand reaching in from an edge
                target = joints[rng.integers(len(joints))] + rng.normal(0, size * 0.2, 2)
                edge = np.array([rng.choice([0, w]), rng.uniform(0, h)] if rng.random() < 0.5
                                else [rng.uniform(0, w), rng.choice([0, h])])  # fmt: skip
                reg = np.zeros((h, w), np.uint8)
                cv2.line(reg, _pt(edge), _pt(target), 255, max(3, int(size * rng.uniform(0.2, 0.35))))
                cv2.circle(reg, _pt(target), max(3, int(size * rng.uniform(0.15, 0.25))), 255, -1)
                tone = np.array([rng.uniform(60, 200), rng.uniform(90, 210), rng.uniform(120, 240)])
                patch = np.full((h, w, 3), tone, np.float32) * rng.uniform(0.9, 1.1, 3)
                out = _paste(out, patch.astype(np.uint8), reg, soft=2.0)
            elif kind == "bars":
                reg = np.zeros((h, w), np.uint8)
                period = rng.uniform(0.08, 0.2) * max(w, h)
                thick = max(2, int(period * rng.uniform(0.1, 0.3)))
                for x in np.arange(rng.uniform(0, period), w, period):
                    cv2.line(reg, (int(x), 0), (int(x), h), 255, thick)
                if rng.random() < 0.5:
                    reg = cv2.rotate(cv2.resize(reg, (h, w)), cv2.ROTATE_90_CLOCKWISE)
                patch = np.full((h, w, 3), rng.uniform(40, 250, 3), np.uint8)
                out = _paste(out, patch, reg, soft=1.0)
            elif kind == "toy":
                c = joints[rng.integers(len(joints))] + rng.normal(0, size * 0.3, 2)
                reg = np.zeros((h, w), np.uint8)
                axes = (max(2, int(size * rng.uniform(0.08, 0.25))), max(2, int(size * rng.uniform(0.08, 0.25))))
                cv2.ellipse(reg, _pt(c), axes, rng.uniform(0, 180), 0, 360, 255, -1)
                out = _paste(out, procedural_texture(rng, (w, h)), reg, soft=1.0)
            else:  # mittens and socks: discs over hands and feet
                reg = np.zeros((h, w), np.uint8)
                for name in HANDS_FEET:
                    if rng.random() < 0.6:
                        cv2.circle(reg, _pt(joints[MPII.index(name)]), max(2, int(size * 0.09)), 255, -1)
                out = _paste(out, np.full((h, w, 3), rng.uniform(30, 250, 3), np.uint8), reg, soft=1.5)
        return out

    def face_mask(self, img: np.ndarray, joints: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Mosaic or blur over the face, as de-identified clinical video has."""
        a, b = (joints[MPII.index(n)] for n in FACE_JOINTS)
        r = int(max(6.0, 1.3 * float(np.linalg.norm(a - b))))
        c = _pt((a + 2 * b) / 3)
        h, w = img.shape[:2]
        x0, y0, x1, y1 = max(0, c[0] - r), max(0, c[1] - r), min(w, c[0] + r), min(h, c[1] + r)
        if x1 - x0 < 4 or y1 - y0 < 4:
            return img
        out = img.copy()
        roi = out[y0:y1, x0:x1]
        if rng.random() < 0.5:
            cells = int(rng.integers(4, 9))
            small = cv2.resize(roi, (cells, cells), interpolation=cv2.INTER_AREA)
            out[y0:y1, x0:x1] = cv2.resize(small, (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST)
        else:
            out[y0:y1, x0:x1] = cv2.GaussianBlur(roi, (0, 0), r / 3)
        return out

    def scene(
        self, img: np.ndarray, mask: np.ndarray | None, joints: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """The whole-frame steps (background, skin, garment, occluders, face) with their probabilities."""
        if self.strength <= 0:
            return img
        if mask is not None and mask.shape == img.shape[:2]:
            if rng.random() < self._p(0.4):
                img = self.skin(img, mask, rng)
            if rng.random() < self._p(0.55):
                img = self.garment(img, mask, joints, rng)
            if rng.random() < self._p(0.65):
                img = self.background(img, mask, rng)
        if rng.random() < self._p(0.4):
            img = self.occluders(img, joints, rng)
        if rng.random() < self._p(0.12):
            img = self.face_mask(img, joints, rng)
        return img

    def negative(self, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
        """A (H, W, 3) frame with no infant: bedding or room photos, sometimes with clutter."""
        w, h = size
        img = self.texture(rng, (w, h), photo=0.85)
        if rng.random() < 0.5:
            fake = np.stack([rng.uniform(0.3 * w, 0.7 * w, 16), rng.uniform(0.3 * h, 0.7 * h, 16)], axis=1)
            img = self.occluders(img, fake, rng)
        return img


def sensor(img: np.ndarray, rng: np.random.Generator, strength: float = 1.0) -> np.ndarray:
    """Camera and transmission: colour temperature, exposure, IR greyscale, rescaling, motion blur,
    noise and JPEG, each with its own probability (scaled by ``strength``)."""
    if strength <= 0:
        return img
    p = lambda q: rng.random() < min(1.0, q * strength)  # noqa: E731
    x = img.astype(np.float32)
    if p(0.6):  # colour temperature: warm (tungsten) to cool (daylight / LED)
        t = rng.uniform(-1, 1)
        x *= np.array([1 - 0.25 * t, 1.0, 1 + 0.25 * t], np.float32)  # BGR
    if p(0.5):  # under- or over-exposure
        x = 255.0 * (np.clip(x, 0, 255) / 255.0) ** rng.uniform(0.5, 1.8) * rng.uniform(0.7, 1.3)
    if p(0.15):  # IR night vision: grey, flat, noisy
        g = cv2.cvtColor(np.clip(x, 0, 255).astype(np.uint8), cv2.COLOR_BGR2GRAY).astype(np.float32)
        g = (g - g.mean()) * rng.uniform(0.6, 1.2) + rng.uniform(90, 160)
        x = np.repeat(g[..., None], 3, axis=2) * (np.array([1.0, 1.05, 1.0]) if rng.random() < 0.3 else 1.0)
    elif p(0.08):
        g = cv2.cvtColor(np.clip(x, 0, 255).astype(np.uint8), cv2.COLOR_BGR2GRAY).astype(np.float32)
        x = np.repeat(g[..., None], 3, axis=2)
    h, w = x.shape[:2]
    if p(0.3):  # a smaller camera upscaled (or a phone's heavy processing)
        s = rng.uniform(0.25, 0.7)
        small = cv2.resize(x, (max(8, int(w * s)), max(8, int(h * s))), interpolation=cv2.INTER_AREA)
        x = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    if p(0.2):  # motion blur along a random direction
        k = int(rng.integers(3, 10))
        kernel = np.zeros((k, k), np.float32)
        kernel[k // 2] = 1.0 / k
        m = cv2.getRotationMatrix2D(((k - 1) / 2, (k - 1) / 2), rng.uniform(0, 180), 1.0)
        kernel = cv2.warpAffine(kernel, m, (k, k))
        x = cv2.filter2D(x, -1, kernel / max(kernel.sum(), 1e-6))
    if p(0.4):
        x = x + rng.normal(0, rng.uniform(2, 12), x.shape).astype(np.float32)
    out = np.clip(x, 0, 255).astype(np.uint8)
    if p(0.5):
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 96))])
        if ok:
            out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return out


def _body_size(joints: np.ndarray) -> float:
    """A length in px that scales with the infant in the frame: the diagonal of the joints' box."""
    lo, hi = joints.min(axis=0), joints.max(axis=0)
    return float(max(np.linalg.norm(hi - lo), 8.0))


def _points(joints: np.ndarray, names: Sequence[str]) -> np.ndarray:
    return np.round([joints[MPII.index(n)] for n in names]).astype(np.int32)


def _pt(p: np.ndarray) -> tuple[int, int]:
    return round(float(p[0])), round(float(p[1]))


def _paste(img: np.ndarray, patch: np.ndarray, region: np.ndarray, soft: float = 1.5) -> np.ndarray:
    a = cv2.GaussianBlur(region.astype(np.float32) / 255.0, (0, 0), soft)[..., None]
    return np.clip(img * (1 - a) + patch.astype(np.float32) * a, 0, 255).astype(np.uint8)
