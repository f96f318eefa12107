"""The simulation thread: commands, pause/step/reset, speed, divergence, publication."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from hippoviz import params as P
from hippoviz.runtime import (
    AddObject,
    Diverged,
    Error,
    MoveObject,
    Pause,
    Paused,
    Play,
    Replay,
    ReplayEnded,
    Reset,
    SetParams,
    SimRunner,
    Step,
)
from hippoviz.runtime.runner import METRICS_EVERY_SIM_S, METRICS_FIRST_SIM_S


def wait_until(pred: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll ``pred`` (the runtime is Qt-free: no event loop to wait on)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        threading.Event().wait(0.005)
    raise AssertionError("condition not met in time")


def test_starts_paused_then_plays_and_pauses(make_runner: Callable[..., SimRunner]) -> None:
    r = make_runner()
    src = r.source
    assert src.layer_sizes()["dg"] == P.get(P.load_preset("small"), "network.n_dg")
    assert src.step() == 0
    src.command(Play())
    wait_until(lambda: src.step() > 50)
    src.command(Pause())
    wait_until(lambda: not r.playing)
    s = r.call(lambda s: s.step).result(5)
    assert r.call(lambda s: s.step).result(5) == s
    assert len(src.samples(1e9).t_s) == s


def test_step_and_until_step(make_runner: Callable[..., SimRunner]) -> None:
    r = make_runner()
    r.submit(Step(n=7)).result(5)
    wait_until(lambda: r.source.step() == 7)
    r.command(Play(until_step=123))
    wait_until(lambda: any(isinstance(e, Paused) for e in r.poll_events()))
    assert r.source.step() == 123


def test_set_applies_before_the_next_chunk(make_runner: Callable[..., SimRunner]) -> None:
    """A command waits at most for the chunk running when it is queued (chunks aim at 15 ms;
    the wall-clock latency is a benchmark's: tests/benchmarks/bench_gui.py)."""
    r = make_runner()
    seen: list[tuple[Any, int]] = []
    r.call(lambda s: s.applied.connect(lambda a: seen.append((a, r.chunks_run)))).result(5)
    r.command(Play())
    wait_until(lambda: r.chunks_run > 3)
    r.command(SetParams({"learning.g_ca3_dg": 0.25}))
    c0 = r.chunks_run
    wait_until(lambda: bool(seen))
    applied, c1 = seen[0]
    assert applied.command == SetParams({"learning.g_ca3_dg": 0.25})
    assert c1 - c0 <= 1, f"the command waited {c1 - c0} chunks"
    wait_until(lambda: P.get(r.source.params(), "learning.g_ca3_dg") == 0.25)


def test_bad_command_is_an_event_not_a_crash(make_runner: Callable[..., SimRunner]) -> None:
    r = make_runner()
    fut = r.submit(SetParams({"learning.g_ca3_dg": 99.0}))
    with pytest.raises(P.ParamError):
        fut.result(5)
    ev = wait_until(lambda: [e for e in r.poll_events() if isinstance(e, Error)])
    assert "g_ca3_dg" in ev[0].message
    assert r.alive


def test_reset_same_seed_reproduces(make_runner: Callable[..., SimRunner]) -> None:
    r = make_runner()
    r.command(Play(until_step=200))
    wait_until(lambda: r.source.step() == 200 and not r.playing)
    a = r.source.samples(1e9).pos_m
    r.submit(Reset()).result(10)
    assert r.source.step() == 0
    r.command(Play(until_step=200))
    wait_until(lambda: r.source.step() == 200 and not r.playing)
    np.testing.assert_array_equal(a, r.source.samples(1e9).pos_m)
    r.submit(Reset(seed=2)).result(10)
    r.command(Play(until_step=200))
    wait_until(lambda: r.source.step() == 200 and not r.playing)
    assert not np.array_equal(a, r.source.samples(1e9).pos_m)


def test_speed_real_time(make_runner: Callable[..., SimRunner]) -> None:
    r = make_runner(speed=5.0)
    r.command(Play())
    t0 = time.monotonic()
    s0 = r.source.step()
    wait_until(lambda: r.source.step() - s0 >= 100)  # 1 s of sim at 5x = 0.2 s
    assert time.monotonic() - t0 > 0.15


def test_divergence_pauses_and_names_a_parameter(make_runner: Callable[..., SimRunner]) -> None:
    r = make_runner(nan_at_step=50)
    r.submit(SetParams({"learning.lr_ca1": 0.04})).result(5)
    r.command(Play())
    ev = wait_until(lambda: [e for e in r.poll_events() if isinstance(e, Diverged)])
    assert ev[0].key == "learning.lr_ca1"
    assert "lr_ca1" in ev[0].message
    wait_until(lambda: not r.playing)


def test_on_demand_slots(make_runner: Callable[..., SimRunner]) -> None:
    r = make_runner()
    src = r.source
    assert src.weights() is None or isinstance(src.weights(), dict)
    w = wait_until(lambda: src.weights())
    assert w["ec_dg"].shape == (src.layer_sizes()["dg"], src.layer_sizes()["ec"])
    last = wait_until(lambda: src.last())
    assert last["carried_error"].shape == (3,)
    src.command(Play(until_step=300))
    rm = wait_until(lambda: (m := src.ratemaps()) and "ca1" in m.maps and m)
    assert rm.maps["ca1"].ndim == 3
    assert len(src.ratemaps().extent) == 4


def test_metrics_history(make_runner: Callable[..., SimRunner]) -> None:
    r = make_runner()
    r.command(Play(until_step=2100))
    hist = wait_until(lambda: len(r.source.metrics_history() or []) >= 2, 30)
    hist = r.source.metrics_history()
    # the first entry comes early (the Metrics view shows a point soon after Play), then every
    # METRICS_EVERY_SIM_S of simulated time
    assert METRICS_FIRST_SIM_S <= hist[0].t_s < METRICS_FIRST_SIM_S + 1.0
    assert hist[1].t_s >= hist[0].t_s + METRICS_EVERY_SIM_S
    for layer in ("dg", "ca3", "ca1"):
        assert 0.0 <= hist[-1].layers[layer]["place_cell_fraction"] <= 1.0
    assert hist


def test_objects(make_runner: Callable[..., SimRunner]) -> None:
    r = make_runner()
    oid = r.submit(AddObject(0.1, 0.2)).result(5)
    assert r.source.objects() == [(oid, 0.1, 0.2)]
    r.submit(MoveObject(oid, -0.2, 0.0)).result(5)
    assert r.source.objects() == [(oid, -0.2, 0.0)]


def test_stop_is_fast_while_running(make_runner: Callable[..., SimRunner]) -> None:
    r = make_runner()
    r.command(Play())
    wait_until(lambda: r.source.step() > 10)
    t0 = time.monotonic()
    assert r.stop(2.0)
    assert time.monotonic() - t0 < 1.0


def test_replay_schedule_applies_commands_at_their_steps(
        make_runner: Callable[..., SimRunner]) -> None:
    r = make_runner()
    schedule = [(0, AddObject(0.1, 0.1)),
                (37, SetParams({"inputs.context_morph": 1.0})),
                (120, MoveObject(0, -0.2, 0.3))]
    r.submit(Replay(P.load_preset("small"), 4, schedule, end_step=200)).result(10)
    assert r.source.objects() == [(0, 0.1, 0.1)]  # step-0 commands at once
    r.command(Play())
    wait_until(lambda: any(isinstance(e, ReplayEnded) for e in r.poll_events()))
    assert r.source.step() == 200
    log = r.call(lambda s: s.command_log).result(5)
    assert [s for s, _ in log] == [0, 37, 120]
    assert r.replay_progress == (200, 200)
    first = r.source.samples(1e9).pos_m
    r.submit(Reset()).result(10)  # a plain reset restarts the replay
    r.command(Play())
    wait_until(lambda: any(isinstance(e, ReplayEnded) for e in r.poll_events()))
    np.testing.assert_array_equal(first, r.source.samples(1e9).pos_m)
    r.command(Play())  # past the end it runs on live
    wait_until(lambda: r.source.step() > 250)
    r.submit(Reset(seed=9)).result(10)  # another seed leaves the replay
    assert r.replay_progress is None


def test_only_the_wanted_layers_are_smoothed_each_second(
        make_runner: Callable[..., SimRunner]) -> None:
    """``want_map_layers``: after one publication of every layer only the wanted layers' maps are
    made again; the others are kept (the same arrays) until a layer is newly wanted, a metrics
    job (every layer) or the maps start afresh."""
    from hippoviz.runtime import ResetRatemaps

    r = make_runner()
    src = r.source
    r.ratemaps_every_s = 0.0
    r.metrics_min_wall_s = 1e9  # no metrics job until the test asks for one
    r.want_map_layers({"ca1"})
    r.command(Play())
    first = wait_until(lambda: src.ratemaps())
    layers = set(src.layer_sizes())
    assert set(first.maps) == layers  # the first publication has every layer

    def newer(than: Any, layer: str) -> Any:
        return wait_until(lambda: (m := src.ratemaps()) is not None
                          and m.maps[layer] is not than.maps[layer] and m)

    # snapshots taken before the worker published every layer once have every layer too
    wait_until(lambda: r._full_maps_key is not None)
    base = newer(newer(src.ratemaps(), "ca1"), "ca1")
    later = newer(newer(base, "ca1"), "ca1")
    assert set(later.maps) == layers
    for layer in layers - {"ca1"}:
        assert later.maps[layer] is base.maps[layer], layer  # not smoothed again
    # a layer newly wanted comes at once, the one no longer wanted stays as it was
    r.ratemaps_every_s = 1e9  # from now on published only when asked
    r.want_map_layers({"dg"})
    got = newer(later, "dg")
    r.ratemaps_every_s = 0.0
    assert got.maps["ec"] is base.maps["ec"]
    ca1 = src.ratemaps().maps["ca1"]
    newer(newer(got, "dg"), "dg")
    assert src.ratemaps().maps["ca1"] is ca1
    # a metrics job smooths every layer
    r.metrics_min_wall_s = 0.0
    wait_until(lambda: r.source.metrics_history())
    r.metrics_min_wall_s = 1e9
    fresh = newer(got, "ec")
    assert fresh.maps["out"] is not base.maps["out"]
    # maps started afresh: the next publication has every layer anew
    before = src.ratemaps()
    src.command(ResetRatemaps())
    after = newer(before, "ec")
    for layer in layers:
        assert after.maps[layer] is not before.maps[layer], layer
    # every layer wanted again (None): all of them made each time
    r.want_map_layers(None)
    one = src.ratemaps()
    two = newer(newer(one, "ec"), "ec")
    for layer in layers:
        assert two.maps[layer] is not one.maps[layer], layer
    r.command(Pause())


def test_a_queued_map_job_keeps_its_layers_when_a_newer_one_replaces_it() -> None:
    from hippoviz.runtime.maps import MapJob, MapWorker

    worker = MapWorker(lambda *_: None, lambda *_: None, lambda *_: None)  # never started
    occ = np.ones((2, 2))
    a, b, a2 = (np.full((1, 2, 2), v, np.float32) for v in (1.0, 2.0, 3.0))
    extent = (0.0, 1.0, 0.0, 1.0)
    worker.submit(MapJob(1, 0.0, {"a": a, "b": b}, occ, extent, full=True, maps_key=(1, 0)))
    worker.submit(MapJob(1, 0.1, {"a": a2}, occ, extent, full=False, maps_key=(1, 0)))
    job = worker._job
    assert job is not None and job.full and job.t_s == 0.1
    assert job.raw["a"] is a2 and job.raw["b"] is b
    # a partial job after a partial one: the union, still partial
    worker.submit(MapJob(1, 0.2, {"b": b}, occ, extent, full=False, maps_key=(1, 1)))
    worker._job = None
    worker.submit(MapJob(1, 0.3, {"a": a}, occ, extent, full=False, maps_key=(1, 1)))
    worker.submit(MapJob(1, 0.4, {"b": b}, occ, extent, full=False, maps_key=(1, 1)))
    job = worker._job
    assert job is not None and not job.full and set(job.raw) == {"a", "b"}
