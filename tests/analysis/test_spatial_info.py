from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hippoviz.analysis import (
    bin_positions,
    occupancy_map,
    rate_maps_from_rates,
    rate_maps_from_spikes,
    skaggs_information,
    smooth_maps,
    spatial_information_shuffle,
)
from hippoviz.analysis.spatial_info import (
    _group_spikes,
    gaussian_kernel1d,
    si_shuffle,
    si_shuffle_np,
    si_shuffle_parallel,
)


def test_uniform_map_has_zero_information() -> None:
    rng = np.random.default_rng(0)
    occ = rng.random((20, 30))
    occ[3:6, 4:9] = 0.0
    maps = np.stack([np.full((20, 30), c) for c in (0.1, 3.0, 40.0)])
    maps[:, 3:6, 4:9] = np.nan
    np.testing.assert_allclose(skaggs_information(maps, occ), 0.0, atol=1e-12)


def test_silent_and_single_bin_maps() -> None:
    occ = np.ones((4, 4))
    silent = np.zeros((4, 4))
    assert np.isnan(skaggs_information(silent, occ))
    one = np.zeros((4, 4))
    one[1, 2] = 5.0
    # all firing in one of 16 equally visited bins: log2(16) bits/spike
    assert skaggs_information(one, occ) == pytest.approx(4.0)
    with pytest.raises(ValueError, match="non-negative"):
        skaggs_information(-one, occ)


def _gaussian_rate(x: np.ndarray, y: np.ndarray, amp: float, sigma: float, base: float):
    return base + amp * np.exp(-(x**2 + y**2) / (2 * sigma**2))


def _continuous_si(size_m: float, amp: float, sigma: float, base: float, n: int = 2000) -> float:
    """Direct midpoint-rule integration of (1/S) ∫ (λ/λ̄) log2(λ/λ̄) dA over the box."""
    c = (np.arange(n) + 0.5) / n * size_m - size_m / 2
    X, Y = np.meshgrid(c, c)
    lam = _gaussian_rate(X, Y, amp, sigma, base)
    q = lam / lam.mean()
    return float(np.mean(q * np.log2(q)))


@pytest.mark.parametrize(("amp", "sigma", "base"), [(10.0, 0.1, 0.5), (20.0, 0.15, 2.0)])
def test_gaussian_field_matches_continuous_formula(amp: float, sigma: float, base: float) -> None:
    """A 2-D Gaussian bump plus baseline in a 2 m box, uniform occupancy, 2.5 cm bins."""
    size, bin_m = 2.0, 0.025
    sub = 4  # positions on a 4 x 4 lattice inside every bin: uniform occupancy
    c = (np.arange(int(size / bin_m) * sub) + 0.5) * (bin_m / sub) - size / 2
    X, Y = np.meshgrid(c, c)
    pos = np.column_stack([X.ravel(), Y.ravel()])
    rates = _gaussian_rate(pos[:, 0], pos[:, 1], amp, sigma, base)[:, None]
    rm = rate_maps_from_rates(pos, rates, 0.01, size, size, bin_m, sigma_bins=0.0)
    si = skaggs_information(rm.rate_maps, rm.occupancy_s)[0]
    expected = _continuous_si(size, amp, sigma, base)
    assert si == pytest.approx(expected, rel=0.03)


def test_gaussian_field_without_baseline_matches_closed_form() -> None:
    """λ = A exp(-r²/2σ²) in a box of area S >> σ²: I = log2(S / 2πσ²) - 1/ln 2 bits/spike."""
    size, bin_m, sigma = 2.0, 0.025, 0.1
    from hippoviz.analysis import bin_centers

    x, y = bin_centers(size, size, bin_m)
    X, Y = np.meshgrid(x, y)
    # bin-averaged rates from a 5 x 5 sub-lattice per bin
    offs = (np.arange(5) - 2) * bin_m / 5
    lam = np.mean(
        [_gaussian_rate(X + dx, Y + dy, 1.0, sigma, 0.0) for dx in offs for dy in offs], axis=0
    )
    si = skaggs_information(lam, np.ones_like(lam))
    expected = math.log2(size**2 / (2 * math.pi * sigma**2)) - 1 / math.log(2)
    assert si == pytest.approx(expected, rel=0.02)


def _random_problem(rng: np.random.Generator, n_steps: int, ny: int, nx: int, n_units: int):
    bin_index = rng.integers(-1, ny * nx, n_steps).astype(np.int64)
    bin_index[rng.random(n_steps) < 0.2] = rng.integers(0, ny * nx)  # uneven occupancy
    n_spikes = int(rng.integers(0, 4 * n_units + 1))
    steps = rng.integers(0, n_steps, n_spikes)
    units = rng.integers(0, n_units, n_spikes)
    units[units == n_units - 1] = 0  # the last unit stays silent
    steps_sorted, unit_start = _group_spikes(steps, units, n_units)
    occ = occupancy_map(bin_index, ny, nx, 0.01).ravel()
    occ_p = occ / occ.sum()
    return bin_index, steps_sorted, unit_start, occ, occ_p


