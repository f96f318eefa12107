"""Small measures the experiment protocols need beyond :mod:`hippoviz.analysis`.

:mod:`hippoviz.analysis` provides rate maps, the place-cell test, fields, PV and rate-map
correlations and the rate-remapping index; this module adds:

- which units are active in a condition;
- field elongation (O'Keefe & Burgess 1996): the rate-weighted spread of a cell's main field
  along y over its spread along x;
- firing near a location (objects, Deshmukh & Knierim 2013);
- the mismatch response to a change: baseline, peak and 1/e decay time;
- a one-sided sign test.

Every function takes plain arrays: maps are ``(n_units, ny, nx)`` float, NaN in unvisited bins.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

FArray = NDArray[np.float64]

def active_cells(maps: FArray, min_peak_hz: float = 0.0) -> NDArray[np.bool_]:
    """Units whose peak rate exceeds ``min_peak_hz`` (any positive rate when 0)."""
    m = np.asarray(maps, np.float64)
    flat = np.where(np.isfinite(m), m, -np.inf).reshape(m.shape[0], -1)
    peak = flat.max(axis=1, initial=-np.inf)
    return np.asarray(peak >= min_peak_hz) if min_peak_hz > 0 else np.asarray(peak > 0)


def nanmedian(x: Any) -> float:
    a = np.asarray(x, np.float64)
    a = a[np.isfinite(a)]
    return float(np.median(a)) if a.size else float("nan")


def field_spread(rate_map: FArray, field: NDArray[np.bool_], bin_size_m: float
                 ) -> tuple[float, float]:
    """Rate-weighted standard deviations (m) of a field along x and y (NaN for an empty
    field); a field one bin wide has the spread of a uniform bin, ``bin / sqrt(12)``."""
    if not field.any():
        return float("nan"), float("nan")
    w = np.where(field, np.nan_to_num(np.asarray(rate_map, np.float64)), 0.0)
    tot = w.sum()
    if tot <= 0:
        return float("nan"), float("nan")
    ys, xs = np.mgrid[0:w.shape[0], 0:w.shape[1]]
    mx = (w * xs).sum() / tot
    my = (w * ys).sum() / tot
    floor = bin_size_m / math.sqrt(12.0)
    sx = math.sqrt(max((w * (xs - mx) ** 2).sum() / tot, 0.0)) * bin_size_m
    sy = math.sqrt(max((w * (ys - my) ** 2).sum() / tot, 0.0)) * bin_size_m
    return max(sx, floor), max(sy, floor)


def sign_test_greater(x: Any) -> tuple[float, int]:
    """One-sided sign test that the median of ``x`` exceeds 0 (exact binomial); returns the
    p-value and the number of non-zero finite values."""
    a = np.asarray(x, np.float64)
    a = a[np.isfinite(a) & (a != 0)]
    n = int(a.size)
    if n == 0:
        return float("nan"), 0
    k = int((a > 0).sum())
    # P(K >= k) for K ~ Binomial(n, 1/2)
    p = sum(math.comb(n, i) for i in range(k, n + 1)) / 2.0**n
    return float(p), n


def disk_mask(shape: tuple[int, int], extent: tuple[float, float, float, float],
              center: tuple[float, float], radius_m: float) -> NDArray[np.bool_]:
    """Bins of a ``(ny, nx)`` grid covering ``extent = (xmin, xmax, ymin, ymax)`` whose centres
    lie within ``radius_m`` of ``center``."""
    ny, nx = shape
    xmin, xmax, ymin, ymax = extent
    xs = xmin + (np.arange(nx) + 0.5) * (xmax - xmin) / nx
    ys = ymin + (np.arange(ny) + 0.5) * (ymax - ymin) / ny
    dx = xs[None, :] - center[0]
    dy = ys[:, None] - center[1]
    return np.asarray(dx * dx + dy * dy <= radius_m * radius_m)


def near_index(maps: FArray, mask: NDArray[np.bool_]) -> FArray:
    """Per unit, mean rate in the ``mask`` bins over mean rate in the other visited bins
    (NaN where either mean is undefined or the outside mean is 0)."""
    m = np.asarray(maps, np.float64)
    vis = np.isfinite(m).all(axis=0)
    inside = mask & vis
    outside = ~mask & vis
    out = np.full(m.shape[0], np.nan)
    if not inside.any() or not outside.any():
        return out
    a = m[:, inside].mean(axis=1)
    b = m[:, outside].mean(axis=1)
    ok = b > 0
    out[ok] = a[ok] / b[ok]
    return out


def smooth_trace(x: Any, n: int) -> FArray:
    """Moving average over ``n`` samples (``'valid'`` part, centred), at least one sample."""
    a = np.asarray(x, np.float64)
    n = max(1, min(int(n), a.size))
    if a.size == 0:
        return a
    c = np.cumsum(np.concatenate([[0.0], a]))
    return np.asarray((c[n:] - c[:-n]) / n)


def mismatch_response(before: Any, after: Any, dt_s: float, *, smooth_s: float = 10.0,
                      peak_window_s: float = 60.0) -> dict[str, Any]:
    """Baseline, peak and decay of the mismatch around a change.

    Parameters
    ----------
    before : (T0,) float
        Mismatch of the steps just before the change (the baseline window).
    after : (T1,) float
        Mismatch of the steps from the change on.
    dt_s : float
        Step (s).
    smooth_s : float
        Moving-average window of the trace the peak and decay are read from (s). The mismatch
        depends on where the rat is, so short means mostly measure position: 10 s averages over
        about 0.8 m of running.
    peak_window_s : float
        The peak is the largest smoothed value within this time after the change (s).

    Returns
    -------
    dict
        ``baseline`` (mean before), ``baseline_sd`` (sd of the smoothed baseline trace),
        ``peak`` (largest smoothed value after the change), ``peak_time_s``, ``jump_sd``
        ((peak - baseline) / baseline_sd), ``decay_time_s`` (time from the peak until the smoothed
        trace first falls to ``baseline + (peak - baseline) / e``; None if it never does within
        the window), ``final`` (mean of the last ``min(60 s, half the window)`` after the change).
    """
    b = np.asarray(before, np.float64)
    a = np.asarray(after, np.float64)
    n = max(1, round(smooth_s / dt_s))
    out: dict[str, Any] = {"baseline": None, "baseline_sd": None, "peak": None,
                           "peak_time_s": None, "jump_sd": None, "decay_time_s": None,
                           "final": None}
    if a.size == 0:
        return out
    if b.size:
        out["baseline"] = float(b.mean())
        sb = smooth_trace(b, n)
        out["baseline_sd"] = float(sb.std()) if sb.size > 1 else 0.0
    sa = smooth_trace(a, n)
    k = max(1, min(sa.size, round(peak_window_s / dt_s)))
    i_peak = int(np.argmax(sa[:k]))
    peak = float(sa[i_peak])
    out["peak"] = peak
    # the smoothed sample i covers steps i .. i+n-1; report the time of its centre
    out["peak_time_s"] = (i_peak + (n - 1) / 2) * dt_s
    tail = max(1, min(a.size // 2, round(60.0 / dt_s)))
    out["final"] = float(a[-tail:].mean())
    base = out["baseline"]
    if base is not None:
        sd = out["baseline_sd"]
        out["jump_sd"] = (peak - base) / sd if sd and sd > 0 else None
        level = base + (peak - base) / math.e
        if peak > base + 1e-9 * max(1.0, abs(base)):
            below = np.flatnonzero(sa[i_peak:] <= level)
            if below.size:
                out["decay_time_s"] = float(below[0] * dt_s)
    return out
