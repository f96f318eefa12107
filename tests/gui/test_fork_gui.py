"""Fork in the app: A/B switch, side-by-side views that draw different pixels once B is changed,
the difference strip, both steps/s in the status bar, unfork."""

from __future__ import annotations

from typing import Any

import numpy as np
from PyQt6.QtCore import Qt

from hippoviz.gui.views.fields_view import _GAP, _LABEL_H
from hippoviz.runtime import SetParams, Step

from .helpers import pixels

CUT = "learning.g_ca3_dg"


def _run_steps(qtbot: Any, win: Any, n: int) -> None:
    target = win.source.step() + n
    win.source.command(Step(n))
    qtbot.waitUntil(lambda: win.source.step() >= target, timeout=60_000)


def test_fork_edit_b_run_and_both_galleries_differ(qtbot: Any, make_window: Any) -> None:
    win = make_window()
    _run_steps(qtbot, win, 3000)
    assert not win.act_unfork.isEnabled() and win.act_fork.shortcut().toString() == "Ctrl+F"
    win.act_fork.trigger()
    qtbot.waitUntil(lambda: bool(win.twin_panes), timeout=10_000)
    assert set(win.twin_panes) == {"Raster", "Place fields", "Mismatch", "Metrics"}
    assert win.act_unfork.isEnabled() and not win.act_fork.isEnabled()
    runner_b = win.runner.branch_b
    assert runner_b is not None

    # the A/B switch: B's panel, framed in B's colour
    panel = win.branch_panel
    assert panel.header.isVisible()
    qtbot.mouseClick(panel.buttons["b"], Qt.MouseButton.LeftButton)
    assert panel.branch == "b" and panel.current_panel() is win.params_panel_b
    assert "#ff8c3a" in panel.frame.styleSheet()
    win.params_panel_b.parameter(CUT).setValue(0.0)
    qtbot.waitUntil(lambda: runner_b.source.params().learning.g_ca3_dg == 0.0, timeout=10_000)
    assert win.source.params().learning.g_ca3_dg != 0.0

    _run_steps(qtbot, win, 6000)
    pane = win.twin_panes["Place fields"]
    ga, gb = pane.view_a, pane.view_b
    dock = win.docks["Place fields"]
    dock.raise_()
    win.resize(2000, 900)  # room for two whole galleries (A keeps its toolbar)
    # both galleries show maps taken after the change (published at most once a second)
    step_now = win.source.step()
    qtbot.waitUntil(lambda: ga._maps_obj is not None and gb._maps_obj is not None
                    and win.source.ratemaps() is not None
                    and runner_b.source.ratemaps() is not None, timeout=20_000)
    qtbot.wait(2500)
    for g in (ga, gb):
        g.refresh()
        g._redraw()
    assert win.source.step() == runner_b.source.step() >= step_now
    # the same cells in the same tiles (B follows A's order and page)...
    assert ga.page_units and ga.page_units == gb.page_units
    sa, sb = pixels(ga.view), pixels(gb.view)  # on screen (B's pane may be narrower)
    assert len(np.unique(sa.reshape(-1, 3), axis=0)) > 20  # A drew maps, not a blank
    assert len(np.unique(sb.reshape(-1, 3), axis=0)) > 20
    # ...laid out alike: the gallery images hold the same tiles at the same places (each
    # canvas is its view's size, so compare the tiles' common area)...
    assert (ga._tile, ga._cols, ga._rows) == (gb._tile, gb._cols, gb._rows)
    th, tw = ga._tile
    h = min(_GAP + ga._rows * (th + _LABEL_H + _GAP), ga.image.image.shape[0],
            gb.image.image.shape[0])
    w = min(_GAP + ga._cols * (tw + _GAP), ga.image.image.shape[1], gb.image.image.shape[1])
    pa, pb = ga.image.image[:h, :w], gb.image.image[:h, :w]
    # ...and different pixels: B's fields went their own way
    differ = int((np.abs(pa.astype(int) - pb.astype(int)).reshape(*pa.shape[:2], -1)
                  .max(axis=-1) > 30).sum())
    assert differ > 500, differ

    # a cell selected in one is selected in the other
    unit = ga.page_units[2]
    win.selection.select(ga.layer, unit)
    assert gb._selected_unit() == ga._selected_unit() == unit

    # the difference strip, and both steps/s
    strip = win.twin_strip
    assert strip is not None
    win.twin_dock.raise_()
    strip.refresh()
    arr = strip.arrays()
    assert arr["t"].size > 10 and arr["t"][-1] > 50.0
    assert np.nanmin(arr["pv_dg"]) < 1.0
    assert "learning.g_ca3_dg" in strip.caption.text()
    win.update_status()
    assert win.lbl_sps.text().startswith("A ") and " B " in win.lbl_sps.text()
    assert "forked" in win.windowTitle()

    # overlay mode: B's curves in A's mismatch plot, B's half hidden
    win.set_twin_mode("overlay")
    mm = win.twin_panes["Mismatch"]
    assert mm.view_a.overlay is runner_b.source
    assert win.twin_panes["Raster"].splitter.widget(1).isVisibleTo(win.twin_panes["Raster"])
    win.set_twin_mode("split")
    assert mm.view_a.overlay is None

    # unfork, keeping B: one run again, with B's parameters
    win.unfork("b")
    qtbot.waitUntil(lambda: not win.twin_panes, timeout=10_000)
    assert win.docks["Place fields"].widget() is ga
    assert not panel.header.isVisible() and win.params_panel_b is None
    qtbot.waitUntil(lambda: win.source.params().learning.g_ca3_dg == 0.0, timeout=10_000)
    assert win.act_fork.isEnabled() and "forked" not in win.windowTitle()
    _run_steps(qtbot, win, 100)


