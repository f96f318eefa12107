"""What a new user sees in the first minutes, in the real app: the welcome panel leaves the arena
when the simulation starts, the Metrics tab plots its first point soon after Play, and a compile
of the kernels is announced in the status bar and kept out of steps/s."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from PyQt6.QtCore import QPoint, QRect, Qt
from PyQt6.QtGui import QImage

from hippoviz import params as P
from hippoviz.gui import palette
from hippoviz.gui.app import _show_welcome, create_window
from hippoviz.gui.main_window import on_screen

from .conftest import fakesim
from .helpers import count_near, pixels


@pytest.fixture
def app_window(qtbot: Any, qapp: Any) -> Iterator[Callable[..., Any]]:
    """``app_window(preset)``: the window exactly as ``hippoviz gui`` builds it (menus, capture
    and experiment actions, the real runner), shown; closed after the test."""
    windows: list[Any] = []

    def make(preset: str = "small") -> Any:
        win = create_window(argparse.Namespace(preset=preset, config=None, replay=None), qapp)
        windows.append(win)
        qtbot.addWidget(win)
        win.show()
        qtbot.waitExposed(win)
        return win

    yield make
    for win in windows:
        win.close()
        # on a loaded machine a metrics job of the default preset may outlast close()'s 1 s
        qtbot.waitUntil(lambda win=win: not win.runner.alive, timeout=30000)


def _grab(widget: Any, rect: QRect) -> np.ndarray:
    img = widget.grab(rect).toImage().convertToFormat(QImage.Format.Format_RGB32)
    ptr = img.constBits()
    ptr.setsize(img.sizeInBytes())
    return np.frombuffer(ptr, np.uint8).reshape(img.height(), img.bytesPerLine() // 4, 4)[
        :, : img.width(), :3].copy()


@pytest.mark.parametrize("how", ["space", "toolbar"])
def test_play_removes_the_welcome_panel_from_the_arena(qtbot: Any, app_window: Any,
                                                        how: str) -> None:
    win = app_window()
    _show_welcome(win, argparse.Namespace(no_welcome=False, screenshot=None))
    panel = win.welcome
    qtbot.waitUntil(panel.isVisible)
    area = QRect(panel.mapTo(win, QPoint(0, 0)), panel.size())
    arena_rect = QRect(win.arena.mapTo(win, QPoint(0, 0)), win.arena.size())
    area = area.intersected(arena_rect)
    assert area.width() > 100 and area.height() > 100, "the panel lies over the arena"
    covered = _grab(win, area)

    if how == "space":
        with qtbot.waitActive(win):
            win.activateWindow()
        qtbot.keyClick(win.arena.plot, Qt.Key.Key_Space)
    else:
        qtbot.mouseClick(win.controls.widgetForAction(win.controls.act_play),
                         Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.isVisible(), timeout=2000)
    qtbot.waitUntil(lambda: (win.source.step() or 0) > 0, timeout=20000)
    win.controls.pause()
    qtbot.waitUntil(lambda: not win.source.stats().playing, timeout=5000)
    win.tick()

    # the pixels where the panel was are the arena's now: the window shows what the arena
    # alone draws, and no longer what the panel drew
    shown = _grab(win, area)
    inner = area.translated(-arena_rect.topLeft())
    arena_alone = _grab(win.arena, inner)
    assert shown.shape == arena_alone.shape
    same_as_arena = np.mean(np.all(np.abs(shown.astype(int) - arena_alone) <= 8, axis=2))
    same_as_panel = np.mean(np.all(np.abs(shown.astype(int) - covered) <= 8, axis=2))
    assert same_as_arena > 0.95, f"only {same_as_arena:.0%} of the area shows the arena"
    assert same_as_panel < 0.9
    assert not win.welcome.should_show(win.settings)  # dismissed for good (box ticked)


@pytest.mark.parametrize("speed", ["1×", "max"])
def test_metrics_tab_plots_a_point_soon_after_play(qtbot: Any, app_window: Any,
                                                   speed: str) -> None:
    win = app_window("default")
    win.docks["Metrics"].raise_()
    qtbot.waitUntil(lambda: "Metrics" in win.views, timeout=5000)
    view = win.views["Metrics"]
    qtbot.waitUntil(lambda: on_screen(view), timeout=5000)
    assert view.waiting.isVisible()
    win.controls.speed_box.setCurrentText(speed)
    win.controls.play()
    t0 = time.monotonic()
    # the bound: the first point within 15 s of wall time after Play, at any speed
    qtbot.waitUntil(lambda: not view.waiting.isVisible(), timeout=15000)
    took = time.monotonic() - t0
    hist = win.source.metrics_history()
    assert hist and all(layer in hist[0].layers for layer in ("dg", "ca3", "ca1"))
    for layer, curve in view.frac_curves.items():
        x, _y = curve.getData()
        assert x is not None and len(x) >= 1, layer
    a = pixels(view.plots)
    drawn = [layer for layer in ("dg", "ca3", "ca1")
             if count_near(a, palette.LAYER_COLORS[layer], 14) > 3]
    assert drawn, f"no layer's point is drawn (first metrics after {took:.1f} s)"


def test_views_covered_by_their_own_plot_count_as_on_screen(qtbot: Any, app_window: Any) -> None:
    win = app_window()
    for title in ("Metrics", "Mismatch"):
        win.docks[title].raise_()
        qtbot.waitUntil(lambda title=title: title in win.views, timeout=5000)
        assert on_screen(win.views[title]), title
    # a tab behind another one is not on screen
    assert not on_screen(win.views["Metrics"])


# ---------------------------------------------------------------------------------------------
def _compiling_builder(seconds: float) -> Callable[[P.Params, int], Any]:
    """The fake simulator whose first chunk spends ``seconds`` in what Numba reports as a
    compile (Numba's own event API, as a real first run_chunk does)."""
    from numba.core import event

    make = fakesim.fake_builder(None)

    def build(params: P.Params, seed: int) -> Any:
        sim = make(params, seed)
        run = sim.run_chunk
        state = {"first": True}

        def run_chunk(n: int) -> Any:
            if state["first"]:
                state["first"] = False
                with event.trigger_event("numba:compile", data={"dispatcher": None,
                                                                "args": (), "return_type": None}):
                    end = time.monotonic() + seconds
                    while time.monotonic() < end:
                        time.sleep(0.01)
            return run(n)

        sim.run_chunk = run_chunk
        return sim

    return build


def test_a_compile_is_announced_and_kept_out_of_steps_per_second(
        qtbot: Any, make_window: Callable[..., Any]) -> None:
    win = make_window(builder=_compiling_builder(3.0))
    assert not win.busy.isVisible()
    win.controls.play()
    qtbot.waitUntil(lambda: "Compiling" in win.lbl_state.text(), timeout=3000)
    assert win.busy.isVisible()
    assert win.source.stats().steps_per_s == 0.0
    dropped = win.dropped_frames
    qtbot.waitUntil(lambda: win.lbl_state.text() == "Running", timeout=10000)
    assert not win.busy.isVisible()
    assert win.dropped_frames - dropped < 10  # the compile's wait is not counted as dropped
    qtbot.waitUntil(lambda: win.source.stats().steps_per_s > 0, timeout=5000)
    # steps/s restarted after the compile: it covers no second of it
    assert win.runner._rate_window[0][0] > win.runner._compile._t0 + 3.0 - 0.05


def _on_screen_pixels(widget: Any) -> np.ndarray:
    """What the X server shows of ``widget`` now (not what the widget would paint), where it
    lies on the screen."""
    top_left = widget.mapToGlobal(QPoint(0, 0))
    r = QRect(top_left, widget.size()).intersected(widget.screen().geometry())
    assert r.width() > 50 and r.height() > 50, "the widget is off the screen"
    shot = widget.screen().grabWindow(0, r.x(), r.y(), r.width(), r.height())
    img = shot.toImage().convertToFormat(QImage.Format.Format_RGB32)
    ptr = img.constBits()
    ptr.setsize(img.sizeInBytes())
    return np.frombuffer(ptr, np.uint8).reshape(img.height(), img.bytesPerLine() // 4, 4)[
        :, : img.width(), :3].copy()


@pytest.mark.parametrize("starved", [False, True], ids=["core free", "views spared"])
def test_switching_to_the_circuit_while_running_never_blanks_the_window(
        qtbot: Any, app_window: Any, starved: bool) -> None:
    """Also while every core is busy and the views beside the arena are spared (made to
    happen here: the simulation thread is said to wait for a CPU twice as long as the GUI
    draws)."""
    win = app_window()
    screen = win.screen().geometry()
    win.move(screen.topLeft())
    win.resize(min(1280, screen.width()), min(800, screen.height()))
    native = int(win.winId())
    if starved:
        win.runner.sim_wait_s = lambda: 2.0 * time.thread_time()
    win.controls.speed_box.setCurrentText("max")
    win.controls.play()
    qtbot.waitUntil(lambda: win.source.step() > 100, timeout=20000)
    if starved:
        qtbot.waitUntil(lambda: win.frame_budget.active, timeout=5000)
    win.docks["Circuit"].raise_()
    qtbot.waitUntil(lambda: "Circuit" in win.views, timeout=10000)
    # the first OpenGL view did not make Qt re-create the native window (which the X server
    # shows black until everything is drawn again)
    assert int(win.winId()) == native
    view = win.views["Circuit"]
    for _ in range(5):  # the frames right after the switch, as the screen shows them
        qtbot.wait(60)
        shown = _on_screen_pixels(win)
        assert (shown.max(axis=-1) < 6).mean() < 0.5, "the window is blank on screen"
    qtbot.waitUntil(lambda: not view.canvas.waiting, timeout=20000)

    def circuit_shown() -> None:
        circuit = _on_screen_pixels(view)
        n = circuit.shape[0] * circuit.shape[1]
        assert count_near(circuit, palette.BACKGROUND, 12) > 0.3 * n  # the scene's background
        bg = np.array(palette.rgb(palette.BACKGROUND))
        drawn = (np.abs(circuit.astype(int) - bg).max(axis=-1) > 40).sum()
        assert drawn > 0.01 * n  # sheets, arrows and labels over it

    qtbot.waitUntil(circuit_shown, timeout=20000)
    assert win.source.step() > 100 and win.runner.playing


def test_the_circuit_draws_again_after_its_dock_floats(qtbot: Any, app_window: Any) -> None:
    win = app_window()
    screen = win.screen().geometry()
    win.move(screen.topLeft())
    win.resize(min(1280, screen.width()), min(800, screen.height()))
    win.controls.play()
    win.docks["Circuit"].raise_()
    qtbot.waitUntil(lambda: "Circuit" in win.views, timeout=10000)
    view = win.views["Circuit"]
    qtbot.waitUntil(lambda: not view.canvas.waiting, timeout=20000)
    first, renders = view.canvas, view.renders
    dock = win.docks["Circuit"]
    # the canvas draws offscreen: floating moves only the picture to another window
    dock.setFloating(True)
    dock.setGeometry(screen.x() + 10, screen.y() + 10, 420, 320)
    qtbot.waitUntil(lambda: view.renders > renders + 2, timeout=10000)
    assert view.canvas is first

    def drawn() -> None:
        shown = _on_screen_pixels(view)
        n = shown.shape[0] * shown.shape[1]
        bg = np.array(palette.rgb(palette.BACKGROUND))
        assert count_near(shown, palette.BACKGROUND, 12) > 0.3 * n
        assert (np.abs(shown.astype(int) - bg).max(axis=-1) > 40).sum() > 0.01 * n

    qtbot.waitUntil(drawn, timeout=20000)
    dock.setFloating(False)  # and back
    dock.raise_()
    renders = view.renders
    qtbot.waitUntil(lambda: view.renders > renders + 2, timeout=10000)
    qtbot.waitUntil(drawn, timeout=20000)
    assert view.canvas is first
    win.controls.pause()
