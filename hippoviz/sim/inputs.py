"""Entorhinal input: MEC grid, border and boundary-vector cells, LEC context and object cells.

Builders (NumPy, run once or on a manipulation) prepare arrays; kernels (numba, every step)
evaluate the rates of one position. Every kernel has a NumPy twin named ``*_np``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit
from numpy.typing import NDArray

from hippoviz.sim.agent import TETHER_X, TETHER_Y
from hippoviz.sim.smooth import gaussian_filter

#: Resolution of the LEC context maps over the (normalised) arena.
LEC_RES = 64
_G_NORM = math.exp(1.35) - 1.0


# ---- grid cells ------------------------------------------------------------------------------
@dataclass(frozen=True)
class GridLayout:
    """Spacing, orientation and phase of every grid cell in the home room.

    Attributes
    ----------
    spacing_m : (n,) float64
    module : (n,) int64
    orientation_rad : (n_modules,) float64
    phase_ab : (n, 2) float64
        Phase in rhombus coordinates (uniform on [0, 1)^2).
    """

    spacing_m: NDArray[np.float64]
    module: NDArray[np.int64]
    orientation_rad: NDArray[np.float64]
    phase_ab: NDArray[np.float64]


def make_grid_layout(spacings_m: tuple[float, ...], n_per_module: int,
                     rng: np.random.Generator) -> GridLayout:
    n_mod = len(spacings_m)
    orient = rng.uniform(0.0, math.pi / 3, size=n_mod)
    module = np.repeat(np.arange(n_mod), n_per_module)
    spacing = np.asarray(spacings_m, dtype=np.float64)[module]
    phase_ab = rng.uniform(0.0, 1.0, size=(n_mod * n_per_module, 2))
    return GridLayout(spacing, module, orient, phase_ab)


def grid_shape_switch(seed: int, room: int, n_modules: int) -> NDArray[np.float64]:
    """Shape morph at which each grid module of ``room`` takes its circle alignment: drawn per
    module from U(0.25, 0.75), since modules realign independently (Stensola et al. 2012)."""
    r = np.random.default_rng([seed, 7919, room, 2])
    return np.asarray(r.uniform(0.25, 0.75, size=n_modules), dtype=np.float64)


def grid_room(layout: GridLayout, room: int, seed: int, shape_morph: float = 0.0,
              shape_realign: bool = False) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Wave vectors and phase offsets of every grid cell in ``room``.

    Room 0 is the home room; every other room rotates each module's orientation and shifts its
    phases coherently (global remapping of MEC, Fyhn et al. 2007). With ``shape_realign`` the
    square and the circular box are two environments for MEC as well: a module whose switch
    point (:func:`grid_shape_switch`) lies below ``shape_morph`` is rotated and shifted again,
    by an amount drawn per room and module (Fyhn et al. 2007: global remapping of place cells
    always came with grid realignment). The square box (``shape_morph`` = 0) is never changed.

    Returns
    -------
    k : (n, 3, 2) float64
        Wave vectors, ``|k| = 4 pi / (sqrt(3) lambda)`` at ``theta + (-30, 30, 90) deg``.
    phi : (n, 3) float64
        ``k . c`` with ``c`` the cell's phase (field centre) in metres.
    """
    n_mod = layout.orientation_rad.shape[0]
    rot: NDArray[np.float64] = np.zeros(n_mod)
    shift_ab: NDArray[np.float64] = np.zeros((n_mod, 2))
    if room != 0:
        r = np.random.default_rng([seed, 7919, room])
        rot = np.asarray(r.uniform(0.0, math.pi / 3, size=n_mod), dtype=np.float64)
        shift_ab = np.asarray(r.uniform(0.0, 1.0, size=(n_mod, 2)), dtype=np.float64)
    if shape_realign and shape_morph > 0.0:
        moved = grid_shape_switch(seed, room, n_mod) < shape_morph
        if moved.any():
            r = np.random.default_rng([seed, 7919, room, 3])
            rot_c = r.uniform(0.0, math.pi / 3, size=n_mod)
            shift_c = r.uniform(0.0, 1.0, size=(n_mod, 2))
            rot = rot + np.where(moved, rot_c, 0.0)
            shift_ab = shift_ab + np.where(moved[:, None], shift_c, 0.0)
    theta = (layout.orientation_rad + rot)[layout.module]
    lam = layout.spacing_m
    ab = (layout.phase_ab + shift_ab[layout.module]) % 1.0
    e1 = np.stack([np.cos(theta), np.sin(theta)], axis=1) * lam[:, None]
    e2 = np.stack([np.cos(theta + math.pi / 3), np.sin(theta + math.pi / 3)], axis=1) * lam[:, None]
    c = ab[:, :1] * e1 + ab[:, 1:] * e2
    kmag = 4.0 * math.pi / (math.sqrt(3.0) * lam)
    angles = theta[:, None] + np.radians([-30.0, 30.0, 90.0])[None, :]
    k = np.stack([np.cos(angles), np.sin(angles)], axis=2) * kmag[:, None, None]
    phi = np.einsum("nkd,nd->nk", k, c)
    return np.ascontiguousarray(k), np.ascontiguousarray(phi)


