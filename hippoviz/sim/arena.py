"""The arena: a rectangle, an ellipse or a blend of both outlines, centred on the origin.

The outline is star-shaped around the centre: at angle ``a`` its radius is
``(1 - m) r_rect(a) + m r_ellipse(a)`` with ``m`` the shape morph. It is sampled as a polygon with
the same number of segments on each of the four walls (east, north, west, south), split at the
corner angles of the bounding rectangle, so a rectangle is represented exactly and every wall of a
circle is a quarter of it. Border cells and the rat's wall avoidance use these segments.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numba import njit
from numpy.typing import NDArray

#: Wall order of border cells and segments.
WALLS: tuple[str, ...] = ("east", "north", "west", "south")
SEGMENTS_PER_WALL = 32


def _radius(a: NDArray[np.float64], hw: float, hh: float, m: float) -> NDArray[np.float64]:
    c, s = np.abs(np.cos(a)), np.abs(np.sin(a))
    with np.errstate(divide="ignore"):
        r_rect = np.minimum(np.where(c > 0, hw / np.maximum(c, 1e-300), np.inf),
                            np.where(s > 0, hh / np.maximum(s, 1e-300), np.inf))
    r_ell = hw * hh / np.sqrt((hh * np.cos(a)) ** 2 + (hw * np.sin(a)) ** 2)
    return np.asarray((1.0 - m) * r_rect + m * r_ell, dtype=np.float64)


@dataclass(frozen=True)
class Arena:
    """Geometry of the arena (metres).

    Attributes
    ----------
    width_m, height_m : float
        Extent along x and y.
    shape_morph : float
        0 = rectangle, 1 = ellipse (circle when width = height).
    """

    width_m: float = 1.0
    height_m: float = 1.0
    shape_morph: float = 0.0
    segments: NDArray[np.float64] = field(init=False, repr=False, compare=False)
    seg_wall: NDArray[np.int64] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        hw, hh, m = self.width_m / 2, self.height_m / 2, self.shape_morph
        ac = math.atan2(hh, hw)
        bounds = [(-ac, ac), (ac, math.pi - ac), (math.pi - ac, math.pi + ac),
                  (math.pi + ac, 2 * math.pi - ac)]
        pts, walls = [], []
        for w, (a0, a1) in enumerate(bounds):
            a = np.linspace(a0, a1, SEGMENTS_PER_WALL + 1)
            r = _radius(a, hw, hh, m)
            p = np.stack([r * np.cos(a), r * np.sin(a)], axis=1)
            pts.append(np.concatenate([p[:-1], p[1:]], axis=1))
            walls.append(np.full(SEGMENTS_PER_WALL, w, dtype=np.int64))
        object.__setattr__(self, "segments", np.ascontiguousarray(np.concatenate(pts)))
        object.__setattr__(self, "seg_wall", np.concatenate(walls))

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(xmin, xmax, ymin, ymax)`` of the bounding rectangle."""
        return (-self.width_m / 2, self.width_m / 2, -self.height_m / 2, self.height_m / 2)

    def outline(self) -> NDArray[np.float64]:
        """Closed polygon ``(k + 1, 2)`` of the walls (first vertex repeated at the end)."""
        p = self.segments[:, :2]
        return np.concatenate([p, p[:1]], axis=0)

    def contains(self, x: float, y: float) -> bool:
        return bool(contains(x, y, self.width_m, self.height_m, self.shape_morph))

    def area_m2(self) -> float:
        p = self.outline()
        return float(0.5 * abs(np.dot(p[:-1, 0], p[1:, 1]) - np.dot(p[1:, 0], p[:-1, 1])))


