"""Place-field gallery: the rate maps of one layer as one composed image, sorted by information.

The gallery is a single pyqtgraph ``ImageItem``: each page of maps is resampled and tiled into
one RGBA array sized to the view (one texture upload per redraw, whatever the number of cells),
with one small ``TextItem`` label per visible tile. Clicking a tile selects that unit everywhere
(``selection.select(layer, unit)``); the selected unit is framed in white.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pyqtgraph as pg
from numpy.typing import NDArray
from PyQt6 import QtCore, QtGui, QtWidgets

from hippoviz.gui import palette
from hippoviz.gui.views.selection import QtSelection
from hippoviz.gui.views.staged import StagedRedraw
from hippoviz.runtime import DataSource, RateMaps
from hippoviz.sim import HIDDEN, LAYERS

#: Layers offered first (in this order); any other layer with rate maps is appended.
DEFAULT_LAYERS: tuple[str, ...] = HIDDEN
_ALL_LAYERS: tuple[str, ...] = LAYERS
#: Tile edge lengths offered (pixels).
TILE_SIZES: dict[str, int] = {"small": 52, "medium": 68, "large": 100}
_GAP = 5  # pixels between tiles (room for the selection frame)
_LABEL_H = 13  # pixels of the label band under each tile
_FRAME = 2  # selection frame width (pixels)
#: Units whose spatial information one display tick computes while a redraw is spread over ticks.
_SI_CHUNK = 256


def spatial_information(
    maps: NDArray[np.floating],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Skaggs spatial information and peak rate of each rate map.

    Occupancy is taken as uniform over the visited (finite) bins of each map, which is what a
    map alone allows: ``I = sum_i p_i (l_i / l) log2(l_i / l)`` with ``p_i = 1 / n_visited``.

    Parameters
    ----------
    maps : (n_units, ny, nx) float
        Rates in Hz, NaN where unvisited.

    Returns
    -------
    si_bits_per_spike : (n_units,) float64
        NaN for silent or never-visited units.
    peak_hz : (n_units,) float64
        NaN for never-visited units.
    """
    m = np.asarray(maps, dtype=np.float32).reshape(maps.shape[0], -1)
    valid = np.isfinite(m)
    n_vis = valid.sum(axis=1)
    r = np.where(valid, m, np.float32(0.0))
    np.maximum(r, 0.0, out=r)
    peak = np.where(n_vis > 0, r.max(axis=1, initial=0.0), np.nan).astype(np.float64)
    total = r.sum(axis=1, dtype=np.float64)
    # sum_i (1/N)(r_i/mu) log2(r_i/mu) = S / (N mu) - log2(mu) with S = sum_i r_i log2 r_i and
    # N mu = total: one logarithm per bin, few temporaries (the gallery runs this each second)
    logs = np.log2(r, out=np.zeros_like(r), where=r > 0)
    s_sum = np.einsum("ij,ij->i", r, logs, dtype=np.float64)
    ok = (n_vis > 0) & (total > 0)
    mean = np.divide(total, n_vis, out=np.ones_like(total), where=ok)
    si = np.full(total.shape, np.nan)
    si[ok] = np.maximum(s_sum[ok] / total[ok] - np.log2(mean[ok]), 0.0)  # >= 0 up to rounding
    return si, peak


