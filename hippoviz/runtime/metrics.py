"""Online place-cell metrics computed in the simulation thread from the online rate maps.

:func:`layer_metrics` uses :mod:`hippoviz.analysis` when it provides what is needed; otherwise it
falls back to the simple estimate below (Skaggs spatial information and a field criterion without
the shuffle test) and says so with ``"method": "approx"``.
"""

from __future__ import annotations

import sys
from typing import TypedDict

import numpy as np
from numpy.typing import NDArray


class LayerMetrics(TypedDict):
    """The online place-cell metrics of one layer: the place-cell fraction of the active units
    (peak > 0), their median spatial information (bits/spike), how many were active, and
    whether :mod:`hippoviz.analysis` (``"analysis"``) or the fallback (``"approx"``) computed
    them."""

    place_cell_fraction: float
    median_si_bits_per_spike: float
    n_active: int
    method: str


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


def _has_field(rmap: NDArray[np.floating], min_bins: int, max_fraction: float,
               dominant: tuple[float, float, float] | None = None) -> bool:
    """At least one contiguous field (>= ``min_bins`` bins at >= 20 % of peak), each field smaller
    than ``max_fraction`` of the visited bins. With ``dominant = (lo, hi, ratio)`` (the strict
    test), the field with the highest peak must also cover ``lo``-``hi`` of the visited bins and
    any other field peak below ``ratio`` of it."""
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
    if not ((sizes >= min_bins).any() and (sizes < max_fraction * visited).all()):
        return False
    if dominant is None:
        return True
    peaks = np.zeros(n + 1)
    np.maximum.at(peaks, labels.ravel(), r.ravel())
    fields = np.flatnonzero(sizes >= min_bins) + 1
    order = fields[np.argsort(-peaks[fields])]
    lo, hi, ratio = dominant
    first = order[0]
    frac = sizes[first - 1] / visited
    second_ok = order.size < 2 or peaks[order[1]] < ratio * peaks[first]
    return bool(lo <= frac <= hi and second_ok)


def approx_layer_metrics(maps: NDArray[np.floating], occupancy: NDArray[np.floating],
                         min_peak_hz: float = 1.0, min_field_bins: int = 9,
                         si_threshold: float = 0.5, strict: bool = False,
                         min_si_bits: float = 1.0,
                         dominant_field_range: tuple[float, float] = (0.02, 0.30),
                         second_field_ratio: float = 0.5) -> LayerMetrics:
    """Place-cell fraction and median SI without the shuffle test (cheap enough to run online).

    A unit counts as a place cell when its peak rate is at least ``min_peak_hz``, its spatial
    information at least ``si_threshold`` bits/spike, and it has a field as in docs/model.md;
    with ``strict`` (the strict test's online form), its information is at least
    ``min_si_bits`` and its strongest field is a dominant one of plausible size.

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
    active = peak > 0
    n_active = int(active.sum())
    if n_active == 0:
        return {"place_cell_fraction": 0.0, "median_si_bits_per_spike": 0.0, "n_active": 0,
                "method": "approx"}
    thr = max(si_threshold, min_si_bits) if strict else si_threshold
    dom = (*dominant_field_range, second_field_ratio) if strict else None
    cand = np.flatnonzero(active & (peak >= min_peak_hz) & (si >= thr))
    n_place = sum(_has_field(maps[i], min_field_bins, 0.5, dom) for i in cand)
    return {
        "place_cell_fraction": float(n_place / n_active),
        "median_si_bits_per_spike": float(np.median(si[active])),
        "n_active": n_active,
        "method": "approx",
    }


def layer_metrics(maps: NDArray[np.floating], occupancy: NDArray[np.floating],
                  min_peak_hz: float = 1.0, min_field_bins: int = 9,
                  si_threshold: float = 0.5, strict: bool = False, min_si_bits: float = 1.0,
                  dominant_field_range: tuple[float, float] = (0.02, 0.30),
                  second_field_ratio: float = 0.5) -> LayerMetrics:
    """Place-cell fraction and median spatial information of one layer's online rate maps.

    Uses :mod:`hippoviz.analysis` (Skaggs information, field detection, peaks) when it is
    already imported, else :func:`approx_layer_metrics` (same definitions, marked
    ``"approx"``). The online maps carry no spike trains, so the shuffle test of the full
    place-cell analysis is replaced by ``SI >= si_threshold``.

    Parameters
    ----------
    maps : (n_units, ny, nx) float
        Smoothed rate maps (Hz), NaN where unvisited.
    occupancy : (ny, nx) float
        Time per bin.
    min_peak_hz, min_field_bins : float, int
        As ``analysis.min_peak_hz`` and ``analysis.min_field_bins``.
    si_threshold : float
        Spatial information (bits/spike) that stands in for significance.
    strict, min_si_bits, dominant_field_range, second_field_ratio
        The strict place-cell test (``analysis.place_cell_criterion = "strict"``): SI at least
        ``min_si_bits`` and one dominant field of plausible size.

    Returns
    -------
    dict
        ``place_cell_fraction`` (of the active units, peak > 0), ``median_si_bits_per_spike``
        (over active units), ``n_active``, ``method`` (``"analysis"`` or ``"approx"``).
    """
    if "hippoviz.analysis" not in sys.modules:
        # importing hippoviz.analysis costs seconds (scipy.signal) with the GIL mostly held:
        # never start it from the simulation's worker; use it once something else loaded it
        return approx_layer_metrics(maps, occupancy, min_peak_hz, min_field_bins, si_threshold,
                                    strict, min_si_bits, dominant_field_range,
                                    second_field_ratio)
    try:
        from hippoviz.analysis import detect_fields, map_peaks, skaggs_information
        from hippoviz.analysis.place_cells import dominant_field
    except ImportError:
        return approx_layer_metrics(maps, occupancy, min_peak_hz, min_field_bins, si_threshold,
                                    strict, min_si_bits, dominant_field_range,
                                    second_field_ratio)
    if maps.shape[0] == 0:
        return {"place_cell_fraction": float("nan"), "median_si_bits_per_spike": float("nan"),
                "n_active": 0, "method": "analysis"}
    si = np.asarray(skaggs_information(maps, occupancy))
    peak = np.asarray(map_peaks(maps))
    with np.errstate(invalid="ignore"):
        active = np.nan_to_num(peak, nan=0.0) > 0
        fields = detect_fields(maps, min_field_bins=min_field_bins)
        thr = max(si_threshold, min_si_bits) if strict else si_threshold
        place = (active & (peak >= min_peak_hz) & (np.nan_to_num(si) >= thr)
                 & (fields.n_fields >= 1) & (fields.n_oversized == 0))
        if strict:
            place &= dominant_field(fields, maps.shape[0], dominant_field_range,
                                    second_field_ratio)
    n_active = int(active.sum())
    si_active = si[active]
    si_active = si_active[np.isfinite(si_active)]
    return {
        "place_cell_fraction": float(place.sum() / n_active) if n_active else 0.0,
        "median_si_bits_per_spike": float(np.median(si_active)) if si_active.size else 0.0,
        "n_active": n_active,
        "method": "analysis",
    }
