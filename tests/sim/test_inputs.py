"""Sanity of the entorhinal input as an experimenter would check it: grid and border scores of
the input cells' rate maps recorded while the rat forages."""

from __future__ import annotations

import numpy as np
import pytest

from hippoviz import params as P
from hippoviz.analysis import border_score, grid_score
from hippoviz.sim import Simulator, build
from hippoviz.sim.agent import TETHER_X, TETHER_Y, X, Y
from hippoviz.sim.inputs import (
    grid_rates_np,
    grid_room,
    grid_shape_switch,
    grid_tether,
    grid_tether_np,
    make_grid_layout,
)


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


def test_the_circular_box_realigns_the_grid_modules_one_by_one() -> None:
    """``inputs.grid_shape_realign``: the square box keeps the home alignment; along the morph
    to the circle more and more modules realign (and stay realigned), each as a whole: spacing
    and the cells' relative phases are kept, as in a rigid rotation and shift."""
    layout = make_grid_layout((0.4, 0.5, 0.7, 1.0), 16, np.random.default_rng(5))
    k0, phi0 = grid_room(layout, 2, 9)
    k_sq, phi_sq = grid_room(layout, 2, 9, 0.0, True)
    assert np.array_equal(k0, k_sq) and np.array_equal(phi0, phi_sq)
    mods = layout.module
    moved_before = np.zeros(4, bool)
    for m in np.linspace(0.0, 1.0, 21):
        k, _ = grid_room(layout, 2, 9, float(m), True)
        moved = np.array([not np.allclose(k[mods == i], k0[mods == i]) for i in range(4)])
        assert np.all(moved >= moved_before)  # a realigned module stays realigned
        moved_before = moved
        k_off, phi_off = grid_room(layout, 2, 9, float(m), False)
        assert np.array_equal(k_off, k0) and np.array_equal(phi_off, phi0)
    assert moved_before.all()
    switch = grid_shape_switch(9, 2, 4)
    assert np.all((switch >= 0.25) & (switch <= 0.75))
    k1, phi1 = grid_room(layout, 2, 9, 1.0, True)
    np.testing.assert_allclose(np.linalg.norm(k1, axis=2), np.linalg.norm(k0, axis=2))
    xs = np.linspace(-2.0, 2.0, 161)
    gx, gy = np.meshgrid(xs, xs)
    before = grid_rates_np(gx.ravel(), gy.ravel(), k0, phi0)
    after = grid_rates_np(gx.ravel(), gy.ravel(), k1, phi1)
    for i in range(4):
        sel = mods == i
        c0 = np.corrcoef(before[:, sel].T)
        c1 = np.corrcoef(after[:, sel].T)
        assert np.abs(c0 - c1).max() < 0.1  # the module's phase structure survives
        # and the fields moved: the cells' maps before and after are unrelated
        r = [np.corrcoef(before[:, j], after[:, j])[0, 1] for j in np.flatnonzero(sel)]
        assert np.median(r) < 0.5


@pytest.mark.parametrize("realign", [True, False])
def test_changing_the_box_shape_realigns_the_running_grids(realign: bool) -> None:
    params = P.replace(P.load_preset("small"), {"inputs.grid_shape_realign": realign})
    sim = build(params, 3)
    sim.run_chunk(5)
    before = sim._grid_cos.copy(), sim._grid_kmod.copy()
    sim.command({"op": "set", "patch": {"arena.shape_morph": 1.0}})
    sim.run_chunk(5)
    changed = not (np.array_equal(before[0], sim._grid_cos)
                   and np.array_equal(before[1], sim._grid_kmod))
    assert changed == realign
    sim.command({"op": "set", "patch": {"arena.shape_morph": 0.0}})  # back to the square
    assert np.array_equal(before[0], sim._grid_cos) and np.array_equal(before[1], sim._grid_kmod)


