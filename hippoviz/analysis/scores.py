"""Grid and border scores, used to sanity-check the entorhinal input cells.

Grid score (Sargolini et al. 2006; Langston et al. 2010)
    The spatial autocorrelogram of the rate map is Pearson's r between the map and itself
    shifted by every lag, over the bins visited at both ends of the lag. The central peak is
    cut out (its radius: the first local minimum, or first non-positive value, of the
    autocorrelogram's radial mean profile), and an annulus reaching out to the six peaks
    nearest to the centre (their largest distance plus the central radius) is kept. The
    annulus is correlated with itself rotated by 30°, 60°, 90°, 120° and 150°, and
    ``score = min(r60, r120) - max(r30, r90, r150)``: high for six-fold symmetry, in
    ``[-2, 2]``.

Border score (Solstad et al. 2008)
    Fields are 4-connected regions at ``>= 30 %`` of the peak and ``>= 200 cm²``. ``cM`` is the
    largest fraction of one wall's bins (the visited bins of an edge row or column of the
    bounding box) covered by a single field; ``dm`` is the firing-rate-weighted mean distance
    of field bins to the nearest wall, divided by half the shortest side of the box.
    ``score = (cM - dm) / (cM + dm)`` in ``[-1, 1]``. Walls are those of the bounding box, so
    the score is meant for rectangular arenas.
"""

from __future__ import annotations

import math
from typing import cast

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage

__all__ = ["border_score", "grid_score", "spatial_autocorrelogram"]


def _as_stack(maps: ArrayLike) -> tuple[NDArray[np.float64], bool]:
    m = np.asarray(maps, dtype=np.float64)
    if m.ndim == 2:
        return m[None], True
    if m.ndim != 3:
        raise ValueError(f"maps must be (n, ny, nx) or (ny, nx), got {m.shape}")
    return m, False


def _fftconvolve(a: NDArray[np.float64], b: NDArray[np.float64], **kw: object) -> NDArray[
        np.float64]:
    # scipy.signal is imported on first use: it costs seconds at start-up
    from scipy import signal

    return np.asarray(signal.fftconvolve(a, b, **kw), dtype=np.float64)


def spatial_autocorrelogram(
    rate_maps: ArrayLike, min_overlap_bins: int = 20
) -> NDArray[np.float64]:
    """Pearson autocorrelogram of rate maps, NaN-aware.

    Parameters
    ----------
    rate_maps : (n, ny, nx) or (ny, nx) float
        Rate maps, NaN in unvisited bins.
    min_overlap_bins : int, default 20
        Lags whose overlap has fewer visited bin pairs are NaN.

    Returns
    -------
    ac : (n, 2 ny - 1, 2 nx - 1) or (2 ny - 1, 2 nx - 1) float64
        ``ac[..., ny - 1 + dy, nx - 1 + dx]`` is r between the map and the map shifted by
        ``(dy, dx)`` bins; the centre is 1 for any non-constant map.
    """
    m, single = _as_stack(rate_maps)
    mask = np.isfinite(m).astype(np.float64)
    x = np.where(mask > 0, m, 0.0)
    x2 = x * x

    def xc(p: NDArray[np.float64], q: NDArray[np.float64]) -> NDArray[np.float64]:
        # Σ_p p(i + τ) q(i): full cross-correlation over the last two axes
        return _fftconvolve(p, q[:, ::-1, ::-1], mode="full", axes=(1, 2))

    n = np.rint(xc(mask, mask))
    sxy = xc(x, x)
    sx = xc(x, mask)  # Σ x over the shifted end
    sy = xc(mask, x)
    sxx = xc(x2, mask)
    syy = xc(mask, x2)
    with np.errstate(invalid="ignore", divide="ignore"):
        num = n * sxy - sx * sy
        va = n * sxx - sx * sx
        vb = n * syy - sy * sy
        scale = np.maximum(n * sxx, n * syy)
        ok = (n >= min_overlap_bins) & (va > 1e-12 * scale) & (vb > 1e-12 * scale)
        ac = np.where(ok, num / np.sqrt(va * vb), np.nan)
    ac = np.clip(ac, -1.0, 1.0)
    return ac[0] if single else ac


