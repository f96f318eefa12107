"""Weights view: any projection of the loop as a live heatmap, with a colour bar and a histogram."""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping
from typing import Any

import numpy as np
import pyqtgraph as pg
from numpy.typing import NDArray
from PyQt6 import QtCore, QtGui, QtWidgets

from hippoviz.gui import palette
from hippoviz.gui.views.selection import QtSelection
from hippoviz.gui.views.staged import StagedRedraw
from hippoviz.runtime import DataSource, RateMaps

#: name -> (menu label, presynaptic layer, postsynaptic layer). Matrices are (n_post, n_pre).
PROJECTIONS: dict[str, tuple[str, str, str]] = {
    "ec_dg": ("EC → DG", "ec", "dg"),
    "dg_ca3": ("DG → CA3", "dg", "ca3"),
    "ca3_ca1": ("CA3 → CA1", "ca3", "ca1"),
    "ca1_out": ("CA1 → EC out", "ca1", "out"),
    "ec_ca1": ("EC → CA1 (shortcut)", "ec", "ca1"),
    "ca3_ca3": ("CA3 → CA3 (recurrent collaterals)", "ca3", "ca3"),
    "obj_ca1": ("LEC object cells → CA1 (Hebbian)", "lec_object", "ca1"),
    "fb_out_ca1": ("feedback: EC out ⊣ CA1", "out", "ca1"),
    "fb_ca1_ca3": ("feedback: CA1 ⊣ CA3", "ca1", "ca3"),
    "fb_ca3_dg": ("feedback: CA3 ⊣ DG", "ca3", "dg"),
}
_HIST_BINS = 81


def hilbert_index(
    ix: NDArray[np.integer], iy: NDArray[np.integer], order: int
) -> NDArray[np.int64]:
    """Position of grid cells ``(ix, iy)`` along a Hilbert curve over a ``2**order`` square."""
    x = np.asarray(ix, dtype=np.int64).copy()
    y = np.asarray(iy, dtype=np.int64).copy()
    d = np.zeros_like(x)
    s = 1 << (order - 1) if order > 0 else 0
    while s > 0:
        rx = (x & s) > 0
        ry = (y & s) > 0
        d += s * s * ((3 * rx) ^ ry)
        # rotate the quadrant so that the curve stays continuous
        flip = ~ry
        both = flip & rx
        x = np.where(both, s - 1 - x, x)
        y = np.where(both, s - 1 - y, y)
        x, y = np.where(flip, y, x), np.where(flip, x, y)
        s >>= 1
    return d


def field_order(maps: NDArray[np.floating]) -> NDArray[np.intp]:
    """Order units by the position of their rate-map peak.

    Peaks are ordered along a Hilbert curve through the arena, so cells whose fields are close in
    2-D get close positions in the order (a diagonal band appears where connected cells share
    fields). Units with no field (silent or never visited) go last, by index.

    Parameters
    ----------
    maps : (n_units, ny, nx) float
        Rate maps in Hz, NaN where unvisited.
    """
    n, ny, nx = maps.shape
    flat = np.where(np.isfinite(maps), maps, -np.inf).reshape(n, -1)
    arg = np.argmax(flat, axis=1)
    best = flat[np.arange(n), arg]
    has = np.isfinite(best) & (best > 0)
    iy, ix = np.divmod(arg, nx)
    order_bits = max(1, int(np.ceil(np.log2(max(ny, nx, 2)))))
    key = hilbert_index(ix, iy, order_bits).astype(np.float64)
    key[~has] = np.inf
    return np.lexsort((np.arange(n), key))