class QtFieldsView(QtWidgets.QWidget, StagedRedraw):
    """A paged gallery of rate maps (each scaled to its own peak; grey = unvisited) of one layer,
    sorted by spatial information, each labelled ``SI (bits/spike) · peak (Hz)`` and numbered.

    Reads ``source.ratemaps()`` (layer -> ``(n_units, ny, nx)`` float32 Hz, row 0 =
    ``ymin``). Redraws only when the maps, the page, the layout or the selection changed.

    A redraw is a sequence of stages (:meth:`_redraw_steps`): the spatial information of
    :data:`_SI_CHUNK` units at a time, then the order and the composed page, then the page on
    show (image, labels, captions, read-outs together). A change the user makes (layer, order,
    tile size, page, selection, size) is drawn at once, every stage in one call; a new
    publication of the rate maps (every second) is spread over the display timer's ticks, one
    stage per :meth:`refresh`, the last complete page staying on show meanwhile.
    """

    title = "Place fields"

    def __init__(
        self, source: DataSource, selection: QtSelection,
        parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.source = source
        self.selection = selection
        self._maps_obj: RateMaps | None = None  # last rate maps seen (identity check)
        #: Spatial information and peak rate per layer, of the maps ``_stats_maps``.
        self._stats: dict[str, tuple[NDArray[np.float64], NDArray[np.float64]]] = {}
        self._stats_maps: RateMaps | None = None
        self._order: NDArray[np.intp] = np.zeros(0, dtype=np.intp)
        self._page = 0
        self._dirty = True  # asked for (layer, page, layout, selection): redraw at once
        self._stale = False  # new rate maps to show: redraw over the next ticks
        #: Complete redraws so far; the benchmarks and tests count them.
        self.redraws = 0
        self._page_units: list[int] = []
        self._cols = 1
        self._rows = 1
        self._tile = (TILE_SIZES["medium"], TILE_SIZES["medium"])  # (h, w) of one map, px
        self._lut = _lut_with_nan()
        self.labels: list[pg.TextItem] = []
        self.unit_tags: list[pg.TextItem] = []
        #: The gallery this one mirrors (branch B's follows A's: same layer, order, page and
        #: tiles, so that a cell sits in the same tile in both); see :meth:`follow`.
        self.leader: QtFieldsView | None = None

        # -- toolbar -------------------------------------------------------------------------------
        self.layer_box = QtWidgets.QComboBox()
        self.layer_box.setToolTip("Layer whose rate maps are shown")
        for layer in DEFAULT_LAYERS:
            self.layer_box.addItem(palette.LAYER_LABELS[layer], layer)
        self.layer_box.currentIndexChanged.connect(self._on_layer_changed)
        self.sort_box = QtWidgets.QComboBox()
        self.sort_box.addItem("SI ↓", "si")
        self.sort_box.addItem("index", "index")
        self.sort_box.setToolTip(
            "Order of the cells: by spatial information (Skaggs, "
            "bits/spike; uniform occupancy over visited bins) or by index"
        )
        self.sort_box.currentIndexChanged.connect(self._invalidate)
        self.size_box = QtWidgets.QComboBox()
        for name, px in TILE_SIZES.items():
            self.size_box.addItem(name, px)
        self.size_box.setCurrentIndex(1)
        self.size_box.setToolTip("Tile size")
        self.size_box.currentIndexChanged.connect(self._invalidate)
        self.prev_btn = QtWidgets.QToolButton()
        self.prev_btn.setArrowType(QtCore.Qt.ArrowType.LeftArrow)
        self.prev_btn.setToolTip("Previous page (Page Up)")
        self.prev_btn.clicked.connect(lambda: self.set_page(self._page - 1))
        self.next_btn = QtWidgets.QToolButton()
        self.next_btn.setArrowType(QtCore.Qt.ArrowType.RightArrow)
        self.next_btn.setToolTip("Next page (Page Down)")
        self.next_btn.clicked.connect(lambda: self.set_page(self._page + 1))
        self.page_label = QtWidgets.QLabel("")
        self.page_label.setMinimumWidth(50)
        bar = QtWidgets.QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 0)
        bar.setSpacing(4)
        bar.addWidget(self.layer_box)
        bar.addWidget(self.sort_box)
        bar.addWidget(self.size_box)
        bar.addStretch(1)
        bar.addWidget(self.prev_btn)
        bar.addWidget(self.page_label)
        bar.addWidget(self.next_btn)
        self.caption = QtWidgets.QLabel("")
        self.caption.setStyleSheet(f"color: {palette.MUTED}; padding-left: 4px;")
        # a long caption is clipped rather than widening the window (two galleries side by side)
        self.caption.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored,
                                   QtWidgets.QSizePolicy.Policy.Preferred)

        # -- gallery: one view box, one image ----------------------------------------------
        self.view = pg.GraphicsView(background=palette.BACKGROUND)
        self.vb = pg.ViewBox(lockAspect=True, invertY=True, enableMouse=False, enableMenu=False)
        self.vb.setDefaultPadding(0.0)
        self.view.setCentralItem(self.vb)
        self.view.setMouseTracking(True)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.vb.addItem(self.image)
        self.waiting = palette.waiting_text("waiting for rate maps…")
        self.vb.addItem(self.waiting, ignoreBounds=True)
        self.view.scene().sigMouseClicked.connect(self._on_click)
        self.view.scene().sigMouseMoved.connect(self._on_hover)
        self._label_font = QtGui.QFont()
        self._label_font.setPointSize(palette.FONT_PT - 1)

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(1)
        layout.addLayout(bar)
        layout.addWidget(self.caption)
        layout.addWidget(self.view, 1)

        self.selection.changed.connect(self._on_selection_changed)
        start = self.selection.layer  # the selection names the layer to show
        if start is not None:
            self.set_layer(str(start))
        for key, step in (
            (QtGui.QKeySequence.StandardKey.MoveToPreviousPage, -1),
            (QtGui.QKeySequence.StandardKey.MoveToNextPage, 1),
        ):
            sc = QtGui.QShortcut(QtGui.QKeySequence(key), self)
            sc.setContext(QtCore.Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(lambda s=step: self.set_page(self._page + s))

    # -- public ------------------------------------------------------------------------------------
    @property
    def layer(self) -> str:
        return str(self.layer_box.currentData())

    @property
    def page(self) -> int:
        return self._page

    @property
    def n_pages(self) -> int:
        per = max(1, self._cols * self._rows)
        return max(1, int(np.ceil(self._order.size / per)))

    @property
    def page_units(self) -> list[int]:
        """Units shown on the current page, in tile order (row by row)."""
        return list(self._page_units)

    def set_layer(self, layer: str) -> None:
        i = self.layer_box.findData(layer)
        if i >= 0:
            self.layer_box.setCurrentIndex(i)

    def set_page(self, page: int) -> None:
        page = int(np.clip(page, 0, self.n_pages - 1))
        if page != self._page:
            self._page = page
            self._redraw()

    def tile_center(self, k: int) -> QtCore.QPoint:
        """Widget coordinates (of ``self.view``) of the centre of tile ``k`` on this page."""
        th, tw = self._tile
        cw, ch = tw + _GAP, th + _LABEL_H + _GAP
        r, c = divmod(k, self._cols)
        x = _GAP + c * cw + tw / 2.0
        y = _GAP + r * ch + th / 2.0
        scene = self.vb.mapViewToScene(QtCore.QPointF(x, y))
        return self.view.mapFromScene(scene)

    def follow(self, leader: QtFieldsView | None) -> None:
        """Mirror ``leader``'s layer, order, page and tile layout (its toolbar drives both; this
        one's hides its own), or stand alone again (None)."""
        self.leader = leader
        # the leader's toolbar drives both: this one keeps only its page number (and the width)
        for w in (self.layer_box, self.sort_box, self.size_box, self.prev_btn, self.next_btn):
            w.setEnabled(leader is None)
            w.setVisible(leader is None)
        self.layer_box.setToolTip("Follows the gallery of branch A" if leader is not None
                                  else "Layer whose rate maps are shown")
        self._invalidate()

    def _sync_leader(self) -> None:
        ld = self.leader
        if ld is None:
            return
        for mine, theirs in ((self.layer_box, ld.layer_box), (self.sort_box, ld.sort_box),
                             (self.size_box, ld.size_box)):
            d = theirs.currentData()
            if mine.currentData() != d:
                i = mine.findData(d)
                if i >= 0:
                    mine.setCurrentIndex(i)
        if (ld._page != self._page or ld._cols != self._cols or ld._rows != self._rows
                or not np.array_equal(ld._order, self._order)):
            self._dirty = True

    def map_layers(self) -> set[str]:
        """The layers whose rate maps this view shows now (the gallery's)."""
        return {self.layer}

    def refresh(self) -> None:
        """Pull the rate maps; recompute and redraw only if they changed: at once when asked
        for, else one stage per call (the display timer's tick)."""
        self._sync_leader()
        maps = self.source.ratemaps()
        if maps is not self._maps_obj:
            self._maps_obj = maps
            self._sync_layers(maps)
            self._stale = True
        if self._dirty:
            self._redraw()
        elif self._job is not None:
            self._step()
        elif self._stale:
            if self._page_units and self._layer_maps() is not None:
                self._start()
            else:  # nothing on show to keep, or nothing to compute: at once
                self._redraw()

    # -- events ------------------------------------------------------------------------------------
    def resizeEvent(self, ev: QtGui.QResizeEvent | None) -> None:
        super().resizeEvent(ev)
        self._invalidate()

    def showEvent(self, ev: QtGui.QShowEvent | None) -> None:
        super().showEvent(ev)
        self._invalidate()

    def _invalidate(self, *_: Any) -> None:
        self._dirty = True
        if self.isVisible():
            self._redraw()

    def _on_layer_changed(self, *_: Any) -> None:
        self._page = 0
        self._invalidate()

    def _on_selection_changed(self, *_: Any) -> None:
        layer, unit = self.selection.layer, self.selection.unit
        if layer is not None and layer != self.layer and self.layer_box.findData(layer) >= 0:
            self.set_layer(str(layer))  # also resets to page 0
        if unit is not None and layer == self.layer and unit not in self._page_units:
            self._ensure_order()
            where = np.flatnonzero(self._order == int(unit))
            if where.size:
                self._page = int(where[0]) // max(1, self._cols * self._rows)
        self._invalidate()

    def _unit_at(self, scene_pos: QtCore.QPointF) -> int | None:
        p = self.vb.mapSceneToView(scene_pos)
        th, tw = self._tile
        cw, ch = tw + _GAP, th + _LABEL_H + _GAP
        x, y = p.x() - _GAP, p.y() - _GAP
        if x < 0 or y < 0:
            return None
        c, r = int(x // cw), int(y // ch)
        if c >= self._cols or x - c * cw > tw or y - r * ch > th + _LABEL_H:
            return None
        k = r * self._cols + c
        return self._page_units[k] if 0 <= k < len(self._page_units) else None

    def _on_click(self, ev: Any) -> None:
        if ev.button() != QtCore.Qt.MouseButton.LeftButton:
            return
        unit = self._unit_at(ev.scenePos())
        if unit is not None:
            ev.accept()
            self.selection.select(self.layer, int(unit))

    def _on_hover(self, scene_pos: QtCore.QPointF) -> None:
        unit = self._unit_at(scene_pos)
        stats = self._stats.get(self.layer)
        if unit is None or stats is None:
            self.view.setToolTip("")
            return
        si, peak = stats[0][unit], stats[1][unit]
        self.view.setToolTip(
            f"{palette.LAYER_LABELS.get(self.layer, self.layer)} unit {unit}\n"
            f"SI {si:.2f} bits/spike\npeak {peak:.1f} Hz\nclick to select"
        )

    # -- drawing -----------------------------------------------------------------------------------
    def _sync_layers(self, rm: RateMaps | None) -> None:
        if rm is None:
            return
        for layer in _ALL_LAYERS:
            if layer in rm.maps and self.layer_box.findData(layer) < 0:
                self.layer_box.blockSignals(True)
                self.layer_box.addItem(palette.LAYER_LABELS[layer], layer)
                self.layer_box.blockSignals(False)

    def _layer_maps(self) -> NDArray[np.float32] | None:
        rm = self._maps_obj
        if rm is None:
            return None
        m = rm.maps.get(self.layer)
        if m is None:
            return None
        m = np.asarray(m)
        if m.ndim != 3 or m.shape[0] == 0 or m.shape[1] == 0 or m.shape[2] == 0:
            return None
        return m

    def _ensure_order(self) -> None:
        m = self._layer_maps()
        if m is None:
            self._order = np.zeros(0, dtype=np.intp)
            return
        if self._stats_maps is not self._maps_obj:
            self._stats.clear()
            self._stats_maps = self._maps_obj
        if self.layer not in self._stats:
            self._stats[self.layer] = _chunked_information(m)
        self._order = self._order_of(self._stats[self.layer][0])

    def _order_of(self, si: NDArray[np.float64]) -> NDArray[np.intp]:
        """The units in gallery order (the leader's, if this gallery follows one)."""
        ld = self.leader
        if ld is not None and ld.layer == self.layer and ld._order.size == si.size:
            return ld._order.copy()
        if self.sort_box.currentData() == "si":
            key = np.where(np.isfinite(si), -si, np.inf)
            return np.argsort(key, kind="stable")
        return np.arange(si.size)

    def _layout(self, ny: int, nx: int) -> tuple[tuple[int, int], int, int]:
        """Tile size ``(h, w)``, columns and rows of a page of ``ny`` x ``nx`` maps."""
        edge = int(self.size_box.currentData())
        w = max(1, self.view.viewport().width())
        h = max(1, self.view.viewport().height())
        cols = max(1, (w - _GAP) // (edge + _GAP))
        edge = max(edge, (w - _GAP) // cols - _GAP)  # stretch the tiles to fill the width
        s = edge / max(ny, nx)
        tile = (max(4, round(ny * s)), max(4, round(nx * s)))
        th, tw = tile
        n_cols = max(1, (w - _GAP) // (tw + _GAP))
        n_rows = max(1, (h - _GAP) // (th + _LABEL_H + _GAP))
        ld = self.leader
        if ld is not None and ld._cols and ld._rows:  # the leader's tiles, scaled to fit here
            return ld._tile, ld._cols, ld._rows
        return tile, n_cols, n_rows

    def _redraw_steps(self) -> Iterator[None]:
        """The redraw as stages: each ``yield`` ends one tick's share. Nothing on show changes
        before the last stage. Reads the maps and settings as they are when it starts."""
        self._dirty = self._stale = False
        m = self._layer_maps()
        if m is None:
            for it in (*self.labels, *self.unit_tags):
                it.setVisible(False)
            self._order = np.zeros(0, dtype=np.intp)
            self._page_units = []
            self.image.clear()
            w = max(1, self.view.viewport().width())
            h = max(1, self.view.viewport().height())
            self.vb.setRange(xRange=(0, w), yRange=(0, h), padding=0.0)
            self.waiting.setPos(w / 2.0, h / 2.0)
            self.waiting.setVisible(True)
            self.page_label.setText("")
            self.caption.setText("")
            self.redraws += 1
            return
        rm, layer = self._maps_obj, self.layer
        stats = self._stats.get(layer) if self._stats_maps is rm else None
        if stats is None:
            parts = []
            for a in range(0, m.shape[0], _SI_CHUNK):
                parts.append(spatial_information(m[a : a + _SI_CHUNK]))
                yield
            stats = (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
        si, peak = stats
        order = self._order_of(si)
        n, ny, nx = m.shape
        tile, n_cols, n_rows = self._layout(ny, nx)
        per = n_cols * n_rows
        n_pages = max(1, int(np.ceil(order.size / per)))
        page = self.leader._page if self.leader is not None else self._page
        page = int(np.clip(page, 0, n_pages - 1))
        units = order[page * per : (page + 1) * per]
        img = self._compose(m, units, peak, tile, n_cols, n_rows)
        yield

        # -- the page on show: image, labels, captions and read-outs together --------------------
        self.waiting.setVisible(False)
        if self._stats_maps is not rm:
            self._stats.clear()
            self._stats_maps = rm
        self._stats[layer] = stats
        self._order = order
        self._tile, self._cols, self._rows = tile, n_cols, n_rows
        self._page = page
        self._page_units = [int(u) for u in units]
        self._show_image(img)
        self._place_labels(units, si, peak)
        self.page_label.setText(f"{self._page + 1}/{self.n_pages}")
        self.prev_btn.setEnabled(self.leader is None and self._page > 0)
        self.next_btn.setEnabled(self.leader is None and self._page < self.n_pages - 1)
        n_fin = int(np.isfinite(si).sum())
        self.caption.setText(
            f"{palette.LAYER_LABELS.get(self.layer, self.layer)}: {n} cells "
            f"({n_fin} active) · label: SI bits/spike · peak Hz"
        )
        self.redraws += 1

    def _compose(
        self, m: NDArray[np.float32], units: NDArray[np.intp], peak: NDArray[np.float64],
        tile: tuple[int, int], n_cols: int, n_rows: int,
    ) -> NDArray[np.uint8]:
        """The page as one RGBA image: the maps of ``units`` in tiles of ``tile`` pixels."""
        th, tw = tile
        ny, nx = m.shape[1:]
        cw, ch = tw + _GAP, th + _LABEL_H + _GAP
        w = max(self.view.viewport().width(), _GAP + n_cols * cw)
        h = max(self.view.viewport().height(), _GAP + n_rows * ch)
        bg = np.array((*palette.rgb(palette.BACKGROUND), 255), dtype=np.uint8)
        img = np.empty((h, w, 4), dtype=np.uint8)
        img[:] = bg
        if units.size:
            sub = m[units].astype(np.float32)[:, ::-1, :]  # row 0 = ymin: flip so north is up
            pk = peak[units].astype(np.float32)
            pk = np.where(np.isfinite(pk) & (pk > 0), pk, 1.0)
            with np.errstate(invalid="ignore"):
                idx = np.clip(sub / pk[:, None, None] * 255.0, 0, 255)
            idx = np.where(np.isfinite(sub), idx, 256).astype(np.intp)
            ri = np.minimum((np.arange(th) * ny) // th, ny - 1)
            ci = np.minimum((np.arange(tw) * nx) // tw, nx - 1)
            tiles = self._lut[idx[:, ri][:, :, ci]]  # (k, th, tw, 4)
            sel = self._selected_unit()
            frame = np.array((*palette.rgb(palette.SELECTION), 255), dtype=np.uint8)
            for k, u in enumerate(units):
                r, c = divmod(k, n_cols)
                y0, x0 = _GAP + r * ch, _GAP + c * cw
                if sel is not None and int(u) == sel:
                    img[y0 - _FRAME : y0 + th + _LABEL_H, x0 - _FRAME : x0 + tw + _FRAME] = frame
                    img[y0 + th : y0 + th + _LABEL_H - _FRAME, x0 : x0 + tw] = bg
                img[y0 : y0 + th, x0 : x0 + tw] = tiles[k]
        return img

    def _show_image(self, img: NDArray[np.uint8]) -> None:
        h, w = img.shape[:2]
        self.image.setImage(img, autoLevels=False, levels=(0, 255))
        self.image.setRect(QtCore.QRectF(0, 0, w, h))
        if self.leader is not None:  # the leader's tiles, shrunk if this view is narrower
            self.vb.setRange(xRange=(0, w), yRange=(0, h), padding=0.0)
        else:
            self.vb.setRange(
                xRange=(0, self.view.viewport().width()),
                yRange=(0, self.view.viewport().height()),
                padding=0.0,
            )

    def _place_labels(
        self, units: NDArray[np.intp], si: NDArray[np.float64], peak: NDArray[np.float64]
    ) -> None:
        th, tw = self._tile
        cw, ch = tw + _GAP, th + _LABEL_H + _GAP
        sel = self._selected_unit()
        while len(self.labels) < units.size:
            lab = pg.TextItem("", color=palette.FOREGROUND, anchor=(0.5, 0.0))
            lab.setFont(self._label_font)
            tag = pg.TextItem(
                "", color=palette.FOREGROUND, anchor=(0.0, 0.0), fill=pg.mkBrush(0, 0, 0, 140)
            )
            tag.setFont(self._label_font)
            self.vb.addItem(lab, ignoreBounds=True)
            self.vb.addItem(tag, ignoreBounds=True)
            self.labels.append(lab)
            self.unit_tags.append(tag)
        wide = tw >= 64
        for k, u in enumerate(units):
            r, c = divmod(k, self._cols)
            y0, x0 = _GAP + r * ch, _GAP + c * cw
            s, p = si[u], peak[u]
            s_txt = f"{s:.2f}" if np.isfinite(s) else "–"
            p_txt = (
                f"{p:.1f}" if np.isfinite(p) and p < 10 else (f"{p:.0f}" if np.isfinite(p) else "–")
            )
            text = f"{s_txt} b · {p_txt} Hz" if wide else f"{s_txt} · {p_txt}"
            color = palette.SELECTION if int(u) == sel else palette.FOREGROUND
            # a TextItem lays its text out again on every setText: only when it changed
            _set_label(self.labels[k], text, color, (x0 + tw / 2.0, y0 + th - 1))
            _set_label(self.unit_tags[k], str(int(u)), None, (x0 - 1, y0 - 2))
        for it in (*self.labels[units.size:], *self.unit_tags[units.size:]):
            it.setVisible(False)

    def _selected_unit(self) -> int | None:
        if self.selection.layer != self.layer:
            return None
        unit = self.selection.unit
        return None if unit is None else int(unit)


def _set_label(item: pg.TextItem, text: str, color: str | None,
               pos: tuple[float, float]) -> None:
    """Show ``item`` with ``text`` (in ``color``) at ``pos``, touching only what changed."""
    state = (text, color, palette.FOREGROUND)  # the theme's text colour is part of the look
    if getattr(item, "_hv_state", None) != state:
        item._hv_state = state  # type: ignore[attr-defined]
        if color is None:
            item.setText(text)
        else:
            item.setText(text, color=color)
    if (item.pos().x(), item.pos().y()) != pos:
        item.setPos(*pos)
    if not item.isVisible():
        item.setVisible(True)


def _chunked_information(
    maps: NDArray[np.floating],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """:func:`spatial_information` of :data:`_SI_CHUNK` units at a time, as a redraw spread
    over ticks computes it (each unit's numbers depend on its own map only)."""
    parts = [spatial_information(maps[a : a + _SI_CHUNK]) for a in range(0, maps.shape[0],
                                                                          _SI_CHUNK)]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _lut_with_nan() -> NDArray[np.uint8]:
    """257-entry RGBA table: the rate-map colour map, then the unvisited colour at index 256."""
    lut = palette.cmap_lut(palette.RATEMAP_CMAP, 256)
    nan = np.array([[*palette.rgb(palette.UNVISITED), 255]], dtype=np.uint8)
    return np.concatenate([lut, nan], axis=0)
