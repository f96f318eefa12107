"""The kernel's phase profile (``hippoviz bench --profile``): it times the run, and changes
nothing in it."""

from __future__ import annotations

import numpy as np

from hippoviz import params as P
from hippoviz.sim import build
from hippoviz.sim.kernel import PROFILE_PHASES


def test_timing_each_phase_changes_no_result() -> None:
    p = P.load_preset("small")
    plain, timed = build(p, 3), build(p, 3)
    timed.profile_phases()
    for n in (250, 97, 300):
        a, b = plain.run_chunk(n), timed.run_chunk(n)
        assert a.mismatch.tobytes() == b.mismatch.tobytes()
        for L in a.spikes:
            assert a.spikes[L].times_s.tobytes() == b.spikes[L].times_s.tobytes()
    sa, sb = plain.state_dict(), timed.state_dict()
    assert all(np.array_equal(sa[k], sb[k]) for k in sa)


def test_every_phase_of_a_learning_run_takes_time_and_the_shares_add_up() -> None:
    sim = build(P.load_preset("small"), 1)
    assert sim.phase_profile() == {}  # not timing
    sim.profile_phases()
    assert sim.phase_profile() == {}  # nothing ran yet
    sim.run_chunk(600)  # 50 batches of 12 steps: every phase runs
    prof = sim.phase_profile()
    assert list(prof) == list(PROFILE_PHASES)
    assert all(v > 0 for v in prof.values()), prof
    assert abs(sum(prof.values()) - 1.0) < 1e-9
    # frozen weights: no gradient, no update, no scaling, no homeostasis
    sim.profile_phases()
    sim.apply({"learning.enabled": False})
    sim.run_chunk(300)
    frozen = sim.phase_profile()
    for name in ("gradient accumulation", "weight update", "synaptic scaling", "homeostasis"):
        assert frozen[name] == 0.0, name
    assert frozen["EC -> DG product"] > 0
    sim.profile_phases(False)
    sim.run_chunk(50)
    assert sim.phase_profile() == {}
