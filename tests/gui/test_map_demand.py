"""The window asks the simulation thread for the rate maps of the views on show only: those
are smoothed every second, the others with each metrics job."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .helpers import distinct_colours


def test_window_asks_for_the_maps_of_the_views_on_show(
        qtbot: Any, make_window: Callable[..., Any]) -> None:
    win = make_window()
    win.resize(1280, 800)
    runner = win.runner
    win.docks["Place fields"].raise_()
    qtbot.waitUntil(lambda: "Place fields" in win.views, timeout=5000)
    fields = win.views["Place fields"]
    qtbot.waitUntil(lambda: runner._map_layers is not None
                    and fields.layer in runner._map_layers, timeout=3000)
    raster = win.views["Raster"]
    raster.order_box.setCurrentIndex(0)
    win.selection.clear()
    qtbot.waitUntil(lambda: runner._map_layers == {fields.layer}, timeout=3000)

    fields.set_layer("dg")
    qtbot.waitUntil(lambda: runner._map_layers == {"dg"}, timeout=3000)
    win.controls.play()
    qtbot.waitUntil(lambda: (m := win.source.ratemaps()) is not None and "dg" in m.maps,
                    timeout=20000)
    qtbot.waitUntil(lambda: distinct_colours(fields) > 50, timeout=10000)  # the maps drawn

    # the gallery hidden behind another tab: nothing asked for
    win.docks["Mismatch"].raise_()
    qtbot.waitUntil(lambda: runner._map_layers == set(), timeout=3000)
    # a cell selected with the arena's map overlay on: its layer
    win.arena.act_map.setChecked(True)
    win.selection.select("ca3", 0)
    qtbot.waitUntil(lambda: runner._map_layers == {"ca3"}, timeout=3000)
    win.arena.act_map.setChecked(False)
    qtbot.waitUntil(lambda: runner._map_layers == set(), timeout=3000)
    # the raster sorted by field position reads every layer
    raster.order_box.setCurrentIndex(1)
    qtbot.waitUntil(lambda: runner._map_layers == set(win.source.layer_sizes()), timeout=3000)
    win.controls.pause()
