"""The first-run "what you are looking at" panel: the loop, the mismatch, the gating, Play.

The main window shows it over itself at first start::

    from hippoviz.gui.panels.welcome import QtWelcome

    if QtWelcome.should_show(self.settings):
        self.welcome = QtWelcome(self, settings=self.settings)
        self.welcome.play_requested.connect(self.controls.play)
        self.welcome.show()

It dismisses itself with "Got it", "Play", Escape or the close button; unless the user unticks
"Don't show this again", the dismissal is remembered in QSettings (key ``welcome/dismissed``).
:meth:`QtWelcome.forget_dismissal` makes it show again (e.g. from a Help menu entry).
"""

from __future__ import annotations

from typing import Any

from PyQt6.QtCore import QEvent, QObject, QPointF, QRectF, QSettings, QSize, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QFont, QKeyEvent, QPainter, QPainterPath, QPen, QPolygonF
from PyQt6.QtWidgets import (
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from hippoviz.gui import palette

SETTINGS_KEY = "welcome/dismissed"

_TEXT = (
    "<p><b>The loop.</b> A simulated rat forages in the arena (centre). Its entorhinal cortex "
    "(EC: grid, border and context cells) drives the loop EC → DG → CA3 → CA1 → EC. The loop "
    "learns to <i>reconstruct its own input</i>: it is an autoencoder, with no teacher and no "
    "reward.</p>"
    "<p><b>The mismatch.</b> EC compares its input with the reconstruction coming back from CA1. "
    "The difference, the <i>mismatch</i> (Mismatch tab), travels back through countercurrent "
    "inhibitory projections (red) and tells each layer how to change. As it learns, the "
    "mismatch falls and cells in DG, CA3 and CA1 become <i>place cells</i> (Place fields tab).</p>"
    "<p><b>The gating.</b> Controls ▸ Gating holds the strength of each back-projection "
    "(g_ec_ca1, g_ca1_ca3, g_ca3_dg; 0 cuts it, a lesion), learning, theta and input gains. "
    "Every change applies to the running simulation at once.</p>"
    "<p><b>Start.</b> The simulation starts paused: press <b>▶ Play</b> in the toolbar (or "
    "<b>Space</b>). Raise the speed to <b>max</b> to see fields form within a minute; "
    "<b>F1</b> lists every shortcut.</p>"
)


def _settings(settings: QSettings | None) -> QSettings:
    return settings if settings is not None else QSettings()


class QtLoopDiagram(QWidget):
    """A small drawing of the loop: the layers in a row, forward arrows above, the
    countercurrent inhibitory projections (with their gain names) below."""

    LAYERS: tuple[tuple[str, str], ...] = (
        ("ec", "EC in"),
        ("dg", "DG"),
        ("ca3", "CA3"),
        ("ca1", "CA1"),
        ("out", "EC out"),
    )
    #: (from layer index, to layer index, gain key) of each back-projection.
    BACK: tuple[tuple[int, int, str], ...] = (
        (4, 3, "g_ec_ca1"),
        (3, 2, "g_ca1_ca3"),
        (2, 1, "g_ca3_dg"),
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(168)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        return QSize(560, 168)

    def paintEvent(self, event: Any) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        w, h = float(self.width()), float(self.height())
        n = len(self.LAYERS)
        margin = 12.0
        slot = (w - 2 * margin) / n
        bw, bh = min(84.0, slot * 0.72), 34.0
        cy = 84.0
        centres = [margin + slot * (i + 0.5) for i in range(n)]
        font = QFont(self.font())
        font.setBold(True)
        small = QFont(self.font())
        small.setPointSizeF(max(7.0, self.font().pointSizeF() * 0.85))
        fg = QColor(palette.FOREGROUND)
        muted = QColor(palette.MUTED)
        red = QColor(palette.INHIBITORY)

        # the comparison EC out vs EC in: a dashed arc over the top
        path = QPainterPath(QPointF(centres[-1], cy - bh / 2))
        path.cubicTo(
            QPointF(centres[-1], 20), QPointF(centres[0], 20), QPointF(centres[0], cy - bh / 2)
        )
        pen = QPen(QColor(palette.GROUP_COLORS["grid"]), 1.6, Qt.PenStyle.DashLine)
        p.setPen(pen)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawPath(path)
        p.setFont(small)
        p.setPen(QColor(palette.GROUP_COLORS["grid"]))
        p.drawText(QRectF(0, 0, w, 18), Qt.AlignmentFlag.AlignHCenter, "mismatch = EC in − EC out")

        # forward (excitatory) arrows between the boxes
        fwd = QColor(palette.FORWARD)
        for i in range(n - 1):
            x0, x1 = centres[i] + bw / 2 + 3, centres[i + 1] - bw / 2 - 3
            self._arrow(p, QPointF(x0, cy), QPointF(x1, cy), fwd, 2.0, head="arrow")

        # countercurrent inhibitory arrows below, each ending in a bar (inhibition)
        for a, b, key in self.BACK:
            xa, xb = centres[a] - bw * 0.15, centres[b] + bw * 0.15
            y0 = cy + bh / 2 + 2
            dip = y0 + 30
            path = QPainterPath(QPointF(xa, y0))
            path.cubicTo(QPointF(xa, dip), QPointF(xb, dip), QPointF(xb, y0 + 5))
            p.setPen(QPen(red, 2.0))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawPath(path)
            p.drawLine(QPointF(xb - 7, y0 + 4), QPointF(xb + 7, y0 + 4))
            p.setFont(small)
            p.setPen(red.lighter(125))
            p.drawText(QRectF(xb, dip - 6, xa - xb, 18), Qt.AlignmentFlag.AlignHCenter, key)

        # the layers
        for (key, label), x in zip(self.LAYERS, centres):
            col = QColor(palette.LAYER_COLORS[key])
            rect = QRectF(x - bw / 2, cy - bh / 2, bw, bh)
            fill = QColor(col)
            fill.setAlpha(60)
            p.setPen(QPen(col, 2.0))
            p.setBrush(fill)
            p.drawRoundedRect(rect, 7, 7)
            p.setFont(font)
            p.setPen(fg)
            p.drawText(rect, Qt.AlignmentFlag.AlignCenter, label)
        p.setFont(small)
        p.setPen(muted)
        p.drawText(
            QRectF(0, h - 16, w, 16),
            Qt.AlignmentFlag.AlignHCenter,
            "grey: forward, excitatory   ·   red: countercurrent inhibitory error pathway",
        )
        p.end()

    @staticmethod
    def _arrow(p: QPainter, a: QPointF, b: QPointF, col: QColor, width: float, head: str) -> None:
        p.setPen(QPen(col, width))
        p.drawLine(a, QPointF(b.x() - 6, b.y()))
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(col)
        p.drawPolygon(QPolygonF([b, QPointF(b.x() - 9, b.y() - 5), QPointF(b.x() - 9, b.y() + 5)]))


class QtWelcome(QFrame):
    """A dismissable "what you are looking at" panel.

    With a parent it is an overlay card centred over the parent (it follows resizes); without
    one it is a small window of its own.

    Parameters
    ----------
    parent : QWidget, optional
        The widget to lie over (usually the main window).
    settings : QSettings, optional
        Where the dismissal is remembered (default: the application's QSettings).

    Signals
    -------
    dismissed()
        The user closed the panel (by any means).
    play_requested()
        The user pressed the panel's Play button (the panel is dismissed too).
    """

    dismissed = pyqtSignal()
    play_requested = pyqtSignal()

    def __init__(self, parent: QWidget | None = None, settings: QSettings | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcomePanel")
        self._settings = settings
        self._done = False
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.setStyleSheet(
            "QFrame#welcomePanel { background: #24272e; border: 1px solid #4a505c;"
            " border-radius: 10px; }"
            "QFrame#welcomePanel QLabel { background: transparent; border: none;"
            " color: #e2e2e2; }"
            "QFrame#welcomePanel QCheckBox { color: #e2e2e2; }"
            "QToolButton#welcomeClose { color: #e2e2e2; border: none; font-size: 12pt; }"
            "QLabel#welcomeTitle { font-size: 15pt; font-weight: bold; }"
            "QPushButton#welcomePlay { background: #3d7bd9; color: white; font-weight: bold;"
            " padding: 5px 16px; border-radius: 4px; }"
            "QPushButton#welcomeOk { padding: 5px 16px; }"
        )
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        title = QLabel("What you are looking at")
        title.setObjectName("welcomeTitle")
        close = QToolButton()
        close.setObjectName("welcomeClose")
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Close (Esc)")
        close.clicked.connect(self.dismiss)
        top = QHBoxLayout()
        top.addWidget(title)
        top.addStretch(1)
        top.addWidget(close)

        self.diagram = QtLoopDiagram(self)
        text = QLabel(_TEXT)
        text.setObjectName("welcomeText")
        text.setWordWrap(True)
        text.setTextFormat(Qt.TextFormat.RichText)

        self.dont_show = QCheckBox("Don't show this again")
        self.dont_show.setChecked(True)
        self.play_button = QPushButton("▶  Play")
        self.play_button.setObjectName("welcomePlay")
        self.play_button.setToolTip("Dismiss this panel and start the simulation (Space)")
        self.play_button.clicked.connect(self._play)
        self.ok_button = QPushButton("Got it")
        self.ok_button.setObjectName("welcomeOk")
        self.ok_button.setDefault(True)
        self.ok_button.clicked.connect(self.dismiss)
        bottom = QHBoxLayout()
        bottom.addWidget(self.dont_show)
        bottom.addStretch(1)
        bottom.addWidget(self.ok_button)
        bottom.addWidget(self.play_button)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(20, 14, 20, 16)
        lay.setSpacing(8)
        lay.addLayout(top)
        lay.addWidget(self.diagram)
        lay.addWidget(text)
        lay.addLayout(bottom)

        if parent is not None:
            parent.installEventFilter(self)
            self._place()
        else:
            self.setWindowTitle("Welcome to hippoviz")
            self.resize(
                640,
                self.heightForWidth(640) if self.hasHeightForWidth() else self.sizeHint().height(),
            )

    # -- first-run bookkeeping ---------------------------------------------------------------
    @staticmethod
    def should_show(settings: QSettings | None = None) -> bool:
        """Whether the panel should appear (it was never dismissed for good)."""
        v = _settings(settings).value(SETTINGS_KEY, False)
        return not (v is True or str(v).lower() in ("true", "1"))

    @staticmethod
    def forget_dismissal(settings: QSettings | None = None) -> None:
        """Show the panel again at the next start."""
        _settings(settings).remove(SETTINGS_KEY)

    # -- actions -----------------------------------------------------------------------------
    def dismiss(self) -> None:
        """Hide the panel, remember it (if ticked) and emit :attr:`dismissed` once."""
        if self._done:
            return
        self._done = True
        if self.dont_show.isChecked():
            s = _settings(self._settings)
            s.setValue(SETTINGS_KEY, True)
            s.sync()
        if self.parent() is not None:
            self.parent().removeEventFilter(self)
        self.hide()
        self.dismissed.emit()

    def _play(self) -> None:
        self.dismiss()
        self.play_requested.emit()

    # -- overlay placement -------------------------------------------------------------------
    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        if self.parent() is not None:
            self._place()
            self.raise_()
        self.play_button.setFocus(Qt.FocusReason.OtherFocusReason)

    def _place(self) -> None:
        par = self.parentWidget()
        if par is None:
            return
        w = max(360, min(660, par.width() - 40))
        lay = self.layout()
        h = lay.totalHeightForWidth(w) if lay is not None and lay.hasHeightForWidth() else -1
        h = h if h > 0 else self.sizeHint().height()
        h = min(h, max(200, par.height() - 40))
        self.setGeometry((par.width() - w) // 2, max(20, (par.height() - h) // 2), w, h)

    def eventFilter(self, obj: QObject | None, event: QEvent | None) -> bool:
        if obj is self.parent() and event is not None and event.type() == QEvent.Type.Resize:
            self._place()
        return False

    def keyPressEvent(self, event: QKeyEvent | None) -> None:
        if event is not None and event.key() == Qt.Key.Key_Escape:
            self.dismiss()
            return
        super().keyPressEvent(event)

    def closeEvent(self, event: Any) -> None:  # a stand-alone window closed by the WM
        self.dismiss()
        super().closeEvent(event)