def test_recording_a_forked_run_stores_both_branches(qtbot: Any, make_window: Any,
                                                     tmp_path: Any) -> None:
    from hippoviz.gui.capture.capture_controller import install
    from hippoviz.record import open_recording
    from hippoviz.runtime.replay import verify

    win = make_window()
    install(win)
    ctl = win.capture
    _run_steps(qtbot, win, 200)
    path = tmp_path / "run.h5"
    with qtbot.waitSignal(ctl.session.started, timeout=20_000):
        ctl.start_session_recording(path)
    _run_steps(qtbot, win, 300)
    with qtbot.waitSignal(ctl.session.branch_started, timeout=20_000):
        win.fork()
    qtbot.waitUntil(lambda: win.runner.branch_b.source.params() is not None, timeout=10_000)
    win.runner.branch_b.source.command(SetParams({CUT: 0.0}))
    _run_steps(qtbot, win, 400)
    # unfork keeping B: A's file closes, B's goes on as the recording
    with qtbot.waitSignal(ctl.session.branch_stopped, timeout=20_000) as sig:
        win.unfork("b")
    assert sig.args[0] == str(path)
    _run_steps(qtbot, win, 100)
    assert ctl.session.recording  # not stopped by the unfork
    with qtbot.waitSignal(ctl.session.stopped, timeout=30_000) as sig:
        ctl.stop_session_recording()
    path_b = tmp_path / "run-B.h5"
    assert sig.args[0] == str(path_b)
    with open_recording(path) as ra, open_recording(path_b) as rb:
        assert ra.branch is not None and rb.branch is not None
        assert ra.branch["name"] == "a" and rb.branch["name"] == "b"
        assert ra.branch["fork_step"] == rb.branch["fork_step"] == 500
        assert ra.branch["twin"] == "run-B.h5" and rb.branch["twin"] == "run.h5"
        assert ra.start_step == 200 and rb.start_step == 500
        assert ra.end_step == 900 and rb.end_step == 1000
        assert rb.params_at(rb.end_step).learning.g_ca3_dg == 0.0
    assert verify(path).ok and verify(path_b).ok


def test_forked_window_fits_a_1280_screen_and_b_follows_a(qtbot: Any, make_window: Any) -> None:
    """Two rasters and two galleries side by side still fit the app's default 1280-px width:
    B's raster and gallery hide their toolbars and follow A's (same window, order, rows)."""
    win = make_window()
    win.act_fork.trigger()
    qtbot.waitUntil(lambda: bool(win.twin_panes), timeout=10_000)
    assert win.minimumSizeHint().width() <= 1280
    ra, rb = win.views["Raster"], win.views["Raster B"]
    assert rb.leader is ra and not rb.window_spin.isVisible() and ra.window_spin.isVisible()
    ra.window_spin.setValue(4)
    ra.order_box.setCurrentIndex(1)
    rb.refresh()
    assert rb.window_spin.value() == 4 and rb.order_box.currentIndex() == 1
    ra.vb.setYRange(10, 42, padding=0)
    rb.refresh()
    lo, hi = rb.vb.viewRange()[1]
    assert abs(lo - 10) < 1e-6 and abs(hi - 42) < 1e-6
    win.unfork("a")
    qtbot.waitUntil(lambda: not win.twin_panes, timeout=10_000)
    assert "Raster B" not in win.views and ra.window_spin.isVisible()
