"""Skaggs spatial information and its shuffle significance test.

Spatial information (Skaggs et al. 1993), in bits per spike::

    I = Σ_i p_i (λ_i / λ̄) log2(λ_i / λ̄),    λ̄ = Σ_i p_i λ_i

over the visited bins ``i``, with ``p_i`` the fraction of time spent in bin ``i`` (raw,
unsmoothed occupancy) and ``λ_i`` the rate in that bin. Bins with ``λ_i = 0`` contribute 0.
Taking ``λ̄`` as the occupancy-weighted mean of the map (rather than spikes / time) makes
``I >= 0`` for any map, smoothed or not. A unit without spikes has no defined information: NaN.

Which map: by default the information is taken on the *smoothed* rate map (σ = 1 bin, the same
map :func:`~hippoviz.analysis.rate_maps_from_spikes` returns and the fields are detected on).
With 2.5 cm bins, raw maps of sparse units carry a large positive bias: a unit firing ~1,400
spikes uniformly over 1,600 bins scores ≈ 0.9 bits/spike raw but ≈ 0.07 smoothed. Pass
``sigma_bins=0`` for Skaggs' original raw-map estimate; the shuffle test is valid either way
because shuffles go through the identical pipeline.

The significance test shifts each unit's spike train circularly against the position sequence
(``t -> (t + s) mod T`` with ``s`` uniform in ``[s_min, T - s_min]``, drawn independently per unit
and per shuffle from a seeded :class:`numpy.random.Generator`), rebuilds the rate map exactly as
for the observed spikes (same smoothing, same occupancy) and recomputes ``I``. The p-value is the
fraction of shuffles whose information is at least the observed one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
from numba import njit, prange
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage

from hippoviz.analysis.ratemaps import (
    TRUNCATE_SIGMAS,
    _check_spikes,
    occupancy_map,
    smooth_maps,
)

__all__ = [
    "ShuffleResult",
    "gaussian_kernel1d",
    "si_shuffle",
    "si_shuffle_np",
    "si_shuffle_parallel",
    "skaggs_information",
    "spatial_information_shuffle",
]

#: Relative tolerance under which a shuffled information counts as a tie with the observed one.
TIE_RTOL = 1e-9


def skaggs_information(rate_maps: ArrayLike, occupancy_s: ArrayLike) -> NDArray[np.float64]:
    """Skaggs spatial information of rate maps, vectorised over units.

    Parameters
    ----------
    rate_maps : (n_units, ny, nx) or (ny, nx) float
        Rates (Hz or any unit: ``I`` is scale-free), NaN in unvisited bins. Must be >= 0.
    occupancy_s : (ny, nx) float
        Raw time spent per bin (s); bins with zero occupancy or a NaN rate are ignored.

    Returns
    -------
    si_bits_per_spike : (n_units,) or () float64
        Information (bits/spike); NaN for a unit whose map is zero (or empty) everywhere.
    """
    r = np.asarray(rate_maps, dtype=np.float64)
    occ = np.asarray(occupancy_s, dtype=np.float64)
    if r.shape[-2:] != occ.shape:
        raise ValueError(f"rate map shape {r.shape} does not match occupancy {occ.shape}")
    valid = np.isfinite(r) & (occ > 0)
    if np.any(r[valid] < 0):
        raise ValueError("rate maps must be non-negative for spatial information")
    w = np.where(valid, occ, 0.0)
    total = w.sum(axis=(-2, -1), keepdims=True)
    rv = np.where(valid, r, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = w / total
        mean = (p * rv).sum(axis=(-2, -1), keepdims=True)
        q = rv / mean
        terms = np.where(rv > 0, p * q * np.log2(np.where(rv > 0, q, 1.0)), 0.0)
    si = terms.sum(axis=(-2, -1))
    si = np.where(mean[..., 0, 0] > 0, si, np.nan)
    return cast(NDArray[np.float64], si)


def gaussian_kernel1d(sigma_bins: float) -> NDArray[np.float64]:
    """Normalised 1-D Gaussian weights, identical to :func:`scipy.ndimage.gaussian_filter`'s.

    Parameters
    ----------
    sigma_bins : float
        Standard deviation (bins); ``<= 0`` gives the identity ``[1.0]``.

    Returns
    -------
    weights : (2 r + 1,) float64
        ``r = int(4 σ + 0.5)``.
    """
    if sigma_bins <= 0:
        return np.ones(1)
    radius = int(TRUNCATE_SIGMAS * sigma_bins + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    w = np.exp(-0.5 * (x / sigma_bins) ** 2)
    return cast(NDArray[np.float64], w / w.sum())


@njit(cache=True, nogil=True)
def _si_prepare(
    bin_index: NDArray[np.int64],
    occ_p: NDArray[np.float64],
    occ_smooth: NDArray[np.float64],
    ny: int,
    nx: int,
    radius: int,
) -> tuple[NDArray[np.int32], NDArray[np.float64], NDArray[np.float64]]:  # pragma: no cover
    """Per-step address in the padded count grid; ``p_b / os_b`` and ``-log2 os_b`` per bin."""
    pw = nx + 2 * radius
    addr = np.empty(bin_index.shape[0], dtype=np.int32)  # half the cache footprint of int64
    for t in range(bin_index.shape[0]):
        b = bin_index[t]
        if b < 0:
            addr[t] = -1
        else:
            y = b // nx
            addr[t] = (y + radius) * pw + (b - y * nx) + radius
    c = np.zeros(ny * nx)
    neg_log_os = np.zeros(ny * nx)
    for b in range(ny * nx):
        if occ_p[b] > 0.0:
            c[b] = occ_p[b] / occ_smooth[b]
            neg_log_os[b] = -np.log2(occ_smooth[b])
    return addr, c, neg_log_os


@njit(cache=True, nogil=True)
def _si_one_unit(
    u: int,
    addr: NDArray[np.int32],
    steps_sorted: NDArray[np.int64],
    unit_start: NDArray[np.int64],
    c: NDArray[np.float64],
    neg_log_os: NDArray[np.float64],
    weights: NDArray[np.float64],
    ny: int,
    nx: int,
    shifts: NDArray[np.int64],
    out: NDArray[np.float64],
) -> None:  # pragma: no cover - compiled
    # With r_b = s_b / os_b (smoothed counts over smoothed occupancy), c_b = p_b / os_b and
    # m = Σ c_b s_b:
    #   I = Σ p_b (r_b/m) log2(r_b/m) = (1/m) Σ c_b s_b (log2 s_b - log2 os_b) - log2 m.
    # Counts live in a grid padded with `radius` zeros on every side, so both smoothing passes
    # run without bounds checks; only the rows the smoothed map can reach are visited.
    n_steps = addr.shape[0]
    radius = (weights.shape[0] - 1) // 2
    taps = 2 * radius + 1
    pw = nx + 2 * radius
    counts = np.zeros((ny + 2 * radius) * pw)
    tmp = np.zeros(ny * pw)
    row = np.zeros(nx)
    s0 = unit_start[u]
    s1 = unit_start[u + 1]
    for j in range(shifts.shape[1]):
        sh = shifts[u, j]
        lo = counts.shape[0]
        hi = -1
        for k in range(s0, s1):
            t = steps_sorted[k] + sh
            if t >= n_steps:
                t -= n_steps
            a = addr[t]
            if a >= 0:
                counts[a] += 1.0
                lo = min(lo, a)
                hi = max(hi, a)
        if hi < 0:
            out[u, j] = np.nan
            continue
        ylo = lo // pw - radius  # grid rows holding spikes
        yhi = hi // pw - radius
        glo = max(ylo - radius, 0)  # grid rows the smoothed map reaches
        ghi = min(yhi + radius, ny - 1)
        # row views indexed from 0 let LLVM drop negative-index checks and vectorise
        # y pass into the interior columns of tmp (its margins stay 0); padded count row g + q
        # is grid row g + q - radius
        for g in range(glo, ghi + 1):
            dst = tmp[g * pw + radius : g * pw + radius + nx]
            dst[:] = 0.0
            for q in range(taps):
                wq = weights[q]
                src = counts[(g + q) * pw + radius : (g + q) * pw + radius + nx]
                for x in range(nx):
                    dst[x] += wq * src[x]
        counts[(ylo + radius) * pw : (yhi + radius + 1) * pw] = 0.0
        mean = 0.0
        acc = 0.0
        for g in range(glo, ghi + 1):  # x pass, then the row's share of the information sums
            src = tmp[g * pw : (g + 1) * pw]
            row[:] = 0.0
            for q in range(taps):
                wq = weights[q]
                sq = src[q : q + nx]
                for x in range(nx):
                    row[x] += wq * sq[x]
            cg = c[g * nx : (g + 1) * nx]
            lg = neg_log_os[g * nx : (g + 1) * nx]
            for x in range(nx):
                sx = row[x]
                if cg[x] > 0.0 and sx > 0.0:
                    cs = cg[x] * sx
                    mean += cs
                    acc += cs * (np.log2(sx) + lg[x])
        if not mean > 0.0:
            out[u, j] = np.nan
            continue
        out[u, j] = acc / mean - np.log2(mean)


@njit(cache=True, nogil=True)
def si_shuffle(
    bin_index: NDArray[np.int64],
    steps_sorted: NDArray[np.int64],
    unit_start: NDArray[np.int64],
    occ_p: NDArray[np.float64],
    occ_smooth: NDArray[np.float64],
    weights: NDArray[np.float64],
    ny: int,
    nx: int,
    shifts: NDArray[np.int64],
) -> NDArray[np.float64]:  # pragma: no cover - compiled
    """Spatial information of circularly shifted spike trains (Numba kernel, one thread).

    Parameters
    ----------
    bin_index : (T,) int64
        Flat bin per step, ``-1`` = no position.
    steps_sorted : (m,) int64
        Spike steps grouped by unit: unit ``u`` owns
        ``steps_sorted[unit_start[u] : unit_start[u + 1]]``.
    unit_start : (n_units + 1,) int64
        Offsets of each unit's spikes.
    occ_p : (ny * nx,) float64
        Fraction of time in each visited bin (0 for unvisited bins; sums to 1).
    occ_smooth : (ny * nx,) float64
        Occupancy smoothed with ``weights`` (s); the rate denominator.
    weights : (2 r + 1,) float64
        1-D Gaussian smoothing weights (``[1.0]`` for none), see :func:`gaussian_kernel1d`.
    ny, nx : int
        Grid shape.
    shifts : (n_units, n_shifts) int64
        Circular shift (steps, ``0 <= s < T``) of each unit's spikes in each shuffle.

    Returns
    -------
    si : (n_units, n_shifts) float64
        Information (bits/spike); NaN where the shifted train has no mapped spike.
    """
    n_units = unit_start.shape[0] - 1
    out = np.empty((n_units, shifts.shape[1]))
    radius = (weights.shape[0] - 1) // 2
    addr, c, neg_log_os = _si_prepare(bin_index, occ_p, occ_smooth, ny, nx, radius)
    for u in range(n_units):
        _si_one_unit(
            u,
            addr,
            steps_sorted,
            unit_start,
            c,
            neg_log_os,
            weights,
            ny,
            nx,
            shifts,
            out,
        )
    return out


@njit(cache=True, nogil=True, parallel=True)
def si_shuffle_parallel(
    bin_index: NDArray[np.int64],
    steps_sorted: NDArray[np.int64],
    unit_start: NDArray[np.int64],
    occ_p: NDArray[np.float64],
    occ_smooth: NDArray[np.float64],
    weights: NDArray[np.float64],
    ny: int,
    nx: int,
    shifts: NDArray[np.int64],
) -> NDArray[np.float64]:  # pragma: no cover - compiled
    """:func:`si_shuffle` with units spread over Numba's threads (``prange``); same results."""
    n_units = unit_start.shape[0] - 1
    out = np.empty((n_units, shifts.shape[1]))
    radius = (weights.shape[0] - 1) // 2
    addr, c, neg_log_os = _si_prepare(bin_index, occ_p, occ_smooth, ny, nx, radius)
    for u in prange(n_units):
        _si_one_unit(
            u,
            addr,
            steps_sorted,
            unit_start,
            c,
            neg_log_os,
            weights,
            ny,
            nx,
            shifts,
            out,
        )
    return out


