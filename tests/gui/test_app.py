"""The desktop app end to end (real simulator, small preset)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QColor

from hippoviz import params as P
from hippoviz.runtime import AddObject, Play, SetParams, SimRunner

from .helpers import double_click, drag, view_point


def _ticks(qtbot: Any, win: Any, n: int = 3) -> None:
    """Let the display timer fire ``n`` times."""
    for _ in range(n):
        with qtbot.waitSignal(win.timer.timeout, timeout=2000):
            pass


def _run_until(qtbot: Any, win: Any, step: int, timeout: int = 20000) -> None:
    win.source.command(Play(until_step=step))
    qtbot.waitUntil(lambda: win.source.step() == step
                    and not win.source.stats().playing, timeout=timeout)


def test_starts_paused_runs_and_pauses(qtbot: Any, make_window: Callable[..., Any]) -> None:
    win = make_window()
    play = win.controls.act_play
    assert not play.isChecked() and play.text() == "Play"
    _ticks(qtbot, win)
    assert win.source.step() == 0
    assert win.lbl_state.text() == "Paused"

    button = win.controls.widgetForAction(play)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert play.text() == "Pause"
    qtbot.waitUntil(lambda: win.source.step() > 100, timeout=10000)
    qtbot.waitUntil(lambda: win.lbl_state.text() == "Running", timeout=2000)

    with qtbot.waitActive(win):
        win.activateWindow()
    qtbot.keyClick(win, Qt.Key.Key_Space)  # Space pauses
    qtbot.waitUntil(lambda: not win.source.stats().playing, timeout=2000)
    stopped_at = win.runner.call(lambda s: s.step).result(2)
    _ticks(qtbot, win)
    assert win.runner.call(lambda s: s.step).result(2) == stopped_at
    assert not play.isChecked()

    win.controls.act_step.trigger()
    qtbot.waitUntil(lambda: win.source.step() == stopped_at + win.runner.step_steps)
    assert win.view_errors == []


def test_gating_change_reaches_simulator_before_the_next_chunk(
        qtbot: Any, make_window: Callable[..., Any]) -> None:
    """A gating edit waits at most for the chunk that runs when it is made (a chunk lasts about
    15 ms of wall time, so it reaches the simulator well within 100 ms; the wall-clock latency is
    measured by tests/benchmarks/bench_gui.py, not here)."""
    win = make_window()
    win.controls.play()
    qtbot.waitUntil(lambda: win.source.step() > 20, timeout=10000)
    key = "learning.g_ca3_dg"
    param = win.params_panel.parameter(key, "gating")
    seen: list[tuple[Any, int]] = []

    def on_applied(a: Any) -> None:  # on the simulation thread, between chunks
        seen.append((a, win.runner.chunks_run))

    win.runner.call(lambda s: s.applied.connect(on_applied)).result(2)
    param.setValue(0.0)  # what editing the spin box does
    c0 = win.runner.chunks_run  # read after the edit: at least the chunk running meanwhile
    qtbot.waitUntil(lambda: bool(seen), timeout=10000)
    applied, c1 = seen[0]
    assert isinstance(applied.command, SetParams)
    assert applied.command.patch == {key: 0.0}
    assert c1 - c0 <= 1, f"the change waited {c1 - c0} chunks"
    assert win.source.stats().playing  # it ran on meanwhile
    # the published copy follows at once, and the simulator itself applies it
    qtbot.waitUntil(lambda: P.get(win.source.params(), key) == 0.0, timeout=2000)
    assert P.get(win.runner.call(lambda s: s.params).result(2), key) == 0.0
    # both trees show it
    assert win.params_panel.parameter(key, "all").value() == 0.0


def test_reset_buttons_show_which_values_differ_from_the_default(
        qtbot: Any, make_window: Callable[..., Any]) -> None:
    """A row's reset button is enabled only while its value differs from the schema default
    (pyqtgraph alone enables every row's once the panel is built), it looks different then,
    and pressing it brings the default back into the simulation."""
    win = make_window()
    panel = win.params_panel
    key = "learning.g_ec_ca1"
    param = panel.parameter(key, "gating")
    item = next(iter(param.items))
    btn = item.defaultBtn
    qtbot.waitUntil(btn.isVisible, timeout=5000)
    assert not btn.isEnabled()
    idle = btn.grab().toImage()
    # the same parameter's row in the other tree too; a row the preset changed has it enabled
    other = next(iter(panel.parameter(key, "all").items))
    assert not other.defaultBtn.isEnabled()
    n_ca1 = panel.parameter("network.n_ca1", "all")
    assert n_ca1.value() != P.spec("network.n_ca1").default  # the test window's small preset
    assert next(iter(n_ca1.items)).defaultBtn.isEnabled()

    param.setValue(0.5)
    assert btn.isEnabled()
    qtbot.waitUntil(lambda: P.get(win.source.params(), key) == 0.5, timeout=5000)
    qtbot.wait(50)
    lit = btn.grab().toImage()
    a = np.frombuffer(idle.constBits().asstring(idle.sizeInBytes()), np.uint8)
    b = np.frombuffer(lit.constBits().asstring(lit.sizeInBytes()), np.uint8)
    assert a.shape == b.shape and int(np.abs(a.astype(int) - b.astype(int)).sum()) > 0
    # the mirror row in the other tree agrees
    assert next(iter(panel.parameter(key, "all").items)).defaultBtn.isEnabled()

    btn.click()
    assert param.value() == 1.0 and not btn.isEnabled()
    qtbot.waitUntil(lambda: P.get(win.source.params(), key) == 1.0, timeout=5000)
    # typing the default back by hand disables it too
    param.setValue(0.7)
    param.setValue(1.0)
    assert not btn.isEnabled()
    assert win.view_errors == []


def test_gating_tree_fits_its_dock(qtbot: Any, make_window: Callable[..., Any]) -> None:
    """Each gating row shows its value and its reset arrow without scrolling sideways."""
    win = make_window(preset="default")
    tree = win.params_panel.gating_tree
    qtbot.waitUntil(lambda: tree.viewport().width() > 0, timeout=5000)
    qtbot.wait(100)
    assert tree.horizontalScrollBar().maximum() == 0
    btn = next(iter(win.params_panel.parameter("inputs.gamma_ta", "gating").items)).defaultBtn
    assert btn.isVisible()
    right = btn.mapTo(tree.viewport(), btn.rect().topRight()).x()
    assert right < tree.viewport().width()


def test_an_unchecked_box_shows_on_the_dark_theme(qtbot: Any) -> None:
    """Fusion outlines an unchecked box in a shade of the window colour, which the dark
    theme makes invisible; its style sheet draws the outline. Checked on one box styled as
    the app would be (the app's own style is left as it is for the other tests)."""
    from PyQt6.QtWidgets import QCheckBox, QStyleFactory, QVBoxLayout, QWidget

    from hippoviz.gui import style as S
    from hippoviz.resources import resource

    def outline(qss: str) -> tuple[float, int]:
        host = QWidget()
        host.setStyle(QStyleFactory.create("Fusion"))
        host.setPalette(S._dark_palette())
        host.setAutoFillBackground(True)
        host.setStyleSheet(qss)
        lay = QVBoxLayout(host)
        box = QCheckBox()
        box.setStyle(host.style())
        lay.addWidget(box)
        qtbot.addWidget(host)
        host.show()
        qtbot.waitExposed(host)
        img = box.grab().toImage()
        luma = np.array([[QColor(img.pixel(x, y)).lightness() for x in range(img.width())]
                         for y in range(img.height())])
        bright = luma >= np.median(luma) + 40  # at least 40 levels above the background
        return float(luma.max() - np.median(luma)), int((bright.sum(axis=1) >= 8).sum())

    _, rows_without = outline("")
    contrast, rows = outline(resource("styles", "dark.qss").read_text(encoding="utf-8"))
    assert rows_without == 0  # what the theme drew before: no edge stands out
    assert contrast >= 40 and rows >= 2  # its top and bottom edges


def test_presets_menu_names_earlier_models_by_version(
        qtbot: Any, make_window: Callable[..., Any], monkeypatch: Any) -> None:
    """Every preset has an entry; the earlier versions' models read "hippoviz 0.4" (not
    "Hippoviz-0.4") under their own heading, and an entry rebuilds with its preset."""
    win = make_window()
    menu = next(a.menu() for a in win.menuBar().actions() if a.text() == "&Presets")
    texts = [a.text() for a in menu.actions() if not a.isSeparator()]
    entries = [a for a in menu.actions() if not a.isSeparator()]
    assert len(entries) == len(P.PRESETS)
    earlier = [n for n in P.PRESETS if n.startswith("hippoviz-")]
    assert earlier and all(f"hippoviz {n.split('-', 1)[1]}" in texts for n in earlier)
    assert not any(t.startswith("Hippoviz") for t in texts)
    heading = [a for a in menu.actions() if a.isSeparator() and a.text() == "Earlier models"]
    assert len(heading) == 1
    monkeypatch.setattr(win, "_confirm", lambda *a, **k: True)
    build_id = win.source.build_id()
    next(a for a in entries if a.text() == "Small").trigger()
    qtbot.waitUntil(lambda: win.source.build_id() == build_id + 1, timeout=10000)
    assert win.source.params() == P.load_preset("small")


def test_rebuild_only_parameter_applies_on_confirmation(
        qtbot: Any, make_window: Callable[..., Any]) -> None:
    win = make_window()
    panel = win.params_panel
    build_id = win.source.build_id()
    panel.parameter("network.n_ca1", "all").setValue(32)
    assert panel.pending() == {"network.n_ca1": 32}
    assert panel.apply_btn.isEnabled()
    assert P.get(win.source.params(), "network.n_ca1") == 48  # not applied yet
    assert panel.confirm_rebuild(ask=False)
    qtbot.waitUntil(lambda: win.source.build_id() == build_id + 1, timeout=10000)
    assert win.source.layer_sizes()["ca1"] == 32
    _ticks(qtbot, win, 4)
    assert win.view_errors == []


def test_drag_object_moves_it_in_simulation(qtbot: Any, make_window: Callable[..., Any]) -> None:
    win = make_window()
    arena = win.arena
    win.source.command(AddObject(0.2, 0.2))
    qtbot.waitUntil(lambda: len(arena.object_items()) == 1, timeout=3000)
    oid = next(iter(arena.object_items()))
    _ticks(qtbot, win)
    start = view_point(arena.plot, 0.2, 0.2)
    end = view_point(arena.plot, -0.25, -0.1)
    drag(arena.plot.viewport(), start, end)

    def moved() -> bool:
        objs = win.runner.call(lambda s: list(s.sim.objects)).result(2)
        return len(objs) == 1 and objs[0][0] == oid and abs(objs[0][1] + 0.25) < 0.03 and abs(
            objs[0][2] + 0.1) < 0.03

    qtbot.waitUntil(moved, timeout=3000)


def test_add_and_remove_object_with_the_mouse(qtbot: Any,
                                              make_window: Callable[..., Any]) -> None:
    win = make_window()
    arena = win.arena
    _ticks(qtbot, win)
    pos = view_point(arena.plot, -0.2, 0.3)
    double_click(arena.plot.viewport(), pos)
    qtbot.waitUntil(lambda: len(win.source.objects() or []) == 1, timeout=3000)
    _oid, x, y = win.source.objects()[0]
    assert abs(x + 0.2) < 0.03 and abs(y - 0.3) < 0.03
    qtbot.waitUntil(lambda: len(arena.object_items()) == 1, timeout=3000)
    _ticks(qtbot, win)
    qtbot.mouseClick(arena.plot.viewport(), Qt.MouseButton.RightButton, pos=pos)
    qtbot.waitUntil(lambda: not win.source.objects(), timeout=3000)


def test_reset_same_seed_reproduces_trajectory(qtbot: Any,
                                               make_window: Callable[..., Any]) -> None:
    win = make_window(seed=7)
    _run_until(qtbot, win, 400)
    first = win.source.samples(1e9)
    build_id = win.source.build_id()
    win.controls.act_reset.trigger()
    qtbot.waitUntil(lambda: win.source.build_id() == build_id + 1, timeout=10000)
    assert win.source.step() == 0
    assert win.source.seed() == 7
    _run_until(qtbot, win, 400)
    again = win.source.samples(1e9)
    np.testing.assert_array_equal(first.pos_m, again.pos_m)
    np.testing.assert_array_equal(first.mismatch, again.mismatch)

    win.controls.act_new_seed.trigger()
    qtbot.waitUntil(lambda: win.source.build_id() == build_id + 2, timeout=10000)
    assert win.source.seed() == win.controls.seed_box.value()
    _run_until(qtbot, win, 400)
    assert not np.array_equal(first.pos_m, win.source.samples(1e9).pos_m)


def test_close_while_running_is_fast(qtbot: Any, make_window: Callable[..., Any]) -> None:
    win = make_window()
    win.controls.speed_box.setCurrentText("max")
    win.controls.play()
    qtbot.waitUntil(lambda: win.source.step() > 200, timeout=10000)
    t0 = time.perf_counter()
    win.close()
    assert time.perf_counter() - t0 < 1.0
    assert not win.runner.alive
    assert not [t for t in threading.enumerate() if t.name == "hippoviz-sim"]


def _all_spikes(source: Any) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {layer: source.spikes(layer, -1.0, 1e9) for layer in source.layer_sizes()}


def test_views_do_not_change_the_simulation(qtbot: Any,
                                            make_window: Callable[..., Any]) -> None:
    steps = 600
    win = make_window(seed=3)
    win.selection.select("ca1", 2)
    for dock in win.docks.values():  # every view open, each one drawn while it runs
        dock.show()
        dock.raise_()
        _ticks(qtbot, win, 2)
    _run_until(qtbot, win, steps)
    with_views = _all_spikes(win.source)
    win.close()

    runner = SimRunner(P.load_preset("small"), seed=3)
    runner.start()
    try:
        assert runner.wait_ready(60)
        runner.command(Play(until_step=steps))
        qtbot.waitUntil(lambda: runner.source.step() == steps, timeout=20000)
        headless = _all_spikes(runner.source)
    finally:
        assert runner.stop(5)
    assert sum(len(t) for t, _ in with_views.values()) > 0
    for layer, (t, u) in with_views.items():
        np.testing.assert_array_equal(t, headless[layer][0], err_msg=layer)
        np.testing.assert_array_equal(u, headless[layer][1], err_msg=layer)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_theme_is_remembered(qtbot: Any, make_window: Callable[..., Any], theme: str) -> None:
    win = make_window()
    win.set_theme(theme)
    assert win.settings.value("theme") == theme
    _ticks(qtbot, win)
    assert win.view_errors == []


def test_layout_and_theme_are_remembered(qtbot: Any, settings: Any) -> None:
    from hippoviz.gui.main_window import QtMainWindow

    win = QtMainWindow(P.load_preset("small"), 1, settings=settings, restore=True)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.docks["Raster"].hide()
    win.set_theme("light")
    win.close()
    assert not win.runner.alive

    again = QtMainWindow(P.load_preset("small"), 1, settings=settings, restore=True)
    qtbot.addWidget(again)
    try:
        again.show()
        qtbot.waitExposed(again)
        assert not again.docks["Raster"].isVisible()
        assert again.docks["Controls"].isVisible()
        assert again.settings.value("theme") == "light"
        assert again.theme_actions["light"].isChecked()
        again.default_layout()
        assert again.docks["Raster"].isVisible()
    finally:
        again.close()
    assert not again.runner.alive


def test_replay_of_a_recording_is_bit_identical(qtbot: Any, make_window: Callable[..., Any],
                                                tmp_path: Any) -> None:
    record = pytest.importorskip("hippoviz.record")
    from hippoviz.sim import build

    path = tmp_path / "session.h5"
    sim = build(P.load_preset("small"), 11)
    with record.Recorder(path, sim) as rec:
        rec.write(sim.run_chunk(50))
        sim.command({"op": "add_object", "x": 0.2, "y": -0.1})
        rec.write(sim.run_chunk(70))
        sim.command({"op": "set", "patch": {"learning.g_ca3_dg": 0.0}})
        rec.write(sim.run_chunk(80))
    with record.open_recording(path) as r:
        pos, end = np.array(r.pos_m), r.end_step

    win = make_window()
    assert win.load_replay(path)
    qtbot.waitUntil(lambda: win.source.seed() == 11, timeout=10000)
    win.controls.play()
    qtbot.waitUntil(lambda: win.source.step() == end
                    and not win.source.stats().playing, timeout=20000)
    np.testing.assert_array_equal(win.source.samples(1e9).pos_m, pos)
    assert P.get(win.source.params(), "learning.g_ca3_dg") == 0.0
    assert "replay" in win.windowTitle()
    qtbot.waitUntil(lambda: win.lbl_state.text().startswith("Replay"), timeout=2000)

    assert not win.load_replay(tmp_path / "missing.h5")
    assert win._error_box is not None and win._error_box.isVisible()


def test_a_silent_layer_is_flagged_in_the_status_bar(qtbot: Any,
                                                     make_window: Callable[..., Any]) -> None:
    win = make_window(seed=2)
    _run_until(qtbot, win, 1200)
    _ticks(qtbot, win, 3)
    assert not win.lbl_health.isVisible()

    def silence(session: Any) -> None:
        session.sim.net.th_ca3[:] = 1e6

    win.runner.call(silence).result(5)
    _run_until(qtbot, win, 2600)
    qtbot.waitUntil(lambda: win.lbl_health.isVisible(), timeout=5000)
    assert win.lbl_health.text().startswith("⚠ CA3 silent (0.0 % active, target 10 %)")
    img = win.lbl_health.grab().toImage()
    reds = sum(1 for x in range(img.width()) for y in range(img.height())
               if (c := img.pixelColor(x, y)).red() > 180 and c.green() < 120)
    assert reds > 20  # drawn in the warning colour


def test_novelty_gated_plasticity_is_shown_in_the_status_bar(
        qtbot: Any, make_window: Callable[..., Any]) -> None:
    from hippoviz.sim import build

    def builder(params: P.Params, seed: int) -> Any:  # the new network novel for 1 s only
        return build(P.replace(params, {"learning.room_novelty_s": 1.0}), seed)

    win = make_window(seed=2, builder=builder)
    _run_until(qtbot, win, 300)
    _ticks(qtbot, win, 3)
    assert not win.lbl_plasticity.isVisible()  # off by default
    win.runner.submit(SetParams({"learning.plasticity_floor": 0.2,
                                 "learning.novelty_trace_s": 1.0}))
    _run_until(qtbot, win, 1500)  # 14 s past the hold at tau = 1 s: decayed to nothing
    qtbot.waitUntil(lambda: win.lbl_plasticity.isVisible(), timeout=5000)
    qtbot.waitUntil(lambda: win.lbl_plasticity.text()
                    == "plasticity ×0.20 (novelty trace 0.00)", timeout=5000)
    win.runner.submit(AddObject(0.3, 0.3))  # a new object: novel again, every rate at full
    _run_until(qtbot, win, 1700)
    qtbot.waitUntil(lambda: win.lbl_plasticity.text().startswith("plasticity ×1.00"),
                    timeout=5000)
    img = win.lbl_plasticity.grab().toImage()
    bg = img.pixelColor(0, 0).lightness()
    ink = sum(1 for x in range(img.width()) for y in range(img.height())
              if abs(img.pixelColor(x, y).lightness() - bg) > 60)
    assert ink > 30  # the text is drawn