# ---- kernels ---------------------------------------------------------------------------------
@njit(cache=True, nogil=True)
def contains(x: float, y: float, width: float, height: float, morph: float) -> bool:
    """Whether (x, y) lies strictly inside the outline."""
    r = math.sqrt(x * x + y * y)
    if r == 0.0:
        return True
    c = abs(x) / r
    s = abs(y) / r
    hw = 0.5 * width
    hh = 0.5 * height
    r_rect = 1e300
    if c > 0.0:
        r_rect = hw / c
    if s > 0.0:
        r_rect = min(r_rect, hh / s)
    r_ell = hw * hh / math.sqrt((hh * c) ** 2 + (hw * s) ** 2)
    return r < (1.0 - morph) * r_rect + morph * r_ell


@njit(cache=True, nogil=True)
def _seg_dist(x: float, y: float, x0: float, y0: float, x1: float, y1: float) -> tuple[
        float, float, float]:
    dx = x1 - x0
    dy = y1 - y0
    ll = dx * dx + dy * dy
    t = 0.0
    if ll > 0.0:
        t = ((x - x0) * dx + (y - y0) * dy) / ll
        t = min(1.0, max(0.0, t))
    px = x0 + t * dx
    py = y0 + t * dy
    return math.sqrt((x - px) ** 2 + (y - py) ** 2), px, py


@njit(cache=True, nogil=True)
def wall_distances(x: float, y: float, segments: NDArray[np.float64],
                   seg_wall: NDArray[np.int64], out: NDArray[np.float64]) -> None:
    """Distance from (x, y) to each of the four walls, written to ``out (4,)``.

    Also returns nothing; ``out[w]`` is the minimum over the segments of wall ``w``.
    """
    for w in range(4):
        out[w] = 1e300
    for i in range(segments.shape[0]):
        d, _, _ = _seg_dist(x, y, segments[i, 0], segments[i, 1], segments[i, 2],
                            segments[i, 3])
        w = seg_wall[i]
        if d < out[w]:
            out[w] = d


@njit(cache=True, nogil=True)
def nearest_wall(x: float, y: float, segments: NDArray[np.float64]) -> tuple[
        float, float, float]:
    """Distance to the nearest wall point and the unit normal pointing from it to (x, y)."""
    best = 1e300
    bx = 0.0
    by = 0.0
    for i in range(segments.shape[0]):
        d, px, py = _seg_dist(x, y, segments[i, 0], segments[i, 1], segments[i, 2],
                              segments[i, 3])
        if d < best:
            best = d
            bx = px
            by = py
    nx = x - bx
    ny = y - by
    n = math.sqrt(nx * nx + ny * ny)
    if n > 0.0:
        nx /= n
        ny /= n
    else:  # on the wall: point to the centre
        r = math.sqrt(x * x + y * y)
        nx = -x / r if r > 0 else 1.0
        ny = -y / r if r > 0 else 0.0
    return best, nx, ny


# ---- NumPy twins -----------------------------------------------------------------------------
def contains_np(x: float, y: float, width: float, height: float, morph: float) -> bool:
    r = math.hypot(x, y)
    if r == 0.0:
        return True
    a = np.array([math.atan2(y, x)])
    return bool(r < _radius(a, width / 2, height / 2, morph)[0])


def wall_distances_np(x: Any, y: Any, segments: NDArray[np.float64],
                      seg_wall: NDArray[np.int64]) -> NDArray[np.float64]:
    """NumPy twin of :func:`wall_distances`; scalars give ``(4,)``, arrays of ``p`` places
    ``(p, 4)``."""
    p0, p1 = segments[:, :2], segments[:, 2:]
    d = p1 - p0
    ll = np.sum(d * d, axis=1)
    rx, ry = np.subtract.outer(x, p0[:, 0]), np.subtract.outer(y, p0[:, 1])
    t = np.clip((rx * d[:, 0] + ry * d[:, 1]) / np.where(ll > 0, ll, 1), 0, 1)
    dist = np.hypot(rx - t * d[:, 0], ry - t * d[:, 1])
    return np.stack([dist[..., seg_wall == w].min(axis=-1) for w in range(4)], axis=-1)