def si_shuffle_np(
    bin_index: NDArray[np.int64],
    steps_sorted: NDArray[np.int64],
    unit_start: NDArray[np.int64],
    occ_p: NDArray[np.float64],
    occ_smooth: NDArray[np.float64],
    weights: NDArray[np.float64],
    ny: int,
    nx: int,
    shifts: NDArray[np.int64],
) -> NDArray[np.float64]:
    """NumPy reference twin of :func:`si_shuffle` (vectorised over units, loops over shifts).

    Builds maps with :func:`numpy.bincount` and :func:`scipy.ndimage.correlate1d` and takes
    the information with :func:`skaggs_information`.
    """
    n_units = unit_start.shape[0] - 1
    n_steps = bin_index.shape[0]
    nb = ny * nx
    units = np.repeat(np.arange(n_units), np.diff(unit_start))
    occ_w = occ_p.reshape(ny, nx)
    visited = occ_w > 0
    out = np.empty((n_units, shifts.shape[1]))
    for j in range(shifts.shape[1]):
        t = (steps_sorted + shifts[units, j]) % n_steps
        b = bin_index[t]
        ok = b >= 0
        counts = np.bincount(units[ok] * nb + b[ok], minlength=n_units * nb).astype(np.float64)
        num = counts.reshape(n_units, ny, nx)
        for axis in (1, 2):
            num = ndimage.correlate1d(num, weights, axis=axis, mode="constant", cval=0.0)
        rate = np.where(visited, num / np.where(visited, occ_smooth.reshape(ny, nx), 1.0), np.nan)
        si = skaggs_information(rate, occ_w)
        n_valid = np.bincount(units[ok], minlength=n_units)
        out[:, j] = np.where(n_valid > 0, si, np.nan)
    return out


