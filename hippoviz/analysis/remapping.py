"""Comparing two conditions: rate-map correlation, population vectors, rate remapping.

Maps of the two conditions must share the binning; NaN marks unvisited bins and every measure
uses only bins visited in both conditions.
"""

from __future__ import annotations

from typing import cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

from hippoviz.analysis.fields import detect_fields

__all__ = [
    "population_vector_correlation",
    "pv_correlation_map",
    "rate_map_correlation",
    "rate_remapping_index",
    "remapping_index",
]


def _pair(maps_a: ArrayLike, maps_b: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    a = np.asarray(maps_a, dtype=np.float64)
    b = np.asarray(maps_b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"maps differ in shape: {a.shape} vs {b.shape}")
    if a.ndim < 2:
        raise ValueError(f"maps must be (..., ny, nx), got {a.shape}")
    return a, b


def _masked_pearson(
    a: NDArray[np.float64], b: NDArray[np.float64], mask: NDArray[np.bool_], axis: tuple[int, ...]
) -> NDArray[np.float64]:
    """Pearson r over ``axis`` using only entries where ``mask``; NaN for < 2 or zero variance."""
    n = mask.sum(axis=axis)
    a0 = np.where(mask, a, 0.0)
    b0 = np.where(mask, b, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ma = a0.sum(axis=axis, keepdims=True) / np.expand_dims(n, axis)
        mb = b0.sum(axis=axis, keepdims=True) / np.expand_dims(n, axis)
        da = np.where(mask, a0 - ma, 0.0)
        db = np.where(mask, b0 - mb, 0.0)
        sab = (da * db).sum(axis=axis)
        saa = (da * da).sum(axis=axis)
        sbb = (db * db).sum(axis=axis)
        # relative floor: constant vectors give float-noise variances, not a real spread
        scale_a = (a0 * a0).sum(axis=axis)
        scale_b = (b0 * b0).sum(axis=axis)
        ok = (n >= 2) & (saa > 1e-24 * scale_a) & (sbb > 1e-24 * scale_b) & (saa > 0) & (sbb > 0)
        r = np.where(ok, sab / np.sqrt(saa * sbb), np.nan)
    return cast(NDArray[np.float64], np.clip(r, -1.0, 1.0))


def rate_map_correlation(maps_a: ArrayLike, maps_b: ArrayLike) -> NDArray[np.float64]:
    """Pearson correlation of each unit's maps in two conditions.

    Parameters
    ----------
    maps_a, maps_b : (n_units, ny, nx) or (ny, nx) float
        Rate maps (Hz), NaN in unvisited bins.

    Returns
    -------
    r : (n_units,) or () float64
        Correlation over the bins visited in both conditions; NaN when fewer than 2 such bins
        or when either map is constant there (e.g. a silent unit).
    """
    a, b = _pair(maps_a, maps_b)
    mask = np.isfinite(a) & np.isfinite(b)
    return _masked_pearson(a, b, mask, axis=(-2, -1))


def pv_correlation_map(maps_a: ArrayLike, maps_b: ArrayLike) -> NDArray[np.float64]:
    """Population-vector correlation in every bin.

    Parameters
    ----------
    maps_a, maps_b : (n_units, ny, nx) float
        Rate maps of the same units in two conditions (Hz), NaN in unvisited bins.

    Returns
    -------
    r : (ny, nx) float64
        Pearson r, across units, of the rates in that bin in A and in B (units with a finite
        rate in both); NaN where a bin is unvisited in either condition, where fewer than 2
        units are available, or where either population vector has zero variance.
    """
    a, b = _pair(maps_a, maps_b)
    if a.ndim != 3:
        raise ValueError(f"maps must be (n_units, ny, nx), got {a.shape}")
    mask = np.isfinite(a) & np.isfinite(b)
    return _masked_pearson(a, b, mask, axis=(0,))


def population_vector_correlation(maps_a: ArrayLike, maps_b: ArrayLike) -> float:
    """Mean population-vector correlation over the bins visited in both conditions.

    Parameters
    ----------
    maps_a, maps_b : (n_units, ny, nx) float
        Rate maps of the same units in two conditions (Hz), NaN in unvisited bins.

    Returns
    -------
    r : float
        Mean of :func:`pv_correlation_map` over its finite bins (bins where either population
        vector has zero variance are skipped); NaN when no bin qualifies.
    """
    r = pv_correlation_map(maps_a, maps_b)
    ok = np.isfinite(r)
    return float(r[ok].mean()) if ok.any() else float("nan")


def remapping_index(rate_a: ArrayLike, rate_b: ArrayLike) -> NDArray[np.float64]:
    """``|R_A - R_B| / (R_A + R_B)`` elementwise; NaN where ``R_A + R_B == 0``.

    Parameters
    ----------
    rate_a, rate_b : (...) float
        Non-negative rates (Hz) in conditions A and B.

    Returns
    -------
    index : (...) float64
        In ``[0, 1]``: 0 = same rate, 1 = silent in one condition.
    """
    ra = np.asarray(rate_a, dtype=np.float64)
    rb = np.asarray(rate_b, dtype=np.float64)
    total = ra + rb
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(total > 0, np.abs(ra - rb) / total, np.nan)
    return cast(NDArray[np.float64], out)


def rate_remapping_index(
    maps_a: ArrayLike,
    maps_b: ArrayLike,
    *,
    threshold: float = 0.2,
    min_field_bins: int = 9,
    max_field_fraction: float = 0.5,
) -> NDArray[np.float64]:
    """Rate-remapping index of each unit from its mean in-field rates.

    ``R_A`` and ``R_B`` are the unit's mean rates, in conditions A and B, over the same bins: the
    union of its fields in A and in B (:func:`~hippoviz.analysis.detect_fields`), restricted to
    bins visited in both. Using one region for both conditions measures a rate change at a
    fixed place (Leutgeb et al. 2005), and the mean over the field is less noisy than the peak.
    A unit without a field in either condition is compared over all bins visited in both
    (mean map rates).

    Parameters
    ----------
    maps_a, maps_b : (n_units, ny, nx) or (ny, nx) float
        Rate maps (Hz), NaN in unvisited bins.
    threshold, min_field_bins, max_field_fraction
        Field definition, as in :func:`~hippoviz.analysis.detect_fields`.

    Returns
    -------
    index : (n_units,) float64
        ``|R_A - R_B| / (R_A + R_B)`` in ``[0, 1]``; NaN for a unit silent in both conditions
        (or without any bin visited in both).
    """
    a, b = _pair(maps_a, maps_b)
    if a.ndim == 2:
        a, b = a[None], b[None]
    fa = detect_fields(
        a, threshold=threshold, min_field_bins=min_field_bins, max_field_fraction=max_field_fraction
    )
    fb = detect_fields(
        b, threshold=threshold, min_field_bins=min_field_bins, max_field_fraction=max_field_fraction
    )
    common = np.isfinite(a) & np.isfinite(b)
    region = ((fa.labels > 0) | (fb.labels > 0)) & common
    has_field = region.sum(axis=(1, 2)) > 0
    region = np.where(has_field[:, None, None], region, common)
    n = region.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        ra = np.where(region, a, 0.0).sum(axis=(1, 2)) / n
        rb = np.where(region, b, 0.0).sum(axis=(1, 2)) / n
    return remapping_index(ra, rb)
