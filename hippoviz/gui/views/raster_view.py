"""The spike raster: every layer stacked, drawn as a uint8 image (time bin x unit).

Drawing spikes as an image is what keeps 2,000 units x 10 s above 30 fps in software GL
(docs/architecture.md): each frame the visible spikes are binned with one ``np.bincount`` into
palette indices (layer x count), rows are max-pooled down to the screen's pixel rows, and one
``ImageItem`` with a lookup table draws the result.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import pyqtgraph as pg
from numpy.typing import NDArray
from PyQt6.QtCore import QRectF, Qt
from PyQt6.QtGui import QColor
from PyQt6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from hippoviz.gui import palette
from hippoviz.gui.style import LAYER_COLORS, LAYER_LABELS, current_theme, plot_colors
from hippoviz.gui.views.selection import QtSelection
from hippoviz.runtime import DataSource
from hippoviz.sim import LAYERS

#: Palette indices: 0 background, then ``LEVELS`` shades per layer, last = selected unit.
LEVELS = 3
SELECTED_INDEX = 255
ORDER_EVERY_S = 2.0
ZOOMS = ("all", 1000, 500, 200, 100, 50, 20)


def raster_lut(layers: tuple[str, ...], background: str) -> NDArray[np.uint8]:
    """``(256, 4) uint8``: index ``1 + li * LEVELS + (count - 1)`` is layer ``li`` with
    ``count`` spikes in the bin (brighter = more), 255 the selected unit."""
    lut = np.zeros((256, 4), np.uint8)
    lut[:, 3] = 255
    bg = QColor(background)
    lut[0, :3] = (bg.red(), bg.green(), bg.blue())
    for li, layer in enumerate(layers):
        c = QColor(LAYER_COLORS.get(layer, "#cccccc"))
        base = np.array([c.red(), c.green(), c.blue()], float)
        for k in range(LEVELS):
            f = 0.75 + 0.25 * k / max(1, LEVELS - 1)
            col = base * f + (255 - base) * (0.45 * k / max(1, LEVELS - 1))
            lut[1 + li * LEVELS + k, :3] = np.clip(col, 0, 255).astype(np.uint8)
    lut[SELECTED_INDEX, :3] = (255, 255, 255)
    return lut


class QtLayerAxis(pg.AxisItem):
    """Left axis of the raster: layer names at the middle of each visible block, unit numbers
    within a layer when zoomed in."""

    def __init__(self) -> None:
        super().__init__("left")
        self.blocks: list[tuple[str, int, int]] = []  # (layer, first row, n)

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list[Any]:
        minVal, maxVal = sorted((minVal, maxVal))  # the raster's y axis is inverted
        majors, minors = [], []
        span = max(1.0, maxVal - minVal)
        for _layer, r0, n in self.blocks:
            lo, hi = max(r0, minVal), min(r0 + n, maxVal)
            if hi <= lo:
                continue
            majors.append((lo + hi) / 2)
            if span <= 400 and size > 0:
                step = _nice_step(span / max(2.0, size / 40.0))
                first = math.ceil((lo - r0) / step) * step
                for u in np.arange(first, hi - r0, step):
                    minors.append(r0 + u + 0.5)
        return [(span, majors), (1.0, minors)]

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        out = []
        for v in values:
            name = ""
            for layer, r0, n in self.blocks:
                if r0 <= v < r0 + n:
                    if spacing == 1.0:
                        name = str(int(v - r0))
                    else:
                        name = LAYER_LABELS.get(layer, layer)
                    break
            out.append(name)
        return out


def _nice_step(x: float) -> float:
    """The smallest of 1, 2, 5, 10, 20, 50, ... not below ``x``."""
    if x <= 1:
        return 1.0
    e = 10 ** math.floor(math.log10(x))
    for m in (1, 2, 5, 10):
        if m * e >= x:
            return float(m * e)
    return float(10 * e)


class QtRasterView(QWidget):
    """Spikes of every layer (EC input, DG, CA3, CA1, EC output) in a scrolling window.

    Click a row to select that cell everywhere. The wheel zooms through units; the toolbar sets
    the window (1-30 s), the order (index or place-field position) and pages through units.

    Parameters
    ----------
    source : hippoviz.runtime.DataSource
        Where spikes and theta come from.
    selection : QtSelection
        The selected cell, highlighted in white.
    """

    title = "Raster"

    def __init__(self, source: DataSource, selection: QtSelection,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source = source
        self.selection = selection
        self._sizes: dict[str, int] = {}
        self._offsets: dict[str, int] = {}
        self._n_rows = 0
        self._rank: dict[str, NDArray[np.int64]] = {}  # unit -> row within layer
        self._order_t = 0.0
        self._theme = ""
        self._lut = raster_lut(LAYERS, palette.BACKGROUND)
        self._row_base = np.zeros(0, np.uint8)
        self._t0, self._bw = 0.0, 0.01
        self._xrange = 0.0
        self.last_draw_ms = 0.0
        #: The raster this one mirrors (branch B's follows A's window, order and rows, so that
        #: a unit sits on the same row in both); see :meth:`follow`.
        self.leader: QtRasterView | None = None

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 0)
        lay.addLayout(bar)
        bar.addWidget(QLabel("Window"))
        self.window_spin = QSpinBox()
        self.window_spin.setRange(1, 30)
        self.window_spin.setValue(10)
        self.window_spin.setSuffix(" s")
        self.window_spin.setToolTip("Length of the scrolling window (simulated seconds)")
        bar.addWidget(self.window_spin)
        bar.addWidget(QLabel("Order"))
        self.order_box = QComboBox()
        self.order_box.addItems(["index", "field position"])
        self.order_box.setToolTip("Sort units within each layer by index or by the position "
                                  "(x, then y) of their rate-map peak")
        self.order_box.currentIndexChanged.connect(self._on_order)
        bar.addWidget(self.order_box)
        bar.addWidget(QLabel("Units"))
        self.zoom_box = QComboBox()
        self.zoom_box.addItems([str(z) for z in ZOOMS])
        self.zoom_box.setToolTip("Rows shown at once (the mouse wheel zooms too)")
        self.zoom_box.currentIndexChanged.connect(self._on_zoom)
        bar.addWidget(self.zoom_box)
        self.up_btn = QToolButton(text="▲")
        self.up_btn.setToolTip("Page up through units (Page Up)")
        self.up_btn.clicked.connect(lambda: self.page(-1))
        self.down_btn = QToolButton(text="▼")
        self.down_btn.setToolTip("Page down through units (Page Down)")
        self.down_btn.clicked.connect(lambda: self.page(1))
        bar.addWidget(self.up_btn)
        bar.addWidget(self.down_btn)
        bar.addStretch(1)
        self._bar = [bar.itemAt(i).widget() for i in range(bar.count())
                     if bar.itemAt(i).widget() is not None]

        self.glw = pg.GraphicsLayoutWidget()
        self.glw.setMinimumSize(240, 160)
        lay.addWidget(self.glw, 1)
        self.axis = QtLayerAxis()
        self.plot = self.glw.addPlot(row=0, col=0, axisItems={"left": self.axis})
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.hideAxis("bottom")
        self.vb = self.plot.getViewBox()
        self.vb.invertY(True)
        self.vb.setMouseEnabled(x=False, y=True)
        self.vb.setLimits(yMin=0)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setLookupTable(self._lut)
        self.plot.addItem(self.image)
        self.sel_band = pg.LinearRegionItem(orientation="horizontal", movable=False,
                                            brush=pg.mkBrush(255, 255, 255, 28),
                                            pen=pg.mkPen(255, 255, 255, 90))
        self.sel_band.setZValue(10)
        self.sel_band.setVisible(False)
        self.plot.addItem(self.sel_band)
        self.separators: list[pg.InfiniteLine] = []

        self.theta = self.glw.addPlot(row=1, col=0)
        self.theta.setMenuEnabled(False)
        self.theta.hideButtons()
        self.theta.setMouseEnabled(x=False, y=False)
        self.theta.setXLink(self.plot)
        self.theta.setYRange(-1.1, 1.1, padding=0)
        self.theta.getAxis("left").setTicks([[(0, "θ")]])
        self.theta.getAxis("bottom").enableAutoSIPrefix(False)
        self.theta.setLabel("bottom", "time before now (s, simulated)")
        self.theta.setMaximumHeight(70)
        self.theta_curve = pg.PlotCurveItem(pen=pg.mkPen(palette.FOREGROUND, width=1))
        self._apply_theme()
        self.theta.addItem(self.theta_curve)
        self.glw.ci.layout.setRowStretchFactor(0, 5)
        self.glw.ci.layout.setRowStretchFactor(1, 1)
        # the layer axis is wider than the theta strip's: align the plots
        self.axis.setWidth(52)
        self.theta.getAxis("left").setWidth(52)
        palette.cache_axes(self.plot)
        palette.cache_axes(self.theta)

        self.plot.scene().sigMouseClicked.connect(self._on_click)
        selection.changed.connect(self._update_band)

    def _apply_theme(self) -> None:
        """Background of the raster and colour of the theta trace follow the theme."""
        theme = current_theme()
        if theme == self._theme:
            return
        self._theme = theme
        cols = plot_colors(theme)
        self._lut = raster_lut(LAYERS, cols["background"])
        self.image.setLookupTable(self._lut)
        self.theta_curve.setPen(pg.mkPen(cols["foreground"], width=1))
        for line in self.separators:
            line.setPen(pg.mkPen(palette.MUTED, width=1))

    # -- layout of rows --------------------------------------------------------------------
    def _layout_rows(self, sizes: dict[str, int]) -> None:
        self._sizes = {k: int(sizes[k]) for k in LAYERS if k in sizes}
        off = 0
        self._offsets = {}
        blocks = []
        for layer, n in self._sizes.items():
            self._offsets[layer] = off
            blocks.append((layer, off, n))
            off += n
        self._n_rows = off
        self._row_base = np.zeros(off, np.uint8)
        for li, (_layer, r0, n) in enumerate(blocks):
            self._row_base[r0:r0 + n] = 1 + li * LEVELS
        self.axis.blocks = blocks
        self._rank = {k: np.arange(n) for k, n in self._sizes.items()}
        for line in self.separators:
            self.plot.removeItem(line)
        self.separators = []
        for _layer, r0, _n in blocks[1:]:
            line = pg.InfiniteLine(pos=r0, angle=0, movable=False,
                                   pen=pg.mkPen(palette.MUTED, width=1))
            line.setZValue(5)
            self.plot.addItem(line)
            self.separators.append(line)
        self.vb.setLimits(yMin=0, yMax=max(1, off))
        self.vb.setYRange(0, max(1, off), padding=0)
        self._update_band()

    def _on_zoom(self, index: int) -> None:
        z = ZOOMS[index]
        if not self._n_rows:
            return
        top = self.vb.viewRange()[1][0]
        if z == "all":
            self.vb.setYRange(0, self._n_rows, padding=0)
        else:
            n = min(int(z), self._n_rows)
            top = min(max(0.0, top), self._n_rows - n)
            self.vb.setYRange(top, top + n, padding=0)

    def page(self, direction: int) -> None:
        """Move the visible rows by one page (``direction`` -1 up, +1 down)."""
        lo, hi = self.vb.viewRange()[1]
        n = hi - lo
        lo = min(max(0.0, lo + direction * n), max(0.0, self._n_rows - n))
        self.vb.setYRange(lo, lo + n, padding=0)

    def keyPressEvent(self, ev: Any) -> None:
        if ev.key() == Qt.Key.Key_PageUp:
            self.page(-1)
        elif ev.key() == Qt.Key.Key_PageDown:
            self.page(1)
        else:
            super().keyPressEvent(ev)

    def _on_order(self, _index: int) -> None:
        self._order_t = 0.0
        if self.order_box.currentIndex() == 0:
            self._rank = {k: np.arange(n) for k, n in self._sizes.items()}
            self._update_band()

    def follow(self, leader: QtRasterView | None) -> None:
        """Mirror ``leader``'s window, order and visible rows (its toolbar drives both; this
        one's is hidden, which also keeps two rasters side by side narrow), or stand alone
        again (None)."""
        self.leader = leader
        for w in self._bar:
            w.setVisible(leader is None)
        self._order_t = 0.0

    def _sync_leader(self) -> None:
        ld = self.leader
        if ld is None:
            return
        if self.window_spin.value() != ld.window_spin.value():
            self.window_spin.setValue(ld.window_spin.value())
        if self.order_box.currentIndex() != ld.order_box.currentIndex():
            self.order_box.setCurrentIndex(ld.order_box.currentIndex())

    def _sync_rows(self) -> None:
        """The leader's visible rows (after this one's own layout, which resets them)."""
        ld = self.leader
        if ld is None or ld._n_rows != self._n_rows:
            return
        lo, hi = ld.vb.viewRange()[1]
        mlo, mhi = self.vb.viewRange()[1]
        if abs(lo - mlo) > 1e-9 or abs(hi - mhi) > 1e-9:
            self.vb.setYRange(lo, hi, padding=0)

    def _update_order(self) -> None:
        """Rank units by the position of their rate-map peak (x, then y); silent units last
        (a follower takes its leader's ranks: a unit on the same row in both)."""
        if self.order_box.currentIndex() == 0:
            return
        ld = self.leader
        if ld is not None:
            if ld._rank.keys() == self._rank.keys() and any(
                    not np.array_equal(ld._rank[k], self._rank[k]) for k in ld._rank):
                self._rank = {k: v.copy() for k, v in ld._rank.items()}
                self._update_band()
            return
        now = time.monotonic()
        if now - self._order_t < ORDER_EVERY_S:
            return
        rm = self.source.ratemaps()
        if rm is None:
            return
        maps = rm.maps
        self._order_t = now
        for layer, n in self._sizes.items():
            m = maps.get(layer)
            if m is None or m.shape[0] != n:
                continue
            flat = np.where(np.isfinite(m), m, -1.0).reshape(n, -1)
            peak = flat.argmax(axis=1)
            ny, nx = m.shape[1], m.shape[2]
            iy, ix = np.divmod(peak, nx)
            key = ix.astype(float) * ny + iy
            key[flat.max(axis=1) <= 0] = np.inf
            order = np.argsort(key, kind="stable")
            rank = np.empty(n, np.int64)
            rank[order] = np.arange(n)
            self._rank[layer] = rank
        self._update_band()

    def row_of(self, layer: str, unit: int) -> int:
        """Row of ``unit`` of ``layer`` in the current order."""
        return self._offsets[layer] + int(self._rank[layer][unit])

    def cell_at_row(self, row: int) -> tuple[str, int] | None:
        """``(layer, unit)`` drawn on ``row``, or None."""
        for layer, r0 in self._offsets.items():
            n = self._sizes[layer]
            if r0 <= row < r0 + n:
                hits = np.flatnonzero(self._rank[layer] == row - r0)
                return (layer, int(hits[0])) if len(hits) else None
        return None

    def _on_click(self, ev: Any) -> None:
        if ev.button() != Qt.MouseButton.LeftButton or not self._n_rows:
            return
        p = self.vb.mapSceneToView(ev.scenePos())
        if not self.vb.sceneBoundingRect().contains(ev.scenePos()):
            return
        cell = self.cell_at_row(math.floor(p.y()))
        if cell is not None:
            self.selection.select(*cell)
            ev.accept()

    def _update_band(self) -> None:
        sel = self.selection
        if sel.unit is None or sel.layer not in self._sizes or sel.unit >= self._sizes[sel.layer]:
            self.sel_band.setVisible(False)
            return
        r = self.row_of(sel.layer, sel.unit)
        self.sel_band.setRegion((r, r + 1))
        self.sel_band.setVisible(True)

    # -- drawing ---------------------------------------------------------------------------
    def _bins(self) -> int:
        w = self.vb.width() if self.vb.width() > 0 else 800
        return int(min(2000, max(100, w)))

    def render(self, t_now: float, r0: int = 0, r1: int | None = None,
               f: int = 1) -> NDArray[np.uint8]:
        """Palette-index image of the window ending at ``t_now``: rows ``r0 .. r1`` pooled
        by ``f`` (a pixel row shows the spikes of ``f`` consecutive rows), one column per time
        bin. Work is proportional to the spikes and the pixels, not to the units.

        Returns
        -------
        (ceil((r1 - r0) / f), bins) uint8
        """
        r1 = self._n_rows if r1 is None else r1
        window = float(self.window_spin.value())
        nb = self._bins()
        bw = window / nb
        t_end = math.ceil(t_now / bw) * bw
        t0 = t_end - nb * bw
        self._t0, self._bw = t0, bw
        n_px = max(1, -(-(r1 - r0) // f))
        flat_idx = []
        sel = self.selection
        sel_cols: NDArray[np.int64] | None = None
        sel_row = -1
        if sel.unit is not None and sel.layer in self._sizes and sel.unit < self._sizes[sel.layer]:
            sel_row = self.row_of(sel.layer, sel.unit)
        for layer, n in self._sizes.items():
            off = self._offsets[layer]
            if off >= r1 or off + n <= r0:
                continue
            times, units = self.source.spikes(layer, t0, t_end)
            if len(times) == 0:
                continue
            units = units.astype(np.int64, copy=False)
            ok = (units >= 0) & (units < n)
            rows = off + self._rank[layer][units[ok]]
            cols = np.minimum(((times[ok] - t0) / bw).astype(np.int64), nb - 1)
            vis = (rows >= r0) & (rows < r1)
            rows, cols = rows[vis], cols[vis]
            if sel_row >= 0 and sel.layer == layer:
                sel_cols = cols[rows == sel_row]
            flat_idx.append(((rows - r0) // f) * nb + cols)
        img = np.zeros((n_px, nb), np.uint8)
        if flat_idx:
            c = np.bincount(np.concatenate(flat_idx), minlength=n_px * nb)[: n_px * nb]
            c8 = np.minimum(c, LEVELS).astype(np.uint8).reshape(n_px, nb)
            # palette index = the layer's base + count - 1 where there are spikes, else 0
            base = self._row_base[np.minimum(r0 + np.arange(n_px) * f, self._n_rows - 1)]
            img = np.where(c8 > 0, c8 + (base[:, None] - 1), 0).astype(np.uint8)
        if sel_cols is not None and len(sel_cols):
            img[(sel_row - r0) // f, sel_cols] = SELECTED_INDEX
        return img

    def map_layers(self) -> set[str]:
        """The layers whose rate maps this view reads now (all, to sort by field position)."""
        return set(self._sizes) if self.order_box.currentIndex() != 0 else set()

    def refresh(self) -> None:
        """Pull the spikes of the current window and redraw."""
        tic = time.perf_counter()
        self._apply_theme()
        self._sync_leader()
        sizes = self.source.layer_sizes()
        if {k: int(sizes[k]) for k in LAYERS if k in sizes} != self._sizes:
            self._layout_rows(sizes)
        if not self._n_rows:
            return
        self._update_order()
        self._sync_rows()
        t_now = self.source.t_s()
        # only the visible rows, pooled to the pixel rows available
        lo, hi = self.vb.viewRange()[1]
        r0 = int(max(0, math.floor(lo)))
        r1 = int(min(self._n_rows, math.ceil(hi)))
        if r1 <= r0:
            r0, r1 = 0, self._n_rows
        px = max(1, int(self.vb.height()))
        f = max(1, math.ceil((r1 - r0) / px))
        img = self.render(t_now, r0, r1, f)
        nb = img.shape[1]
        self.image.setImage(img, autoLevels=False, levels=(0, 255))
        # x is time relative to now: the axes stay still (no tick re-layout each frame) and
        # the spikes scroll past them
        window = float(self.window_spin.value())
        self.image.setRect(QRectF(self._t0 - t_now, r0, nb * self._bw, img.shape[0] * f))
        if self._xrange != window:
            self._xrange = window
            self.vb.setXRange(-window, 0.0, padding=0)

        s = self.source.samples(window)
        if len(s.t_s) and s.t_s[-1] > t_now:
            # the samples run ahead of the published time (at full speed by a publication,
            # ~0.4 s simulated): take as many more, so that the trace covers the window that
            # ends at t_now (the spikes' window) instead of stopping short of its left edge
            s = self.source.samples(window + float(s.t_s[-1] - t_now))
        t, ph = s.t_s, s.theta_phase_rad
        if len(t):
            self.theta_curve.setData(t - t_now, np.cos(ph))
        else:
            self.theta_curve.setData([], [])
        self.last_draw_ms = 1000 * (time.perf_counter() - tic)
