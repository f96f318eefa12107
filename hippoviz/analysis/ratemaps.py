"""Occupancy, spike-count and rate maps, as experimenters build them.

Conventions
-----------
- The arena is centred at (0, 0); its bounding box is ``[-w/2, w/2] x [-h/2, h/2]`` (metres).
- Bins are squares of ``bin_size_m``; ``nx = ceil(w / bin)``, ``ny = ceil(h / bin)``; the grid
  starts at the lower-left corner ``(-w/2, -h/2)``. A flat bin index is ``iy * nx + ix``; maps are
  ``(..., ny, nx)`` arrays, row = y (row 0 is the bottom, ``y = -h/2``).
- Positions outside the box are clipped into the edge bins; non-finite positions get bin ``-1``
  and are ignored everywhere (no occupancy, their spikes are not mapped).

Smoothing
---------
The Gaussian smoothing (σ = 1 bin by default) is applied to the spike counts (or summed rates)
and to the occupancy *separately*, both with zeros outside the box and in unvisited bins, and
the rate is their ratio: ``rate = G * counts / G * occupancy`` ("normalised convolution").
This is the classic adaptive-free recipe of rodent labs (e.g. the Moser lab's BNT
``analyses.map``): walls and unvisited bins do not pull rates towards zero, and bins with a
little occupancy are weighted by how long the animal was there. Bins the animal never visited
(raw occupancy ``<= min_occupancy_s``) are set to NaN after smoothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import cast

import numpy as np
from numba import njit
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage

__all__ = [
    "RateMaps",
    "bin_centers",
    "bin_positions",
    "grid_shape",
    "occupancy_map",
    "rate_maps_from_rates",
    "rate_maps_from_spikes",
    "smooth_maps",
    "spike_count_maps",
    "sum_by_bin",
    "sum_by_bin_np",
]

#: Gaussian kernels are truncated at this many standard deviations (scipy's default).
TRUNCATE_SIGMAS = 4.0


def grid_shape(width_m: float, height_m: float, bin_size_m: float) -> tuple[int, int]:
    """Number of bins ``(ny, nx)`` covering a ``width_m x height_m`` box.

    Parameters
    ----------
    width_m, height_m : float
        Size of the arena's bounding box (m).
    bin_size_m : float
        Side of a square bin (m).

    Returns
    -------
    ny, nx : int
        ``ceil(h / bin)`` and ``ceil(w / bin)`` (a 1e-9 relative slack absorbs float noise, so
        1.0 m / 0.025 m gives 40 bins, not 41).
    """
    if not (width_m > 0 and height_m > 0 and bin_size_m > 0):
        raise ValueError(
            f"width_m, height_m and bin_size_m must be > 0, got {width_m}, {height_m}, {bin_size_m}"
        )
    nx = max(1, math.ceil(width_m / bin_size_m - 1e-9))
    ny = max(1, math.ceil(height_m / bin_size_m - 1e-9))
    return ny, nx


def bin_centers(
    width_m: float, height_m: float, bin_size_m: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Centres of the bins along x and y.

    Returns
    -------
    x_m : (nx,) float64
        Bin-centre x coordinates (m), ``-w/2 + (i + 0.5) * bin``.
    y_m : (ny,) float64
        Bin-centre y coordinates (m).
    """
    ny, nx = grid_shape(width_m, height_m, bin_size_m)
    x: NDArray[np.float64] = -width_m / 2 + (np.arange(nx, dtype=np.float64) + 0.5) * bin_size_m
    y: NDArray[np.float64] = -height_m / 2 + (np.arange(ny, dtype=np.float64) + 0.5) * bin_size_m
    return x, y


