"""Sanity of the entorhinal input as an experimenter would check it: grid and border scores of
the input cells' rate maps recorded while the rat forages."""

from __future__ import annotations

import numpy as np
import pytest

from hippoviz import params as P
from hippoviz.analysis import border_score, grid_score
from hippoviz.sim import build


@pytest.fixture(scope="module")
def ec_maps() -> tuple[np.ndarray, dict[str, slice], float]:
    params = P.replace(P.Params(), {"learning.enabled": False, "analysis.bin_size_m": 0.05,
                                    "analysis.ratemap_memory_min": 0.0})
    sim = build(params, 2)
    for _ in range(120):
        sim.run_chunk(1000)  # 20 simulated minutes
    assert np.isfinite(sim.ratemaps("ec")).mean() > 0.9  # the rat covered the box
    return sim.ratemaps("ec"), sim.input_groups, params.analysis.bin_size_m


def test_grid_inputs_have_grid_scores(ec_maps: tuple[np.ndarray, dict[str, slice],
                                                     float]) -> None:
    maps, groups, _ = ec_maps
    scores = grid_score(maps[groups["grid"]])
    assert np.nanmedian(scores) > 0.5


def test_border_inputs_have_border_scores(ec_maps: tuple[np.ndarray, dict[str, slice],
                                                         float]) -> None:
    maps, groups, bin_m = ec_maps
    scores = border_score(maps[groups["border"]], bin_m)
    assert np.nanmedian(scores) > 0.5


def test_lec_context_cells_are_not_grid_or_border_cells(
        ec_maps: tuple[np.ndarray, dict[str, slice], float]) -> None:
    maps, groups, _ = ec_maps
    assert np.nanmedian(grid_score(maps[groups["lec_context"]])) < 0.3


def test_new_room_realigns_grids_and_new_context_changes_lec() -> None:
    sim = build(P.load_preset("small"), 1)
    sim.run_chunk(1)
    x0 = sim.last("x")
    state = sim.state_dict()
    sim.command({"op": "set", "patch": {"inputs.room": 1}})
    # same position, new room: grid rates change, border and LEC stay
    sim.load_state_dict({**state, "params_toml": np.array(P.dumps(sim.params))})
    sim.run_chunk(1)
    x1 = sim.last("x")
    other = build(P.load_preset("small"), 1)
    other.run_chunk(2)
    x_same = other.last("x")
    g, b, c = (sim.input_groups[k] for k in ("grid", "border", "lec_context"))
    assert not np.allclose(x1[g], x_same[g], atol=1e-3)
    np.testing.assert_allclose(x1[b], x_same[b], atol=1e-6)
    np.testing.assert_allclose(x1[c], x_same[c], atol=1e-6)
    del x0


def test_context_morph_switches_cells_one_by_one() -> None:
    sim = build(P.load_preset("small"), 1)
    c = sim.input_groups["lec_context"]
    state = sim.state_dict()
    values = []
    for m in (0.0, 0.5, 1.0):
        sim.load_state_dict(state)
        sim.command({"op": "set", "patch": {"inputs.context_morph": m}})
        sim.run_chunk(1)
        values.append(sim.last("x")[c])
    a, half, b = values
    from_a = np.isclose(half, a, atol=1e-6)
    from_b = np.isclose(half, b, atol=1e-6)
    assert np.all(from_a | from_b)
    assert 0.3 < from_b.mean() < 0.7
