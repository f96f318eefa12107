"""Views of a forked run: a view of branch A beside the same view of branch B, and the
difference strip (how A and B have drifted apart since the fork)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from numpy.typing import NDArray
from PyQt6 import QtCore, QtWidgets

from hippoviz.gui import palette
from hippoviz.runtime import DataSource, DiffPoint
from hippoviz.sim import HIDDEN

#: How the views of the two branches are shown: one beside the other, or B drawn over A (the
#: mismatch and metrics plots; the raster and the gallery stay side by side).
TWIN_MODES: tuple[str, ...] = ("split", "overlay")

#: What the difference strip reads: ``(fork id, fork time in s, DiffPoints)`` or None.
HistoryFn = Callable[[], tuple[int, float, Sequence[DiffPoint]] | None]


def branch_header(branch: str) -> QtWidgets.QLabel:
    """A thin coloured title naming a branch."""
    lbl = QtWidgets.QLabel(palette.BRANCH_LABELS[branch])
    color = palette.BRANCH_COLORS[branch]
    lbl.setStyleSheet(f"background: {color}; color: #101010; font-weight: bold; "
                      f"padding: 1px 6px;")
    lbl.setObjectName(f"branch_header_{branch}")
    return lbl


#: A pane at least this many times wider than tall shows A beside B; otherwise A above B.
WIDE_PANE = 1.5


class QtTwinPane(QtWidgets.QWidget):
    """One view of branch A and the same view of branch B, side by side, each under a header in
    its branch's colour; or, in ``overlay`` mode for views that draw B over A
    (``set_overlay``), A's view alone with B's curves in it."""

    def __init__(self, view_a: QtWidgets.QWidget, view_b: QtWidgets.QWidget, source_b: DataSource,
                 mode: str = "split", parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.view_a = view_a
        self.view_b = view_b
        self.source_b = source_b
        self.mode = ""
        self.splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        for branch, view in (("a", view_a), ("b", view_b)):
            box = QtWidgets.QWidget()
            lay = QtWidgets.QVBoxLayout(box)
            lay.setContentsMargins(0, 0, 0, 0)
            lay.setSpacing(0)
            lay.addWidget(branch_header(branch))
            lay.addWidget(view, 1)
            box.setObjectName(f"branch_{branch}")
            self.splitter.addWidget(box)
        self.splitter.setSizes([1, 1])
        for i in (0, 1):  # A and B share the width equally (B's toolbar may be hidden)
            self.splitter.setStretchFactor(i, 1)
        self._user_sized = False  # until the user drags the handle, A and B stay equal
        self.splitter.splitterMoved.connect(self._on_moved)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)
        self.set_mode(mode)

    def _on_moved(self, _pos: int, _index: int) -> None:
        self._user_sized = True

    def resizeEvent(self, ev: Any) -> None:
        """A beside B in a wide pane, A above B in a tall or square one (a gallery squeezed
        into half a narrow dock is unreadable); equal halves until the user drags the
        handle."""
        super().resizeEvent(ev)
        w, h = self.width(), self.height()
        if w <= 1 or h <= 1:
            return
        orient = (QtCore.Qt.Orientation.Horizontal if w >= WIDE_PANE * h
                  else QtCore.Qt.Orientation.Vertical)
        if orient != self.splitter.orientation():
            self.splitter.setOrientation(orient)
            self._user_sized = False
        if not self._user_sized:
            n = w if orient == QtCore.Qt.Orientation.Horizontal else h
            self.splitter.setSizes([n // 2, n // 2])

    @property
    def can_overlay(self) -> bool:
        return hasattr(self.view_a, "set_overlay")

    def set_mode(self, mode: str) -> None:
        if mode not in TWIN_MODES:
            raise ValueError(f"mode must be one of {TWIN_MODES}, got {mode!r}")
        overlay = mode == "overlay" and self.can_overlay
        if self.can_overlay:
            self.view_a.set_overlay(self.source_b if overlay else None)  # type: ignore[attr-defined]
        box_b = self.splitter.widget(1)
        if box_b is not None:
            box_b.setVisible(not overlay)
        self.mode = mode

    def release(self) -> QtWidgets.QWidget:
        """Take A's view out (the fork ended) and return it; B's view is deleted."""
        if self.can_overlay:
            self.view_a.set_overlay(None)  # type: ignore[attr-defined]
        self.view_a.setParent(None)
        self.view_b.hide()
        self.view_b.deleteLater()
        return self.view_a


class QtTwinStrip(QtWidgets.QWidget):
    """The difference strip: since the fork, the mismatch of A and of B (top) and the
    population-vector correlation between A's and B's DG, CA3 and CA1 (bottom: 1 while the
    branches agree). Reads ``history()`` (the simulation thread's list of
    :class:`~hippoviz.runtime.DiffPoint`, sliced for what is new)."""

    title = "A vs B"
    #: Points per curve above which the strip keeps every k-th point (min/max of the mismatch).
    MAX_POINTS = 4000

    def __init__(self, history: HistoryFn, describe: Callable[[], str] | None = None,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._history = history
        self._describe = describe
        self._fork_id = -1
        self._n_seen = 0
        self._t: list[float] = []
        self._mm: dict[str, list[float]] = {"a": [], "b": []}
        self._pv: dict[str, list[float]] = {layer: [] for layer in HIDDEN}
        self.key = QtWidgets.QLabel(" ".join(
            f'<span style="color:{c}">━ {t}</span>' for c, t in (
                (palette.BRANCH_COLORS["a"], "A"), (palette.BRANCH_COLORS["b"], "B"),
                *((palette.LAYER_COLORS[L], f"PV {palette.LAYER_LABELS[L]}") for L in HIDDEN))))
        self.key.setStyleSheet("padding-left: 4px;")
        self.caption = QtWidgets.QLabel("not forked")
        self.caption.setStyleSheet(f"color: {palette.MUTED}; padding-left: 4px;")
        self.caption.setWordWrap(True)
        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setBackground(palette.BACKGROUND)
        self.plots.ci.setContentsMargins(2, 2, 6, 2)
        self.mm_plot: pg.PlotItem = self.plots.addPlot(row=0, col=0)
        self.pv_plot: pg.PlotItem = self.plots.addPlot(row=1, col=0)
        palette.style_plot(self.mm_plot, left="mismatch")
        palette.style_plot(self.pv_plot, left="PV r, A vs B", bottom="simulated s since the fork")
        self.pv_plot.setXLink(self.mm_plot)
        self.pv_plot.setYRange(-0.1, 1.05, padding=0.0)
        for p in (self.mm_plot, self.pv_plot):
            p.getAxis("left").setWidth(46)
            p.getAxis("bottom").enableAutoSIPrefix(False)
            p.setMenuEnabled(False)
            p.showGrid(x=False, y=True, alpha=0.15)
        self.mm_curves = {
            b: self.mm_plot.plot(pen=pg.mkPen(palette.BRANCH_COLORS[b], width=1.4),
                                 name=f"{b.upper()}")
            for b in ("a", "b")}
        self.pv_curves = {
            layer: self.pv_plot.plot(pen=pg.mkPen(palette.LAYER_COLORS[layer], width=1.4),
                                     name=palette.LAYER_LABELS[layer])
            for layer in HIDDEN}
        for c in (*self.mm_curves.values(), *self.pv_curves.values()):
            c.setClipToView(True)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.caption)
        layout.addWidget(self.key)
        layout.addWidget(self.plots, 1)

    @staticmethod
    def bin_edges(t: NDArray[np.float64], n_bins: int = 200) -> NDArray[np.float64]:
        """Edges of the strip's time bins: at least 5 s of simulated time each, at most
        ``n_bins`` over the span since the fork (each point drawn is a bin's mean: a chunk's
        mean mismatch and the activity correlation of its last step are noisy)."""
        if t.size < 2:
            return np.zeros(0)
        span = float(t[-1])
        width = max(5.0, span / n_bins)
        return np.arange(0.0, span + width, width)

    @property
    def n_points(self) -> int:
        return len(self._t)

    def arrays(self) -> dict[str, Any]:
        """What the strip shows (for tests and exports): ``t`` (s since the fork), ``mismatch_a``,
        ``mismatch_b`` and ``pv_<layer>``."""
        out: dict[str, Any] = {"t": np.asarray(self._t)}
        for b, v in self._mm.items():
            out[f"mismatch_{b}"] = np.asarray(v)
        for layer, v in self._pv.items():
            out[f"pv_{layer}"] = np.asarray(v)
        return out

    def _clear(self) -> None:
        self._n_seen = 0
        self._t.clear()
        for lst in (*self._mm.values(), *self._pv.values()):
            lst.clear()

    def refresh(self) -> None:
        h = self._history()
        if h is None:
            if self._fork_id != -1:
                self._fork_id = -1
                self.caption.setText("not forked: Simulation ▸ Fork (Ctrl+F)")
            return
        fid, t_fork, points = h
        if fid != self._fork_id:
            self._fork_id = fid
            self._clear()
        new = list(points[self._n_seen:])
        if not new and self._t:
            return
        self._n_seen += len(new)
        for p in new:
            self._t.append(p.t_s - t_fork)
            self._mm["a"].append(p.mismatch_a)
            self._mm["b"].append(p.mismatch_b)
            for layer in HIDDEN:
                self._pv[layer].append(p.pv.get(layer, float("nan")))
        t = np.asarray(self._t)
        edges = self.bin_edges(t)
        tb = 0.5 * (edges[:-1] + edges[1:]) if edges.size > 1 else t
        for b, c in self.mm_curves.items():
            c.setData(tb, bin_means(t, np.asarray(self._mm[b]), edges), connect="finite")
        for layer, c in self.pv_curves.items():
            c.setData(tb, bin_means(t, np.asarray(self._pv[layer]), edges), connect="finite")
        text = f"forked at t = {t_fork:,.1f} s"
        if self._describe is not None:
            text += f" · {self._describe()}"
        if self._pv["dg"]:
            last = ", ".join(f"{palette.LAYER_LABELS[L]} {self._pv[L][-1]:.2f}" for L in HIDDEN)
            text += f" · PV r now: {last}"
        self.caption.setText(text)


def bin_means(t: NDArray[np.float64], y: NDArray[np.float64],
              edges: NDArray[np.float64]) -> NDArray[np.float64]:
    """Mean of the finite ``y`` in each bin of ``edges`` (NaN where a bin has none); ``y`` as it
    is when there are no edges."""
    if edges.size < 2:
        return y
    k = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, edges.size - 2)
    ok = np.isfinite(y)
    n = np.bincount(k[ok], minlength=edges.size - 1).astype(np.float64)
    s = np.bincount(k[ok], weights=y[ok], minlength=edges.size - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out: NDArray[np.float64] = s / n
    return out


__all__ = ["TWIN_MODES", "QtTwinPane", "QtTwinStrip", "bin_means", "branch_header"]
