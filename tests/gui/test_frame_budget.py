"""Views are spared (redrawn less often, one per tick) only while the simulation thread, playing
at maximum speed, waits for a CPU as the GUI draws; the arena and the panels never are."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from hippoviz.gui.frame_budget import ALWAYS, FrameBudget
from hippoviz.runtime.runner import METRICS_MIN_WALL_S, RATEMAPS_EVERY_S
from hippoviz.runtime.threads import run_queue_wait_s

from .helpers import distinct_colours

TICK = 1.0 / 30.0
VIEWS = ["Arena", "Controls", "Raster", "Mismatch", "Weights"]


class Clocks:
    """Made-up clocks: the GUI thread runs ``gui_share`` of a core, and the simulation thread
    waits ``ratio`` times as long as the GUI runs."""

    def __init__(self, gui_share: float, ratio: float) -> None:
        self.t = 0.0
        self.gui = 0.0
        self.wait = 0.0
        self.gui_share = gui_share
        self.ratio = ratio

    def advance(self) -> None:
        self.t += TICK
        self.gui += self.gui_share * TICK
        self.wait += self.ratio * self.gui_share * TICK


def run(fb: FrameBudget, clocks: Clocks, seconds: float, flat_out: bool = True,
        known: bool = True, in_progress: Callable[[str], bool] = lambda _n: False,
        ) -> Counter[str]:
    """Tick for ``seconds``; how often each view was picked."""
    picked: Counter[str] = Counter()
    for _ in range(round(seconds / TICK)):
        clocks.advance()
        fb.update(clocks.t, clocks.gui, (lambda: clocks.wait) if known else (lambda: None),
                  flat_out)
        picked.update(fb.pick(clocks.t, VIEWS, in_progress))
    return picked


def test_every_view_every_tick_while_a_core_is_free() -> None:
    fb = FrameBudget()
    clocks = Clocks(gui_share=0.3, ratio=0.05)  # the GUI draws on a free core
    picked = run(fb, clocks, 5.0)
    assert not fb.active and fb.interval_s == 0.0 and fb.views_hz is None
    assert set(picked.values()) == {150}
    assert fb.ratio == pytest.approx(0.05)
    assert fb.gui_share == pytest.approx(0.3)


def test_starved_simulation_spares_the_views_beside_the_arena() -> None:
    fb = FrameBudget(share=0.10, min_hz=4.0)
    clocks = Clocks(gui_share=0.3, ratio=0.9)  # the GUI's time comes out of the simulation's
    run(fb, clocks, 1.5)
    assert fb.active
    assert fb.interval_s == pytest.approx(3 * TICK)
    picked = run(fb, clocks, 6.0)
    # the GUI still takes more than its share: the interval grew to its longest
    assert fb.interval_s == pytest.approx(1.0 / fb.min_hz)
    for name in ALWAYS & set(VIEWS):
        assert picked[name] == 180  # every tick
    spared = [picked[n] for n in VIEWS if n not in ALWAYS]
    assert max(spared) - min(spared) <= 2  # taken in turn
    assert 6.0 * 3.0 < sum(spared) < 6.0 * 3 * 11  # at most one a tick, at most ~10 Hz each
    assert fb.views_hz is not None and 3.5 < fb.views_hz <= 4.5


def test_at_most_one_spared_view_a_tick_and_a_redraw_in_progress_goes_on() -> None:
    fb = FrameBudget()
    clocks = Clocks(gui_share=0.3, ratio=0.9)
    run(fb, clocks, 2.5)
    assert fb.active
    for _ in range(60):
        clocks.advance()
        got = fb.pick(clocks.t, VIEWS)
        assert len(got - ALWAYS) <= 1
    # a view drawing over several ticks is given each tick until it is done
    going = {"Weights"}
    for _ in range(5):
        clocks.advance()
        assert fb.pick(clocks.t, VIEWS, lambda n: n in going) - ALWAYS == {"Weights"}


def test_the_interval_shrinks_when_the_gui_is_within_its_share() -> None:
    fb = FrameBudget(share=0.10)
    clocks = Clocks(gui_share=0.3, ratio=0.9)
    run(fb, clocks, 6.0)
    longest = fb.interval_s
    clocks.gui_share = 0.05
    run(fb, clocks, 3.0)
    assert fb.active
    assert fb.interval_s < longest / 2
    run(fb, clocks, 6.0)
    assert fb.interval_s == 0.0  # every due view, still one a tick


def test_sparing_ends_with_the_starving_and_has_hysteresis() -> None:
    fb = FrameBudget(on_ratio=0.5, off_ratio=0.25)
    clocks = Clocks(gui_share=0.3, ratio=0.4)
    run(fb, clocks, 3.0)
    assert not fb.active  # 0.4 does not start it
    clocks.ratio = 0.9
    run(fb, clocks, 2.0)
    assert fb.active
    clocks.ratio = 0.4
    run(fb, clocks, 3.0)
    assert fb.active  # 0.4 does not end it
    clocks.ratio = 0.1
    run(fb, clocks, 2.0)
    assert not fb.active and fb.interval_s == 0.0
    assert set(run(fb, clocks, 1.0).values()) == {30}


@pytest.mark.parametrize("case", ["paused or slower", "unknown wait", "switched off"])
def test_no_sparing_unless_flat_out_known_and_enabled(case: str) -> None:
    fb = FrameBudget()
    if case == "switched off":
        fb.enabled = False
    clocks = Clocks(gui_share=0.3, ratio=0.9)
    picked = run(fb, clocks, 4.0, flat_out=case != "paused or slower",
                 known=case != "unknown wait")
    assert not fb.active
    assert set(picked.values()) == {120}


def test_run_queue_wait_of_a_thread_of_this_process() -> None:
    import threading

    w = run_queue_wait_s(threading.get_native_id())
    if w is None:
        pytest.skip("the kernel gives no scheduler statistics here")
    assert w >= 0.0
    assert run_queue_wait_s(2**31 - 1) is None  # no such thread


def _wrap_refresh(view: Any, counts: Counter[str], name: str) -> None:
    inner = view.refresh

    def refresh() -> None:
        counts[name] += 1
        inner()

    view.refresh = refresh


def test_window_spares_the_raster_while_starved_and_keeps_drawing(
        qtbot: Any, make_window: Callable[..., Any]) -> None:
    win = make_window()
    win.resize(1280, 800)
    # the simulation thread "waits" twice as long as the GUI thread runs: starved
    win.runner.sim_wait_s = lambda: 2.0 * time.thread_time()
    counts: Counter[str] = Counter()
    _wrap_refresh(win.views["Arena"], counts, "Arena")
    _wrap_refresh(win.views["Raster"], counts, "Raster")
    win.controls.speed_box.setCurrentText("max")
    win.controls.play()
    qtbot.waitUntil(lambda: win.frame_budget.active, timeout=5000)
    qtbot.waitUntil(lambda: win.frame_budget.views_hz is not None, timeout=5000)
    counts.clear()
    ticks = [0]
    win.timer.timeout.connect(lambda: ticks.__setitem__(0, ticks[0] + 1))
    qtbot.wait(2000)
    assert counts["Arena"] >= ticks[0] - 1
    assert 0 < counts["Raster"] < 0.6 * counts["Arena"]
    assert distinct_colours(win.views["Raster"]) >= 6  # still drawn, not blank
    qtbot.waitUntil(lambda: " · views " in win.lbl_fps.text(), timeout=3000)
    assert "Hz" in win.lbl_fps.text() and "busy" in win.lbl_fps.toolTip()
    # the rate maps and metrics behind the spared views are made half as often
    assert win.runner.ratemaps_every_s == 2 * RATEMAPS_EVERY_S
    assert win.runner.metrics_min_wall_s == 2 * METRICS_MIN_WALL_S

    # switched off in the View menu: every view every tick again, the setting kept
    win.act_spare.setChecked(False)
    assert not win.frame_budget.active
    assert win.settings.value("spare_busy") in (False, "false")
    counts.clear()
    ticks[0] = 0
    qtbot.wait(1500)
    assert counts["Raster"] >= ticks[0] - 1
    assert win.runner.ratemaps_every_s == RATEMAPS_EVERY_S
    assert win.runner.metrics_min_wall_s == METRICS_MIN_WALL_S
    qtbot.waitUntil(lambda: " · views " not in win.lbl_fps.text(), timeout=3000)
    win.controls.pause()


def test_window_does_not_spare_when_the_simulation_does_not_wait(
        qtbot: Any, make_window: Callable[..., Any]) -> None:
    win = make_window()
    win.runner.sim_wait_s = lambda: 0.0
    win.controls.speed_box.setCurrentText("max")
    win.controls.play()
    qtbot.wait(2500)
    assert not win.frame_budget.active
    assert np.isfinite(win.frame_budget.ratio) and win.frame_budget.ratio == 0.0
    assert " · views " not in win.lbl_fps.text()
    win.controls.pause()
