"""Fork in the app: A/B switch, side-by-side views that draw different pixels once B is changed,
the difference strip, both steps/s in the status bar, unfork."""

from __future__ import annotations

from typing import Any

import numpy as np
from PyQt6.QtCore import Qt

from hippoviz.runtime import Step

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
    win.resize(1400, 900)
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
    pa, pb = pixels(ga.view), pixels(gb.view)
    assert pa.shape == pb.shape
    assert len(np.unique(pa.reshape(-1, 3), axis=0)) > 20  # A drew maps, not a blank
    assert len(np.unique(pb.reshape(-1, 3), axis=0)) > 20
    # ...and different pixels: B's fields went their own way
    differ = int((np.abs(pa.astype(int) - pb.astype(int)).max(axis=-1) > 30).sum())
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
