"""The rat: stays in the arena and moves with the statistics of docs/model.md (RatInABox's
model; tests/sim/test_crosscheck_ratinabox.py compares it with RatInABox itself)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from numba import njit

from hippoviz.sim.agent import agent_step
from hippoviz.sim.arena import Arena, contains
from hippoviz.sim.rng import normal, seed_state


@njit  # not cached: a cache entry is keyed on this test module's import name
def _walk(state, n, segs, seg_wall, rs, w, h, morph, out):  # type: ignore[no-untyped-def]
    inside = True
    for i in range(n):
        agent_step(state, 0.01, 0.08, 0.7, math.radians(120.0), 0.08, 0.5, 0.1, 1.0, 0, w, h,
                   morph, segs, seg_wall, normal(rs), normal(rs))
        out[i, 0] = state[0]
        out[i, 1] = state[1]
        out[i, 2] = state[2]
        out[i, 3] = state[3]
        if not contains(state[0], state[1], w, h, morph):
            inside = False
    return inside


@pytest.mark.parametrize("shape", [(1.0, 1.0, 0.0), (1.0, 1.0, 1.0), (1.0, 1.5, 0.5)])
def test_one_hour_stays_inside_with_rat_statistics(shape: tuple[float, float, float]) -> None:
    w, h, morph = shape
    arena = Arena(w, h, morph)
    n = 360_000  # one simulated hour
    out = np.zeros((n, 4))
    inside = _walk(np.zeros(8), n, arena.segments, arena.seg_wall, seed_state(11), w, h, morph,
                   out)
    assert inside
    speed = np.hypot(*np.diff(out[:, :2], axis=0).T) / 0.01
    assert speed.mean() == pytest.approx(0.08, rel=0.2)
    assert (speed > 0).all()  # never stops dead
    # turning, away from the walls (bounces turn the rat abruptly)
    turn = np.angle(np.exp(1j * np.diff(out[:, 2]))) / 0.01
    r = np.hypot(out[1:, 0] / w, out[1:, 1] / h)
    assert math.degrees(turn[r < 0.25].std()) == pytest.approx(120.0, rel=0.2)
    # speed coherence time: lag where the autocorrelation first falls below 1/e
    s = out[:, 3] - out[:, 3].mean()
    lags = np.arange(1, 300)
    ac = np.array([np.dot(s[:-k], s[k:]) / np.dot(s, s) for k in lags])
    tau = lags[np.argmax(ac < math.exp(-1))] * 0.01
    assert tau == pytest.approx(0.7, rel=0.2)
    # the rat covers the arena (foraging, not stuck): every 10 cm bin of the box is visited
    hist, _, _ = np.histogram2d(out[:, 0], out[:, 1], bins=(int(w * 10), int(h * 10)),
                                range=[[-w / 2, w / 2], [-h / 2, h / 2]])
    inside_bins = [contains((i + 0.5) / 10 - w / 2, (j + 0.5) / 10 - h / 2, w, h, morph)
                   for i in range(int(w * 10)) for j in range(int(h * 10))]
    assert (hist.ravel()[np.array(inside_bins)] > 0).all()


def test_shrinking_arena_moves_the_rat_inside() -> None:
    big = Arena(1.5, 1.5, 0.0)
    small = Arena(1.0, 1.0, 0.0)
    for model in (0, 1):
        state = np.array([0.7, 0.7, 0.0, 0.0, 0.0, 0.0, 0.05, 0.0])
        assert not contains(0.7, 0.7, 1.0, 1.0, 0.0) and contains(0.7, 0.7, 1.5, 1.5, 0.0)
        agent_step(state, 0.01, 0.08, 0.7, 2.0, 0.08, 0.5, 0.1, 1.0, model, 1.0, 1.0, 0.0,
                   small.segments, small.seg_wall, 0.0, 0.0)
        assert contains(state[0], state[1], 1.0, 1.0, 0.0)
    del big


def test_object_drift_matches_its_numpy_twin() -> None:
    from hippoviz.sim.agent import (
        object_drift,
        object_drift_np,
        object_habituate,
        object_habituate_np,
    )

    rng = np.random.default_rng(4)
    for _ in range(200):
        state = np.zeros(8)
        state[:2] = rng.uniform(-0.5, 0.5, 2)
        state[6:8] = rng.normal(0.0, 0.1, 2)
        pos = rng.uniform(-0.5, 0.5, (4, 2))
        pos[0] = state[:2] + rng.normal(0.0, 0.05, 2)  # often within the exploring radius
        on = rng.random(4) < 0.7
        nov = rng.random(4) * (rng.random(4) < 0.8)
        strength = float(rng.choice([0.0, 0.5, 1.0, 3.0]))
        a, b = state.copy(), state.copy()
        na, nb = nov.copy(), nov.copy()
        object_habituate(a, 0.01, pos, on, na)
        object_drift(a, 0.01, 0.08, 0.7, strength, pos, on, na)
        object_habituate_np(b, 0.01, pos, on, nb)
        object_drift_np(b, 0.01, 0.08, 0.7, strength, pos, on, nb)
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(na, nb, rtol=1e-12, atol=1e-15)


def _near_object_s(strength: float, seed: int, minutes: float) -> tuple[float, float, Any]:
    from hippoviz import params as P
    from hippoviz.sim import build

    sim = build(P.replace(P.load_preset("small"), {"agent.object_exploration": strength}), seed)
    sim.run_chunk(200)
    sim.command({"op": "add_object", "x": 0.25, "y": 0.25})
    pos = np.concatenate([sim.run_chunk(3000).pos_m for _ in range(int(minutes * 2))])
    near = np.hypot(pos[:, 0] - 0.25, pos[:, 1] - 0.25) < 0.1
    return float(near[:6000].sum() * 0.01), float(near.sum() * 0.01), sim


def test_a_new_object_draws_the_rat_until_it_is_familiar() -> None:
    """With object exploration the rat spends far more of its first minute at a new object
    than by chance, and the object's novelty wears off while it explores; a displaced object
    is novel again. Without it the object does not move the rat at all."""
    for seed in (2, 3):
        first_on, _, sim = _near_object_s(1.0, seed, 5)
        first_off, _, _ = _near_object_s(0.0, seed, 1)
        assert first_on > 10.0  # seconds of the first minute within 0.1 m (chance: ~2 s)
        assert first_on > 3.0 * first_off
        assert sim._obj_nov[0] < 0.3  # habituated
        sim.command({"op": "move_object", "id": 0, "x": -0.25, "y": -0.25})
        assert sim._obj_nov[0] == 1.0


def test_without_exploration_an_object_leaves_the_path_unchanged() -> None:
    from hippoviz import params as P
    from hippoviz.sim import build

    params = P.replace(P.load_preset("small"), {"agent.object_exploration": 0.0})
    a, b = build(params, 5), build(params, 5)
    b.command({"op": "add_object", "x": 0.1, "y": 0.1})
    for _ in range(3):
        assert np.array_equal(a.run_chunk(2000).pos_m, b.run_chunk(2000).pos_m)