@dataclass(frozen=True)
class ShuffleResult:
    """Outcome of :func:`spatial_information_shuffle`.

    Attributes
    ----------
    si_bits_per_spike : (n_units,) float64
        Observed information (bits/spike), NaN for units without mapped spikes.
    p_values : (n_units,) float64
        Fraction of shuffles with information >= observed (ties within a relative ``1e-9``
        count as >=); NaN for silent units.
    null_si : (n_units, n_shuffles) float64
        Information of every shuffle.
    shifts : (n_units, n_shuffles) int64
        The circular shifts used (steps).
    """

    si_bits_per_spike: NDArray[np.float64]
    p_values: NDArray[np.float64]
    null_si: NDArray[np.float64]
    shifts: NDArray[np.int64]


def _group_spikes(
    spike_steps: NDArray[np.int64], spike_units: NDArray[np.int64], n_units: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    # a stable sort of small integers is a radix sort in NumPy: several times faster on 2 M spikes
    keys = spike_units.astype(np.uint16) if n_units <= 1 << 16 else spike_units
    order = np.argsort(keys, kind="stable")
    steps_sorted = np.ascontiguousarray(spike_steps[order], dtype=np.int64)
    unit_start = np.zeros(n_units + 1, dtype=np.int64)
    np.cumsum(np.bincount(spike_units, minlength=n_units), out=unit_start[1:])
    return steps_sorted, unit_start


def spatial_information_shuffle(
    bin_index: ArrayLike,
    ny: int,
    nx: int,
    spike_steps: ArrayLike,
    spike_units: ArrayLike,
    n_units: int,
    dt_s: float,
    *,
    n_shuffles: int = 100,
    min_shift_s: float = 20.0,
    sigma_bins: float = 1.0,
    min_occupancy_s: float = 0.0,
    seed: int | np.random.Generator | None = 0,
    parallel: bool = True,
) -> ShuffleResult:
    """Spatial information of every unit and its circular-shift significance.

    Parameters
    ----------
    bin_index : (T,) int
        Flat bin per step, from :func:`~hippoviz.analysis.bin_positions`.
    ny, nx : int
        Grid shape.
    spike_steps : (m,) int
        Step of each spike (``0 .. T-1``).
    spike_units : (m,) int
        Unit of each spike (``0 .. n_units-1``).
    n_units : int
        Number of units.
    dt_s : float
        Step duration (s).
    n_shuffles : int, default 100
        Number of shuffles per unit.
    min_shift_s : float, default 20.0
        Shifts are at least this far from zero, both ways round the circle (s). For recordings
        shorter than ``4 * min_shift_s`` it is reduced to a quarter of the recording.
    sigma_bins : float, default 1.0
        Smoothing σ of the maps the information is computed on (bins), as in
        :func:`~hippoviz.analysis.rate_maps_from_spikes`; 0 = raw maps.
    min_occupancy_s : float, default 0.0
        Bins with raw occupancy ``<=`` this are unvisited.
    seed : int, Generator or None, default 0
        Seed of the shifts (``numpy.random.default_rng(seed)``).
    parallel : bool, default True
        Spread units over Numba's threads. Use False when other threads may be running
        parallel Numba code with a threading layer that is not thread-safe (workqueue).

    Returns
    -------
    ShuffleResult
    """
    b = np.ascontiguousarray(np.asarray(bin_index, dtype=np.int64))
    n_steps = b.size
    if n_steps == 0:
        raise ValueError("empty recording: bin_index has no steps")
    if n_shuffles < 1:
        raise ValueError(f"n_shuffles must be >= 1, got {n_shuffles}")
    steps, units = _check_spikes(spike_steps, spike_units, n_units, n_steps)
    steps_sorted, unit_start = _group_spikes(steps, units, n_units)

    occ = occupancy_map(b, ny, nx, dt_s).ravel()
    visited = occ > min_occupancy_s
    total = occ[visited].sum()
    occ_p = np.where(visited, occ / total if total > 0 else 0.0, 0.0)
    weights = gaussian_kernel1d(sigma_bins)
    occ_smooth = smooth_maps(occ.reshape(ny, nx), sigma_bins).ravel()

    min_shift = min(round(min_shift_s / dt_s), n_steps // 4)
    rng = np.random.default_rng(seed)
    shifts = rng.integers(min_shift, n_steps - min_shift, size=(n_units, n_shuffles), endpoint=True)
    shifts %= n_steps
    kernel = si_shuffle_parallel if parallel else si_shuffle
    args = (b, steps_sorted, unit_start, occ_p, occ_smooth, weights, ny, nx)
    si = kernel(*args, np.concatenate([np.zeros((n_units, 1), np.int64), shifts], axis=1))
    observed = si[:, 0].copy()
    null = si[:, 1:].copy()
    with np.errstate(invalid="ignore"):
        ge = null >= (observed - TIE_RTOL * np.maximum(1.0, np.abs(observed)))[:, None]
    p = ge.mean(axis=1)
    p[~np.isfinite(observed)] = np.nan
    return ShuffleResult(si_bits_per_spike=observed, p_values=p, null_si=null, shifts=shifts)
