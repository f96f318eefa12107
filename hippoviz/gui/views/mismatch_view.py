"""Mismatch view: the entorhinal reconstruction error over time, and x beside x_hat right now."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyqtgraph as pg
from numpy.typing import NDArray
from PyQt6 import QtCore, QtGui, QtWidgets

from hippoviz.gui import palette
from hippoviz.gui.views.selection import QtSelection
from hippoviz.runtime import DataSource
from hippoviz.sim import MISMATCH_GROUPS

#: Columns of ``samples().mismatch``.
MISMATCH_COLUMNS: tuple[str, ...] = MISMATCH_GROUPS
#: Time windows offered (seconds).
WINDOWS_S: tuple[float, ...] = (10.0, 30.0, 60.0, 300.0)
#: Short names of the EC input groups, written above each group in the x / x_hat plot.
GROUP_SHORT: dict[str, str] = {
    "grid": "MEC grid",
    "border": "border",
    "lec_context": "LEC context",
    "lec_object": "obj.",
}
#: Points per curve above which the time series is decimated (peak-preserving) for drawing.
_MAX_POINTS = 800  # about two per horizontal pixel of a docked plot

#: The error plot's y range before any data: the decades 0.001-1 on a log axis (where the
#: mismatch lives), 0-1 on a linear one.
_EMPTY_YRANGE: dict[bool, tuple[float, float]] = {True: (-3.0, 0.0), False: (0.0, 1.0)}


class QtMismatchView(QtWidgets.QWidget):
    """Reconstruction error ``||x - x_hat||^2 / ||x||^2`` (total, MEC grid, MEC border, LEC)
    over a scrolling window, and the EC input ``x`` (filled, coloured by group) beside its
    reconstruction ``x_hat`` (white line) after the last simulated step.

    Reads ``source.samples(window)`` (time and mismatch), ``source.last()["x", "x_hat"]``
    and ``source.input_groups()``. Redraws only when ``step()`` moved.

    The two plots are separate widgets, each repainted in one piece when its data change. At
    the display rate (each at its own rate below) they would often both change in one tick and
    that tick would pay for both repaints; instead at most one of them is redrawn per tick: the
    x / x_hat plot, when due in a tick that redrew the error plot, waits for the next tick, where
    it goes first (and the error plot, if due again, waits in turn). Neither waits two ticks in
    a row; the x / x_hat plot does not wait while it shows no data yet. A change the user makes
    (window, log axis, overlay) redraws both at once.
    """

    title = "Mismatch"
    #: Fewest seconds (wall time) between two redraws: the curves scroll smoothly at 15 Hz and
    #: the view leaves the display timer's budget to the raster and the arena.
    min_interval_s = 1.0 / 15.0
    #: Fewest seconds between two redraws of the x / x_hat plot (filled steps cost more to
    #: paint than lines; 10 Hz reads as live).
    ec_interval_s = 1.0 / 10.0

    def __init__(
        self, source: DataSource, selection: QtSelection,
        parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.source = source
        self.selection = selection
        self._seen_step: Any = object()
        self._seen_last: Any = object()  # the "last" dict drawn (kept: ids can be reused)
        self._t_drawn = -np.inf
        self._t_ec_drawn = -np.inf
        self._t_now = 0.0
        self._ec_top = 0.0
        self._err_yrange: tuple[float, float] | None = None
        self._groups_key: Any = None
        self._n_ec = 0
        self._ec_has_data = False  # the x / x_hat plot shows vectors (not "waiting")
        self._ec_put_off = False  # the x / x_hat plot waited a tick for the error plot
        self._error_put_off = False  # the error plot waited a tick for the x / x_hat plot
        #: Plots drawn so far (either of the two); the benchmarks count them.
        self.redraws = 0

        # -- toolbar ---------------------------------------------------------------------------
        self.window_box = QtWidgets.QComboBox()
        for w in WINDOWS_S:
            self.window_box.addItem(f"last {w:g} s" if w < 60 else f"last {w / 60:g} min", w)
        self.window_box.setCurrentIndex(1)
        self.window_box.setToolTip("Time window of the error plot (simulated time)")
        self.window_box.currentIndexChanged.connect(self._force_redraw)
        self.log_box = QtWidgets.QCheckBox("log")
        self.log_box.setChecked(True)
        self.log_box.setToolTip(
            "Logarithmic error axis: a group whose input is nearly silent "
            "(border cells far from walls) has a huge relative error"
        )
        self.log_box.toggled.connect(self._on_log)
        self.now_label = QtWidgets.QLabel("")
        self.now_label.setStyleSheet(f"color: {palette.MUTED};")
        bar = QtWidgets.QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 0)
        bar.addWidget(self.window_box)
        bar.addWidget(self.log_box)
        bar.addStretch(1)
        bar.addWidget(self.now_label)

        # -- plots -----------------------------------------------------------------------------
        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setBackground(palette.BACKGROUND)
        self.plots.ci.setContentsMargins(2, 0, 6, 2)
        self.plots.ci.setSpacing(0)
        self.legend = pg.LegendItem(
            colCount=4,
            labelTextColor=palette.FOREGROUND,
            labelTextSize=f"{palette.LABEL_PT}pt",
            horSpacing=14,
        )
        self.plots.addItem(self.legend, row=0, col=0)
        self.err_plot: pg.PlotItem = self.plots.addPlot(row=1, col=0)
        # a view of its own: the scrolling error plot then never repaints the EC plot
        self.ec_plots = pg.GraphicsLayoutWidget()
        self.ec_plots.setBackground(palette.BACKGROUND)
        self.ec_plots.ci.setContentsMargins(2, 0, 6, 2)
        self.ec_plot: pg.PlotItem = self.ec_plots.addPlot(row=0, col=0)
        palette.style_plot(self.err_plot, left=palette.formula_html("‖x−x̂‖² / ‖x‖²"),
                           bottom="simulated time before now (s)")
        palette.style_plot(
            self.ec_plot,
            left="rate (0–1)",
            bottom=palette.formula_html("EC unit: input x (fill) vs reconstruction x̂ (line)"),
        )
        for p in (self.err_plot, self.ec_plot):
            p.getAxis("left").setWidth(46)
            p.getAxis("bottom").enableAutoSIPrefix(False)
            p.setMenuEnabled(False)
        self.ec_plot.showGrid(x=False, y=True, alpha=0.15)
        self.err_plot.showGrid(x=False, y=True, alpha=0.15)

        self.err_curves: dict[str, pg.PlotDataItem] = {}
        for name in reversed(MISMATCH_COLUMNS):  # total drawn last, on top
            color = palette.GROUP_COLORS[name]
            width = 1.8 if name == "total" else 1.0
            c = self.err_plot.plot(pen=pg.mkPen(color, width=width))
            c.setClipToView(False)  # the data are the window already (and shifted)
            self.err_curves[name] = c
        for name in MISMATCH_COLUMNS:
            self.legend.addItem(self.err_curves[name], palette.GROUP_LABELS[name])
        self.err_plot.setLogMode(y=True)
        self.err_plot.setYRange(*_EMPTY_YRANGE[True], padding=0.0)
        # the time axis is fixed (seconds before now) and the curves slide under it: their
        # data keep simulated time, each item is shifted by -now. A scrolling axis would be
        # laid out and repainted on every frame (at full speed the window passes in < 1 s).
        self.err_plot.setXRange(-self.window_s, 0.0, padding=0.01)
        self.err_plot.disableAutoRange()
        self.err_plot.setMouseEnabled(x=False, y=False)

        self.x_items: list[pg.PlotDataItem] = []
        self.group_labels: list[pg.TextItem] = []
        self.separators: list[pg.InfiniteLine] = []
        xhat_pen = QtGui.QColor(palette.SELECTION)
        xhat_pen.setAlpha(210)
        self.xhat_curve = pg.PlotDataItem(pen=pg.mkPen(xhat_pen, width=1.0), stepMode="center")
        self.xhat_curve.setZValue(10)
        self.ec_plot.addItem(self.xhat_curve)
        self.ec_plot.setXRange(0.0, 1.0)
        self.ec_plot.setYRange(0.0, 1.0)

        #: A second source (branch B of a forked run) whose total mismatch is drawn dashed
        #: over this one's (see :meth:`set_overlay`).
        self.overlay: DataSource | None = None
        self.overlay_curve = pg.PlotDataItem(pen=pg.mkPen(
            palette.BRANCH_COLORS["b"], width=1.6, style=QtCore.Qt.PenStyle.DashLine))
        self.overlay_curve.setClipToView(False)
        self.overlay_curve.setZValue(5)
        self.err_plot.addItem(self.overlay_curve)

        self.err_waiting = palette.waiting_text("waiting for data…")
        self.err_plot.addItem(self.err_waiting, ignoreBounds=True)
        self._place_err_waiting()
        self.ec_waiting = palette.waiting_text("waiting for data…")
        self.ec_plot.addItem(self.ec_waiting, ignoreBounds=True)
        self.ec_waiting.setPos(0.5, 0.5)

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.plots, 5)
        layout.addWidget(self.ec_plots, 4)

    # ------------------------------------------------------------------------------------------
    @property
    def window_s(self) -> float:
        return float(self.window_box.currentData())

    def _on_log(self, on: bool) -> None:
        self.err_plot.setLogMode(y=on)
        self._force_redraw()

    def _place_err_waiting(self) -> None:
        """Centre the "waiting" note in the error plot's current view (its time axis ends at
        0 and, in log mode, its y coordinates are decades)."""
        (x0, x1), (y0, y1) = self.err_plot.viewRange()
        self.err_waiting.setPos(0.5 * (x0 + x1), 0.5 * (y0 + y1))

    def _force_redraw(self, *_: Any) -> None:
        self._seen_step = object()
        self._seen_last = object()
        self._t_drawn = -np.inf
        self._t_ec_drawn = -np.inf
        self._err_yrange = None
        self.err_plot.setXRange(-self.window_s, 0.0, padding=0.01)
        self._refresh(stagger=False)

    @property
    def redraw_in_progress(self) -> bool:
        """Whether one of the two plots was put off to the next tick (the other one drew)."""
        return self._ec_put_off or self._error_put_off

    def refresh(self) -> None:
        """Pull the recent samples (when a step was simulated) and the last EC vectors (when
        newly published), each at most at its own rate, one plot repainted per tick."""
        self._refresh(stagger=True)

    def _refresh(self, stagger: bool) -> None:
        last = self.source.last()
        # the x / x_hat plot waited a tick: it goes first now, the error plot waits if due
        ec_first = stagger and self._ec_put_off and self._ec_due(last)
        drew_error = self._error_put_off = False
        step = self.source.step()
        if step is None or step != self._seen_step:
            now = time.monotonic()
            if now - self._t_drawn >= self.min_interval_s:
                if ec_first:
                    self._error_put_off = True
                else:
                    self._t_drawn = now
                    self._seen_step = step
                    self._draw_error()
                    drew_error = True
            # else too soon (or put off): the next tick draws it (step is not marked as seen)
        if stagger and drew_error and self._ec_has_data and self._ec_due(last):
            self._ec_put_off = True  # not marked as seen: the next tick draws it
            return
        self._ec_put_off = False
        self._draw_ec(last)

    # ------------------------------------------------------------------------------------------
    def set_overlay(self, source: DataSource | None) -> None:
        """Draw ``source``'s total mismatch (dashed, branch B's colour) over this view's, or
        stop (None)."""
        if source is None and self.overlay is not None:
            self.legend.removeItem(self.overlay_curve)
        elif source is not None and self.overlay is None:
            self.legend.addItem(self.overlay_curve, "total, B")
        self.overlay = source
        if source is None:
            self.overlay_curve.setData([], [])
        self._force_redraw()

    def _draw_overlay(self) -> None:
        if self.overlay is None:
            return
        s = self.overlay.samples(self.window_s)
        t, mm = s.t_s.astype(np.float64), s.mismatch.astype(np.float64)
        if t.size == 0 or mm.ndim != 2 or mm.shape[0] != t.size:
            self.overlay_curve.setData([], [])
            return
        if t.size > _MAX_POINTS:
            t, mm = decimate_minmax(t, mm, _MAX_POINTS // 2)
        self.overlay_curve.setData(t, mm[:, 0], connect="finite")
        self.overlay_curve.setPos(-self._t_now, 0.0)

    def _draw_error(self) -> None:
        self.redraws += 1
        s = self.source.samples(self.window_s)
        t, mm = s.t_s, s.mismatch
        self._t_now = float(t[-1]) if t.size else 0.0
        self._draw_overlay()
        if t.size == 0 or mm.ndim != 2 or mm.shape[0] != t.size:
            if self._err_yrange != _EMPTY_YRANGE[self.log_box.isChecked()]:
                self._err_yrange = _EMPTY_YRANGE[self.log_box.isChecked()]
                self.err_plot.setYRange(*self._err_yrange, padding=0.0)
            self._place_err_waiting()
            self.err_waiting.setVisible(True)
            for c in self.err_curves.values():
                c.setData([], [])
            self.now_label.setText("")
            return
        self.err_waiting.setVisible(False)
        t = t.astype(np.float64)
        mm = mm.astype(np.float64)
        if t.size > _MAX_POINTS:  # peak-preserving decimation: min and max of each bin
            t, mm = decimate_minmax(t, mm, _MAX_POINTS // 2)
        t1 = float(t[-1])
        for j, name in enumerate(MISMATCH_COLUMNS):
            if j < mm.shape[1]:
                curve = self.err_curves[name]
                curve.setData(t, mm[:, j], connect="finite")
                curve.setPos(-t1, 0.0)
        self.now_label.setText(f"t = {t1:,.1f} s   total now: {mm[-1, 0]:.3f}"
                               if mm.shape[1] else "")
        finite = mm[np.isfinite(mm)]
        # limits snap to a grid so that the axis is not rebuilt on every frame
        if self.log_box.isChecked():
            pos = finite[finite > 0]
            lo = max(float(np.quantile(pos, 0.005)), 1e-4) if pos.size else 0.1
            hi = max(float(pos.max()), lo * 10.0) if pos.size else 1.0
            yr = (np.floor(np.log10(lo) * 4) / 4, np.ceil(np.log10(hi) * 4) / 4 + 0.02)
        else:
            top = float(finite.max()) if finite.size else 1.0
            grid = 10 ** np.floor(np.log10(max(top, 1e-3))) / 2
            yr = (0.0, max(0.05, float(np.ceil(1.05 * top / grid) * grid)))
        if yr != self._err_yrange:
            self._err_yrange = yr
            self.err_plot.setYRange(*yr, padding=0.0)

    def _ec_due(self, last: Mapping[str, NDArray[Any]] | None) -> bool:
        """Whether :meth:`_draw_ec` would draw ``last`` now."""
        if last is not None and last is self._seen_last:
            return False  # published less often than steps advance
        return last is None or time.monotonic() - self._t_ec_drawn >= self.ec_interval_s

    def _draw_ec(self, last: Mapping[str, NDArray[Any]] | None) -> None:
        if not self._ec_due(last):
            return  # not marked as seen: a later redraw draws it
        self._t_ec_drawn = time.monotonic()
        self._seen_last = last
        self.redraws += 1
        x = _arr(last, "x")
        xh = _arr(last, "x_hat")
        if x is None or xh is None or x.size == 0 or x.shape != xh.shape:
            self._ec_has_data = False
            self.ec_waiting.setVisible(True)
            for it in self.x_items:
                it.setData([], [])
            self.xhat_curve.setData([], [])
            return
        self._ec_has_data = True
        self.ec_waiting.setVisible(False)
        n = x.size
        groups = self._ordered_groups(n)
        key = (n, tuple(groups))
        if key != self._groups_key:
            self._build_groups(groups, n)
            self._groups_key = key
        edges = np.arange(n + 1, dtype=np.float64) - 0.5
        xf = np.asarray(x, dtype=np.float64)
        for item, (_name, a, b) in zip(self.x_items, groups):
            item.setData(edges[a : b + 1], xf[a:b])
        self.xhat_curve.setData(edges, np.asarray(xh, dtype=np.float64))
        top = max(1.0, float(np.fmax.reduce(xf)), float(np.fmax.reduce(xh, axis=None)))
        top = float(np.ceil(top * 4) / 4)  # steps of 0.25: the axis is rebuilt only then
        if top != self._ec_top:
            self._ec_top = top
            self.ec_plot.setYRange(0.0, 1.18 * top, padding=0.0)
            for lab in self.group_labels:
                lab.setPos(lab.pos().x(), 1.17 * top)

    def _ordered_groups(self, n: int) -> list[tuple[str, int, int]]:
        """The EC input groups as ``(name, start, stop)``, sorted, gaps filled with "other"."""
        raw = self.source.input_groups()
        spans: list[tuple[str, int, int]] = []
        for name, span in raw.items():
            a, b = _span(span)
            a, b = max(0, a), min(n, b)
            if b > a:
                spans.append((str(name), a, b))
        spans.sort(key=lambda g: g[1])
        out: list[tuple[str, int, int]] = []
        pos = 0
        for name, a, b in spans:
            if a > pos:
                out.append(("other", pos, a))
            a = max(a, pos)
            if b > a:
                out.append((name, a, b))
                pos = b
        if pos < n:
            out.append(("other", pos, n))
        return out

    def _build_groups(self, groups: list[tuple[str, int, int]], n: int) -> None:
        for it in (*self.x_items, *self.group_labels, *self.separators):
            self.ec_plot.removeItem(it)
        self.x_items, self.group_labels, self.separators = [], [], []
        font = QtGui.QFont()
        font.setPointSize(palette.FONT_PT)
        for name, a, b in groups:
            color = palette.GROUP_COLORS.get(name, palette.MUTED)
            fill = QtGui.QColor(color)
            fill.setAlpha(150)
            item = pg.PlotDataItem(
                stepMode="center", fillLevel=0.0, brush=fill, pen=pg.mkPen(color, width=1)
            )
            self.ec_plot.addItem(item)
            self.x_items.append(item)
            if a > 0:
                line = pg.InfiniteLine(
                    a - 0.5,
                    angle=90,
                    pen=pg.mkPen(palette.MUTED, width=1, style=QtCore.Qt.PenStyle.DashLine),
                )
                self.ec_plot.addItem(line, ignoreBounds=True)
                self.separators.append(line)
            if (b - a) / max(n, 1) >= 0.06:
                lab = pg.TextItem(GROUP_SHORT.get(name, name), color=color, anchor=(0.5, 0.0))
                lab.setFont(font)
                lab.setPos((a + b - 1) / 2.0, 1.17 * max(self._ec_top, 1.0))
                self.ec_plot.addItem(lab, ignoreBounds=True)
                self.group_labels.append(lab)
        self.ec_plot.setXRange(-0.5, n - 0.5, padding=0.0)


def _arr(d: Mapping[str, NDArray[Any]] | None, key: str) -> NDArray[Any] | None:
    v = None if d is None else d.get(key)
    return None if v is None else np.asarray(v)


def _span(span: tuple[int, int] | slice) -> tuple[int, int]:
    if isinstance(span, slice):
        return int(span.start or 0), int(span.stop or 0)
    a, b = span
    return int(a), int(b)


def decimate_minmax(t: NDArray[np.float64], y: NDArray[Any], n_bins: int
                    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Keep the min and max of each column of ``y`` in each of ``n_bins`` slices of ``t``."""
    n = t.size
    y = np.asarray(y, np.float64)
    y = y.reshape(n, -1) if y.size else y.reshape(n, *(y.shape[1:] or (1,)))
    if n <= 2 * n_bins:
        return t, y
    per = math.ceil(n / n_bins)
    m = (n // per) * per
    tt = t[:m].reshape(-1, per)
    yy = y[:m].reshape(-1, per, y.shape[1])
    t2 = tt[:, [0, -1]].reshape(-1)
    y2 = np.stack([np.fmin.reduce(yy, axis=1), np.fmax.reduce(yy, axis=1)], axis=1)
    y2 = y2.reshape(-1, y.shape[1])
    if m < n:
        t2 = np.concatenate([t2, t[m:]])
        y2 = np.concatenate([y2, y[m:]])
    return t2, y2

