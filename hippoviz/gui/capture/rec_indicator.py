"""The red "● REC" badge of the status bar, the record icon, and how their details read."""

from __future__ import annotations

from PyQt6.QtCore import QRectF, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QColor, QIcon, QMouseEvent, QPainter, QPixmap
from PyQt6.QtWidgets import QLabel, QWidget

#: Colour of every recording indicator (screen recordings and session recordings).
REC_RED = "#e53935"


def record_icon(size: int = 32, color: str = REC_RED) -> QIcon:
    """A red disc: the icon of the record actions."""
    pm = QPixmap(size, size)
    pm.fill(QColor(0, 0, 0, 0))
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(QColor("#ffffff"))
    p.setBrush(QColor(color))
    m = size * 0.18
    p.drawEllipse(QRectF(m, m, size - 2 * m, size - 2 * m))
    p.end()
    return QIcon(pm)


class QtRecIndicator(QLabel):
    """A red "● REC …" badge for the status bar; its dot blinks while shown.

    Clicking it emits :attr:`clicked` (the owner stops the recording).
    """

    clicked = pyqtSignal()

    def __init__(self, what: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.what = what
        self._text = ""
        self._on = True
        self.setObjectName("recIndicator")
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setStyleSheet(
            f"QLabel#recIndicator {{ background: {REC_RED}; color: #ffffff; font-weight: bold;"
            " border-radius: 4px; padding: 1px 8px; margin: 1px 2px; }")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self._blink = QTimer(self)
        self._blink.setInterval(600)
        self._blink.timeout.connect(self._toggle)
        self.hide()

    def start(self, detail: str = "") -> None:
        self._on = True
        self.set_detail(detail)
        self.show()
        self._blink.start()

    def stop(self) -> None:
        self._blink.stop()
        self.hide()

    def set_detail(self, detail: str) -> None:
        self._text = detail
        self._render()

    def _toggle(self) -> None:
        self._on = not self._on
        self._render()

    def _render(self) -> None:
        dot = "#ffffff" if self._on else REC_RED
        detail = f" {self._text}" if self._text else ""
        self.setText(f"<span style='color:{dot}'>●</span> REC {self.what}{detail}")

    def mousePressEvent(self, ev: QMouseEvent | None) -> None:
        if ev is not None and ev.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()
            ev.accept()
            return
        super().mousePressEvent(ev)


def format_duration(seconds: float) -> str:
    """``75.3`` -> ``"1:15"``, ``3725`` -> ``"1:02:05"``."""
    s = max(0, int(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def format_bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000.0
    return f"{n:.1f} GB"


__all__ = ["REC_RED", "QtRecIndicator", "format_bytes", "format_duration", "record_icon"]
