"""Axes drawn from a pixmap cache (``palette.cache_axes``) look exactly as axes drawn afresh,
and change when their range, colours or size change."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PyQt6.QtGui import QImage, QPicture

from hippoviz.gui import palette


def _pixels(widget: Any) -> np.ndarray:
    img = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    ptr = img.constBits()
    ptr.setsize(img.sizeInBytes())
    arr = np.frombuffer(ptr, np.uint32).reshape(img.height(), img.bytesPerLine() // 4)
    return arr[:, : img.width()].copy()


def _plot(qtbot: Any, cached: bool) -> pg.PlotWidget:
    w = pg.PlotWidget()
    qtbot.addWidget(w)
    pi = w.getPlotItem()
    palette.style_plot(pi, left="rate", bottom="time (s)")  # caches the axes
    if not cached:  # the same styling, without the cache
        for name in ("left", "bottom", "right", "top"):
            pi.getAxis(name).setCacheMode(pg.QtWidgets.QGraphicsItem.CacheMode.NoCache)
    pi.plot([0, 1, 2, 3], [0, 2, 1, 3])
    pi.disableAutoRange()
    pi.setXRange(0, 3, padding=0)
    pi.setYRange(0, 3, padding=0)
    w.resize(360, 240)
    w.show()
    qtbot.waitExposed(w)
    return w


def _settle(qtbot: Any) -> None:
    qtbot.wait(50)


def test_cached_axes_draw_as_uncached_ones_after_changes(qtbot: Any) -> None:
    cached, plain = _plot(qtbot, True), _plot(qtbot, False)
    ax = cached.getPlotItem().getAxis("left")
    assert ax.cacheMode() == pg.QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache
    assert plain.getPlotItem().getAxis("left").cacheMode() == (
        pg.QtWidgets.QGraphicsItem.CacheMode.NoCache)
    _settle(qtbot)
    first = _pixels(cached)
    assert np.array_equal(first, _pixels(plain))

    # the cache is in effect: a picture swapped in without update() is not drawn
    ax.picture = QPicture()
    assert np.array_equal(_pixels(cached), first)

    # a new range: new tick labels, drawn alike with and without the cache
    for w in (cached, plain):
        w.getPlotItem().setYRange(0, 250, padding=0)
    _settle(qtbot)
    after = _pixels(cached)
    assert not np.array_equal(after, first)
    assert np.array_equal(after, _pixels(plain))

    # new colours and a new size
    for w in (cached, plain):
        w.getPlotItem().getAxis("left").setTextPen("#ff0000")
        w.resize(420, 260)
    _settle(qtbot)
    recoloured = _pixels(cached)
    assert recoloured.shape != after.shape
    assert np.array_equal(recoloured, _pixels(plain))
    red = (recoloured >> 16) & 0xFF
    assert ((red > 200) & ((recoloured >> 8) & 0xFF < 60)).any()


def test_views_paint_their_background_from_its_brush(qtbot: Any, make_window: Any) -> None:
    """The window's plots draw their background with its brush (``uncache_backgrounds``), as
    they look with pyqtgraph's cached background, and show a new theme's background at once."""
    from PyQt6.QtWidgets import QGraphicsView

    from .test_paint_once import on_screen

    mode = QGraphicsView.CacheModeFlag
    none, cached = mode.CacheNone, mode.CacheBackground
    win = make_window()
    win.resize(1280, 800)
    for title in ("Place fields", "Mismatch", "Weights", "Metrics"):
        win.docks[title].raise_()
        qtbot.wait(50)
    views = win.findChildren(pg.GraphicsView)
    assert len(views) >= 6 and all(v.cacheMode() == none for v in views)
    win.controls.play()
    qtbot.waitUntil(lambda: win.source.step() > 200, timeout=10000)
    win.controls.pause()
    qtbot.wait(300)
    plot = win.arena.plot
    plain = _pixels(plot)
    plot.setCacheMode(cached)
    plot.resetCachedContent()
    assert np.array_equal(_pixels(plot), plain)
    plot.setCacheMode(none)
    for theme in ("light", "dark"):
        win.set_theme(theme)
        qtbot.wait(300)
        bg = plot.backgroundBrush().color()
        shot = on_screen(plot).astype(int)
        share = (np.abs(shot - [bg.red(), bg.green(), bg.blue()]).max(axis=-1) <= 2).mean()
        assert share > 0.2, (theme, share)
