"""Every view draws, selection works across views, dialogs report errors instead of crashing."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PyQt6.QtCore import QPoint, QPointF, Qt
from PyQt6.QtWidgets import QMessageBox

from hippoviz.gui.main_window import HOSTED_VIEWS
from hippoviz.runtime import Play

from .helpers import distinct_colours


def _ticks(qtbot: Any, win: Any, n: int = 3) -> None:
    for _ in range(n):
        with qtbot.waitSignal(win.timer.timeout, timeout=2000):
            pass


def _run_until(qtbot: Any, win: Any, step: int, timeout: int = 30000) -> None:
    win.source.command(Play(until_step=step))
    qtbot.waitUntil(lambda: win.source.step() == step
                    and not win.source.stats().playing, timeout=timeout)


def test_hosts_every_view(make_window: Callable[..., Any]) -> None:
    win = make_window()
    hosted = {type(v).__name__ for v in win.views.values()}
    hosted |= {c.__name__ for c in win.view_classes.values()}
    assert {"QtArenaView", "QtRasterView"} <= hosted
    for cls, _dock in HOSTED_VIEWS:
        assert cls.__name__ in hosted, f"{cls.__name__} is not hosted"
    assert win.view_errors == []


def test_every_view_draws_non_blank_pixels(qtbot: Any, make_window: Callable[..., Any]) -> None:
    win = make_window()
    win.resize(1280, 800)
    win.selection.select("ca1", 0)
    win.controls.speed_box.setCurrentText("max")
    _run_until(qtbot, win, 1500)  # 15 s: rate maps, weights and a trail to draw
    titles = ["Arena", *[t for t in win.docks if t != "Controls"]]
    for title in titles:
        dock = win.docks.get(title)
        if dock is not None:
            dock.show()
            dock.raise_()
        qtbot.waitUntil(lambda t=title: t in win.views, timeout=5000)  # created when shown
        view = win.views[title]
        qtbot.waitUntil(view.isVisible, timeout=2000)
        _ticks(qtbot, win, 3)
        qtbot.waitUntil(lambda v=view: distinct_colours(v) >= 12, timeout=8000)
    assert set(win.views) == set(titles)
    assert win.view_errors == []


def test_arena_overlays_the_selected_cells_rate_map(qtbot: Any,
                                                    make_window: Callable[..., Any]) -> None:
    win = make_window()
    _run_until(qtbot, win, 800)
    assert not win.arena.map_item.isVisible()
    win.selection.select("ca3", 4)
    qtbot.waitUntil(win.arena.map_item.isVisible, timeout=5000)
    assert "CA3 #4" in win.arena.caption.text()


def test_clicking_the_raster_selects_a_cell(qtbot: Any, make_window: Callable[..., Any]) -> None:
    win = make_window()
    raster = win.raster
    _run_until(qtbot, win, 300)
    _ticks(qtbot, win, 3)
    row = raster.row_of("ca3", 5)
    raster.zoom_box.setCurrentText("50")  # rows several pixels high: a click hits one row
    vb = raster.vb
    vb.setYRange(row - 20, row + 30, padding=0)
    _ticks(qtbot, win, 2)
    x_mid = sum(vb.viewRange()[0]) / 2
    pos = raster.glw.mapFromScene(vb.mapViewToScene(QPointF(x_mid, row + 0.5)))
    with qtbot.waitSignal(win.selection.changed, timeout=2000):
        qtbot.mouseClick(raster.glw.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(pos))
    assert (win.selection.layer, win.selection.unit) == ("ca3", 5)
    _ticks(qtbot, win)
    assert raster.sel_band.isVisible()


def test_raster_order_zoom_and_page(qtbot: Any, make_window: Callable[..., Any]) -> None:
    win = make_window()
    raster = win.raster
    _run_until(qtbot, win, 1200)
    raster.order_box.setCurrentText("field position")
    raster.zoom_box.setCurrentText("50")
    _ticks(qtbot, win, 3)
    lo, hi = raster.vb.viewRange()[1]
    assert hi - lo == pytest.approx(50, abs=1)
    raster.page(1)
    assert raster.vb.viewRange()[1][0] == pytest.approx(lo + 50, abs=1)
    raster.window_spin.setValue(30)
    _ticks(qtbot, win, 3)
    assert raster.image.width() > 0
    for layer, n in win.source.layer_sizes().items():
        assert sorted(raster._rank[layer]) == list(range(n))  # a permutation


def test_divergence_pauses_names_parameter_and_offers_reset(
        qtbot: Any, make_window: Callable[..., Any]) -> None:
    win = make_window(fake=True, nan_at_step=60)
    win.params_panel.parameter("learning.lr_dg", "gating").setValue(0.05)
    win.controls.play()
    qtbot.waitUntil(lambda: getattr(win, "divergence_box", None) is not None, timeout=5000)
    box = win.divergence_box
    assert "lr_dg" in box.text()
    assert not win.source.stats().playing
    qtbot.waitUntil(lambda: not win.controls.act_play.isChecked(), timeout=2000)
    build_id = win.source.build_id()
    box.button(QMessageBox.StandardButton.Reset).click()
    qtbot.waitUntil(lambda: win.source.build_id() == build_id + 1, timeout=5000)
    assert win.source.step() == 0


def test_bad_config_is_a_dialog(qtbot: Any, make_window: Callable[..., Any],
                                tmp_path: Path) -> None:
    win = make_window()
    bad = tmp_path / "bad.toml"
    bad.write_text("[learning]\ng_ca3_dgg = 1.0\n", encoding="utf-8")
    assert not win.open_config(bad)
    box = win._error_box
    assert box is not None and box.isVisible()
    assert "g_ca3_dg" in box.text()
    box.close()
    good = tmp_path / "good.toml"
    assert win.save_config(good)
    assert win.open_config(good)
    assert win.recent_files()[0] == str(good.resolve())


def test_app_create_window_reports_bad_config(qtbot: Any, tmp_path: Path) -> None:
    from hippoviz.gui.app import create_window

    bad = tmp_path / "bad.toml"
    bad.write_text("not toml at all [", encoding="utf-8")
    win = create_window(argparse.Namespace(config=str(bad), preset="small", replay=None,
                                           seed=2))
    qtbot.addWidget(win)
    try:
        win.show()
        assert win._error_box is not None and "malformed" in win._error_box.text()
        assert win.source.seed() == 2
    finally:
        win.close()
    assert not win.runner.alive


def test_help_dialogs(qtbot: Any, make_window: Callable[..., Any]) -> None:
    import hippoviz

    win = make_window()
    about = win.show_about()
    assert hippoviz.__version__ in about.text() and "102364" in about.text()
    about.close()
    keys = win.show_shortcuts()
    assert "Space" in keys.text()
    keys.close()


def test_environment_actions(qtbot: Any, make_window: Callable[..., Any]) -> None:
    from hippoviz import params as P

    win = make_window()
    env = win.env_panel
    win.params_panel.tabs.setCurrentWidget(env)
    env.btn_b.click()
    qtbot.waitUntil(lambda: P.get(win.source.params(), "inputs.context_morph") == 1.0)
    env.btn_room.click()
    qtbot.waitUntil(lambda: P.get(win.source.params(), "inputs.room") == 1)
    env.btn_stretch.click()
    qtbot.waitUntil(lambda: P.get(win.source.params(), "arena.height_m") == 1.5)
    win.arena.act_circle.trigger()
    qtbot.waitUntil(lambda: P.get(win.source.params(), "arena.shape_morph") == 1.0)
    env.btn_add.click()
    qtbot.waitUntil(lambda: len(win.source.objects() or []) == 1)
    _ticks(qtbot, win, 3)
    assert "#" in env.obj_label.text()
    assert win.arena.stretch_box.currentText() == "1 × 1.5 m"
    assert win.view_errors == []


def test_arena_shows_the_rat_before_the_first_step(qtbot: Any,
                                                   make_window: Callable[..., Any]) -> None:
    """A fresh (or reset) simulation has no samples yet: the arena still shows the rat at its
    start, pointing its way, and says how to start."""
    win = make_window()
    win.resize(1280, 800)
    qtbot.waitUntil(lambda: win.source.pose() is not None, timeout=10000)
    _ticks(qtbot, win, 3)
    arena = win.arena
    assert int(win.source.step()) == 0
    qtbot.waitUntil(arena.rat.isVisible, timeout=5000)
    x, y, _heading = win.source.pose()
    assert (arena.rat.pos().x(), arena.rat.pos().y()) == pytest.approx((x, y))
    assert "press Play" in arena.caption.text()
    img = arena.grab().toImage()
    pink = sum(1 for i in range(0, img.width(), 2) for j in range(0, img.height(), 2)
               if (lambda c: c.red() > 200 and 50 < c.green() < 110 and c.blue() > 130)(
                   img.pixelColor(i, j)))
    assert pink >= 5, "the rat's colour is not in the arena's pixels"
    _run_until(qtbot, win, 50)
    qtbot.waitUntil(lambda: "press Play" not in arena.caption.text(), timeout=5000)
