from __future__ import annotations

import numpy as np
import pytest

from hippoviz.analysis import detect_fields, place_cell_analysis

DT_S = 0.01


def _field_rates(pos: np.ndarray, centre: tuple[float, float], sigma_m: float, peak_hz: float):
    d2 = ((pos - np.asarray(centre)) ** 2).sum(axis=1)
    return 0.1 + peak_hz * np.exp(-d2 / (2 * sigma_m**2))


@pytest.fixture(scope="module")
def population(trajectory, spikes_from_rates):
    """Unit 0: a place cell; 1: a cell with a field bigger than half the box; 2-21: Poisson
    cells at the place cell's mean rate; 22: silent."""
    rng = np.random.default_rng(7)
    pos = trajectory.astype(np.float64)
    place = _field_rates(pos, (0.2, -0.1), 0.07, 15.0)
    broad = _field_rates(pos, (0.0, 0.0), 0.6, 10.0)
    flat = np.full((pos.shape[0], 20), place.mean())
    rates = np.column_stack([place, broad, flat, np.zeros(pos.shape[0])])
    steps, units = spikes_from_rates(rates, rng)
    res = place_cell_analysis(trajectory, steps, units, rates.shape[1], DT_S, 1.0, 1.0, seed=3)
    return res, steps, units


def test_clear_place_cell_passes(population) -> None:
    res, _, _ = population
    assert res.is_place_cell[0]
    assert res.p_values[0] == 0.0
    assert res.n_fields[0] == 1
    assert res.peak_hz[0] > 8.0
    assert res.si_bits_per_spike[0] > 2.0
    # the field sits where it was put: centroid of the field near (0.2, -0.1) m
    fields = res.fields
    k = np.flatnonzero(fields.field_unit == 0)[0]
    xy_m = fields.field_centroid_bins[k] * 0.025 - 0.5
    np.testing.assert_allclose(xy_m, [0.2, -0.1], atol=0.03)


def test_random_poisson_cells_are_not_place_cells(population) -> None:
    res, _, _ = population
    random_units = slice(2, 22)
    assert not res.is_place_cell[random_units].any()
    assert np.nanmedian(res.si_bits_per_spike[random_units]) < 0.2
    assert np.mean(res.p_values[random_units] < 0.01) <= 0.1


def test_field_bigger_than_half_the_arena_is_rejected(population) -> None:
    res, _, _ = population
    assert res.p_values[1] < 0.01  # spatially informative ...
    assert res.largest_field_fraction[1] >= 0.5  # ... but fires over most of the box
    assert res.fields.n_oversized[1] >= 1
    assert not res.is_place_cell[1]


def test_summary_numbers(population) -> None:
    res, _, units = population
    n = res.is_place_cell.size
    assert res.rate_maps.shape == (n, 40, 40)
    assert np.isnan(res.si_bits_per_spike[-1]) and np.isnan(res.p_values[-1])
    assert not res.active[-1] and res.active[:-1].all()
    assert res.fraction == pytest.approx(res.is_place_cell.sum() / n)
    assert res.fraction_of_active == pytest.approx(res.is_place_cell.sum() / (n - 1))
    assert res.median_si_bits_per_spike == pytest.approx(np.median(res.si_bits_per_spike[:-1]))
    duration = res.occupancy_s.sum()
    np.testing.assert_allclose(res.mean_rate_hz, np.bincount(units, minlength=n) / duration)
    np.testing.assert_array_equal(res.n_spikes, np.bincount(units, minlength=n))


def test_low_peak_rate_fails(trajectory, spikes_from_rates) -> None:
    rng = np.random.default_rng(8)
    pos = trajectory.astype(np.float64)
    rates = (_field_rates(pos, (-0.2, 0.2), 0.08, 0.8) - 0.1 + 0.001)[:, None]
    steps, units = spikes_from_rates(rates, rng)
    res = place_cell_analysis(trajectory, steps, units, 1, DT_S, 1.0, 1.0, bin_size_m=0.05)
    assert res.peak_hz[0] < 1.0
    assert not res.is_place_cell[0]


def test_deterministic_for_a_seed(trajectory, spikes_from_rates) -> None:
    rng = np.random.default_rng(9)
    pos = trajectory[:40_000].astype(np.float64)
    rates = np.column_stack([_field_rates(pos, (0.0, 0.3), 0.1, 5.0), np.full(40_000, 0.8)])
    steps, units = spikes_from_rates(rates, rng)
    run = [
        place_cell_analysis(trajectory[:40_000], steps, units, 2, DT_S, 1.0, 1.0, seed=11)
        for _ in range(2)
    ]
    np.testing.assert_array_equal(run[0].p_values, run[1].p_values)
    np.testing.assert_array_equal(run[0].rate_maps, run[1].rate_maps)


