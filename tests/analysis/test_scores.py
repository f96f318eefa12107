from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from hippoviz.analysis import bin_centers, border_score, grid_score, spatial_autocorrelogram

BIN = 0.025


def grid_map(spacing_m: float, theta_deg: float, phase_m: np.ndarray, size_m: float = 1.0):
    """G(r) = g(Σ_k cos(k_k·(r - c))), |k| = 4π/(√3 λ), angles θ + {-30°, 30°, 90°}
    (docs/model.md)."""
    x, y = bin_centers(size_m, size_m, BIN)
    X, Y = np.meshgrid(x, y)
    k = 4 * np.pi / (np.sqrt(3) * spacing_m)
    s = np.zeros_like(X)
    for a in np.deg2rad(theta_deg + np.array([-30.0, 30.0, 90.0])):
        s += np.cos(k * (np.cos(a) * (X - phase_m[0]) + np.sin(a) * (Y - phase_m[1])))
    return (np.exp(0.3 * (s + 1.5)) - 1) / (np.exp(1.35) - 1)


def border_map(sigma_m: float, wall: str, size_m: float = 1.0):
    x, y = bin_centers(size_m, size_m, BIN)
    X, Y = np.meshgrid(x, y)
    d = {"W": X + size_m / 2, "E": size_m / 2 - X, "S": Y + size_m / 2, "N": size_m / 2 - Y}[wall]
    return np.exp(-(d**2) / (2 * sigma_m**2))


@pytest.mark.parametrize("spacing", [0.4, 0.5, 0.7])
def test_ideal_grid_maps_score_high(spacing: float) -> None:
    rng = np.random.default_rng(int(spacing * 10))
    maps = np.stack(
        [grid_map(spacing, rng.uniform(0, 60), rng.uniform(-0.5, 0.5, 2)) for _ in range(4)]
    )
    scores = grid_score(maps)
    assert scores.shape == (4,)
    assert (scores > 0.5).all()


def test_grid_score_survives_unvisited_bins() -> None:
    m = grid_map(0.5, 10.0, np.array([0.1, 0.0]))
    m[:3, :5] = np.nan
    assert grid_score(m) > 0.5


def test_random_smooth_maps_score_low() -> None:
    rng = np.random.default_rng(0)
    # LEC-like maps: white noise smoothed with σ = 0.1 m (4 bins)
    maps = ndimage.gaussian_filter(rng.normal(size=(30, 40, 40)), (0, 4, 4), mode="wrap")
    scores = grid_score(maps)
    assert np.isfinite(scores).all()
    assert np.mean(scores) < 0.2
    assert np.median(scores) < 0.2


def test_autocorrelogram_centre_and_symmetry() -> None:
    rng = np.random.default_rng(1)
    m = ndimage.gaussian_filter(rng.random((15, 12)), 1.5)
    m[0, 0] = np.nan
    ac = spatial_autocorrelogram(m)
    assert ac.shape == (29, 23)
    assert ac[14, 11] == pytest.approx(1.0)
    np.testing.assert_allclose(ac, ac[::-1, ::-1], atol=1e-9, equal_nan=True)
    assert np.isnan(ac[0, 0])  # too little overlap
    # a direct Pearson r at one lag
    dy, dx = 2, -3
    a = m[dy:, : m.shape[1] + dx]
    b = m[:-dy, -dx:]
    ok = np.isfinite(a) & np.isfinite(b)
    assert ac[14 + dy, 11 + dx] == pytest.approx(np.corrcoef(a[ok], b[ok])[0, 1], abs=1e-9)
    assert np.isnan(spatial_autocorrelogram(np.ones((10, 10)))).all()


@pytest.mark.parametrize("sigma", [0.05, 0.1, 0.15, 0.2])
@pytest.mark.parametrize("wall", ["W", "E", "S", "N"])
def test_ideal_border_maps_score_high(sigma: float, wall: str) -> None:
    assert border_score(border_map(sigma, wall), BIN) > 0.5


def test_central_field_and_grid_score_low_on_border() -> None:
    x, y = bin_centers(1.0, 1.0, BIN)
    X, Y = np.meshgrid(x, y)
    central = np.exp(-(X**2 + Y**2) / (2 * 0.1**2))
    grid = grid_map(0.5, 0.0, np.array([0.0, 0.0]))
    scores = border_score(np.stack([central, grid, np.zeros_like(grid)]), BIN)
    assert scores[0] < 0.0
    assert scores[1] < 0.5
    assert np.isnan(scores[2])
