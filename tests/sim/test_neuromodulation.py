"""Novelty-gated plasticity (``learning.plasticity_floor``): a neuromodulatory trace that novelty
to the rat sets to 1 and that otherwise decays scales every learning rate and homeostasis.

Its effect on the science (objects, and every protocol) is measured with the built-in
protocols over seeds (docs/science.md); here: the trace's arithmetic against its NumPy twin,
what sets it, that it scales every rate exactly, and that off it changes nothing.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from hippoviz import params as P
from hippoviz.sim import build
from hippoviz.sim.kernel import novelty_trace_step, plasticity_scale
from hippoviz.sim.reference import novelty_trace_step_np


def test_trace_step_matches_its_numpy_twin() -> None:
    rng = np.random.default_rng(4)
    for _ in range(300):
        n = int(rng.integers(1, 6))
        obj_nov = rng.uniform(0.0, 1.0, n) * (rng.uniform(size=n) < 0.7)
        on = rng.uniform(size=n) < 0.5
        nov = np.array([0.1, 0.1, rng.uniform(), rng.choice([0.0, 0.005, rng.uniform(0, 20)])])
        tau, hold = float(rng.uniform(1, 100)), float(rng.choice([0.0, 10.0]))
        want = novelty_trace_step_np(nov, 0.01, tau, hold, obj_nov, on)
        novelty_trace_step(nov, 0.01, tau, hold, obj_nov, on)
        np.testing.assert_allclose(nov, want, rtol=1e-15, atol=0)
    # an object that is not present does not hold the trace up; a present one does, and holds
    # it for the object's hold
    nov = np.array([0.0, 0.0, 0.5, 0.0])
    novelty_trace_step(nov, 1.0, 1.0 / math.log(2.0), 3.0, np.array([0.9]), np.array([False]))
    assert (nov[2], nov[3]) == (pytest.approx(0.25), 0.0)
    novelty_trace_step(nov, 1.0, 1.0, 3.0, np.array([0.9]), np.array([True]))
    assert (nov[2], nov[3]) == (0.9, 3.0)


def test_trace_is_held_then_decays() -> None:
    nov = np.array([0.0, 0.0, 1.0, 5.0])  # held 5 s more
    none = np.zeros(1)
    off = np.zeros(1, np.bool_)
    for _ in range(45):
        novelty_trace_step(nov, 0.1, 2.0, 0.0, none, off)
    assert nov[2] == 1.0
    for _ in range(55):  # 10 s in all: 5 of them (give or take a step) decaying, tau = 2 s
        novelty_trace_step(nov, 0.1, 2.0, 0.0, none, off)
    assert nov[2] == pytest.approx(math.exp(-2.5), rel=0.06)
    assert nov[3] == 0.0


def test_plasticity_scale() -> None:
    assert plasticity_scale(0.0, 1.0) == 1.0  # off: exactly 1 whatever the trace
    assert plasticity_scale(0.3, 1.0) == 1.0
    assert plasticity_scale(1.0, 0.1) == 1.0
    assert plasticity_scale(0.0, 0.1) == pytest.approx(0.1)
    assert plasticity_scale(0.5, 0.2) == pytest.approx(0.6)
    assert plasticity_scale(0.0, 0.0) == 0.0


def _on(tau_s: float, floor: float = 0.1, room_s: float = 0.0,
        preset: str = "small") -> P.Params:
    return P.replace(P.load_preset(preset), {"learning.plasticity_floor": floor,
                                             "learning.novelty_trace_s": tau_s,
                                             "learning.room_novelty_s": room_s})


def test_novelty_sets_the_trace_and_holds_it() -> None:
    sim = build(_on(20.0, room_s=5.0), 2)
    assert sim.novelty_trace == 1.0  # a new network: everything is novel
    assert sim.plasticity_scale == 1.0
    n = round(10.0 / sim.dt_s)
    sim.run_chunk(n // 2 - 10)
    assert sim.novelty_trace == 1.0  # held for the first 5 s
    sim.run_chunk(n - (n // 2 - 10))
    assert sim.novelty_trace == pytest.approx(math.exp(-5.0 / 20.0), rel=0.01)
    assert sim.plasticity_scale == pytest.approx(0.1 + 0.9 * sim.novelty_trace, rel=1e-12)
    # an object added is novel until the rat has explored it: the trace is held at its novelty
    sim.command({"op": "add_object", "x": 0.3, "y": 0.3})
    sim.run_chunk(1)
    assert sim.novelty_trace == 1.0
    # a room the rat has not been in sets it to 1; one it has been in does not
    sim.command({"op": "remove_object", "id": 0})
    sim.run_chunk(round(400.0 / sim.dt_s))  # the object's hold (300 s) and a decay
    low = sim.novelty_trace
    assert low < 0.3
    sim.command({"op": "set", "patch": {"inputs.room": 1}})
    assert sim.novelty_trace == 1.0
    sim.run_chunk(3 * n)
    low = sim.novelty_trace
    assert low < 0.3
    sim.command({"op": "set", "patch": {"inputs.room": 0}})
    assert sim.novelty_trace == low
    # ... and a saved state carries the trace, its hold and the rooms seen
    state = sim.state_dict()
    other = build(_on(20.0, room_s=5.0), 2)
    other.load_state_dict(state)
    assert other.novelty_trace == low
    other.command({"op": "set", "patch": {"inputs.room": 1}})
    assert other.novelty_trace == low


def test_the_trace_scales_every_rate_exactly() -> None:
    """Once the trace has decayed to nothing, learning with floor 0.5 is bit for bit learning
    with every learning rate and homeostasis's rate halved (the CA3 collaterals and the
    object synapses on, and an object present, so that every plastic pathway is covered)."""
    extra = {"network.ca3_recurrent_gain": 1.0, "network.object_ca1_gain": 1.0,
             "learning.hidden_biases_learn": True}
    a = build(P.replace(_on(1.0, floor=0.5), {**extra, "learning.object_novelty_s": 0.0}), 5)
    a.run_chunk(round(60.0 / a.dt_s))  # exp(-60) of the trace: 0.5 exactly
    assert a.plasticity_scale == 0.5
    a.command({"op": "add_object", "x": 0.2, "y": -0.2})
    state = a.state_dict()
    state["obj_novelty"][:] = 0.0  # as if the rat had explored the object: it holds nothing up
    a.load_state_dict(state)
    b = build(a.params, 5)
    b.load_state_dict(state)
    learning = a.params.learning
    halved = {f"learning.{k}": getattr(learning, k) * 0.5
              for k in ("lr_dg", "lr_ca3", "lr_ca1", "lr_out", "lr_ca3_recurrent",
                        "lr_object_ca1")}
    halved["network.homeostasis_rate"] = a.params.network.homeostasis_rate * 0.5
    halved["learning.plasticity_floor"] = 1.0
    b.apply(halved)
    a.run_chunk(600)
    b.run_chunk(600)
    sa, sb = a.state_dict(), b.state_dict()
    for k in sa:
        if k.startswith(("net.", "vel.")):
            assert np.array_equal(sa[k], sb[k]), k
    assert not np.array_equal(sa["net.w_obj_ca1"], state["net.w_obj_ca1"])


def test_off_changes_nothing() -> None:
    """With the floor at 1 the trace's time constant changes no result (the default preset's
    golden run guards the rest of the arithmetic, tests/runtime/test_bit_identity.py)."""
    base = P.load_preset("small")
    a = build(base, 7)
    b = build(P.replace(base, {"learning.novelty_trace_s": 5.0}), 7)
    for sim in (a, b):
        sim.run_chunk(500)
        sim.command({"op": "add_object", "x": 0.2, "y": 0.2})
        sim.run_chunk(500)
    sa, sb = a.state_dict(), b.state_dict()
    for k in sa:
        if k.startswith(("net.", "vel.")) or k == "counters":
            assert np.array_equal(sa[k], sb[k]), k


def test_results_do_not_depend_on_how_a_run_is_cut_into_chunks() -> None:
    params = _on(3.0, floor=0.3, room_s=2.0)
    a, b = build(params, 9), build(params, 9)
    a.run_chunk(900)
    for n in (7, 500, 393):
        b.run_chunk(n)
    for sim in (a, b):
        sim.command({"op": "add_object", "x": -0.2, "y": 0.2})
    a.run_chunk(1100)
    for n in (1, 33, 1066):
        b.run_chunk(n)
    assert a.novelty_trace == b.novelty_trace
    sa, sb = a.state_dict(), b.state_dict()
    for k in sa:
        if k.startswith(("net.", "vel.")) or k in ("novelty_trace", "obj_novelty"):
            assert np.array_equal(sa[k], sb[k]), k
