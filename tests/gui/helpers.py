"""Small helpers of the GUI tests."""

from __future__ import annotations

from typing import Any

import numpy as np
from PyQt6 import QtCore, QtGui, QtWidgets
from PyQt6.QtCore import QPoint, QPointF, Qt
from PyQt6.QtGui import QImage, QMouseEvent
from PyQt6.QtWidgets import QApplication, QWidget

from hippoviz.gui import palette


def distinct_colours(widget: QWidget) -> int:
    """Number of distinct RGB colours in a grab of ``widget``."""
    img = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    w, h = img.width(), img.height()
    if w == 0 or h == 0:
        return 0
    ptr = img.constBits()
    ptr.setsize(img.sizeInBytes())
    arr = np.frombuffer(ptr, np.uint32).reshape(h, img.bytesPerLine() // 4)[:, :w]
    return len(np.unique(arr & 0xFFFFFF))


def send_mouse(
    widget: QWidget, kind: str, pos: QPoint, buttons: Qt.MouseButton = Qt.MouseButton.LeftButton
) -> None:
    """Send one mouse event (press, move or release) with the button state a drag has."""
    etype = {
        "press": QMouseEvent.Type.MouseButtonPress,
        "move": QMouseEvent.Type.MouseMove,
        "double": QMouseEvent.Type.MouseButtonDblClick,
        "release": QMouseEvent.Type.MouseButtonRelease,
    }[kind]
    button = Qt.MouseButton.NoButton if kind == "move" else Qt.MouseButton.LeftButton
    held = Qt.MouseButton.NoButton if kind == "release" else buttons
    local = QPointF(pos)
    glob = QPointF(widget.mapToGlobal(pos))
    ev = QMouseEvent(etype, local, local, glob, button, held, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, ev)


def double_click(widget: QWidget, pos: QPoint) -> None:
    """A real double click: press, release, double-click, release (as a window system sends)."""
    for kind in ("press", "release", "double", "release"):
        send_mouse(widget, kind, pos)
    QApplication.processEvents()


def drag(widget: QWidget, start: QPoint, end: QPoint, steps: int = 8) -> None:
    """Drag with the left button from ``start`` to ``end`` in ``widget`` coordinates."""
    send_mouse(widget, "press", start)
    for i in range(1, steps + 1):
        p = start + (end - start) * (i / steps)
        send_mouse(widget, "move", QPoint(round(p.x()), round(p.y())))
        QApplication.processEvents()
    send_mouse(widget, "release", end)
    QApplication.processEvents()


def view_point(plot_widget: Any, x: float, y: float) -> QPoint:
    """Viewport pixel of data point ``(x, y)`` of a pyqtgraph PlotWidget."""
    vb = plot_widget.getPlotItem().getViewBox()
    scene_pt = vb.mapViewToScene(QPointF(x, y))
    return plot_widget.mapFromScene(scene_pt)


class StandInSelection(QtCore.QObject):
    """Same interface as hippoviz.gui.views.selection.QtSelection."""

    changed = QtCore.pyqtSignal()

    def __init__(self, layer: str = "ca1", unit: int | None = None) -> None:
        super().__init__()
        self.layer, self.unit = layer, unit

    def select(self, layer: str, unit: int | None) -> None:
        if (layer, unit) != (self.layer, self.unit):
            self.layer, self.unit = layer, unit
            self.changed.emit()


def pixels(widget: QtWidgets.QWidget) -> np.ndarray:
    img = widget.grab().toImage().convertToFormat(QtGui.QImage.Format.Format_RGBA8888)
    ptr = img.constBits()
    ptr.setsize(img.sizeInBytes())
    a = np.frombuffer(ptr, np.uint8).reshape(img.height(), img.bytesPerLine() // 4, 4)
    return a[:, : img.width(), :3].copy()


def count_near(a: np.ndarray, color: str, tol: int) -> int:
    ref = np.array(palette.rgb(color))
    return int((np.abs(a.astype(int) - ref).max(axis=-1) <= tol).sum())


def assert_same_state(a: dict[str, Any], b: dict[str, Any], keys: Any = None) -> None:
    """Two snapshots of what a view shows are equal, bit for bit: arrays, lists or tuples of
    arrays, and plain values (``keys``: only these)."""
    for k in keys or a:
        if isinstance(a[k], tuple | list) and a[k] and isinstance(a[k][0], np.ndarray):
            for x, y in zip(a[k], b[k], strict=True):
                np.testing.assert_array_equal(x, y, err_msg=k)
        elif isinstance(a[k], np.ndarray):
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)
        else:
            assert a[k] == b[k], k


def tick_until_drawn(view: Any, between: Any = None) -> int:
    """Refresh ``view`` (one display tick each) until its staged redraw is shown, calling
    ``between()`` after every tick that left it in progress; the number of ticks."""
    ticks = 0
    while True:
        view.refresh()
        ticks += 1
        if not view.redraw_in_progress:
            return ticks
        if between is not None:
            between()
