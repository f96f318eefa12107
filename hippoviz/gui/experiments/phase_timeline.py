"""The phases of a protocol as a bar over the views, with a cursor at the protocol time."""

from __future__ import annotations

from PyQt6 import QtCore, QtGui, QtWidgets


class QtPhaseTimeline(QtWidgets.QWidget):
    """The phases of a protocol as a horizontal bar, with a cursor at the current time."""

    LEARNING = QtGui.QColor("#2f7d4f")
    FROZEN = QtGui.QColor("#4a4f59")
    CURSOR = QtGui.QColor("#ffffff")
    TEXT = QtGui.QColor("#d5d9e0")

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._phases: list[tuple[str, float, bool]] = []
        self._pos = 0.0
        self.setMinimumHeight(28)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding,
                           QtWidgets.QSizePolicy.Policy.Fixed)

    def set_phases(self, phases: list[tuple[str, float, bool]]) -> None:
        self._phases = list(phases)
        self._pos = 0.0
        tips = [f"{n}: {m:.1f} min, learning {'on' if L else 'off'}" for n, m, L in phases]
        self.setToolTip("\n".join(tips))
        self.update()

    def set_position(self, minutes: float) -> None:
        self._pos = float(minutes)
        self.update()

    def position(self) -> float:
        return self._pos

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(600, 28)

    def paintEvent(self, event: QtGui.QPaintEvent | None) -> None:
        total = sum(m for _, m, _ in self._phases)
        if total <= 0:
            return
        p = QtGui.QPainter(self)
        w, h = self.width(), self.height()
        x = 0.0
        fm = p.fontMetrics()
        for name, minutes, learning in self._phases:
            pw = w * minutes / total
            rect = QtCore.QRectF(x, 0, pw, h)
            p.fillRect(rect.adjusted(0, 0, -1, 0), self.LEARNING if learning else self.FROZEN)
            p.setPen(self.TEXT)
            text = fm.elidedText(name, QtCore.Qt.TextElideMode.ElideRight, max(0, int(pw) - 6))
            p.drawText(rect.adjusted(3, 0, -3, 0), int(QtCore.Qt.AlignmentFlag.AlignVCenter), text)
            x += pw
        cx = w * min(max(self._pos / total, 0.0), 1.0)
        p.setPen(QtGui.QPen(self.CURSOR, 2))
        p.drawLine(QtCore.QPointF(cx, 0), QtCore.QPointF(cx, h))
        p.end()


__all__ = ["QtPhaseTimeline"]
