"""The simulation thread: commands, pause/step/reset, speed, divergence, publication."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from hippoviz import params as P
from hippoviz.runtime import SimRunner
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
    assert src.latest("step") == 0
    src.command({"op": "play"})
    wait_until(lambda: src.latest("step") > 50)
    src.command({"op": "pause"})
    wait_until(lambda: not r.playing)
    s = r.call(lambda sim: sim.step).result(5)
    assert r.call(lambda sim: sim.step).result(5) == s
    assert len(src.samples(1e9)["t_s"]) == s


def test_step_and_until_step(make_runner: Callable[..., SimRunner]) -> None:
    r = make_runner()
    r.submit({"op": "step", "n": 7}).result(5)
    wait_until(lambda: r.source.latest("step") == 7)
    r.command({"op": "play", "until_step": 123})
    wait_until(lambda: any(e["kind"] == "paused" for e in r.poll_events()))
    assert r.source.latest("step") == 123


def test_set_applies_between_chunks_quickly(make_runner: Callable[..., SimRunner]) -> None:
    r = make_runner()
    r.command({"op": "play"})
    t0 = time.monotonic()
    r.command({"op": "set", "patch": {"learning.g_ca3_dg": 0.25}})
    wait_until(lambda: P.get(r.source.latest("params"), "learning.g_ca3_dg") == 0.25)
    assert time.monotonic() - t0 < 0.1


def test_bad_command_is_an_event_not_a_crash(make_runner: Callable[..., SimRunner]) -> None:
    r = make_runner()
    fut = r.submit({"op": "set", "patch": {"learning.g_ca3_dg": 99.0}})
    with pytest.raises(P.ParamError):
        fut.result(5)
    ev = wait_until(lambda: [e for e in r.poll_events() if e["kind"] == "error"])
    assert "g_ca3_dg" in ev[0]["message"]
    assert r.alive


def test_reset_same_seed_reproduces(make_runner: Callable[..., SimRunner]) -> None:
    r = make_runner()
    r.command({"op": "play", "until_step": 200})
    wait_until(lambda: r.source.latest("step") == 200 and not r.playing)
    a = r.source.samples(1e9)["pos_m"]
    r.submit({"op": "reset"}).result(10)
    assert r.source.latest("step") == 0
    r.command({"op": "play", "until_step": 200})
    wait_until(lambda: r.source.latest("step") == 200 and not r.playing)
    np.testing.assert_array_equal(a, r.source.samples(1e9)["pos_m"])
    r.submit({"op": "reset", "seed": 2}).result(10)
    r.command({"op": "play", "until_step": 200})
    wait_until(lambda: r.source.latest("step") == 200 and not r.playing)
    assert not np.array_equal(a, r.source.samples(1e9)["pos_m"])


def test_speed_real_time(make_runner: Callable[..., SimRunner]) -> None:
    r = make_runner(speed=5.0)
    r.command({"op": "play"})
    t0 = time.monotonic()
    s0 = r.source.latest("step")
    wait_until(lambda: r.source.latest("step") - s0 >= 100)  # 1 s of sim at 5x = 0.2 s
    assert time.monotonic() - t0 > 0.15


def test_divergence_pauses_and_names_a_parameter(make_runner: Callable[..., SimRunner]) -> None:
    r = make_runner(nan_at_step=50)
    r.submit({"op": "set", "patch": {"learning.lr_ca1": 0.04}}).result(5)
    r.command({"op": "play"})
    ev = wait_until(lambda: [e for e in r.poll_events() if e["kind"] == "diverged"])
    assert ev[0]["key"] == "learning.lr_ca1"
    assert "lr_ca1" in ev[0]["message"]
    wait_until(lambda: not r.playing)


def test_on_demand_slots(make_runner: Callable[..., SimRunner]) -> None:
    r = make_runner()
    src = r.source
    assert src.latest("weights") is None or isinstance(src.latest("weights"), dict)
    w = wait_until(lambda: src.latest("weights"))
    assert w["ec_dg"].shape == (src.layer_sizes()["dg"], src.layer_sizes()["ec"])
    last = wait_until(lambda: src.latest("last"))
    assert last["carried_error"].shape == (3,)
    src.command({"op": "play", "until_step": 300})
    maps = wait_until(lambda: (m := src.latest("ratemaps")) and "ca1" in m and m)
    assert maps["ca1"].ndim == 3
    assert len(src.latest("ratemap_extent")) == 4


def test_metrics_history(make_runner: Callable[..., SimRunner]) -> None:
    r = make_runner()
    r.command({"op": "play", "until_step": 2100})
    hist = wait_until(lambda: len(r.source.latest("metrics_history") or []) >= 2, 30)
    hist = r.source.latest("metrics_history")
    # the first entry comes early (the Metrics view shows a point soon after Play), then every
    # METRICS_EVERY_SIM_S of simulated time
    assert METRICS_FIRST_SIM_S <= hist[0]["t_s"] < METRICS_FIRST_SIM_S + 1.0
    assert hist[1]["t_s"] >= hist[0]["t_s"] + METRICS_EVERY_SIM_S
    for layer in ("dg", "ca3", "ca1"):
        assert 0.0 <= hist[-1][layer]["place_cell_fraction"] <= 1.0
    assert hist


def test_objects(make_runner: Callable[..., SimRunner]) -> None:
    r = make_runner()
    oid = r.submit({"op": "add_object", "x": 0.1, "y": 0.2}).result(5)
    assert r.source.latest("objects") == [(oid, 0.1, 0.2)]
    r.submit({"op": "move_object", "id": oid, "x": -0.2, "y": 0.0}).result(5)
    assert r.source.latest("objects") == [(oid, -0.2, 0.0)]


def test_stop_is_fast_while_running(make_runner: Callable[..., SimRunner]) -> None:
    r = make_runner()
    r.command({"op": "play"})
    wait_until(lambda: r.source.latest("step") > 10)
    t0 = time.monotonic()
    assert r.stop(2.0)
    assert time.monotonic() - t0 < 1.0


def test_replay_schedule_applies_commands_at_their_steps(
        make_runner: Callable[..., SimRunner]) -> None:
    r = make_runner()
    schedule = [(0, {"op": "add_object", "x": 0.1, "y": 0.1}),
                (37, {"op": "set", "patch": {"inputs.context_morph": 1.0}}),
                (120, {"op": "move_object", "id": 0, "x": -0.2, "y": 0.3})]
    r.submit({"op": "reset", "params": P.load_preset("small"), "seed": 4,
              "schedule": schedule, "end_step": 200}).result(10)
    assert r.source.latest("objects") == [(0, 0.1, 0.1)]  # step-0 commands at once
    r.command({"op": "play"})
    wait_until(lambda: any(e["kind"] == "replay_end" for e in r.poll_events()))
    assert r.source.latest("step") == 200
    log = r.call(lambda sim: list(sim.command_log)).result(5)
    assert [s for s, _ in log] == [0, 37, 120]
    assert r.replay_progress == (200, 200)
    first = r.source.samples(1e9)["pos_m"]
    r.submit({"op": "reset"}).result(10)  # a plain reset restarts the replay
    r.command({"op": "play"})
    wait_until(lambda: any(e["kind"] == "replay_end" for e in r.poll_events()))
    np.testing.assert_array_equal(first, r.source.samples(1e9)["pos_m"])
    r.command({"op": "play"})  # past the end it runs on live
    wait_until(lambda: r.source.latest("step") > 250)
    r.submit({"op": "reset", "seed": 9}).result(10)  # another seed leaves the replay
    assert r.replay_progress is None