def bin_positions(
    pos_m: ArrayLike, width_m: float, height_m: float, bin_size_m: float
) -> tuple[NDArray[np.int64], int, int]:
    """Spatial bin of every position sample.

    Parameters
    ----------
    pos_m : (T, 2) float
        Positions (m), columns x, y, arena centred at (0, 0).
    width_m, height_m : float
        Bounding box of the arena (m).
    bin_size_m : float
        Side of a square bin (m).

    Returns
    -------
    bin_index : (T,) int64
        Flat bin ``iy * nx + ix``; positions outside the box are clipped into edge bins,
        non-finite positions get ``-1``.
    ny, nx : int
        Grid shape.
    """
    pos = np.asarray(pos_m, dtype=np.float64)
    if pos.ndim != 2 or pos.shape[1] != 2:
        raise ValueError(f"pos_m must have shape (T, 2), got {pos.shape}")
    ny, nx = grid_shape(width_m, height_m, bin_size_m)
    finite = np.isfinite(pos[:, 0]) & np.isfinite(pos[:, 1])
    safe = np.where(finite[:, None], pos, 0.0)
    ix = np.floor((safe[:, 0] + width_m / 2) / bin_size_m).astype(np.int64)
    iy = np.floor((safe[:, 1] + height_m / 2) / bin_size_m).astype(np.int64)
    np.clip(ix, 0, nx - 1, out=ix)
    np.clip(iy, 0, ny - 1, out=iy)
    idx = iy * nx + ix
    idx[~finite] = -1
    return idx, ny, nx


def occupancy_map(bin_index: ArrayLike, ny: int, nx: int, dt_s: float) -> NDArray[np.float64]:
    """Time spent in each bin.

    Parameters
    ----------
    bin_index : (T,) int
        Flat bin per step (``-1`` = no position), from :func:`bin_positions`.
    ny, nx : int
        Grid shape.
    dt_s : float
        Duration of one step (s).

    Returns
    -------
    occupancy_s : (ny, nx) float64
        Seconds spent in each bin.
    """
    b = np.asarray(bin_index, dtype=np.int64)
    b = b[b >= 0]
    if b.size and b.max() >= ny * nx:
        raise ValueError(f"bin_index must be < ny * nx = {ny * nx}, got {b.max()}")
    occ = np.bincount(b, minlength=ny * nx).astype(np.float64) * dt_s
    return occ.reshape(ny, nx)