def grid_kernel_arrays(k: NDArray[np.float64], phi: NDArray[np.float64],
                       module: NDArray[np.int64]) -> tuple[NDArray[np.float64], NDArray[
                           np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """Pack wave vectors per module and cos/sin of the phase offsets for :func:`grid_rates`.

    Returns ``k_mod (n_modules, 3, 2)``, ``cos_phi (n, 3)``, ``sin_phi (n, 3)``, ``module (n,)``.
    """
    n_mod = int(module.max()) + 1 if module.size else 0
    k_mod = np.zeros((n_mod, 3, 2))
    for m in range(n_mod):
        k_mod[m] = k[np.flatnonzero(module == m)[0]]
    return (np.ascontiguousarray(k_mod), np.ascontiguousarray(np.cos(phi)),
            np.ascontiguousarray(np.sin(phi)), np.ascontiguousarray(module))


@njit(cache=True, nogil=True, fastmath=True)
def grid_rates(x: float, y: float, k_mod: NDArray[np.float64], cos_phi: NDArray[np.float64],
               sin_phi: NDArray[np.float64], module: NDArray[np.int64],
               trig: NDArray[np.float64], out: NDArray[np.float32]) -> None:
    """Grid-cell rates in [0, 1] at (x, y): ``g(sum_k cos(k . r - phi_k))`` into ``out (n,)``.

    The wave vectors are shared within a module, so ``cos(k.r - phi) = cos(k.r) cos(phi) +
    sin(k.r) sin(phi)`` needs only 3 cosines and sines per module. ``trig (2, n_modules, 3)``
    is scratch space.
    """
    n_mod = k_mod.shape[0]
    ck = trig[0]
    sk = trig[1]
    for m in range(n_mod):
        for j in range(3):
            a = k_mod[m, j, 0] * x + k_mod[m, j, 1] * y
            ck[m, j] = math.cos(a)
            sk[m, j] = math.sin(a)
    for i in range(cos_phi.shape[0]):
        m = module[i]
        s = 0.0
        for j in range(3):
            s += ck[m, j] * cos_phi[i, j] + sk[m, j] * sin_phi[i, j]
        out[i] = (math.exp(0.3 * (s + 1.5)) - 1.0) / _G_NORM


@njit(cache=True, nogil=True)
def grid_tether(agent: NDArray[np.float64], x: float, y: float, half_w: float, half_h: float,
                contact: float) -> None:
    """Note which wall the rat last touched along each axis (``inputs.grid_tether``): within
    ``contact`` of the bounding box's right / left wall ``agent[TETHER_X]`` becomes +1 / -1, of
    its top / bottom wall ``agent[TETHER_Y]`` +1 / -1; elsewhere they keep their values. The
    grids are read at ``x - agent[TETHER_X] t_x`` (and likewise in y), with ``t_x`` the tether
    times how far that wall has moved from its place in the familiar box: grid cells anchor to
    the boundary last contacted (Keinath et al. 2018, eLife 7:e38169)."""
    if x > half_w - contact:
        agent[TETHER_X] = 1.0
    elif x < contact - half_w:
        agent[TETHER_X] = -1.0
    if y > half_h - contact:
        agent[TETHER_Y] = 1.0
    elif y < contact - half_h:
        agent[TETHER_Y] = -1.0


def grid_tether_np(side: NDArray[np.float64], x: float, y: float, half_w: float,
                   half_h: float, contact: float) -> NDArray[np.float64]:
    """NumPy twin of :func:`grid_tether` on ``side = (tether_x, tether_y)``: the new sides."""
    out = np.array(side, np.float64)
    for i, (v, h) in enumerate(((x, half_w), (y, half_h))):
        if v > h - contact:
            out[i] = 1.0
        elif v < contact - h:
            out[i] = -1.0
    return out


def grid_rates_np(x: Any, y: Any, k: NDArray[np.float64],
                  phi: NDArray[np.float64]) -> NDArray[np.float64]:
    """NumPy twin of :func:`grid_rates` from per-cell wave vectors and phases; ``x``, ``y``
    scalars give ``(n,)``, arrays of ``p`` places give ``(p, n)``."""
    s = np.cos(np.multiply.outer(x, k[:, :, 0]) + np.multiply.outer(y, k[:, :, 1])
               - phi).sum(axis=-1)
    return np.asarray((np.exp(0.3 * (s + 1.5)) - 1.0) / _G_NORM)


# ---- border and boundary-vector cells ----------------------------------------------------------
#: Hartley et al. (2000, Hippocampus 10:369-379): a boundary-vector cell tuned to distance d has a
#: radial tuning width sigma0 (d / beta + 1), with sigma0 = 0.122 m and beta = 0.183 m.
BVC_SIGMA0_M = 0.122
BVC_BETA_M = 0.183


def border_cells(widths_m: tuple[float, ...], bvc_distances_m: tuple[float, ...]) -> tuple[
        NDArray[np.float64], NDArray[np.float64]]:
    """Preferred wall distance and tuning width of each border-group cell per wall: the border
    cells (distance 0, one per width) then the boundary-vector cells (one per distance, width
    from Hartley et al. 2000)."""
    d = np.asarray([0.0] * len(widths_m) + list(bvc_distances_m), dtype=np.float64)
    w = np.asarray(list(widths_m) + [BVC_SIGMA0_M * (x / BVC_BETA_M + 1.0)
                                     for x in bvc_distances_m], dtype=np.float64)
    return d, w


@njit(cache=True, nogil=True)
def border_rates(dists: NDArray[np.float64], prefs: NDArray[np.float64],
                 widths: NDArray[np.float64], out: NDArray[np.float32]) -> None:
    """Border and boundary-vector rates from the four wall distances: cell ``w * n + j`` is
    ``exp(-(d_w - p_j)^2 / 2 sigma_j^2)`` (``p_j = 0`` for a border cell)."""
    nw = widths.shape[0]
    for w in range(4):
        for j in range(nw):
            e = dists[w] - prefs[j]
            out[w * nw + j] = math.exp(-e * e / (2.0 * widths[j] * widths[j]))


def border_rates_np(dists: NDArray[np.float64], prefs: NDArray[np.float64],
                    widths: NDArray[np.float64]) -> NDArray[np.float64]:
    """NumPy twin of :func:`border_rates`: ``dists (4,)`` gives ``(4 n,)``, ``(p, 4)`` gives
    ``(p, 4 n)``."""
    r = np.exp(-((dists[..., :, None] - prefs) ** 2) / (2.0 * widths ** 2))
    return r.reshape(*dists.shape[:-1], -1)


# ---- LEC context cells -----------------------------------------------------------------------
def make_lec_context(seed: int, context: int, n_cells: int, sigma_m: float, width_m: float,
                     height_m: float, rate_spread: float = 0.0) -> NDArray[np.float32]:
    """Smooth random fields of one LEC context: ``(n_cells, LEC_RES, LEC_RES) float32`` in [0, 1].

    White noise over the arena filtered by a Gaussian of ``sigma_m``, each cell rescaled to
    [0, 1], then multiplied by a peak rate drawn per cell and context from
    ``U(1 - rate_spread, 1)`` (so a cell fires more in some contexts than in others). The map
    covers the arena's bounding box in normalised coordinates, so sensory fields follow the walls
    when the arena is stretched.
    """
    rng = np.random.default_rng([seed, 104729, context])
    noise = rng.standard_normal((n_cells, LEC_RES, LEC_RES))
    sig = (0.0, sigma_m / height_m * LEC_RES, sigma_m / width_m * LEC_RES)
    f = gaussian_filter(noise, sig, mode="reflect")
    lo = f.min(axis=(1, 2), keepdims=True)
    hi = f.max(axis=(1, 2), keepdims=True)
    maps = (f - lo) / np.maximum(hi - lo, 1e-12)
    if rate_spread > 0:  # a stream of its own: the fields are those of rate_spread = 0
        amp = 1.0 - rate_spread * np.random.default_rng([seed, 104729, context, 1]).uniform(
            size=n_cells)
        maps *= amp[:, None, None]
    return np.ascontiguousarray(maps.astype(np.float32))


def make_switch_order(seed: int, n_cells: int) -> NDArray[np.float64]:
    """Per-cell switch points in (0, 1): at morph m, cells with a switch point below m show
    their context-B field (evenly spaced, in random order)."""
    rng = np.random.default_rng([seed, 15485863])
    return np.asarray((rng.permutation(n_cells) + 0.5) / max(n_cells, 1), dtype=np.float64)


@njit(cache=True, nogil=True)
def lec_context_rates(x: float, y: float, width: float, height: float,
                      maps_a: NDArray[np.float32], maps_b: NDArray[np.float32],
                      switch_at: NDArray[np.float64], morph: float, blend: bool,
                      out: NDArray[np.float32]) -> None:
    """LEC context rates at (x, y) by bilinear interpolation of the maps of contexts A and B.

    ``blend``: every cell shows ``(1 - m) A + m B``; otherwise cells whose switch point is
    below ``m`` show B (per-cell switch).
    """
    res = maps_a.shape[1]
    u = min(max((x / width + 0.5) * res - 0.5, 0.0), res - 1.000001)
    v = min(max((y / height + 0.5) * res - 0.5, 0.0), res - 1.000001)
    i0 = int(v)
    j0 = int(u)
    fv = v - i0
    fu = u - j0
    w00 = (1 - fv) * (1 - fu)
    w01 = (1 - fv) * fu
    w10 = fv * (1 - fu)
    w11 = fv * fu
    for c in range(maps_a.shape[0]):
        a = (w00 * maps_a[c, i0, j0] + w01 * maps_a[c, i0, j0 + 1]
             + w10 * maps_a[c, i0 + 1, j0] + w11 * maps_a[c, i0 + 1, j0 + 1])
        b = (w00 * maps_b[c, i0, j0] + w01 * maps_b[c, i0, j0 + 1]
             + w10 * maps_b[c, i0 + 1, j0] + w11 * maps_b[c, i0 + 1, j0 + 1])
        if blend:
            out[c] = (1.0 - morph) * a + morph * b
        elif switch_at[c] < morph:
            out[c] = b
        else:
            out[c] = a


def lec_context_rates_np(x: float, y: float, width: float, height: float,
                         maps_a: NDArray[np.float32], maps_b: NDArray[np.float32],
                         switch_at: NDArray[np.float64], morph: float,
                         blend: bool) -> NDArray[np.float64]:
    res = maps_a.shape[1]
    u = min(max((x / width + 0.5) * res - 0.5, 0.0), res - 1.000001)
    v = min(max((y / height + 0.5) * res - 0.5, 0.0), res - 1.000001)
    i0, j0 = int(v), int(u)
    fv, fu = v - i0, u - j0

    def interp(m: NDArray[np.float32]) -> NDArray[np.float64]:
        return np.asarray((1 - fv) * (1 - fu) * m[:, i0, j0] + (1 - fv) * fu * m[:, i0, j0 + 1]
                          + fv * (1 - fu) * m[:, i0 + 1, j0] + fv * fu * m[:, i0 + 1, j0 + 1])

    a, b = interp(maps_a), interp(maps_b)
    if blend:
        return (1.0 - morph) * a + morph * b
    return np.where(switch_at < morph, b, a)


# ---- LEC object cells ------------------------------------------------------------------------
def make_object_vectors(n_slots: int, n_cells: int, vmax_m: float,
                        rng: np.random.Generator) -> NDArray[np.float64]:
    """Field offsets from each object: ``(n_slots, n_cells, 2)``; cell 0 fires at the object,
    the others at fixed vectors of length <= ``vmax_m`` (landmark-vector cells)."""
    r = vmax_m * np.sqrt(rng.uniform(0.15, 1.0, size=(n_slots, n_cells)))
    a = rng.uniform(0.0, 2 * math.pi, size=(n_slots, n_cells))
    v = np.stack([r * np.cos(a), r * np.sin(a)], axis=2)
    v[:, 0, :] = 0.0
    return np.ascontiguousarray(v)


@njit(cache=True, nogil=True)
def object_rates(x: float, y: float, obj_pos: NDArray[np.float64],
                 obj_on: NDArray[np.bool_], vectors: NDArray[np.float64], sigma: float,
                 out: NDArray[np.float32]) -> None:
    """Object-cell rates at (x, y): cell ``s * n_cells + j`` has a Gaussian field at
    ``obj_pos[s] + vectors[s, j]`` while slot ``s`` holds an object, and is silent otherwise."""
    nc = vectors.shape[1]
    inv = 1.0 / (2.0 * sigma * sigma)
    for s in range(vectors.shape[0]):
        for j in range(nc):
            if obj_on[s]:
                dx = x - obj_pos[s, 0] - vectors[s, j, 0]
                dy = y - obj_pos[s, 1] - vectors[s, j, 1]
                out[s * nc + j] = math.exp(-(dx * dx + dy * dy) * inv)
            else:
                out[s * nc + j] = 0.0


def object_rates_np(x: Any, y: Any, obj_pos: NDArray[np.float64],
                    obj_on: NDArray[np.bool_], vectors: NDArray[np.float64],
                    sigma: float) -> NDArray[np.float64]:
    """NumPy twin of :func:`object_rates`; scalars give ``(n,)``, arrays of ``p`` places
    ``(p, n)``."""
    c = obj_pos[:, None, :] + vectors
    d2 = np.subtract.outer(x, c[..., 0]) ** 2 + np.subtract.outer(y, c[..., 1]) ** 2
    r = np.where(obj_on[:, None], np.exp(-d2 / (2 * sigma**2)), 0.0)
    return np.asarray(r.reshape(*np.shape(x), -1))
