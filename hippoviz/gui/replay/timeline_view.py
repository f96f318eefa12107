"""The timeline of a replay: the mismatch of the whole recording with a cursor at the replay
time and markers at every parameter change and manipulation."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtGui import QColor
from PyQt6.QtWidgets import QVBoxLayout, QWidget

from hippoviz.gui import palette
from hippoviz.gui.views.mismatch_view import decimate_minmax
from hippoviz.record import Change
from hippoviz.runtime.recording_source import RecordingSource

#: Points per mismatch curve of the timeline (min/max decimation beyond).
TIMELINE_POINTS = 2000


def change_label(ch: Change) -> str:
    """Short text of a change-log row: ``arena.width_m → 1.5``, ``object 0 added``."""
    if ch.key.startswith("objects."):
        oid = ch.key.split(".", 1)[1]
        what = "added" if ch.old is None else "removed" if ch.new is None else "moved"
        return f"object {oid} {what}"
    if ch.new is None and ch.old is None:
        return ch.key
    new = f"{ch.new:g}" if isinstance(ch.new, float) else str(ch.new)
    return f"{ch.key} → {new}"


class QtTimelineView(QWidget):
    """The mismatch of the whole recording with a cursor at the replay time; markers at every
    parameter change and manipulation. Drag the cursor or click the plot to seek."""

    title = "Mismatch"
    seek_requested = pyqtSignal(float)

    def __init__(self, source: RecordingSource, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source = source
        self._syncing = False
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.glw = pg.GraphicsLayoutWidget()
        self.glw.setBackground(palette.BACKGROUND)
        self.glw.ci.setContentsMargins(2, 2, 8, 2)
        lay.addWidget(self.glw)
        self.legend = pg.LegendItem(colCount=5, labelTextColor=palette.FOREGROUND,
                                    labelTextSize=f"{palette.LABEL_PT}pt", horSpacing=14)
        self.glw.addItem(self.legend, row=0, col=0)
        self.plot = self.glw.addPlot(row=1, col=0)
        palette.style_plot(self.plot, left=palette.formula_html("‖x−x̂‖² / ‖x‖²"),
                           bottom="simulated time (s)")
        self.plot.getAxis("left").setWidth(52)
        self.plot.getAxis("bottom").enableAutoSIPrefix(False)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.showGrid(x=False, y=True, alpha=0.15)
        self.plot.setLogMode(y=True)
        groups = source.rec.mismatch_groups
        t = source.times
        mm = np.maximum(np.asarray(source.mismatch, np.float64), 1e-6)  # log axis: no zeros
        td, md = decimate_minmax(t, mm, TIMELINE_POINTS // 2)
        self.curves = {}
        order = list(reversed(range(len(groups))))  # total last: on top
        for j in order:
            name = groups[j]
            color = palette.GROUP_COLORS.get(name, palette.FOREGROUND)
            c = self.plot.plot(td, md[:, j] if j < md.shape[1] else [],
                               pen=pg.mkPen(color, width=1.8 if name == "total" else 1.0))
            self.curves[name] = c
        for name in groups:
            self.legend.addItem(self.curves[name], palette.GROUP_LABELS.get(name, name))
        self.markers: list[pg.InfiniteLine] = []
        self._add_markers()
        self.cursor = pg.InfiniteLine(pos=source.t_now, angle=90, movable=True,
                                      pen=pg.mkPen(palette.SELECTION, width=2),
                                      hoverPen=pg.mkPen("#ffd54f", width=3))
        self.cursor.setZValue(50)
        self.cursor.setToolTip("Replay time: drag to seek")
        self.plot.addItem(self.cursor, ignoreBounds=True)
        self.cursor.sigPositionChanged.connect(self._on_cursor_moved)
        if t.size:
            self.plot.setXRange(float(t[0]) - self.source.dt_s, float(t[-1]), padding=0.01)
            self.cursor.setBounds((float(t[0]), float(t[-1])))
        self.plot.scene().sigMouseClicked.connect(self._on_click)

    def _add_markers(self) -> None:
        seen: dict[int, list[str]] = {}
        for ch in self.source.rec.changes:
            if ch.command < 0:  # annotations (pauses, phases): not manipulations
                continue
            seen.setdefault(ch.step, []).append(change_label(ch))
        pen = pg.mkPen(QColor(palette.MUTED), width=1, style=Qt.PenStyle.DashLine)
        for step, keys in sorted(seen.items()):
            t = step * self.source.dt_s
            if not self.source.t_start_s - self.source.dt_s <= t <= self.source.t_end_s:
                continue
            text = ", ".join(dict.fromkeys(keys))
            label = text if len(text) <= 28 else text[:27] + "…"
            line = pg.InfiniteLine(pos=t, angle=90, movable=False, pen=pen,
                                   label=f" {label}" if len(seen) <= 12 else None,
                                   labelOpts={"position": 0.97, "color": palette.MUTED,
                                              "anchors": [(0, 0), (0, 0)]})
            line.setToolTip(f"t = {t:.2f} s: {text}")
            self.plot.addItem(line, ignoreBounds=True)
            self.markers.append(line)

    def _on_cursor_moved(self) -> None:
        if not self._syncing:
            self.seek_requested.emit(float(self.cursor.value()))

    def _on_click(self, ev: Any) -> None:
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        vb = self.plot.getViewBox()
        if not vb.sceneBoundingRect().contains(ev.scenePos()):
            return
        self.seek_requested.emit(float(vb.mapSceneToView(ev.scenePos()).x()))
        ev.accept()

    def refresh(self) -> None:
        self._syncing = True
        try:
            self.cursor.setValue(self.source.t_now)
        finally:
            self._syncing = False


__all__ = ["TIMELINE_POINTS", "QtTimelineView", "change_label"]
