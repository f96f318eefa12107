"""The runtime on the real simulator (small preset)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import numpy as np
import pytest

from hippoviz import params as P
from hippoviz.runtime import Play, Session, SimRunner
from hippoviz.runtime.maps import smooth_rate_maps
from hippoviz.runtime.metrics import approx_layer_metrics, layer_metrics, spatial_information
from hippoviz.runtime.runner import METRICS_FIRST_SIM_S

from .test_runner import wait_until

sim_mod = pytest.importorskip("hippoviz.sim")


def test_runner_matches_direct_simulation(make_runner: Callable[..., SimRunner]) -> None:
    """Adaptive chunking, publication and rings leave the simulation bit-identical."""
    steps = 700
    r = make_runner(real=True, seed=5)
    r.source.weights()  # on-demand publication active during the run
    r.source.ratemaps()
    r.command(Play(until_step=steps))
    wait_until(lambda: r.source.step() == steps and not r.playing, 60)
    sim = sim_mod.build(P.load_preset("small"), 5)
    chunk = sim.run_chunk(steps)
    got = r.source.samples(1e9)
    np.testing.assert_array_equal(got.pos_m, chunk.pos_m)
    np.testing.assert_array_equal(got.mismatch, chunk.mismatch)
    for layer, sp in chunk.spikes.items():
        t, u = r.source.spikes(layer, -1, 1e9)
        np.testing.assert_array_equal(t, sp.times_s, err_msg=layer)
        np.testing.assert_array_equal(u, sp.units, err_msg=layer)


def test_worker_smoothing_equals_simulator(make_runner: Callable[..., SimRunner]) -> None:
    sim = sim_mod.build(P.load_preset("small"), 2)
    sim.run_chunk(1500)
    for layer in ("ec", "dg", "ca1"):
        ours = smooth_rate_maps(sim.ratemaps(layer, smooth=False), sim.occupancy_s)
        np.testing.assert_allclose(ours, sim.ratemaps(layer), rtol=1e-4, atol=1e-4,
                                   equal_nan=True)


def test_published_ratemaps_and_metrics(make_runner: Callable[..., SimRunner]) -> None:
    r = make_runner(real=True)
    r.command(Play(until_step=2200))
    wait_until(lambda: r.source.step() == 2200 and not r.playing, 60)
    maps = wait_until(lambda: (m := r.source.ratemaps()) and "ca1" in m.maps and m.maps, 20)
    assert maps["ca1"].shape[0] == r.source.layer_sizes()["ca1"]
    assert np.isfinite(maps["ca1"]).any()
    hist = wait_until(lambda: r.source.metrics_history(), 20)
    e = hist[0]
    assert e.t_s >= METRICS_FIRST_SIM_S
    for layer in ("dg", "ca3", "ca1"):
        assert e.layers[layer]["method"] in ("analysis", "approx")
        assert 0.0 <= e.layers[layer]["place_cell_fraction"] <= 1.0
        assert e.layers[layer]["median_si_bits_per_spike"] >= 0.0


@pytest.mark.parametrize("strict", [False, True])
def test_metrics_agree_with_fallback(strict: bool) -> None:
    pytest.importorskip("hippoviz.analysis")
    sim = sim_mod.build(P.load_preset("small"), 3)
    sim.run_chunk(30000)
    maps, occ = sim.ratemaps("ca3"), sim.occupancy_s
    a = layer_metrics(maps, occ, strict=strict)
    b = approx_layer_metrics(maps, occ, strict=strict)
    assert a["method"] == "analysis" and b["method"] == "approx"
    assert a["n_active"] == b["n_active"]
    assert a["median_si_bits_per_spike"] == pytest.approx(b["median_si_bits_per_spike"],
                                                          rel=1e-6)
    assert abs(a["place_cell_fraction"] - b["place_cell_fraction"]) < 0.1
    if strict:  # one dominant field of plausible size is a stronger test than any field
        lenient = layer_metrics(maps, occ)
        assert a["place_cell_fraction"] < lenient["place_cell_fraction"]


def test_spatial_information_of_a_uniform_map_is_zero() -> None:
    maps = np.ones((2, 5, 5))
    maps[1] = 0
    maps[1, 2, 2] = 10
    si = spatial_information(maps, np.ones((5, 5)))
    assert si[0] == pytest.approx(0.0)
    assert si[1] == pytest.approx(np.log2(25))


def test_runtime_imports_no_gui_toolkit() -> None:
    code = ("import sys; import hippoviz.runtime as r; from hippoviz import params as P; "
            "x = r.SimRunner(P.load_preset('small')); "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PyQt6', 'pyqtgraph', 'vispy')"
            " or m.startswith('hippoviz.gui')]; print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


def test_a_silent_layer_is_flagged(make_runner: Callable[..., SimRunner]) -> None:
    """Thresholds far above any drive silence CA1: the runner's health slot names it."""
    r = make_runner(real=True, seed=3)
    r.command(Play(until_step=1500))
    wait_until(lambda: r.source.step() == 1500 and not r.playing, 60)
    assert r.source.health().silent == ()

    def silence(session: Session) -> None:
        session.sim.net.th_ca1[:] = 1e6  # type: ignore[attr-defined]

    r.call(silence).result(10)
    r.command(Play(until_step=3000))
    wait_until(lambda: r.source.step() == 3000 and not r.playing, 60)
    h = r.source.health()
    assert h.silent == ("ca1",) and h.active["ca1"] == 0.0
    assert h.targets["ca1"] == pytest.approx(0.1)
