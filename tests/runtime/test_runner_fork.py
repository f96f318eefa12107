"""The app's simulation thread forks a run: branch B's source, lockstep, routing, unfork."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from hippoviz.runtime import (
    Fork,
    Forked,
    Pause,
    Play,
    Reset,
    SetParams,
    Shared,
    SimRunner,
    Step,
    Unfork,
    Unforked,
)

CUT = "learning.g_ca3_dg"


def _wait(cond: Callable[[], bool], timeout: float = 20.0) -> None:
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > timeout:
            raise AssertionError("timed out")
        time.sleep(0.01)


def test_fork_publishes_both_branches_in_lockstep(make_runner: Callable[..., SimRunner]) -> None:
    r = make_runner(real=True)
    b = r.branch_b
    assert b is not None and not r.forked and r.twin_history() is None
    r.submit(Step(300)).result(10)
    _wait(lambda: r.source.step() == 300)
    assert r.submit(Fork()).result(10) == 300
    assert r.forked and b.forked and b.wait_ready(0)
    # B starts with A's history
    assert b.source.samples(10).t_s.tobytes() == r.source.samples(10).t_s.tobytes()
    b.source.command(SetParams({CUT: 0.0}))
    r.source.command(SetParams({"arena.width_m": 1.2}))
    b.source.command(Step(500))  # a transport command from B drives both
    _wait(lambda: r.source.step() == 800 and b.source.step() == 800)
    pa, pb = r.source.params(), b.source.params()
    assert pa is not None and pb is not None
    assert pa.learning.g_ca3_dg != 0.0 and pb.learning.g_ca3_dg == 0.0
    assert pa.arena.width_m == pb.arena.width_m == 1.2
    assert r.twin_param_differences() == {CUT: (pa.learning.g_ca3_dg, 0.0)}
    sa, sb = r.source.samples(3), b.source.samples(3)
    assert sa.pos_m.tobytes() == sb.pos_m.tobytes()
    assert sa.mismatch.tobytes() != sb.mismatch.tobytes()
    hist = r.twin_history()
    assert hist is not None and hist[1] == pytest.approx(3.0) and hist[2][-1].step == 800
    events = r.poll_events()
    assert Forked(300, 3.0) in events
    assert Shared("a", ("arena.width_m",)) in events
    with pytest.raises(Exception, match="already forked"):
        r.submit(Fork()).result(10)


def test_play_pause_and_unfork_keeping_b(make_runner: Callable[..., SimRunner]) -> None:
    r = make_runner(real=True)
    b = r.branch_b
    assert b is not None
    r.submit(Fork()).result(10)
    b.source.command(SetParams({CUT: 0.0}))
    r.command(Play())
    _wait(lambda: b.source.step() > 400 and b.source.stats().steps_per_s > 0)
    r.submit(Pause()).result(10)
    _wait(lambda: not b.source.stats().playing)
    assert r.source.step() == b.source.step()
    build = r.source.build_id()
    assert r.submit(Unfork("b")).result(10) == "b"
    assert not r.forked and r.twin_history() is None
    p = r.source.params()
    assert p is not None and p.learning.g_ca3_dg == 0.0  # B goes on as the run
    assert r.source.build_id() == build + 1
    assert Unforked("b", r.source.step()) in r.poll_events()
    with pytest.raises(RuntimeError, match="not forked"):
        b.call(lambda s: s.step).result(10)
    r.submit(Step(50)).result(10)


def test_unfork_keeping_a_and_reset_ends_a_fork(make_runner: Callable[..., SimRunner]) -> None:
    r = make_runner(real=True)
    r.submit(Fork()).result(10)
    r.submit(Unfork("a")).result(10)
    assert not r.forked
    with pytest.raises(Exception, match="not forked"):
        r.submit(Unfork("a")).result(10)
    r.submit(Fork()).result(10)
    r.submit(Reset()).result(30)
    assert not r.forked
    assert any(isinstance(e, Unforked) for e in r.poll_events())