def _check_spikes(
    spike_steps: ArrayLike, spike_units: ArrayLike, n_units: int, n_steps: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    steps = np.asarray(spike_steps, dtype=np.int64).ravel()
    units = np.asarray(spike_units, dtype=np.int64).ravel()
    if steps.shape != units.shape:
        raise ValueError(
            f"spike_steps and spike_units differ in length: {steps.size} vs {units.size}"
        )
    if steps.size:
        if steps.min() < 0 or steps.max() >= n_steps:
            raise ValueError(
                f"spike_steps must lie in [0, {n_steps - 1}], got [{steps.min()}, {steps.max()}]"
            )
        if units.min() < 0 or units.max() >= n_units:
            raise ValueError(
                f"spike_units must lie in [0, {n_units - 1}], got [{units.min()}, {units.max()}]"
            )
    return steps, units


def spike_count_maps(
    bin_index: ArrayLike,
    spike_steps: ArrayLike,
    spike_units: ArrayLike,
    n_units: int,
    ny: int,
    nx: int,
) -> NDArray[np.float64]:
    """Number of spikes of each unit in each bin.

    Parameters
    ----------
    bin_index : (T,) int
        Flat bin per step, from :func:`bin_positions`.
    spike_steps : (m,) int
        Step of each spike, ``0 .. T-1``.
    spike_units : (m,) int
        Unit of each spike, ``0 .. n_units-1``.
    n_units : int
        Number of units in the layer.
    ny, nx : int
        Grid shape.

    Returns
    -------
    counts : (n_units, ny, nx) float64
        Spike counts (spikes at steps without a valid position are dropped).
    """
    b = np.asarray(bin_index, dtype=np.int64)
    steps, units = _check_spikes(spike_steps, spike_units, n_units, b.size)
    nb = ny * nx
    sb = b[steps]
    ok = sb >= 0
    flat = units[ok] * nb + sb[ok]
    counts = np.bincount(flat, minlength=n_units * nb).astype(np.float64)
    return counts.reshape(n_units, ny, nx)


@njit(cache=True, nogil=True)
def sum_by_bin(
    bin_index: NDArray[np.int64], values: NDArray[np.floating], n_bins: int
) -> NDArray[np.float64]:
    """Sum the rows of ``values`` that fall in each bin (Numba kernel).

    Parameters
    ----------
    bin_index : (T,) int64
        Flat bin per step; ``-1`` rows are skipped.
    values : (T, n) float32 or float64, C-contiguous
        One row per step (e.g. rates of ``n`` units).
    n_bins : int
        Number of bins.

    Returns
    -------
    sums : (n_bins, n) float64
        Per-bin sums, accumulated in float64.
    """
    n = values.shape[1]
    out = np.zeros((n_bins, n), dtype=np.float64)
    for t in range(bin_index.shape[0]):
        b = bin_index[t]
        if b < 0:
            continue
        for j in range(n):
            out[b, j] += values[t, j]
    return out


def sum_by_bin_np(
    bin_index: NDArray[np.int64], values: NDArray[np.floating], n_bins: int
) -> NDArray[np.float64]:
    """NumPy reference twin of :func:`sum_by_bin`."""
    out = np.zeros((n_bins, values.shape[1]), dtype=np.float64)
    ok = bin_index >= 0
    np.add.at(out, bin_index[ok], values[ok].astype(np.float64))
    return out


def smooth_maps(maps: ArrayLike, sigma_bins: float) -> NDArray[np.float64]:
    """Gaussian smoothing over the last two axes, zeros outside the grid.

    Parameters
    ----------
    maps : (..., ny, nx) float
        Maps without NaN (counts, occupancy, summed rates).
    sigma_bins : float
        Standard deviation (bins); ``0`` returns a float64 copy. Truncated at 4 σ.

    Returns
    -------
    smoothed : (..., ny, nx) float64
    """
    a = np.asarray(maps, dtype=np.float64)
    if sigma_bins <= 0:
        return a.copy()
    sigma = [0.0] * (a.ndim - 2) + [float(sigma_bins)] * 2
    return cast(
        NDArray[np.float64],
        ndimage.gaussian_filter(a, sigma, mode="constant", cval=0.0, truncate=TRUNCATE_SIGMAS),
    )


@dataclass(frozen=True)
class RateMaps:
    """Rate maps of a layer and the occupancy they were normalised by.

    Attributes
    ----------
    rate_maps : (n_units, ny, nx) float64
        Smoothed rates, NaN in unvisited bins (Hz for spikes; the units of ``rates`` for
        continuous rates).
    occupancy_s : (ny, nx) float64
        Raw (unsmoothed) time spent per bin (s).
    visited : (ny, nx) bool
        Bins with ``occupancy_s > min_occupancy_s``.
    spike_counts : (n_units, ny, nx) float64 or None
        Raw spike counts (None for maps of continuous rates).
    bin_size_m, width_m, height_m : float
        The binning (m).
    sigma_bins : float
        Smoothing σ (bins).
    """

    rate_maps: NDArray[np.float64]
    occupancy_s: NDArray[np.float64]
    visited: NDArray[np.bool_]
    spike_counts: NDArray[np.float64] | None
    bin_size_m: float
    width_m: float
    height_m: float
    sigma_bins: float


def _normalise(
    sums: NDArray[np.float64],
    occupancy_s: NDArray[np.float64],
    sigma_bins: float,
    min_occupancy_s: float,
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    visited = occupancy_s > min_occupancy_s
    occ_s = smooth_maps(occupancy_s, sigma_bins)
    num = smooth_maps(sums, sigma_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = num / occ_s
    rate[..., ~visited] = np.nan
    return rate, visited


def rate_maps_from_spikes(
    pos_m: ArrayLike,
    spike_steps: ArrayLike,
    spike_units: ArrayLike,
    n_units: int,
    dt_s: float,
    width_m: float,
    height_m: float,
    bin_size_m: float = 0.025,
    sigma_bins: float = 1.0,
    min_occupancy_s: float = 0.0,
) -> RateMaps:
    """Occupancy-normalised, smoothed firing-rate maps from spikes.

    Parameters
    ----------
    pos_m : (T, 2) float
        Position per step (m).
    spike_steps : (m,) int
        Step of each spike (``0 .. T-1``, relative to the window start).
    spike_units : (m,) int
        Unit of each spike.
    n_units : int
        Number of units.
    dt_s : float
        Step duration (s).
    width_m, height_m : float
        Arena bounding box (m).
    bin_size_m : float, default 0.025
        Bin side (m).
    sigma_bins : float, default 1.0
        Gaussian smoothing σ (bins) applied to counts and occupancy separately; 0 = none.
    min_occupancy_s : float, default 0.0
        Bins with raw occupancy ``<=`` this are unvisited (NaN).

    Returns
    -------
    RateMaps
        ``rate_maps`` in Hz.
    """
    bin_index, ny, nx = bin_positions(pos_m, width_m, height_m, bin_size_m)
    occ = occupancy_map(bin_index, ny, nx, dt_s)
    counts = spike_count_maps(bin_index, spike_steps, spike_units, n_units, ny, nx)
    rate, visited = _normalise(counts, occ, sigma_bins, min_occupancy_s)
    return RateMaps(
        rate_maps=rate,
        occupancy_s=occ,
        visited=visited,
        spike_counts=counts,
        bin_size_m=bin_size_m,
        width_m=width_m,
        height_m=height_m,
        sigma_bins=sigma_bins,
    )


def rate_maps_from_rates(
    pos_m: ArrayLike,
    rates: ArrayLike,
    dt_s: float,
    width_m: float,
    height_m: float,
    bin_size_m: float = 0.025,
    sigma_bins: float = 1.0,
    min_occupancy_s: float = 0.0,
) -> RateMaps:
    """Mean continuous rate per bin (time-weighted), smoothed like spike maps.

    Parameters
    ----------
    pos_m : (T, 2) float
        Position per step (m).
    rates : (T, n_units) float32 or float64
        Rate (or activity) of every unit at every step; accumulated in float64 without copying
        C-contiguous input.
    dt_s : float
        Step duration (s).
    width_m, height_m : float
        Arena bounding box (m).
    bin_size_m : float, default 0.025
        Bin side (m).
    sigma_bins : float, default 1.0
        Gaussian σ (bins) applied to summed rate·time and occupancy separately; 0 = none.
    min_occupancy_s : float, default 0.0
        Bins with raw occupancy ``<=`` this are unvisited (NaN).

    Returns
    -------
    RateMaps
        ``rate_maps`` in the units of ``rates``; ``spike_counts`` is None.
    """
    bin_index, ny, nx = bin_positions(pos_m, width_m, height_m, bin_size_m)
    r = np.asarray(rates)
    if r.dtype not in (np.float32, np.float64):
        r = r.astype(np.float64)
    r = np.ascontiguousarray(r)
    if r.ndim != 2 or r.shape[0] != bin_index.size:
        raise ValueError(f"rates must have shape (T={bin_index.size}, n_units), got {r.shape}")
    sums = sum_by_bin(bin_index, r, ny * nx)
    n_units = r.shape[1]
    weighted = (sums * dt_s).T.reshape(n_units, ny, nx)
    occ = occupancy_map(bin_index, ny, nx, dt_s)
    rate, visited = _normalise(weighted, occ, sigma_bins, min_occupancy_s)
    return RateMaps(
        rate_maps=rate,
        occupancy_s=occ,
        visited=visited,
        spike_counts=None,
        bin_size_m=bin_size_m,
        width_m=width_m,
        height_m=height_m,
        sigma_bins=sigma_bins,
    )
