"""One repaint per window per frame: plots in several graphics scenes still reach the screen."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QEvent, QObject
from PyQt6.QtGui import QImage
from PyQt6.QtWidgets import QApplication, QHBoxLayout, QWidget

from hippoviz.gui.paint_once import PaintOnce

RED, GREEN = (255, 40, 40), (40, 255, 40)


class Counter(QObject):
    """Counts the events of one type that reach the watched objects."""

    def __init__(self, kind: QEvent.Type) -> None:
        super().__init__()
        self.kind = kind
        self.n = 0

    def eventFilter(self, obj: QObject | None, ev: QEvent | None) -> bool:
        if ev is not None and ev.type() == self.kind:
            self.n += 1
        return False


def on_screen(widget: QWidget) -> np.ndarray:
    """What the X server shows of ``widget`` (not a fresh render of it)."""
    screen = QApplication.primaryScreen()
    assert screen is not None
    top = widget.mapToGlobal(widget.rect().topLeft())
    img = screen.grabWindow(0, top.x(), top.y(), widget.width(), widget.height()).toImage()
    img = img.convertToFormat(QImage.Format.Format_RGBA8888)
    ptr = img.constBits()
    ptr.setsize(img.sizeInBytes())
    a = np.frombuffer(ptr, np.uint8).reshape(img.height(), img.bytesPerLine() // 4, 4)
    return a[:, : img.width(), :3].copy()


def near(a: np.ndarray, rgb: tuple[int, int, int], tol: int = 30) -> int:
    return int((np.abs(a.astype(int) - np.array(rgb)).max(axis=-1) <= tol).sum())


def two_plots(qtbot: Any) -> tuple[QWidget, list[pg.PlotWidget], list[pg.PlotDataItem]]:
    top = QWidget()
    lay = QHBoxLayout(top)
    plots, curves = [], []
    for _ in range(2):
        pw = pg.PlotWidget()
        pw.setBackground("#000000")
        pw.setXRange(0, 10, padding=0)
        pw.setYRange(0, 10, padding=0)
        pw.getPlotItem().hideAxis("left")
        pw.getPlotItem().hideAxis("bottom")
        lay.addWidget(pw)
        plots.append(pw)
        curves.append(pw.plot([0, 10], [1, 1], pen=pg.mkPen("#808080", width=3)))
    qtbot.addWidget(top)
    top.resize(500, 250)
    top.show()
    qtbot.waitExposed(top)
    qtbot.wait(100)
    return top, plots, curves


def test_two_scenes_changed_in_one_frame_are_painted_with_one_window_repaint(qtbot: Any) -> None:
    top, plots, curves = two_plots(qtbot)
    updates = Counter(QEvent.Type.UpdateRequest)
    paints = Counter(QEvent.Type.Paint)
    top.installEventFilter(updates)
    for pw in plots:
        pw.viewport().installEventFilter(paints)
    once = PaintOnce()
    # a frame: both plots change, then the frame ends
    curves[0].setData([0, 10], [5, 5], pen=pg.mkPen(RED, width=3))
    curves[1].setData([0, 10], [5, 5], pen=pg.mkPen(GREEN, width=3))
    once.flush([top])
    assert once.held >= 1  # Qt asked to repaint the window from within a scene's update
    qtbot.waitUntil(lambda: paints.n >= 2, timeout=2000)
    qtbot.wait(50)
    assert updates.n == 1  # one repaint of the window for both plots
    assert paints.n == 2  # each plot painted once
    # and what is on screen is the new frame, in both plots
    shown = [on_screen(pw) for pw in plots]
    assert near(shown[0], RED) > 50 and near(shown[0], GREEN) == 0
    assert near(shown[1], GREEN) > 50 and near(shown[1], RED) == 0


def test_a_frame_with_nothing_changed_asks_for_no_repaint(qtbot: Any) -> None:
    top, _plots, _curves = two_plots(qtbot)
    updates = Counter(QEvent.Type.UpdateRequest)
    top.installEventFilter(updates)
    once = PaintOnce()
    once.flush([top])
    qtbot.wait(100)
    assert once.held == 0 and updates.n == 0


def test_the_main_window_coalesces_its_repaints_and_shows_the_views(make_window: Any,
                                                                   qtbot: Any) -> None:
    """The app's display loop: several plots change every frame (arena, raster, mismatch);
    their repaints are held back and merged, and the plots still reach the screen."""
    win = make_window("small")
    dock = win.docks["Mismatch"]
    dock.show()
    dock.raise_()
    qtbot.waitUntil(lambda: "Mismatch" in win.views, timeout=5000)
    dock.setFloating(True)  # a window of its own, on the (small) test screen
    dock.setGeometry(0, 0, 460, 420)
    win.controls.play()
    qtbot.waitUntil(lambda: win.source.t_s() > 1.0, timeout=30000)
    qtbot.wait(1000)
    win.controls.pause()
    assert win.paint_once.held > 0
    qtbot.wait(300)
    mm = win.views["Mismatch"]
    pen = mm.err_curves["total"].opts["pen"]
    rgb = pen.color().getRgb()[:3]
    assert near(on_screen(mm.plots), rgb, tol=20) > 30  # the total error curve is on screen
    arena = on_screen(win.views["Arena"].plot)
    assert near(arena, (110, 190, 255), tol=40) > 10  # the trail, in the main window


def test_two_windows_are_repainted_in_passes_of_their_own(qtbot: Any) -> None:
    """Two windows (say, two floating docks) changed in one frame: they are repainted in two
    passes of the event loop, so a timer already due when the frame ends runs between the
    two paints instead of after both; both reach the screen."""
    import time

    from PyQt6.QtCore import QTimer

    tops = [two_plots(qtbot) for _ in range(2)]
    tops[1][0].move(0, 300)
    qtbot.wait(100)
    log: list[str] = []

    class Log(QObject):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

        def eventFilter(self, obj: QObject | None, ev: QEvent | None) -> bool:
            if ev is not None and ev.type() == QEvent.Type.UpdateRequest:
                log.append(self.name)
            return False

    filters = [Log(f"window {i}") for i in range(2)]
    for (top, _p, _c), f in zip(tops, filters):
        top.installEventFilter(f)
    once = PaintOnce()
    for (_top, _p, curves), rgb in zip(tops, (RED, GREEN)):
        curves[0].setData([0, 10], [5, 5], pen=pg.mkPen(rgb, width=3))
    timer = QTimer()
    timer.setSingleShot(True)
    timer.timeout.connect(lambda: log.append("timer"))
    timer.start(1)
    time.sleep(0.01)  # the timer is due before the frame ends
    once.flush([t[0] for t in tops])
    qtbot.waitUntil(lambda: len(log) >= 3, timeout=2000)
    assert log == ["window 0", "timer", "window 1"]
    qtbot.wait(50)
    assert near(on_screen(tops[0][1][0]), RED) > 50
    assert near(on_screen(tops[1][1][0]), GREEN) > 50


def test_a_view_is_searched_for_scenes_less_often_while_they_stay_the_same(
        qtbot: Any, monkeypatch: Any) -> None:
    from hippoviz.gui import paint_once

    clock = [100.0]
    monkeypatch.setattr(paint_once.time, "monotonic", lambda: clock[0])
    top, _plots, _curves = two_plots(qtbot)
    po = PaintOnce()
    searches = [0]
    real = top.findChildren

    def counted(*a: Any, **kw: Any) -> Any:
        searches[0] += 1
        return real(*a, **kw)

    monkeypatch.setattr(top, "findChildren", counted)
    scenes = po.scenes_of(top)
    assert len(scenes) == 2 and searches[0] == 1
    # searched again after 1, 2, 4, 8, 16, 16 s: the same scenes each time
    at = []
    for _ in range(64 * 4):
        clock[0] += 0.25
        po.scenes_of(top)
        if searches[0] > len(at) + 1:
            at.append(round(clock[0] - 100.0, 1))
    assert at == [1.0, 3.0, 7.0, 15.0, 31.0, 47.0, 63.0]
    # a plot added: found at the next search, and the interval starts again at 1 s
    third = pg.PlotWidget()
    top.layout().addWidget(third)
    clock[0] += paint_once.RESCAN_MAX_S
    assert len(po.scenes_of(top)) == 3
    clock[0] += 1.0
    n = searches[0]
    po.scenes_of(top)
    assert searches[0] == n + 1