def test_field_detection_rules() -> None:
    m = np.zeros((3, 20, 20))
    m[0, 2:6, 2:6] = 10.0  # 16 bins
    m[0, 12:15, 12:15] = 5.0  # 9 bins, 50 % of the peak
    m[0, 18, 0:3] = 9.0  # 3 bins: too small
    m[1, :, :15] = 4.0  # 300 of 400 bins: oversized
    m[1, 17:20, 17:20] = 4.0  # 9 bins: a field, but the unit has an oversized region
    m[2] = 0.0  # silent
    m[:, 0, 19] = np.nan  # unvisited
    f = detect_fields(m)
    np.testing.assert_array_equal(f.n_fields, [2, 1, 0])
    np.testing.assert_array_equal(f.n_oversized, [0, 1, 0])
    assert f.labels[0, 3, 3] == 1 and f.labels[0, 13, 13] == 2 and f.labels[0, 18, 1] == 0
    assert f.labels[1, 5, 5] == -1 and f.labels[1, 18, 18] == 1
    np.testing.assert_allclose(f.largest_fraction, [16 / 399, 300 / 399, 0.0])
    np.testing.assert_array_equal(f.field_unit, [0, 0, 1])
    np.testing.assert_array_equal(f.field_size_bins, [16, 9, 9])
    np.testing.assert_allclose(f.field_peak, [10.0, 5.0, 4.0])
    np.testing.assert_allclose(f.field_centroid_bins[0], [4.0, 4.0])
    # diagonal neighbours are not connected (4-connectivity)
    d = np.zeros((10, 10))
    for i in range(10):
        d[i, i] = 1.0
    assert detect_fields(d, min_field_bins=2).n_fields[0] == 0


@pytest.fixture(scope="module")
def multi(trajectory, spikes_from_rates):
    """Unit 0: three equal fields (a random network's typical unit); 1: a dominant field and
    a second one at 30 % of its peak; 2: one field covering about 36 % of the box."""
    rng = np.random.default_rng(17)
    pos = trajectory.astype(np.float64)
    three = sum(_field_rates(pos, c, 0.06, 12.0) for c in ((-0.3, -0.3), (0.3, 0.0), (-0.1, 0.3)))
    two = _field_rates(pos, (0.25, 0.25), 0.07, 15.0) + _field_rates(pos, (-0.3, -0.2), 0.07, 4.5)
    wide = _field_rates(pos, (0.0, 0.0), 0.19, 12.0)
    rates = np.column_stack([three, two, wide])
    steps, units = spikes_from_rates(rates, rng)
    kw = {"seed": 5, "bin_size_m": 0.05}
    return (place_cell_analysis(trajectory, steps, units, 3, DT_S, 1.0, 1.0, **kw),
            place_cell_analysis(trajectory, steps, units, 3, DT_S, 1.0, 1.0,
                                criterion="lenient", **kw))


def test_strict_criterion_wants_one_dominant_field_of_plausible_size(multi) -> None:
    strict, lenient = multi
    assert lenient.is_place_cell[0] and strict.n_fields[0] == 3
    assert not strict.is_place_cell[0]  # three equal fields: not a place cell
    assert strict.n_fields[1] == 2 and strict.is_place_cell[1]  # a weak second field is fine
    assert strict.p_values[2] < 0.01 and strict.largest_field_fraction[2] > 0.30
    assert lenient.is_place_cell[2] and not strict.is_place_cell[2]  # too big a field


def test_strict_criterion_wants_spikes_and_information(trajectory, spikes_from_rates) -> None:
    rng = np.random.default_rng(18)
    pos = trajectory[:30_000].astype(np.float64)
    rates = np.column_stack([
        _field_rates(pos, (0.1, 0.1), 0.08, 15.0) - 0.1,  # a clean field
        (_field_rates(pos, (0.1, 0.1), 0.08, 15.0) - 0.1) * 0.002,  # the same, a few spikes
    ])
    steps, units = spikes_from_rates(rates, rng)
    res = place_cell_analysis(trajectory[:30_000], steps, units, 2, DT_S, 1.0, 1.0,
                              bin_size_m=0.05, min_peak_hz=0.0, seed=2)
    assert res.is_place_cell[0]
    assert res.n_spikes[1] < 20 and not res.is_place_cell[1]
    high = place_cell_analysis(trajectory[:30_000], steps, units, 2, DT_S, 1.0, 1.0,
                               bin_size_m=0.05, min_peak_hz=0.0, seed=2, min_si_bits=10.0)
    assert res.si_bits_per_spike[0] < 10.0 and not high.is_place_cell[0]