@pytest.mark.parametrize("sigma", [0.0, 0.6, 1.0, 2.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_shuffle_kernels_match_numpy_twin(sigma: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    ny, nx, n_steps, n_units = int(rng.integers(1, 12)), int(rng.integers(1, 12)), 700, 9
    bin_index, steps_sorted, unit_start, occ, occ_p = _random_problem(rng, n_steps, ny, nx, n_units)
    weights = gaussian_kernel1d(sigma)
    occ_smooth = smooth_maps(occ.reshape(ny, nx), sigma).ravel()
    shifts = rng.integers(0, n_steps, (n_units, 6))
    shifts[:, 0] = 0
    args = (bin_index, steps_sorted, unit_start, occ_p, occ_smooth, weights, ny, nx, shifts)
    ref = si_shuffle_np(*args)
    np.testing.assert_allclose(si_shuffle(*args), ref, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(si_shuffle_parallel(*args), ref, rtol=1e-9, atol=1e-12)
    assert np.isnan(ref[-1]).all()  # the silent unit


@settings(max_examples=25, deadline=None, database=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    ny=st.integers(1, 8),
    nx=st.integers(1, 8),
    sigma=st.sampled_from([0.0, 0.5, 1.0, 1.5]),
)
def test_shuffle_kernel_matches_twin_property(seed: int, ny: int, nx: int, sigma: float) -> None:
    rng = np.random.default_rng(seed)
    bin_index, steps_sorted, unit_start, occ, occ_p = _random_problem(rng, 200, ny, nx, 4)
    weights = gaussian_kernel1d(sigma)
    occ_smooth = smooth_maps(occ.reshape(ny, nx), sigma).ravel()
    shifts = rng.integers(0, 200, (4, 3))
    args = (bin_index, steps_sorted, unit_start, occ_p, occ_smooth, weights, ny, nx, shifts)
    np.testing.assert_allclose(si_shuffle(*args), si_shuffle_np(*args), rtol=1e-9, atol=1e-12)


def test_gaussian_kernel_matches_scipy() -> None:
    from scipy import ndimage

    for sigma in (0.5, 1.0, 2.3):
        w = gaussian_kernel1d(sigma)
        impulse = np.zeros(41)
        impulse[20] = 1.0
        smoothed = ndimage.gaussian_filter1d(impulse, sigma, mode="constant")
        r = (w.size - 1) // 2
        np.testing.assert_allclose(smoothed[20 - r : 21 + r], w, rtol=1e-12)
    np.testing.assert_array_equal(gaussian_kernel1d(0.0), [1.0])


@pytest.mark.parametrize("sigma", [0.0, 1.0])
def test_observed_information_equals_rate_map_information(trajectory, sigma: float) -> None:
    rng = np.random.default_rng(5)
    pos = trajectory[:30_000]
    n_steps = pos.shape[0]
    steps = rng.integers(0, n_steps, 3000)
    units = rng.integers(0, 6, 3000)
    rm = rate_maps_from_spikes(pos, steps, units, 6, 0.01, 1.0, 1.0, 0.05, sigma_bins=sigma)
    bin_index, ny, nx = bin_positions(pos, 1.0, 1.0, 0.05)
    res = spatial_information_shuffle(
        bin_index, ny, nx, steps, units, 6, 0.01, n_shuffles=5, sigma_bins=sigma
    )
    np.testing.assert_allclose(
        res.si_bits_per_spike, skaggs_information(rm.rate_maps, rm.occupancy_s), rtol=1e-9
    )


def test_constant_firing_has_zero_information_through_the_kernel(trajectory) -> None:
    """One spike every step: the map is flat, so I = 0 and no shuffle does better."""
    pos = trajectory[:20_000]
    bin_index, ny, nx = bin_positions(pos, 1.0, 1.0, 0.025)
    steps = np.arange(pos.shape[0])
    units = np.zeros(pos.shape[0], dtype=np.int32)
    res = spatial_information_shuffle(bin_index, ny, nx, steps, units, 1, 0.01, n_shuffles=20)
    assert abs(res.si_bits_per_spike[0]) < 1e-9
    assert res.p_values[0] == 1.0  # every shuffle ties with the observed value


def test_shuffles_are_seeded_and_respect_min_shift(trajectory) -> None:
    rng = np.random.default_rng(6)
    pos = trajectory[:30_000]
    bin_index, ny, nx = bin_positions(pos, 1.0, 1.0, 0.05)
    steps = rng.integers(0, 30_000, 2000)
    units = rng.integers(0, 3, 2000)
    kw = dict(n_shuffles=50, min_shift_s=20.0)
    a = spatial_information_shuffle(bin_index, ny, nx, steps, units, 4, 0.01, seed=1, **kw)
    b = spatial_information_shuffle(
        bin_index, ny, nx, steps, units, 4, 0.01, seed=1, parallel=False, **kw
    )
    c = spatial_information_shuffle(bin_index, ny, nx, steps, units, 4, 0.01, seed=2, **kw)
    np.testing.assert_array_equal(a.shifts, b.shifts)
    np.testing.assert_array_equal(a.p_values, b.p_values)
    np.testing.assert_allclose(a.null_si, b.null_si, rtol=1e-12)
    assert not np.array_equal(a.shifts, c.shifts)
    assert a.shifts.shape == (4, 50)
    assert a.shifts.min() >= 2000 and a.shifts.max() <= 28_000
    assert np.isnan(a.si_bits_per_spike[3]) and np.isnan(a.p_values[3])  # unit 3 never fires


def test_short_recording_clamps_min_shift() -> None:
    bin_index = np.arange(100) % 7
    res = spatial_information_shuffle(bin_index, 1, 7, [1, 2, 3], [0, 0, 0], 1, 0.01)
    assert res.shifts.min() >= 25 and res.shifts.max() <= 75
    with pytest.raises(ValueError, match="empty"):
        spatial_information_shuffle(np.zeros(0, np.int64), 1, 1, [], [], 1, 0.01)
