"""Cross-check of the spatial information against pynapple on the same data."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from hippoviz.analysis import rate_maps_from_spikes, skaggs_information

nap = pytest.importorskip("pynapple")


def test_skaggs_information_matches_pynapple() -> None:
    rng = np.random.default_rng(3)
    dt, n_steps, n_units = 0.01, 60_000, 12
    # a smooth random walk filling a 1 m box
    v = np.cumsum(rng.standard_normal((n_steps, 2)) * 0.002, axis=0)
    pos = (0.49 * np.sin(v * 7.0 + rng.uniform(0, 6, 2))).astype(np.float32)
    centres = rng.uniform(-0.4, 0.4, (n_units, 2))
    rates = 15 * np.exp(-((pos[:, None, :] - centres[None]) ** 2).sum(-1) / (2 * 0.08**2)) + 0.2
    spikes = rng.uniform(size=rates.shape) < rates * dt
    steps, units = np.nonzero(spikes)
    ours = rate_maps_from_spikes(pos, steps, units.astype(np.int32), n_units, dt, 1.0, 1.0,
                                 bin_size_m=0.05, sigma_bins=0.0)
    si_ours = skaggs_information(ours.rate_maps, ours.occupancy_s)

    t = np.arange(n_steps) * dt
    group = nap.TsGroup({u: nap.Ts(t=t[steps[units == u]]) for u in range(n_units)})
    feats = nap.TsdFrame(t=t, d=pos.astype(np.float64), columns=["x", "y"])
    edges = np.linspace(-0.5, 0.5, 21)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tc = nap.compute_tuning_curves(group, feats, bins=[edges, edges], fs=1 / dt)
        mi = nap.compute_mutual_information(tc)
    si_nap = np.asarray(mi["bits/spike"], dtype=np.float64)
    # agreement to ~3e-5 (positions on bin edges and the last sample are counted differently)
    np.testing.assert_allclose(si_ours, si_nap, rtol=1e-4)
