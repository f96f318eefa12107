"""Online place-cell metrics computed in the simulation thread from the online rate maps.

:func:`layer_metrics` uses :mod:`hippoviz.analysis` when it provides what is needed; otherwise it
falls back to the simple estimate below (Skaggs spatial information and a field criterion without
the shuffle test) and says so with ``"method": "approx"``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray


def spatial_information(maps: NDArray[np.floating], occupancy: NDArray[np.floating]) -> NDArray[
        np.float64]:
    """Skaggs et al. (1993) spatial information of each rate map.

    Parameters
    ----------
    maps : (n_units, ny, nx) float
        Rate maps in Hz, NaN where unvisited.
    occupancy : (ny, nx) float
        Time spent in each bin (any unit; only proportions matter).

    Returns
    -------
    (n_units,) float64
        ``I = sum_i p_i (r_i / r) log2(r_i / r)`` in bits/spike; 0 for silent units.
    """
    m = np.asarray(maps, dtype=np.float64).reshape(maps.shape[0], -1)
    occ = np.asarray(occupancy, dtype=np.float64).reshape(-1)
    visited = (occ > 0) & np.all(np.isfinite(m), axis=0)
    if not visited.any():
        return np.zeros(m.shape[0])
    p = occ[visited] / occ[visited].sum()
    r = np.clip(m[:, visited], 0.0, None)
    mean = r @ p
    ok = mean > 0
    out = np.zeros(m.shape[0])
    if ok.any():
        ratio = r[ok] / mean[ok, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(ratio > 0, ratio * np.log2(np.where(ratio > 0, ratio, 1.0)), 0.0)
        out[ok] = terms @ p
    return out


def _has_field(rmap: NDArray[np.floating], min_bins: int, max_fraction: float) -> bool:
    """At least one contiguous field (>= ``min_bins`` bins at >= 20 % of peak), each field smaller
    than ``max_fraction`` of the visited bins."""
    from scipy import ndimage

    finite = np.isfinite(rmap)
    if not finite.any():
        return False
    r = np.where(finite, rmap, 0.0)
    peak = float(r.max())
    if peak <= 0:
        return False
    labels, n = ndimage.label(r >= 0.2 * peak)
    if n == 0:
        return False
    sizes = np.bincount(labels.ravel())[1:]
    visited = int(finite.sum())
    return bool((sizes >= min_bins).any() and (sizes < max_fraction * visited).all())


def approx_layer_metrics(maps: NDArray[np.floating], occupancy: NDArray[np.floating],
                         min_peak_hz: float = 1.0, min_field_bins: int = 9,
                         si_threshold: float = 0.5) -> dict[str, Any]:
    """Place-cell fraction and median SI without the shuffle test (cheap enough to run online).

    A unit counts as a place cell when its peak rate is at least ``min_peak_hz``, its spatial
    information at least ``si_threshold`` bits/spike, and it has a field as in MODEL.md.

    Returns
    -------
    dict
        ``{"place_cell_fraction": float, "median_si_bits_per_spike": float,
        "n_active": int, "method": "approx"}`` (fractions of active units).
    """
    n = maps.shape[0]
    if n == 0:
        return {"place_cell_fraction": float("nan"), "median_si_bits_per_spike": float("nan"),
                "n_active": 0, "method": "approx"}
    si = spatial_information(maps, occupancy)
    with np.errstate(invalid="ignore"):
        peak = np.nanmax(np.where(np.isfinite(maps), maps, -np.inf).reshape(n, -1), axis=1)
    active = peak >= min_peak_hz
    n_active = int(active.sum())
    if n_active == 0:
        return {"place_cell_fraction": 0.0, "median_si_bits_per_spike": 0.0, "n_active": 0,
                "method": "approx"}
    cand = np.flatnonzero(active & (si >= si_threshold))
    n_place = sum(_has_field(maps[i], min_field_bins, 0.5) for i in cand)
    return {
        "place_cell_fraction": float(n_place / n_active),
        "median_si_bits_per_spike": float(np.median(si[active])),
        "n_active": n_active,
        "method": "approx",
    }


def layer_metrics(maps: NDArray[np.floating], occupancy: NDArray[np.floating],
                  min_peak_hz: float = 1.0, min_field_bins: int = 9) -> dict[str, Any]:
    """Metrics of one layer's online rate maps (see :func:`approx_layer_metrics`)."""
    return approx_layer_metrics(maps, occupancy, min_peak_hz=min_peak_hz,
                                min_field_bins=min_field_bins)
