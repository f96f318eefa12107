"""Place-field detection on rate maps.

A *region* is a 4-connected set of visited bins whose rate is at least ``threshold`` (20 %) of
the unit's peak rate. A region is a *field* when it has at least ``min_field_bins`` bins (9) and
covers less than ``max_field_fraction`` (50 %) of the visited bins; a region of enough bins that
covers more is *oversized* (a cell firing all over the box has no place field, so the place-cell
test rejects any unit with one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage

__all__ = ["Fields", "detect_fields", "map_peaks"]

#: In-plane 4-connectivity, no connectivity across units (axis 0).
_STRUCTURE_3D = np.zeros((3, 3, 3), dtype=bool)
_STRUCTURE_3D[1] = ndimage.generate_binary_structure(2, 1)


def map_peaks(rate_maps: ArrayLike) -> NDArray[np.float64]:
    """Peak of each map, ignoring NaN, without warnings.

    Parameters
    ----------
    rate_maps : (..., ny, nx) float
        Maps, NaN in unvisited bins.

    Returns
    -------
    peak : (...,) float64
        Largest finite value; NaN for a map without any.
    """
    r = np.asarray(rate_maps, dtype=np.float64)
    m = np.where(np.isfinite(r), r, -np.inf).max(axis=(-2, -1), initial=-np.inf)
    return cast(NDArray[np.float64], np.where(np.isneginf(m), np.nan, m))


@dataclass(frozen=True)
class Fields:
    """Fields of a set of rate maps, per unit and as a flat table of fields.

    Attributes
    ----------
    labels : (n_units, ny, nx) int32
        ``k = 1 .. n_fields[u]`` in the bins of the unit's ``k``-th field (fields ordered by
        decreasing in-field peak rate), ``-1`` in oversized regions, 0 elsewhere.
    n_fields : (n_units,) int64
        Number of fields.
    n_oversized : (n_units,) int64
        Number of regions of at least ``min_field_bins`` covering ``>= max_field_fraction``.
    largest_fraction : (n_units,) float64
        Size of the unit's largest region of at least ``min_field_bins`` bins over the number of
        visited bins (0 when it has none).
    field_unit : (k,) int64
        Unit of each field (flat table of all fields, sorted by unit then label).
    field_label : (k,) int32
        The field's label in ``labels[field_unit]``.
    field_size_bins : (k,) int64
        Bins in the field.
    field_fraction : (k,) float64
        ``field_size_bins`` over the unit's visited bins.
    field_peak : (k,) float64
        Peak rate inside the field.
    field_mean : (k,) float64
        Mean rate inside the field.
    field_centroid_bins : (k, 2) float64
        Rate-weighted centroid ``(x, y)`` in bin coordinates (bin ``i`` spans ``[i, i+1)``, so a
        centroid in the middle of bin 0 is 0.5); multiply by ``bin_size_m`` and subtract
        ``w/2, h/2`` for metres.
    """

    labels: NDArray[np.int32]
    n_fields: NDArray[np.int64]
    n_oversized: NDArray[np.int64]
    largest_fraction: NDArray[np.float64]
    field_unit: NDArray[np.int64]
    field_label: NDArray[np.int32]
    field_size_bins: NDArray[np.int64]
    field_fraction: NDArray[np.float64]
    field_peak: NDArray[np.float64]
    field_mean: NDArray[np.float64]
    field_centroid_bins: NDArray[np.float64]


def detect_fields(
    rate_maps: ArrayLike,
    *,
    threshold: float = 0.2,
    min_field_bins: int = 9,
    max_field_fraction: float = 0.5,
) -> Fields:
    """Detect the firing fields of every unit.

    Parameters
    ----------
    rate_maps : (n_units, ny, nx) or (ny, nx) float
        Smoothed rate maps (Hz), NaN in unvisited bins.
    threshold : float, default 0.2
        A bin belongs to a region when its rate is ``>= threshold * peak``.
    min_field_bins : int, default 9
        Smallest field (bins).
    max_field_fraction : float, default 0.5
        Fields must cover less than this fraction of the visited bins.

    Returns
    -------
    Fields
        For a 2-D input, ``n_units`` is 1.
    """
    r = np.asarray(rate_maps, dtype=np.float64)
    if r.ndim == 2:
        r = r[None]
    if r.ndim != 3:
        raise ValueError(f"rate_maps must be (n_units, ny, nx) or (ny, nx), got {r.shape}")
    n_units = r.shape[0]
    finite = np.isfinite(r)
    n_visited = finite.sum(axis=(1, 2))
    peak = map_peaks(r)
    thr = np.where(peak > 0, threshold * np.nan_to_num(peak), np.inf)
    with np.errstate(invalid="ignore"):
        mask = finite & (r >= thr[:, None, None])
    lab, n_regions = ndimage.label(mask, structure=_STRUCTURE_3D)
    lab = lab.astype(np.int64)

    nz = np.nonzero(lab)
    region = lab[nz]
    unit_of = np.zeros(n_regions + 1, dtype=np.int64)
    unit_of[region] = nz[0]
    size = np.bincount(region, minlength=n_regions + 1)
    rates = r[nz]
    rate_sum = np.bincount(region, weights=rates, minlength=n_regions + 1)
    sum_x = np.bincount(region, weights=rates * (nz[2] + 0.5), minlength=n_regions + 1)
    sum_y = np.bincount(region, weights=rates * (nz[1] + 0.5), minlength=n_regions + 1)
    region_peak = np.zeros(n_regions + 1)
    np.maximum.at(region_peak, region, rates)

    ids = np.arange(1, n_regions + 1)
    unit_ids = unit_of[ids]
    frac = size[ids] / np.maximum(n_visited[unit_ids], 1)
    big_enough = size[ids] >= min_field_bins
    is_field = big_enough & (frac < max_field_fraction)
    oversized = big_enough & ~is_field

    largest = np.zeros(n_units)
    np.maximum.at(largest, unit_ids[big_enough], frac[big_enough])

    # label fields 1..k per unit by decreasing peak
    f_ids = ids[is_field]
    order = np.lexsort((-region_peak[f_ids], unit_of[f_ids]))
    f_ids = f_ids[order]
    f_units = unit_of[f_ids]
    n_fields = np.bincount(f_units, minlength=n_units).astype(np.int64)
    first = np.concatenate(([0], np.cumsum(n_fields)))[:-1]
    rank = np.arange(f_ids.size) - first[f_units] + 1
    new_label = np.zeros(n_regions + 1, dtype=np.int32)
    new_label[ids[oversized]] = -1
    new_label[f_ids] = rank
    labels = new_label[lab]

    with np.errstate(invalid="ignore", divide="ignore"):
        centroid = np.stack([sum_x[f_ids], sum_y[f_ids]], axis=1) / rate_sum[f_ids, None]
    return Fields(
        labels=labels,
        n_fields=n_fields,
        n_oversized=np.bincount(unit_ids[oversized], minlength=n_units).astype(np.int64),
        largest_fraction=largest,
        field_unit=f_units,
        field_label=rank.astype(np.int32),
        field_size_bins=size[f_ids],
        field_fraction=size[f_ids] / np.maximum(n_visited[f_units], 1),
        field_peak=region_peak[f_ids],
        field_mean=rate_sum[f_ids] / size[f_ids],
        field_centroid_bins=centroid,
    )
