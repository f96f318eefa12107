from __future__ import annotations

import numpy as np
import pytest

from hippoviz.analysis import (
    bin_centers,
    bin_positions,
    grid_shape,
    occupancy_map,
    rate_maps_from_rates,
    rate_maps_from_spikes,
    smooth_maps,
    spike_count_maps,
)
from hippoviz.analysis.ratemaps import sum_by_bin, sum_by_bin_np


def test_grid_shape_absorbs_float_noise() -> None:
    assert grid_shape(1.0, 1.0, 0.025) == (40, 40)
    assert grid_shape(1.0, 1.5, 0.025) == (60, 40)
    assert grid_shape(1.0, 1.0, 0.05) == (20, 20)
    assert grid_shape(1.0, 1.0, 0.3) == (4, 4)  # partial last bin
    with pytest.raises(ValueError, match="must be > 0"):
        grid_shape(1.0, 0.0, 0.025)


def test_bin_positions_corners_edges_and_nan() -> None:
    pos = np.array(
        [
            [-0.5, -0.5],  # lower-left corner -> bin 0
            [0.5, 0.5],  # upper-right corner, on the edge -> clipped into the last bin
            [0.49, -0.49],  # lower-right
            [-0.49, 0.49],  # upper-left: row ny-1, col 0
            [0.0, 0.0],  # centre: first bin of the upper-right quadrant
            [2.0, -3.0],  # outside: clipped
            [np.nan, 0.0],
        ],
        dtype=np.float32,
    )
    idx, ny, nx = bin_positions(pos, 1.0, 1.0, 0.025)
    assert (ny, nx) == (40, 40)
    assert idx.dtype == np.int64
    np.testing.assert_array_equal(idx, [0, 1599, 39, 39 * 40, 20 * 40 + 20, 39, -1])


def test_bin_centers_match_binning() -> None:
    x, y = bin_centers(1.0, 1.5, 0.025)
    assert x.shape == (40,) and y.shape == (60,)
    X, Y = np.meshgrid(x, y)
    idx, ny, nx = bin_positions(np.column_stack([X.ravel(), Y.ravel()]), 1.0, 1.5, 0.025)
    np.testing.assert_array_equal(idx, np.arange(ny * nx))


def test_occupancy_and_counts() -> None:
    rng = np.random.default_rng(0)
    idx = rng.integers(-1, 12, 1000)
    occ = occupancy_map(idx, 3, 4, 0.01)
    assert occ.shape == (3, 4)
    assert occ.sum() == pytest.approx((idx >= 0).sum() * 0.01)
    steps = rng.integers(0, 1000, 500)
    units = rng.integers(0, 5, 500)
    counts = spike_count_maps(idx, steps, units, 5, 3, 4)
    assert counts.shape == (5, 3, 4)
    assert counts.sum() == (idx[steps] >= 0).sum()
    u = 2
    expected = np.bincount(idx[steps[units == u]][idx[steps[units == u]] >= 0], minlength=12)
    np.testing.assert_array_equal(counts[u].ravel(), expected)
    with pytest.raises(ValueError, match="spike_steps"):
        spike_count_maps(idx, [1000], [0], 5, 3, 4)
    with pytest.raises(ValueError, match="spike_units"):
        spike_count_maps(idx, [3], [5], 5, 3, 4)


@pytest.mark.parametrize("sigma", [0.0, 1.0])
def test_constant_rate_gives_flat_map_with_unvisited_nan(sigma: float) -> None:
    """Normalised convolution: a constant rate stays constant at walls and next to holes."""
    rng = np.random.default_rng(1)
    pos = rng.uniform(-0.5, 0.5, (20_000, 2))
    pos = pos[(np.abs(pos[:, 0]) > 0.1) | (np.abs(pos[:, 1]) > 0.1)]  # a hole in the middle
    rates = np.full((pos.shape[0], 3), [0.0, 2.0, 7.5], dtype=np.float32)
    rm = rate_maps_from_rates(pos, rates, 0.01, 1.0, 1.0, 0.05, sigma_bins=sigma)
    assert rm.rate_maps.shape == (3, 20, 20)
    assert not rm.visited[10, 10] and np.isnan(rm.rate_maps[:, 10, 10]).all()
    vis = rm.visited
    for u, c in enumerate([0.0, 2.0, 7.5]):
        np.testing.assert_allclose(rm.rate_maps[u][vis], c, rtol=1e-6)
    assert np.isnan(rm.rate_maps[:, ~vis]).all()
    assert rm.spike_counts is None


def test_spike_rate_map_unsmoothed_is_counts_over_time() -> None:
    rng = np.random.default_rng(2)
    pos = rng.uniform(-0.5, 0.5, (5000, 2))
    steps = rng.integers(0, 5000, 800)
    units = rng.integers(0, 4, 800)
    rm = rate_maps_from_spikes(pos, steps, units, 4, 0.01, 1.0, 1.0, 0.1, sigma_bins=0.0)
    assert rm.spike_counts is not None
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = rm.spike_counts / rm.occupancy_s
    expected[:, ~rm.visited] = np.nan
    np.testing.assert_allclose(rm.rate_maps, expected, equal_nan=True)


def test_smoothing_keeps_mass_inside_and_sigma_zero_copies() -> None:
    m = np.zeros((2, 9, 9))
    m[0, 4, 4] = 1.0
    s = smooth_maps(m, 1.0)
    assert s[0].sum() == pytest.approx(1.0, abs=1e-6)
    assert s[0, 4, 4] == s[0].max()
    assert np.all(s[1] == 0)
    c = smooth_maps(m, 0.0)
    np.testing.assert_array_equal(c, m)
    assert c is not m


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sum_by_bin_matches_numpy_twin(dtype: type) -> None:
    rng = np.random.default_rng(3)
    for n_steps, n_units, n_bins in [(1, 1, 1), (500, 7, 13), (3000, 40, 400)]:
        idx = rng.integers(-1, n_bins, n_steps).astype(np.int64)
        values = rng.random((n_steps, n_units)).astype(dtype)
        np.testing.assert_allclose(
            sum_by_bin(idx, values, n_bins), sum_by_bin_np(idx, values, n_bins), rtol=1e-12
        )


def test_rate_map_from_rates_checks_shape() -> None:
    with pytest.raises(ValueError, match="rates must have shape"):
        rate_maps_from_rates(np.zeros((10, 2)), np.zeros((9, 3)), 0.01, 1.0, 1.0)
    with pytest.raises(ValueError, match="pos_m"):
        bin_positions(np.zeros((10, 3)), 1.0, 1.0, 0.025)
