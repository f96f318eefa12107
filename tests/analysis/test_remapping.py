from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from hippoviz.analysis import (
    population_vector_correlation,
    pv_correlation_map,
    rate_map_correlation,
    rate_remapping_index,
    remapping_index,
)


def _smooth_random_maps(rng: np.random.Generator, n: int, ny: int = 20, nx: int = 20):
    noise = rng.random((n, ny, nx))
    return ndimage.gaussian_filter(noise, (0, 2, 2), mode="wrap") * 10


def test_map_correlation_with_itself_is_one() -> None:
    rng = np.random.default_rng(0)
    maps = _smooth_random_maps(rng, 5)
    maps[:, 0, :3] = np.nan
    np.testing.assert_allclose(rate_map_correlation(maps, maps), 1.0, rtol=1e-12)
    np.testing.assert_allclose(rate_map_correlation(maps, 3 * maps + 1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(rate_map_correlation(maps, -maps), -1.0, rtol=1e-12)
    assert rate_map_correlation(maps[0], maps[0]) == pytest.approx(1.0)


def test_map_correlation_uses_bins_visited_in_both() -> None:
    rng = np.random.default_rng(1)
    a = rng.random((10, 10))
    b = rng.random((10, 10))
    b[5:] = a[5:]
    a[:5] = np.nan  # only the rows where b equals a are shared
    assert rate_map_correlation(a, b) == pytest.approx(1.0)
    assert np.isnan(rate_map_correlation(np.zeros((4, 4)), rng.random((4, 4))))  # silent
    with pytest.raises(ValueError, match="shape"):
        rate_map_correlation(a, b[:5])


def test_pv_correlation_identical_and_independent() -> None:
    rng = np.random.default_rng(2)
    a = _smooth_random_maps(rng, 300)
    b = _smooth_random_maps(rng, 300)
    assert population_vector_correlation(a, a) == pytest.approx(1.0)
    assert abs(population_vector_correlation(a, b)) < 0.1
    r = pv_correlation_map(a, a)
    assert r.shape == (20, 20)
    np.testing.assert_allclose(r, 1.0, rtol=1e-12)


def test_pv_correlation_skips_unvisited_and_flat_bins() -> None:
    rng = np.random.default_rng(3)
    a = rng.random((50, 6, 6))
    b = a.copy()
    b[:, 0, 0] = np.nan  # unvisited in B
    a[:, 1, 1] = 2.0  # zero-variance population vector in A
    b[:, 2, 2] = rng.random(50)  # a different population vector in one bin
    r = pv_correlation_map(a, b)
    assert np.isnan(r[0, 0]) and np.isnan(r[1, 1])
    assert abs(r[2, 2]) < 0.5
    expected = (33 * 1.0 + r[2, 2]) / 34  # 36 bins, 2 skipped
    assert population_vector_correlation(a, b) == pytest.approx(expected)
    assert np.isnan(population_vector_correlation(np.ones((3, 2, 2)), np.ones((3, 2, 2))))


def test_remapping_index_known_values() -> None:
    np.testing.assert_allclose(
        remapping_index([2.0, 5.0, 3.0, 1.0, 0.0], [1.0, 0.0, 3.0, 9.0, 0.0]),
        [1 / 3, 1.0, 0.0, 0.8, np.nan],
    )


def test_rate_remapping_index_from_field_rates() -> None:
    yy, xx = np.mgrid[0:20, 0:20]
    field = np.exp(-((yy - 6) ** 2 + (xx - 12) ** 2) / (2 * 2.0**2))
    a = np.stack([5 * field + 0.1, 5 * field + 0.1, np.zeros((20, 20)), 5 * field])
    b = np.stack([10 * field + 0.2, 5 * field + 0.1, np.zeros((20, 20)), np.zeros((20, 20))])
    idx = rate_remapping_index(a, b)
    np.testing.assert_allclose(idx[:2], [1 / 3, 0.0], atol=1e-12)
    assert np.isnan(idx[2])  # silent in both conditions
    assert idx[3] == pytest.approx(1.0)  # silent in B
    # the field's rate changes, the background does not: the index reflects the field
    c = np.where(field > 0.2, 3 * a[0], a[0])
    assert rate_remapping_index(a[0], c)[0] > 0.4
