"""A recorded trajectory drives the rat (``Simulator.set_trajectory``)."""

from __future__ import annotations

import numpy as np
import pytest

from hippoviz import params as P
from hippoviz.params import ParamError
from hippoviz.sim import build


def _path(n: int) -> np.ndarray:
    t = np.arange(n) * 0.01
    return np.stack([0.3 * np.cos(0.4 * t), 0.2 * np.sin(0.9 * t)], axis=1)


def test_the_rat_follows_the_path_then_the_model_takes_over() -> None:
    sim = build(P.load_preset("small"), 3)
    sim.run_chunk(50)
    xy = _path(700)
    assert sim.set_trajectory(xy) == 700
    c = sim.run_chunk(1000)
    np.testing.assert_allclose(c.pos_m[:700], xy, atol=1e-6)
    # the step's speed and heading
    v = np.diff(xy, axis=0) / 0.01
    np.testing.assert_allclose(c.speed_m_s[1:700], np.hypot(v[:, 0], v[:, 1]), rtol=1e-5,
                               atol=1e-6)
    # afterwards the simulated rat moves on from the last place, without a jump
    step = np.hypot(*(c.pos_m[700] - c.pos_m[699]))
    assert 0 < step < 0.01
    assert sim.trajectory_steps_left == 0


def test_a_driven_run_replays_from_its_log_and_restores_from_its_state() -> None:
    a = build(P.load_preset("small"), 4)
    a.run_chunk(30)
    a.set_trajectory(_path(400))
    state = a.state_dict()
    ca = a.run_chunk(600)
    # replay: the same build and the command log at its steps
    b = build(P.load_preset("small"), 4)
    b.run_chunk(30)
    for step, cmd in a.command_log:
        assert step == 30
        b.command(cmd)
    cb = b.run_chunk(600)
    np.testing.assert_array_equal(ca.pos_m, cb.pos_m)
    # restore: the state taken before the chunk holds the trajectory
    c = build(P.load_preset("small"), 4)
    c.load_state_dict(state)
    np.testing.assert_array_equal(c.run_chunk(600).pos_m, ca.pos_m)


@pytest.mark.parametrize("bad, why", [
    (np.zeros((5, 3)), "shape"),
    (np.array([[0.0, 0.0], [np.nan, 0.0]]), "NaN"),
    (np.array([[0.0, 0.0], [0.9, 0.0]]), "outside the arena"),
])
def test_bad_paths_are_refused_with_the_reason(bad: np.ndarray, why: str) -> None:
    sim = build(P.load_preset("small"), 1)
    with pytest.raises(ParamError, match=why):
        sim.set_trajectory(bad)
    assert sim.command_log == []
