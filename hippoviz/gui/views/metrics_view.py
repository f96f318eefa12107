"""Metrics view: place-cell fraction and median spatial information per layer over time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from numpy.typing import NDArray
from PyQt6 import QtCore, QtWidgets

from hippoviz.gui import palette
from hippoviz.gui.views.selection import QtSelection
from hippoviz.runtime import DataSource, MetricsPoint
from hippoviz.sim import HIDDEN

#: Hidden layers whose metrics are plotted, in loop order.
METRIC_LAYERS: tuple[str, ...] = HIDDEN
#: Switch the time axis from seconds to minutes beyond this span.
_MINUTES_AFTER_S = 300.0


class QtMetricsView(QtWidgets.QWidget):
    """Place-cell fraction (%) and median Skaggs information (bits/spike) of DG, CA3 and CA1.

    Reads ``source.metrics_history()`` (:class:`~hippoviz.runtime.MetricsPoint` s in time
    order). Redraws only when the history grew or was replaced.
    """

    title = "Metrics"

    def __init__(
        self, source: DataSource, selection: QtSelection,
        parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.source = source
        self.selection = selection
        # the history last drawn (kept: ids can be reused)
        self._seen_obj: Sequence[MetricsPoint] | None = None
        self._seen_len = -1
        self._minutes = False

        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setBackground(palette.BACKGROUND)
        self.plots.ci.setContentsMargins(2, 2, 6, 2)
        self.plots.ci.setSpacing(2)
        self.legend = pg.LegendItem(
            colCount=len(METRIC_LAYERS),
            labelTextColor=palette.FOREGROUND,
            labelTextSize=f"{palette.LABEL_PT}pt",
        )
        self.plots.addItem(self.legend, row=0, col=0)
        self.frac_plot: pg.PlotItem = self.plots.addPlot(row=1, col=0)
        self.si_plot: pg.PlotItem = self.plots.addPlot(row=2, col=0)
        self.plots.ci.layout.setRowStretchFactor(1, 1)
        self.plots.ci.layout.setRowStretchFactor(2, 1)
        palette.style_plot(self.frac_plot, left="place cells (%)")
        palette.style_plot(self.si_plot, left="bits/spike", bottom="simulated time (s)")
        title = {"color": palette.FOREGROUND, "size": f"{palette.LABEL_PT}pt"}
        self.frac_plot.setTitle("place-cell fraction", **title)
        self.si_plot.setTitle("median spatial information (Skaggs)", **title)
        self.frac_plot.getAxis("bottom").setStyle(showValues=False)
        self.si_plot.setXLink(self.frac_plot)
        for p in (self.frac_plot, self.si_plot):
            p.getAxis("bottom").enableAutoSIPrefix(False)
            p.getAxis("left").setWidth(46)
            p.setMenuEnabled(False)
        self.frac_plot.setYRange(0.0, 100.0, padding=0.02)
        self.frac_plot.enableAutoRange(axis="y", enable=False)
        self.si_plot.setYRange(0.0, 1.0)

        self.frac_curves: dict[str, pg.PlotDataItem] = {}
        self.si_curves: dict[str, pg.PlotDataItem] = {}
        for layer in METRIC_LAYERS:
            color = palette.LAYER_COLORS[layer]
            kw: dict[str, Any] = {
                "pen": pg.mkPen(color, width=2),
                "symbol": "o",
                "symbolSize": 4,
                "symbolPen": None,
                "symbolBrush": color,
                "connect": "finite",
            }
            self.frac_curves[layer] = self.frac_plot.plot(**kw)
            self.si_curves[layer] = self.si_plot.plot(**kw)
            self.legend.addItem(self.frac_curves[layer], palette.LAYER_LABELS[layer])

        #: A second source (branch B of a forked run) whose metrics are drawn dashed over
        #: this one's (see :meth:`set_overlay`).
        self.overlay: DataSource | None = None
        self._seen_overlay: tuple[int, int] = (0, -1)
        self.overlay_frac: dict[str, pg.PlotDataItem] = {}
        self.overlay_si: dict[str, pg.PlotDataItem] = {}
        for layer in METRIC_LAYERS:
            color = palette.LAYER_COLORS[layer]
            kw = {"pen": pg.mkPen(color, width=1.5, style=QtCore.Qt.PenStyle.DashLine),
                  "symbol": "t", "symbolSize": 5, "symbolPen": None, "symbolBrush": color,
                  "connect": "finite"}
            self.overlay_frac[layer] = self.frac_plot.plot(**kw)
            self.overlay_si[layer] = self.si_plot.plot(**kw)

        self.waiting = palette.waiting_text("waiting for metrics…")
        self.frac_plot.addItem(self.waiting, ignoreBounds=True)
        self.waiting.setPos(0.5, 50.0)
        self.frac_plot.setXRange(0.0, 1.0)

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plots)

    # ------------------------------------------------------------------------------------------
    def set_overlay(self, source: DataSource | None) -> None:
        """Draw ``source``'s metrics (dashed, triangles) over this view's, or stop (None)."""
        self.overlay = source
        self._seen_overlay = (0, -1)
        if source is None:
            for c in (*self.overlay_frac.values(), *self.overlay_si.values()):
                c.setData([], [])
        self._seen_obj, self._seen_len = None, -1
        self.refresh()

    def refresh(self) -> None:
        """Pull the metrics history; redraw only if it changed since the last call."""
        if self.overlay is not None:
            other = self.overlay.metrics_history()
            key = (id(other), len(other))
            if key != self._seen_overlay:
                self._seen_overlay = key
                self._seen_obj, self._seen_len = None, -1  # redraw both
        hist = self.source.metrics_history()
        if not hist:
            if self._seen_obj is not None:
                self._seen_obj, self._seen_len = None, -1
                for c in (*self.frac_curves.values(), *self.si_curves.values()):
                    c.setData([], [])
            self.waiting.setVisible(True)
            return
        if hist is self._seen_obj and len(hist) == self._seen_len:
            return
        self._seen_obj, self._seen_len = hist, len(hist)
        self.waiting.setVisible(False)
        self._draw(hist)

    @staticmethod
    def _series(hist: Sequence[MetricsPoint]) -> tuple[
            NDArray[np.float64], dict[str, NDArray[np.float64]], dict[str, NDArray[np.float64]]]:
        n = len(hist)
        t = np.full(n, np.nan)
        frac = {layer: np.full(n, np.nan) for layer in METRIC_LAYERS}
        si = {layer: np.full(n, np.nan) for layer in METRIC_LAYERS}
        for i, point in enumerate(hist):
            t[i] = _num(point.t_s)
            for layer in METRIC_LAYERS:
                m = point.layers.get(layer)
                if m is not None:
                    frac[layer][i] = 100.0 * _num(m.get("place_cell_fraction"))
                    si[layer][i] = _num(m.get("median_si_bits_per_spike"))
        return t, frac, si

    def _draw_overlay(self, minutes: bool) -> None:
        if self.overlay is None:
            return
        t, frac, si = self._series(self.overlay.metrics_history())
        ok = np.isfinite(t)
        tx = t / 60.0 if minutes else t
        for layer in METRIC_LAYERS:
            self.overlay_frac[layer].setData(tx[ok], frac[layer][ok], connect="finite")
            self.overlay_si[layer].setData(tx[ok], si[layer][ok], connect="finite")

    def _draw(self, hist: Sequence[MetricsPoint]) -> None:
        t, frac, si = self._series(hist)
        ok = np.isfinite(t)
        if not ok.any():
            return
        minutes = bool(np.nanmax(t) > _MINUTES_AFTER_S)
        if minutes != self._minutes:
            self._minutes = minutes
            self.si_plot.setLabel(
                "bottom",
                f"simulated time ({'min' if minutes else 's'})",
                color=palette.FOREGROUND,
                size=f"{palette.LABEL_PT}pt",
            )
        tx = t / 60.0 if minutes else t
        self._draw_overlay(minutes)
        for layer in METRIC_LAYERS:
            self.frac_curves[layer].setData(tx[ok], frac[layer][ok], connect="finite")
            self.si_curves[layer].setData(tx[ok], si[layer][ok], connect="finite")
        lo, hi = float(np.nanmin(tx[ok])), float(np.nanmax(tx[ok]))
        if hi <= lo:
            lo, hi = lo - 1.0, hi + 1.0
        self.frac_plot.setXRange(lo, hi, padding=0.03)
        top = max((float(np.nanmax(v)) for v in si.values() if np.isfinite(v).any()), default=1.0)
        self.si_plot.setYRange(0.0, max(1.0, 1.1 * top), padding=0.0)


def _num(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")