def _radial_profile(ac: NDArray[np.float64], r: NDArray[np.float64]) -> NDArray[np.float64]:
    ri = np.rint(r).astype(np.int64)
    ok = np.isfinite(ac)
    num = np.bincount(ri[ok], weights=ac[ok], minlength=ri.max() + 1)
    den = np.bincount(ri[ok], minlength=ri.max() + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        profile: NDArray[np.float64] = num / den
    return profile


def _central_radius(profile: NDArray[np.float64]) -> int:
    for i in range(1, profile.size - 1):
        p = profile[i]
        if not np.isfinite(p):
            return i
        if p <= 0 or (p < profile[i - 1] and p <= profile[i + 1]):
            return i
    return profile.size - 1


def _rotate(ac: NDArray[np.float64], angle_deg: float) -> NDArray[np.float64]:
    """Rotate about the centre bin, bilinear; NaN spreads to every bin it touches."""
    h, w = ac.shape
    cy, cx = (h - 1) / 2, (w - 1) / 2
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    th = math.radians(angle_deg)
    c, s = math.cos(th), math.sin(th)
    # sample the source at the inverse rotation of each target bin
    sx = cx + c * (xx - cx) + s * (yy - cy)
    sy = cy - s * (xx - cx) + c * (yy - cy)
    return cast(
        NDArray[np.float64],
        ndimage.map_coordinates(ac, [sy, sx], order=1, mode="constant", cval=np.nan),
    )


def _grid_score_one(ac: NDArray[np.float64]) -> float:
    h, w = ac.shape
    cy, cx = (h - 1) // 2, (w - 1) // 2
    yy, xx = np.mgrid[0:h, 0:w]
    r = np.hypot(yy - cy, xx - cx)
    profile = _radial_profile(ac, r)
    r_in = _central_radius(profile)

    filled = np.where(np.isfinite(ac), ac, -np.inf)
    is_peak = (filled == ndimage.maximum_filter(filled, size=3, mode="constant", cval=-np.inf)) & (
        filled > 0
    )
    is_peak &= r > r_in
    peak_r = np.sort(r[is_peak])
    if peak_r.size < 3:
        return float("nan")
    r_out = peak_r[:6].max() + r_in
    annulus = (r > r_in) & (r <= r_out) & np.isfinite(ac)
    corr = {}
    for angle in (30, 60, 90, 120, 150):
        rot = _rotate(ac, angle)
        m = annulus & np.isfinite(rot)
        if m.sum() < 3:
            return float("nan")
        a, b = ac[m], rot[m]
        a = a - a.mean()
        b = b - b.mean()
        den = math.sqrt(float((a * a).sum() * (b * b).sum()))
        corr[angle] = float((a * b).sum() / den) if den > 0 else float("nan")
    return min(corr[60], corr[120]) - max(corr[30], corr[90], corr[150])


def grid_score(rate_maps: ArrayLike, min_overlap_bins: int = 20) -> NDArray[np.float64]:
    """Grid score of each rate map (Sargolini et al. 2006 annulus, see the module notes).

    Parameters
    ----------
    rate_maps : (n, ny, nx) or (ny, nx) float
        Rate maps, NaN in unvisited bins.
    min_overlap_bins : int, default 20
        Autocorrelogram lags with less overlap are ignored.

    Returns
    -------
    score : (n,) or () float64
        ``min(r60, r120) - max(r30, r90, r150)``; NaN for a constant map or one whose
        autocorrelogram shows fewer than 3 peaks around the centre.
    """
    m, single = _as_stack(rate_maps)
    ac = spatial_autocorrelogram(m, min_overlap_bins)
    out = np.array([_grid_score_one(a) for a in ac], dtype=np.float64)
    return cast(NDArray[np.float64], out[0] if single else out)


def border_score(
    rate_maps: ArrayLike,
    bin_size_m: float,
    *,
    field_threshold: float = 0.3,
    min_field_area_m2: float = 0.02,
) -> NDArray[np.float64]:
    """Border score of each rate map (Solstad et al. 2008).

    Parameters
    ----------
    rate_maps : (n, ny, nx) or (ny, nx) float
        Rate maps of a rectangular box, NaN in unvisited bins; the box is ``nx * bin`` by
        ``ny * bin``.
    bin_size_m : float
        Bin side (m).
    field_threshold : float, default 0.3
        Field bins have ``rate >= field_threshold * peak``.
    min_field_area_m2 : float, default 0.02
        Smallest field (200 cm²).

    Returns
    -------
    score : (n,) or () float64
        ``(cM - dm) / (cM + dm)`` in ``[-1, 1]``; NaN for a map with no field.
    """
    m, single = _as_stack(rate_maps)
    _, ny, nx = m.shape
    min_bins = max(1, math.ceil(min_field_area_m2 / bin_size_m**2 - 1e-9))
    # distance of each bin centre to the nearest wall, over half the shortest side
    ix = np.arange(nx) + 0.5
    iy = np.arange(ny) + 0.5
    dx = np.minimum(ix, nx - ix)
    dy = np.minimum(iy, ny - iy)
    d_norm = np.minimum(dy[:, None], dx[None, :]) / (min(nx, ny) / 2)
    structure = ndimage.generate_binary_structure(2, 1)
    out = np.full(m.shape[0], np.nan)
    for u, rmap in enumerate(m):
        finite = np.isfinite(rmap)
        if not finite.any():
            continue
        peak = rmap[finite].max()
        if not peak > 0:
            continue
        mask = finite & (np.where(finite, rmap, -np.inf) >= field_threshold * peak)
        lab, n = ndimage.label(mask, structure=structure)
        if n == 0:
            continue
        sizes = np.bincount(lab.ravel(), minlength=n + 1)
        keep = np.flatnonzero(sizes >= min_bins)
        keep = keep[keep > 0]
        if keep.size == 0:
            continue
        walls = (
            (lab[:, 0], finite[:, 0]),
            (lab[:, -1], finite[:, -1]),
            (lab[0, :], finite[0, :]),
            (lab[-1, :], finite[-1, :]),
        )
        c_m = 0.0
        for wall_lab, wall_vis in walls:
            n_wall = int(wall_vis.sum())
            if n_wall == 0:
                continue
            for k in keep:
                c_m = max(c_m, float((wall_lab == k).sum()) / n_wall)
        in_fields = np.isin(lab, keep)
        rates = rmap[in_fields]
        d_m = float((rates * d_norm[in_fields]).sum() / rates.sum())
        out[u] = (c_m - d_m) / (c_m + d_m) if (c_m + d_m) > 0 else np.nan
    return cast(NDArray[np.float64], out[0] if single else out)
