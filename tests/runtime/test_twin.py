"""The twin: a run forked into A and B that step in lockstep on one rat path."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from hippoviz import params as P
from hippoviz.runtime import AddObject, MoveObject, Session, SetParams, SetTrajectory
from hippoviz.runtime.twin import (
    PathDiverged,
    Twin,
    moves_the_rat,
    pv_correlation,
    split_patch,
    states_equal,
)
from hippoviz.sim import LAYERS, Chunk

SEED = 3
CUT = "learning.g_ca3_dg"


def _same_chunks(a: Chunk, b: Chunk) -> None:
    assert a.step0 == b.step0 and a.n == b.n
    for name in ("t_s", "pos_m", "heading_rad", "speed_m_s", "mismatch", "active_fraction"):
        assert getattr(a, name).tobytes() == getattr(b, name).tobytes(), name
    for L in LAYERS:
        assert a.spikes[L].times_s.tobytes() == b.spikes[L].times_s.tobytes(), L
        assert a.spikes[L].units.tobytes() == b.spikes[L].units.tobytes(), L


@pytest.fixture
def session(small_params: P.Params) -> Session:
    s = Session(small_params, SEED)
    s.run(1000)
    return s


def test_the_cut_parameter_exists() -> None:
    assert CUT in {s.key for s in P.iter_specs()}


def test_path_keys() -> None:
    assert moves_the_rat("arena.width_m") and moves_the_rat("agent.speed_mean_m_s")
    assert moves_the_rat("inputs.sigma_input") and moves_the_rat("time.f_theta_hz")
    assert not moves_the_rat(CUT) and not moves_the_rat("inputs.room")
    shared, own = split_patch({"arena.width_m": 1.2, CUT: 0.0})
    assert shared == {"arena.width_m": 1.2} and own == {CUT: 0.0}


def test_pv_correlation() -> None:
    x = np.array([0.0, 1.0, 2.0, 0.0])
    assert pv_correlation(x, x) == 1.0
    assert pv_correlation(np.zeros(3), np.zeros(3)) == 1.0
    assert np.isnan(pv_correlation(np.zeros(3), np.array([0.0, 1.0, 0.0])))
    assert pv_correlation(x, -x) == pytest.approx(-1.0)


def test_fork_without_change_stays_bit_identical_for_10000_steps(session: Session) -> None:
    with Twin.fork(session) as twin:
        assert twin.identical()
        twin.run(10_000, on_chunk=_same_chunks)
        assert twin.steps_since_fork() == 10_000
        diff = states_equal(twin.a.state_dict(), twin.b.state_dict())
        assert diff == []
        assert all(p.pv == {"dg": 1.0, "ca3": 1.0, "ca1": 1.0} for p in twin.history)
        assert all(p.mismatch_a == p.mismatch_b for p in twin.history)


def test_fork_is_a_bit_exact_copy_and_runs_in_parallel(session: Session) -> None:
    seen: set[str] = set()
    with Twin.fork(session, worker_init=lambda: seen.add(threading.current_thread().name)) \
            as twin:
        assert twin.fork_step == 1000 and twin.b.step == 1000
        twin.run(600, chunk_steps=150, on_chunk=_same_chunks)
        assert twin.identical()
        assert len(twin.history) == 4
    assert seen and all(n.startswith("hippoviz-twin") for n in seen)
    assert not [t for t in threading.enumerate() if t.name.startswith("hippoviz-twin")]


def test_serial_twin_equals_parallel_twin(small_params: P.Params) -> None:
    out = []
    for parallel in (True, False):
        s = Session(small_params, SEED)
        s.run(300)
        with Twin.fork(s, parallel=parallel) as twin:
            twin.apply(SetParams({CUT: 0.0}), "b")
            twin.run(400)
            out.append((twin.a.state_dict(), twin.b.state_dict()))
    assert states_equal(out[0][0], out[1][0]) == []
    assert states_equal(out[0][1], out[1][1]) == []


def test_cutting_g_ca3_dg_in_b_changes_b_and_leaves_a_as_an_unforked_run(
        small_params: P.Params) -> None:
    fork_at, after = 1000, 3000
    plain = Session(small_params, SEED)
    plain.run(fork_at + after)

    s = Session(small_params, SEED)
    s.run(fork_at)
    with Twin.fork(s) as twin:
        routed = twin.apply(SetParams({CUT: 0.0}), "b")
        assert set(routed.results) == {"b"} and routed.shared == ()
        assert twin.b.params.learning.g_ca3_dg == 0.0
        assert twin.a.params.learning.g_ca3_dg == small_params.learning.g_ca3_dg
        twin.run(after)
        # A is, bit for bit, the run that was never forked
        assert states_equal(twin.a.state_dict(), plain.state_dict()) == []
        # B's dentate weights went their own way; the rat did not
        wa, wb = twin.a.sim.weights("ec_dg"), twin.b.sim.weights("ec_dg")
        assert wa.tobytes() != wb.tobytes()
        assert twin.a.sim.pose == twin.b.sim.pose
        last = twin.history[-1]
        assert last.pv["dg"] < 1.0
        # B's log is A's up to the fork plus B's own command
        assert twin.b.command_log[:-1] == twin.a.command_log
        assert twin.b.command_log[-1] == (fork_at, {"op": "set", "patch": {CUT: 0.0}})


def test_what_moves_the_rat_goes_to_both(session: Session) -> None:
    with Twin.fork(session) as twin:
        routed = twin.apply(SetParams({"agent.speed_mean_m_s": 0.15, CUT: 0.5}), "b")
        assert routed.shared == ("agent.speed_mean_m_s",)
        assert twin.a.params.agent.speed_mean_m_s == 0.15
        assert twin.b.params.agent.speed_mean_m_s == 0.15
        assert twin.a.params.learning.g_ca3_dg != 0.5 and twin.b.params.learning.g_ca3_dg == 0.5
        assert twin.param_differences() == {CUT: (twin.a.params.learning.g_ca3_dg, 0.5)}
        twin.apply(SetParams({"inputs.sigma_input": 0.1}), "a")
        assert twin.b.params.inputs.sigma_input == 0.1
        x, y, _ = twin.a.sim.pose
        routed = twin.apply(SetTrajectory(np.array([[x, y], [x, y]])), "a")
        assert routed.shared == ("trajectory",)
        twin.run(300)  # the guard did not fire
        # a refused shared value changes neither branch
        with pytest.raises(P.ParamError):
            twin.apply(SetParams({"arena.width_m": 99.0}), "b")
        assert twin.a.params.arena.width_m == twin.b.params.arena.width_m


def test_objects_are_per_branch(session: Session) -> None:
    """An object in one branch only would draw that branch's rat: the first such command turns
    the rat's object exploration off in both, so the branches keep one rat path."""
    assert session.params.agent.object_exploration > 0
    with Twin.fork(session) as twin:
        routed = twin.apply(AddObject(0.3, 0.3), "b")
        assert routed.shared == ("agent.object_exploration",)
        assert twin.a.params.agent.object_exploration == 0.0
        assert twin.b.params.agent.object_exploration == 0.0
        assert twin.a.sim.objects == [] and len(twin.b.sim.objects) == 1
        twin.run(200)  # the path guard did not fire
        assert not twin.identical()
        assert twin.apply(MoveObject(0, -0.2, 0.1), "b").shared == ()  # already off


def test_the_guard_catches_a_rat_moved_behind_the_twins_back(session: Session) -> None:
    with Twin.fork(session) as twin:
        twin.b.apply(SetParams({"agent.speed_mean_m_s": 0.2}))  # not through the twin
        with pytest.raises(PathDiverged):
            twin.run(400)


def test_unfork_keeps_one(session: Session) -> None:
    twin = Twin.fork(session)
    twin.apply(SetParams({CUT: 0.0}), "b")
    twin.run(100)
    kept = twin.unfork("b")
    assert kept is twin.b and kept.params.learning.g_ca3_dg == 0.0
    kept.run(100)
    assert kept.step == 1200
    with pytest.raises(ValueError):
        twin.session("c")  # type: ignore[arg-type]