def test_grid_tether_matches_its_numpy_twin() -> None:
    rng = np.random.default_rng(5)
    for _ in range(500):
        hw, hh = rng.uniform(0.3, 1.0, 2)
        x, y = rng.uniform(-hw, hw), rng.uniform(-hh, hh)
        side = rng.choice([-1.0, 0.0, 1.0], 2)
        agent = np.zeros(10)
        agent[TETHER_X], agent[TETHER_Y] = side
        grid_tether(agent, x, y, hw, hh, 0.1)
        np.testing.assert_array_equal(agent[[TETHER_X, TETHER_Y]],
                                      grid_tether_np(side, x, y, hw, hh, 0.1))
    agent = np.zeros(10)
    grid_tether(agent, 0.45, -0.45, 0.5, 0.5, 0.1)  # near the right and bottom walls
    assert (agent[TETHER_X], agent[TETHER_Y]) == (1.0, -1.0)
    grid_tether(agent, 0.0, 0.0, 0.5, 0.5, 0.1)  # in the middle: the last walls are kept
    assert (agent[TETHER_X], agent[TETHER_Y]) == (1.0, -1.0)


def _grid_input(sim: Simulator) -> np.ndarray:
    return sim.last("x")[sim.input_groups["grid"]] / sim.params.inputs.gamma_mec


@pytest.mark.parametrize("tether", [0.0, 0.6, 1.0])
def test_tethered_grids_shift_with_the_wall_last_touched(tether: float) -> None:
    """In a box stretched from 1 m to 1.5 m along y each wall has moved by 0.25 m: after the
    rat touches the top wall the kernel reads the grids at y - tether x 0.25, after the bottom
    wall at y + tether x 0.25 (with grid_rescale 0, so only the tether moves them)."""
    params = P.replace(P.load_preset("small"), {"inputs.grid_rescale": 0.0,
                                                "inputs.grid_tether": tether,
                                                "inputs.sigma_input": 0.0,
                                                "learning.enabled": False})
    sim = build(params, 4)
    sim.apply({"arena.height_m": 1.5})
    k, phi = grid_room(sim._grid_layout, 0, sim.seed, 0.0, True)
    for y0, side in ((0.70, 1.0), (0.0, 1.0), (-0.70, -1.0), (0.0, -1.0)):
        sim._agent[X], sim._agent[Y] = 0.0, y0
        sim.run_chunk(1)
        px, py = sim._agent[X], sim._agent[Y]
        assert sim._agent[TETHER_Y] == side and sim._agent[TETHER_X] == 0.0
        expected = grid_rates_np(px, py - side * tether * 0.25, k, phi)
        np.testing.assert_allclose(_grid_input(sim), expected, atol=2e-6)


def test_tethered_grids_change_nothing_in_the_familiar_box() -> None:
    """Where no wall has moved the tether shifts the grids by exactly 0: a run with it is the
    same run, bit for bit."""
    out = []
    for tether in (0.0, 1.0):
        sim = build(P.replace(P.load_preset("small"), {"inputs.grid_tether": tether}), 7)
        res = sim.run_chunk(3000)
        out.append((sim.weights("ec_dg"), sim.last("x"), res.mismatch.copy()))
    np.testing.assert_array_equal(out[0][0], out[1][0])
    np.testing.assert_array_equal(out[0][1], out[1][1])
    np.testing.assert_array_equal(out[0][2], out[1][2])


def test_the_object_cells_input_scales_with_gamma_object() -> None:
    """The LEC object cells enter x at gamma_lec x gamma_object times their rates, and nothing
    else in x moves."""
    xs = {}
    for g in (1.0, 2.5):
        params = P.replace(P.load_preset("small"), {"inputs.gamma_object": g,
                                                    "inputs.gamma_lec": 0.7,
                                                    "inputs.sigma_input": 0.0})
        sim = build(params, 2)
        sim.run_chunk(10)
        sim.command({"op": "add_object", "x": float(sim._agent[X]), "y": float(sim._agent[Y])})
        sim.run_chunk(1)
        xs[g] = sim.last("x")
    obj = build(P.load_preset("small"), 2).input_groups["lec_object"]
    assert xs[1.0][obj].max() > 0.3  # the rat is at the object
    np.testing.assert_allclose(xs[2.5][obj], 2.5 * xs[1.0][obj], rtol=1e-6)
    rest = np.ones(xs[1.0].shape[0], bool)
    rest[obj] = False
    np.testing.assert_array_equal(xs[2.5][rest], xs[1.0][rest])  # nothing else moves