class QtWeightsView(QtWidgets.QWidget, StagedRedraw):
    """Heatmap (post x pre) of one projection's weights, blue-black-red centred at 0 with a colour
    bar; levels auto (symmetric, 99.5th percentile of ``|w|``) or fixed; rows and columns sortable
    by field position; a histogram of all the weights below.

    Reads ``source.weights()`` and, for sorting, ``source.ratemaps()``.

    A redraw is a sequence of stages (:meth:`_redraw_steps`): the field orders, the colour levels
    and the sorted matrix, the histogram, then the heatmap panel, then the histogram panel. What
    the user asks for (a projection, sorting, levels) is drawn at once, every stage in one call.
    A new publication of the weights (every 0.5 s) or of the rate maps while sorting is spread
    over the display timer's ticks, one stage per :meth:`refresh`, so that no tick pays for a
    whole redraw (with its two panels repainted); each panel keeps its last complete picture
    until its own stage replaces it.
    """

    title = "Weights"
    #: Matrices with fewer weights are redrawn in one go when a publication comes (their
    #: arithmetic costs next to nothing); larger ones over several display ticks.
    slice_min_weights = 10_000

    def __init__(
        self, source: DataSource, selection: QtSelection,
        parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.source = source
        self.selection = selection
        self._weights_obj: Mapping[str, NDArray[np.float32]] | None = None
        self._maps_obj: RateMaps | None = None
        self._dirty = True  # asked for (projection, sorting, levels): redraw at once
        self._stale = False  # a new publication to show: redraw over the next ticks
        #: Complete redraws so far (both panels drawn); the benchmarks and tests count them.
        self.redraws = 0
        self._axis_labels: tuple[str, str, str] | None = None
        self._w: NDArray[np.float32] | None = None  # displayed (sorted) matrix
        self.row_order: NDArray[np.intp] = np.zeros(0, dtype=np.intp)
        self.col_order: NDArray[np.intp] = np.zeros(0, dtype=np.intp)
        self.levels = (-1.0, 1.0)
        self._info = ""
        self._orders: dict[tuple[str, int], tuple[RateMaps, NDArray[np.intp]]] = {}

        # -- toolbar -------------------------------------------------------------------------------
        self.proj_box = QtWidgets.QComboBox()
        self.proj_box.setToolTip("Projection (feedback matrices carry the error backwards)")
        for name, (label, _pre, _post) in PROJECTIONS.items():
            self.proj_box.addItem(label, name)
        self.proj_box.currentIndexChanged.connect(self._invalidate)

        self.sort_btn = QtWidgets.QToolButton()
        self.sort_btn.setText("Sort ▾")
        self.sort_btn.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.InstantPopup)
        # Fusion squeezes its own menu arrow into the button's corner, where it reads as a comma
        self.sort_btn.setStyleSheet("QToolButton::menu-indicator { image: none; width: 0px; }")
        self.sort_btn.setToolTip(
            "Order rows/columns by the place-field position of the units "
            "(rate-map peak along a Hilbert curve through the arena)"
        )
        menu = QtWidgets.QMenu(self.sort_btn)
        self.sort_rows_action = menu.addAction("Rows (post) by field position")
        self.sort_cols_action = menu.addAction("Columns (pre) by field position")
        for act in (self.sort_rows_action, self.sort_cols_action):
            act.setCheckable(True)
            act.toggled.connect(self._invalidate)
        self.sort_btn.setMenu(menu)

        self.level_box = QtWidgets.QComboBox()
        self.level_box.addItem("auto", "auto")
        self.level_box.addItem("fixed ±", "fixed")
        self.level_box.setToolTip(
            "Colour levels: auto (symmetric, 99.5th percentile of |w|) "
            "or fixed to ± the value beside"
        )
        self.level_box.currentIndexChanged.connect(self._on_level_mode)
        self.level_spin = QtWidgets.QDoubleSpinBox()
        self.level_spin.setDecimals(3)
        self.level_spin.setRange(0.001, 100.0)
        self.level_spin.setSingleStep(0.05)
        self.level_spin.setValue(0.5)
        self.level_spin.setEnabled(False)
        self.level_spin.setToolTip("Fixed colour limit: the bar spans [-value, +value]")
        self.level_spin.valueChanged.connect(self._invalidate)

        self.info = QtWidgets.QLabel("")
        self.info.setStyleSheet(f"color: {palette.MUTED};")
        bar = QtWidgets.QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 0)
        bar.setSpacing(4)
        bar.addWidget(self.proj_box)
        bar.addWidget(self.sort_btn)
        bar.addWidget(self.level_box)
        bar.addWidget(self.level_spin)
        bar.addStretch(1)

        # -- plots ---------------------------------------------------------------------------------
        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setBackground(palette.BACKGROUND)
        self.plots.ci.setContentsMargins(2, 2, 2, 2)
        self.plots.ci.setSpacing(2)
        self.heat: pg.PlotItem = self.plots.addPlot(row=0, col=0)
        self.hist: pg.PlotItem = self.plots.addPlot(row=1, col=0)
        self.plots.ci.layout.setRowStretchFactor(0, 3)
        self.plots.ci.layout.setRowStretchFactor(1, 1)
        palette.style_plot(self.heat, left="post unit", bottom="pre unit")
        palette.style_plot(self.hist, left="synapses", bottom="weight (a.u.)")
        self.heat.showGrid(x=False, y=False)
        self.heat.invertY(True)
        self.heat.setMenuEnabled(False)
        self.hist.setMenuEnabled(False)
        for p in (self.heat, self.hist):
            # room for six-digit synapse counts beside the rotated label (the two plots align)
            p.getAxis("left").setWidth(58)
            p.getAxis("bottom").enableAutoSIPrefix(False)
            p.getAxis("left").enableAutoSIPrefix(False)
        self.hist.setMouseEnabled(x=False, y=False)

        cmap = palette.colormap(palette.WEIGHTS_CMAP)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(cmap)
        self.heat.addItem(self.image)
        # the bar is a legend only (not linked to the image): one render per new matrix
        self.colorbar = pg.ColorBarItem(
            values=self.levels, colorMap=cmap, interactive=False, width=12
        )
        self.heat.layout.addItem(self.colorbar, 2, 5)  # where ColorBarItem's insert_in puts it
        self.heat.layout.setColumnFixedWidth(4, 5)
        cb_axis = self.colorbar.getAxis("right")
        cb_axis.setPen(pg.mkPen(palette.GRID))
        cb_axis.setTextPen(pg.mkPen(palette.MUTED))
        cb_axis.enableAutoSIPrefix(False)
        cb_axis.setLabel("weight (a.u.)", color=palette.FOREGROUND, size=f"{palette.LABEL_PT}pt")
        font = QtGui.QFont()
        font.setPointSize(palette.FONT_PT)
        cb_axis.setStyle(tickFont=font)

        fill = QtGui.QColor(palette.FOREGROUND)
        fill.setAlpha(90)
        self.hist_curve = pg.PlotDataItem(
            stepMode="center", fillLevel=0.0, brush=fill, pen=pg.mkPen(palette.FOREGROUND, width=1)
        )
        self.hist.addItem(self.hist_curve)
        dash = QtCore.Qt.PenStyle.DashLine
        self.hist_lo = pg.InfiniteLine(-1.0, angle=90, pen=pg.mkPen("#4f8fe8", style=dash))
        self.hist_hi = pg.InfiniteLine(1.0, angle=90, pen=pg.mkPen("#e8584f", style=dash))
        self.hist_zero = pg.InfiniteLine(0.0, angle=90, pen=pg.mkPen(palette.MUTED))
        for line in (self.hist_lo, self.hist_hi, self.hist_zero):
            self.hist.addItem(line, ignoreBounds=True)
        self.hist_stats = pg.TextItem("", color=palette.MUTED, anchor=(0.0, 0.0))
        self.hist_stats.setFont(font)
        self.hist.addItem(self.hist_stats, ignoreBounds=True)

        self.waiting = palette.waiting_text("waiting for weights…")
        self.heat.addItem(self.waiting, ignoreBounds=True)
        self.waiting.setPos(0.5, 0.5)
        self.heat.setRange(xRange=(0, 1), yRange=(0, 1))
        self.heat.scene().sigMouseMoved.connect(self._on_hover)

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(1)
        layout.addLayout(bar)
        layout.addWidget(self.info)
        layout.addWidget(self.plots, 1)

    # -- public ------------------------------------------------------------------------------------
    @property
    def projection(self) -> str:
        return str(self.proj_box.currentData())

    def set_projection(self, name: str) -> None:
        i = self.proj_box.findData(name)
        if i < 0:
            raise ValueError(f"unknown projection {name!r} (known: {', '.join(PROJECTIONS)})")
        self.proj_box.setCurrentIndex(i)

    def set_sorting(self, rows: bool, cols: bool) -> None:
        self.sort_rows_action.setChecked(rows)
        self.sort_cols_action.setChecked(cols)

    def set_fixed_levels(self, limit: float | None) -> None:
        """Fix the colour levels to ``±limit``; ``None`` returns to auto levels."""
        self.level_box.setCurrentIndex(0 if limit is None else 1)
        if limit is not None:
            self.level_spin.setValue(float(limit))

    @property
    def displayed(self) -> NDArray[np.float32] | None:
        """The matrix as drawn (rows = post, columns = pre, after sorting)."""
        return self._w

    def map_layers(self) -> set[str]:
        """The layers whose rate maps this view reads now (to sort rows or columns by field
        position; EC's for EC out, whose unit i rebuilds EC unit i)."""
        _label, pre, post = PROJECTIONS.get(self.projection, ("", "", ""))
        out: set[str] = set()
        for layer, on in ((post, self.sort_rows_action.isChecked()),
                          (pre, self.sort_cols_action.isChecked())):
            if on:
                out |= {layer, "ec"} if layer == "out" else {layer}
        return out

    def refresh(self) -> None:
        """Pull the weights (and the rate maps when sorting); redraw only if they changed: at once
        when asked for, else one stage per call (the display timer's tick)."""
        weights = self.source.weights()
        if weights is not self._weights_obj:
            self._weights_obj = weights
            self._stale = True
        if self.sort_rows_action.isChecked() or self.sort_cols_action.isChecked():
            maps = self.source.ratemaps()
            if maps is not self._maps_obj:
                self._maps_obj = maps
                self._stale = True
        if self._dirty:
            self._redraw()
        elif self._job is not None:
            self._step()
        elif self._stale:
            if self._sliced():
                self._start()
            else:
                self._redraw()

    # -- internals ---------------------------------------------------------------------------------
    def _invalidate(self, *_: Any) -> None:
        self._dirty = True
        if self.isVisible():
            self.refresh()

    def _on_level_mode(self, *_: Any) -> None:
        self.level_spin.setEnabled(self.level_box.currentData() == "fixed")
        self._invalidate()

    def _sliced(self) -> bool:
        """Whether the new publication is worth a redraw over several ticks: a large matrix,
        and a complete picture on show to keep meanwhile."""
        if self._w is None or self._weights_obj is None:
            return False
        w = self._weights_obj.get(self.projection)
        return w is not None and np.ndim(w) == 2 and np.size(w) >= self.slice_min_weights

    def _order_steps(
        self, layer: str, n: int, enabled: bool, rm: RateMaps | None
    ) -> Generator[None, None, tuple[NDArray[np.intp], bool]]:
        """Order of the ``n`` units of ``layer`` by field position in the rate maps ``rm``, and
        whether they are sorted (once per publication; one stage when computed)."""
        if not enabled:
            return np.arange(n), False
        maps: Mapping[str, NDArray[np.float32]] = rm.maps if rm is not None else {}
        candidates = [layer, "ec"] if layer == "out" else [layer]  # out unit i rebuilds EC unit i
        for name in candidates:
            m = maps.get(name)
            if m is not None:
                m = np.asarray(m)
                if m.ndim == 3 and m.shape[0] == n and m.shape[1] > 0 and m.shape[2] > 0:
                    key = (name, n)
                    cached = self._orders.get(key)
                    if rm is not None and (cached is None or cached[0] is not rm):
                        cached = (rm, field_order(m))  # once per publication
                        self._orders[key] = cached
                        yield
                    if cached is not None:
                        return cached[1], True
        return np.arange(n), False

    def _redraw_steps(self) -> Iterator[None]:
        """The redraw as stages: each ``yield`` ends one tick's share. Nothing on show changes
        before the heatmap stage (the matrix, levels, colour bar, orders and read-out change
        together), and the histogram panel follows in the next stage. Reads the weights, maps
        and settings as they are when it starts."""
        self._dirty = self._stale = False
        name = self.projection
        label, pre, post = PROJECTIONS.get(name, (name, "pre", "post"))
        weights = self._weights_obj if self._weights_obj is not None else {}
        rm = self._maps_obj
        sort_rows = self.sort_rows_action.isChecked()
        sort_cols = self.sort_cols_action.isChecked()
        fixed = self.level_box.currentData() == "fixed"
        fixed_lim = float(self.level_spin.value())
        w = weights.get(name)
        if w is None or np.ndim(w) != 2 or 0 in np.shape(w):
            self._w = None
            self.image.clear()
            self.hist_curve.setData([], [])
            self.waiting.setVisible(True)
            self.heat.setRange(xRange=(0, 1), yRange=(0, 1))
            self.info.setText(f" {label}: no data yet")
            self.redraws += 1
            return
        w = np.asarray(w, dtype=np.float32)
        n_post, n_pre = w.shape
        row_order, rows_sorted = yield from self._order_steps(post, n_post, sort_rows, rm)
        col_order, cols_sorted = yield from self._order_steps(pre, n_pre, sort_cols, rm)
        shown = w
        if rows_sorted:
            shown = shown[row_order]
        if cols_sorted:
            shown = shown[:, col_order]

        a = np.abs(w[np.isfinite(w)])
        wmax = float(a.max()) if a.size else 1.0
        if fixed:
            lim = fixed_lim
        else:
            # a strided sample of <= 25k weights estimates the percentile well enough (about
            # 125 weights above it), at a quarter of the cost of 100k
            sample = a[:: max(1, a.size // 25_000)]
            lim = float(np.quantile(sample, 0.995)) if a.size else 1.0
        lim = lim if lim > 0 else (wmax if wmax > 0 else 1.0)
        del a
        yield

        # a few outliers must not squash the distribution into one bin: the range stops at
        # 3x the colour limit and what lies beyond is counted in the end bins
        rng = max(min(wmax, 3.0 * lim), 1e-6)
        counts, edges = np.histogram(np.clip(w, -rng, rng), bins=_HIST_BINS, range=(-rng, rng))
        mean, sd = float(np.mean(w)), float(np.std(w))
        yield

        # -- the heatmap panel (its colour bar, its read-out) ----------------------------------
        self.waiting.setVisible(False)
        self.row_order, self.col_order = row_order, col_order
        self._w = shown
        self.levels = (-lim, lim)
        self.image.setImage(shown, autoLevels=False, levels=self.levels)
        self.image.setRect(QtCore.QRectF(-0.5, -0.5, n_pre, n_post))
        self.colorbar.setLevels(self.levels)
        if not fixed:
            self.level_spin.blockSignals(True)
            self.level_spin.setValue(lim)
            self.level_spin.blockSignals(False)
        self.heat.setRange(xRange=(-0.5, n_pre - 0.5), yRange=(-0.5, n_post - 0.5), padding=0.0)
        pre_l = palette.LAYER_LABELS.get(pre, palette.GROUP_LABELS.get(pre, pre))
        post_l = palette.LAYER_LABELS.get(post, post)
        # each setLabel lays its axis out and repaints it: only when the text or the theme's
        # text colour changed
        labels = (f"{pre_l} unit (pre)", f"{post_l} (post)", palette.FOREGROUND)
        if labels != self._axis_labels:
            self._axis_labels = labels
            style = {"color": palette.FOREGROUND, "size": f"{palette.LABEL_PT}pt"}
            self.heat.setLabel("bottom", labels[0], **style)
            self.heat.setLabel("left", labels[1], **style)
        sort = {
            (True, True): "rows & columns",
            (True, False): "rows",
            (False, True): "columns",
        }.get((rows_sorted, cols_sorted))
        self._info = f" {label}: {n_post} × {n_pre} (post × pre)" + (
            f" · {sort} by field" if sort else ""
        )
        self.info.setText(self._info)
        yield

        # -- the histogram panel -----------------------------------------------------------------
        self.hist_curve.setData(edges, counts.astype(np.float64))
        self.hist.setXRange(-rng, rng, padding=0.02)
        self.hist.setYRange(0.0, max(1.0, float(counts.max())) * 1.15, padding=0.0)
        self.hist_lo.setValue(-lim)
        self.hist_hi.setValue(lim)
        self.hist_stats.setText(f"mean {mean:+.3g}  sd {sd:.3g}")
        self.hist_stats.setPos(-rng, max(1.0, float(counts.max())) * 1.15)
        self.redraws += 1

    def _on_hover(self, scene_pos: QtCore.QPointF) -> None:
        if self._w is None or not self.heat.vb.sceneBoundingRect().contains(scene_pos):
            self.info.setText(self._info)
            return
        p = self.heat.vb.mapSceneToView(scene_pos)
        r, c = round(p.y()), round(p.x())
        n_post, n_pre = self._w.shape
        if 0 <= r < n_post and 0 <= c < n_pre:
            label = PROJECTIONS.get(self.projection, (self.projection,))[0]
            self.info.setText(
                f" {label}: post {int(self.row_order[r])} ← pre "
                f"{int(self.col_order[c])}: w = {self._w[r, c]:+.4f}"
            )
