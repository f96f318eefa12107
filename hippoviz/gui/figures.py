"""Figures of an experiment, drawn with pyqtgraph offscreen and written as PNG and SVG.

:func:`write_figures` receives plain data (the metrics of a run or the mean and sd of a sweep,
the mismatch series, example rate maps) from ``hippoviz.experiments`` and writes one PNG and one
SVG per figure; every axis is labelled with its unit. It needs a Qt application: with no
display, set ``QT_QPA_PLATFORM=offscreen`` before calling it (``hippoviz experiment`` does).

Figures (each drawn when its data is present):

- ``place_cells``: place-cell fraction per layer for every phase that was analysed;
- ``mismatch``: the entorhinal mismatch over the protocol, phases shaded;
- ``pv_correlation``: PV and rate-map correlation, baseline vs condition, per layer;
- ``morph``: PV correlation with context A along the morph, and the fraction of cells closer to
  their B map;
- ``stretch``, ``objects``: elongation ratio, near-object rate ratio per layer;
- ``lesion``: place-cell fractions intact vs lesioned;
- ``ratemaps_N``: example rate maps before / after each comparison; ``place_maps``: example
  maps of the clearest place cells at the end.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from numpy.typing import NDArray
from PyQt6 import QtCore, QtGui, QtSvg

from hippoviz.gui.palette import LAYER_LABELS

HIDDEN = ("dg", "ca3", "ca1")
#: Figures are for reports: white background, dark text.
PAPER = "#ffffff"
INK = "#202124"
MUTED_INK = "#6b7079"
UNVISITED_RGBA = (200, 200, 200, 255)
#: Darker variants of the layer colours so that they read on white.
LAYER_INK = {"dg": "#1a9c75", "ca3": "#c98a00", "ca1": "#b8589a"}
GROUP_COLORS = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#9d755d")
WIDTH_PX = 1100


def _app() -> Any:
    return pg.mkQApp("hippoviz-figures")


def _label_style() -> dict[str, str]:
    return {"color": INK, "font-size": "11pt"}


class _Figure:
    """A GraphicsLayoutWidget sized for export."""

    def __init__(self, title: str, width: int = WIDTH_PX, height: int = 520) -> None:
        _app()
        self.win = pg.GraphicsLayoutWidget()
        self.win.setBackground(PAPER)
        self.win.resize(width, height)
        self.width, self.height = width, height
        self.win.ci.setContentsMargins(10, 10, 10, 10)
        self.win.addLabel(f"<b>{title}</b>", row=0, col=0, colspan=4, color=INK, size="12pt")
        self.row = 1

    def plot(self, row: int | None = None, col: int = 0, colspan: int = 1, title: str = "",
             x: str = "", y: str = "") -> pg.PlotItem:
        p = self.win.addPlot(row=self.row if row is None else row, col=col, colspan=colspan)
        if title:
            p.setTitle(title, color=INK, size="11pt")
        for ax in ("left", "bottom"):
            a = p.getAxis(ax)
            a.setPen(pg.mkPen(INK))
            a.setTextPen(pg.mkPen(INK))
            a.enableAutoSIPrefix(False)
        if x:
            p.setLabel("bottom", x, **_label_style())
        if y:
            p.setLabel("left", y, **_label_style())
        return p

    def save(self, out: Path, stem: str) -> str:
        """Render the scene to ``stem.png`` and ``stem.svg`` (Qt's own SVG generator: the
        exporter of pyqtgraph 0.14 cannot parse the paths Qt 6.11 writes)."""
        self.win.show()  # lays the scene out (offscreen: nothing appears)
        QtCore.QCoreApplication.processEvents()
        scene = self.win.scene()
        w, h = self.width, self.height
        # the layout may not shrink below its items' minimum sizes: render all of it
        self.win.ci.setGeometry(QtCore.QRectF(0, 0, w, h))
        QtCore.QCoreApplication.processEvents()
        rect = self.win.ci.geometry()
        w, h = max(w, round(rect.width())), max(h, round(rect.height()))
        source = QtCore.QRectF(0, 0, w, h)
        scale = 2  # PNGs at twice the layout size, sharp in reports
        image = QtGui.QImage(w * scale, h * scale, QtGui.QImage.Format.Format_ARGB32)
        image.fill(QtGui.QColor(PAPER))
        painter = QtGui.QPainter(image)
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        scene.render(painter, QtCore.QRectF(0, 0, w * scale, h * scale), source)
        painter.end()
        png = out / f"{stem}.png"
        if not image.save(str(png), "PNG"):
            raise OSError(f"cannot write {png}")
        gen = QtSvg.QSvgGenerator()
        gen.setFileName(str(out / f"{stem}.svg"))
        gen.setSize(QtCore.QSize(w, h))
        gen.setViewBox(QtCore.QRect(0, 0, w, h))
        gen.setTitle(stem)
        gen.setDescription("hippoviz experiment figure")
        painter = QtGui.QPainter(gen)
        painter.fillRect(source, QtGui.QColor(PAPER))
        scene.render(painter, source, source)
        painter.end()
        self.win.close()
        self.win.deleteLater()
        return png.name


def _num(x: Any) -> float:
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) else float("nan")


def _legend(p: pg.PlotItem) -> pg.LegendItem:
    leg = p.addLegend(offset=(-10, 10), labelTextColor=INK, labelTextSize="10pt",
                      brush=pg.mkBrush(255, 255, 255, 220),
                      pen=pg.mkPen(MUTED_INK))
    return leg


def _grouped_bars(p: pg.PlotItem, groups: list[str], series: list[tuple[str, list[float],
                  list[float] | None, str]], ylim: tuple[float, float] | None = None) -> None:
    """Bars at x = group index, one bar per series, with optional error bars."""
    n = max(1, len(series))
    width = 0.8 / n
    _legend(p)
    for k, (name, vals, errs, color) in enumerate(series):
        xs = np.arange(len(groups)) - 0.4 + width * (k + 0.5)
        h = np.asarray([_num(v) for v in vals], np.float64)
        ok = np.isfinite(h)
        bars = pg.BarGraphItem(x=xs[ok], height=h[ok], width=width * 0.9,
                               brush=pg.mkBrush(color), pen=pg.mkPen(INK, width=0.5), name=name)
        p.addItem(bars)
        if errs is not None:
            e = np.asarray([_num(v) for v in errs], np.float64)
            okb = ok & np.isfinite(e)
            if okb.any():
                p.addItem(pg.ErrorBarItem(x=xs[okb], y=h[okb], height=2 * e[okb],
                                          beam=width * 0.3, pen=pg.mkPen(INK)))
    p.getAxis("bottom").setTicks([[(i, g) for i, g in enumerate(groups)]])
    p.setXRange(-0.6, len(groups) - 0.4, padding=0)
    if ylim is not None:
        p.setYRange(*ylim, padding=0.02)
    p.showGrid(x=False, y=True, alpha=0.25)


def _layer_groups() -> list[str]:
    return [LAYER_LABELS[L] for L in HIDDEN]


def _sd(sd: Any, *path: str) -> Any:
    for k in path:
        if not isinstance(sd, dict):
            return None
        sd = sd.get(k)
    return sd


# ----------------------------------------------------------------------------------------------
def fig_place_cells(m: dict[str, Any], sd: dict[str, Any] | None, label: str, out: Path
                    ) -> str | None:
    phases = [(i, p) for i, p in enumerate(m.get("phases") or []) if p.get("layers")]
    if not phases:
        return None
    f = _Figure(f"Place cells per layer ({label})")
    p1 = f.plot(col=0, title="place cells / active units", x="layer",
                y="place-cell fraction (of active units)")
    p2 = f.plot(col=1, title="median spatial information", x="layer",
                y="spatial information (bits/spike)")
    s1, s2 = [], []
    for k, (i, ph) in enumerate(phases):
        color = GROUP_COLORS[k % len(GROUP_COLORS)]
        lay = ph["layers"]
        sdp = sd.get("phases") if isinstance(sd, dict) else None
        sdl = (sdp[i].get("layers") if isinstance(sdp, list) and i < len(sdp)
               and isinstance(sdp[i], dict) else None)
        name = f"{ph['name']} ({'learning' if ph.get('learning') else 'frozen'})"
        s1.append((name, [lay[L].get("place_cell_fraction_of_active") for L in HIDDEN],
                   [_sd(sdl, L, "place_cell_fraction_of_active") for L in HIDDEN]
                   if sdl else None, color))
        s2.append((name, [lay[L].get("median_si_bits_per_spike") for L in HIDDEN],
                   [_sd(sdl, L, "median_si_bits_per_spike") for L in HIDDEN]
                   if sdl else None, color))
    _grouped_bars(p1, _layer_groups(), s1, (0.0, 1.0))
    _grouped_bars(p2, _layer_groups(), s2)
    return f.save(out, "place_cells")


def fig_mismatch(series: dict[str, Any], label: str, out: Path) -> str | None:
    y = np.asarray([_num(v) for v in series.get("mismatch_total") or []], np.float64)
    if not np.isfinite(y).any():
        return None
    dt_min = float(series.get("mismatch_bin_s", 1.0)) / 60.0
    t = (np.arange(y.size) + 0.5) * dt_min
    f = _Figure(f"Entorhinal mismatch ({label})", height=440)
    p = f.plot(title="reconstruction error of the EC input, 1-s means (green: learning on, "
               "grey: weights frozen)",
               x="protocol time (simulated min)", y="mismatch ||x - x̂||² / ||x||²")
    lo = np.nanmin(y) if np.isfinite(y).any() else 0.0
    hi = np.nanmax(y) if np.isfinite(y).any() else 1.0
    sdv = series.get("mismatch_total_sd")
    if sdv:
        e = np.asarray([_num(v) for v in sdv], np.float64)[: y.size]
        ok = np.isfinite(y) & np.isfinite(e)
        if ok.any():
            up = pg.PlotDataItem(t[ok], (y + e)[ok], pen=None)
            dn = pg.PlotDataItem(t[ok], (y - e)[ok], pen=None)
            p.addItem(pg.FillBetweenItem(up, dn, brush=pg.mkBrush(76, 120, 168, 60)))
            hi = max(hi, float((y + e)[ok].max()))
            lo = min(lo, float((y - e)[ok].min()))
    for k, ph in enumerate(series.get("phases") or []):
        a, b = _num(ph.get("start_min")), _num(ph.get("end_min"))
        if not (math.isfinite(a) and math.isfinite(b)):
            continue
        color = (84, 162, 75, 40) if ph.get("learning") else (150, 150, 150, 30)
        region = pg.LinearRegionItem((a, b), movable=False, brush=pg.mkBrush(*color),
                                     pen=pg.mkPen(MUTED_INK, width=0.5))
        p.addItem(region)
        txt = pg.TextItem(ph["name"], color=MUTED_INK, anchor=(0, 0))
        txt.setPos(a, hi + (hi - lo) * (0.02 + 0.06 * (k % 2)))
        p.addItem(txt)
    fin = np.isfinite(y)
    p.plot(t[fin], y[fin], pen=pg.mkPen(INK, width=1.2))
    p.setYRange(lo, hi + (hi - lo) * 0.15, padding=0.02)
    p.showGrid(x=True, y=True, alpha=0.2)
    return f.save(out, "mismatch")


def fig_pv(m: dict[str, Any], sd: dict[str, Any] | None, label: str, out: Path) -> str | None:
    pv = m.get("pv_correlation")
    if not pv:
        return None
    f = _Figure(f"{m.get('remapping_reference')} vs {m.get('remapping_condition')} ({label})")
    p1 = f.plot(col=0, title="population-vector correlation", x="layer",
                y="PV correlation (Pearson r)")
    p2 = f.plot(col=1, title="median rate-map correlation (cells active in both)", x="layer",
                y="rate-map correlation (Pearson r)")
    p3 = f.plot(col=2, title="median rate-difference index", x="layer",
                y="|R_A - R_B| / (R_A + R_B)")
    for p, key in ((p1, "pv_correlation"), (p2, "rate_map_correlation_median"),
                   (p3, "rate_difference_index_median")):
        series = []
        base = m.get(f"{key}_baseline")
        if base:
            series.append((f"baseline: {m.get('remapping_control')}",
                           [base.get(L) for L in HIDDEN],
                           [_sd(sd, f"{key}_baseline", L) for L in HIDDEN] if sd else None,
                           GROUP_COLORS[0]))
        cur = m.get(key) or {}
        series.append((f"condition: {m.get('remapping_condition')}",
                       [cur.get(L) for L in HIDDEN],
                       [_sd(sd, key, L) for L in HIDDEN] if sd else None, GROUP_COLORS[1]))
        _grouped_bars(p, _layer_groups(), series,
                      (0.0, 1.0) if key == "rate_difference_index_median" else (-0.2, 1.0))
    return f.save(out, "pv_correlation")


def fig_morph(m: dict[str, Any], sd: dict[str, Any] | None, label: str, out: Path
              ) -> str | None:
    curve = m.get("morph_pv_curve")
    vals = m.get("morph_values")
    if not curve or not vals:
        return None
    x = np.asarray([_num(v) for v in vals])
    f = _Figure(f"Morph A -> B ({label})")
    p1 = f.plot(col=0, title="PV correlation with context A", x="morph m (fraction of LEC "
                "cells in B)", y="PV correlation (Pearson r)")
    p2 = f.plot(col=1, title="cells closer to their B map", x="morph m (fraction of LEC cells "
                "in B)", y="fraction of active cells")
    for p, key in ((p1, "morph_pv_curve"), (p2, "morph_b_preference")):
        _legend(p)
        for L in HIDDEN:
            y = np.asarray([_num(v) for v in (m.get(key) or {}).get(L, [])])
            if y.size != x.size or not np.isfinite(y).any():
                continue
            fin = np.isfinite(y)
            pen = pg.mkPen(LAYER_INK[L], width=2)
            p.plot(x[fin], y[fin], pen=pen, symbol="o", symbolBrush=LAYER_INK[L],
                   symbolPen=None, symbolSize=7, name=LAYER_LABELS[L])
            e = _sd(sd, key, L)
            if isinstance(e, list) and len(e) == x.size:
                ev = np.asarray([_num(v) for v in e])
                ok = np.isfinite(ev) & np.isfinite(y)
                if ok.any():
                    p.addItem(pg.ErrorBarItem(x=x[ok], y=y[ok], height=2 * ev[ok], beam=0.02,
                                              pen=pg.mkPen(LAYER_INK[L])))
        p.setXRange(-0.05, 1.05, padding=0)
        p.setYRange(-0.1 if key == "morph_pv_curve" else 0.0, 1.0, padding=0.02)
        p.showGrid(x=True, y=True, alpha=0.25)
    return f.save(out, "morph")


def fig_ratio(m: dict[str, Any], sd: dict[str, Any] | None, label: str, out: Path, kind: str
              ) -> str | None:
    if kind == "stretch":
        r = m.get("field_elongation_ratio")
        if not r:
            return None
        det = m.get("field_elongation") or {}
        f = _Figure(f"Field elongation after the stretch ({label})")
        p = f.plot(title=f"{det.get('reference')} {det.get('arena_ref_m')} m -> "
                   f"{det.get('condition')} {det.get('arena_cond_m')} m",
                   x="layer", y=f"elongation ratio along {det.get('axis', 'y')} (1 = none)")
        series = [("median over cells with a field in both", [r.get(L) for L in HIDDEN],
                   [_sd(sd, "field_elongation_ratio", L) for L in HIDDEN] if sd else None,
                   GROUP_COLORS[0])]
        stem = "stretch"
    else:
        objs = m.get("objects")
        if not objs:
            return None
        f = _Figure(f"Firing near the object ({label})")
        p = f.plot(title="rate within the radius over rate elsewhere, relative to the earlier "
                   "probe", x="layer", y="near-object rate ratio (1 = no change)")
        series = []
        for k, (lab, d) in enumerate(objs.items()):
            at = d.get("at") or [float("nan")] * 2
            series.append((f"{lab} at ({_num(at[0]):+.2f}, {_num(at[1]):+.2f}) m",
                           [(d.get(L) or {}).get("near_rate_ratio") for L in HIDDEN],
                           [_sd(sd, "objects", lab, L, "near_rate_ratio") for L in HIDDEN]
                           if sd else None, GROUP_COLORS[k % len(GROUP_COLORS)]))
        stem = "objects"
    _grouped_bars(p, _layer_groups(), series)
    p.addItem(pg.InfiniteLine(pos=1.0, angle=0, pen=pg.mkPen(MUTED_INK, style=QtCore.Qt.PenStyle
                                                             .DashLine)))
    return f.save(out, stem)


def fig_lesion(m: dict[str, Any], sd: dict[str, Any] | None, label: str, out: Path
               ) -> str | None:
    les = m.get("lesion")
    if not les:
        return None
    f = _Figure(f"Countercurrent lesions ({label})")
    p = f.plot(title="place cells after learning, intact vs one back-projection cut (g = 0)",
               x="layer", y="place-cell fraction (of all units)")
    first = next(iter(les.values()))
    series = [("intact", [first["intact"].get(L) for L in HIDDEN],
               [_sd(sd, "lesion", next(iter(les)), "intact", L) for L in HIDDEN] if sd
               else None, GROUP_COLORS[0])]
    for k, (cut, d) in enumerate(les.items()):
        named = " + ".join(" -> ".join(part.upper() for part in c.split("_"))
                           for c in cut.split("+"))
        series.append((f"cut {named} (upstream: "
                       f"{', '.join(LAYER_LABELS[L] for L in d.get('upstream', []))})",
                       [d["lesioned"].get(L) for L in HIDDEN],
                       [_sd(sd, "lesion", cut, "lesioned", L) for L in HIDDEN] if sd else None,
                       GROUP_COLORS[(k + 1) % len(GROUP_COLORS)]))
    _grouped_bars(p, _layer_groups(), series, (0.0, 1.0))
    return f.save(out, "lesion")


# ----------------------------------------------------------------------------------------------
def _rgba(rate_map: NDArray[np.float64]) -> NDArray[np.uint8]:
    """A map as an RGBA image for ImageItem (x-major), scaled to its own peak."""
    m = np.asarray(rate_map, np.float64)
    vis = np.isfinite(m)
    peak = float(np.nanmax(m)) if vis.any() else 0.0
    norm = np.where(vis, m / peak if peak > 0 else 0.0, 0.0)
    cmap = pg.colormap.get("viridis")
    lut = cmap.getLookupTable(0.0, 1.0, 256, alpha=True)
    idx = np.clip((norm * 255).astype(np.int64), 0, 255)
    img = lut[idx].astype(np.uint8)
    img[~vis] = UNVISITED_RGBA
    return np.ascontiguousarray(np.transpose(img, (1, 0, 2)))


def _map_plot(f: _Figure, row: int, col: int, rate_map: NDArray[np.float64],
              extent: list[float], title: str, xlabel: bool, ylabel: bool) -> None:
    p = f.plot(row=row, col=col, title=title, x="x (m)" if xlabel else "",
               y="y (m)" if ylabel else "")
    img = pg.ImageItem(_rgba(rate_map))
    p.addItem(img)
    xmin, xmax, ymin, ymax = (float(v) for v in extent)
    img.setRect(QtCore.QRectF(xmin, ymin, xmax - xmin, ymax - ymin))
    p.setAspectLocked(True)
    p.setXRange(xmin, xmax, padding=0.02)
    p.setYRange(ymin, ymax, padding=0.02)
    p.hideButtons()


def _peak(m: NDArray[np.float64]) -> float:
    a = np.asarray(m, np.float64)
    return float(np.nanmax(a)) if np.isfinite(a).any() else float("nan")


def fig_ratemaps(cmp: dict[str, Any], out: Path, stem: str, label: str) -> str | None:
    layers = cmp.get("layers") or {}
    ncol = max((len(d.get("cells", [])) for d in layers.values()), default=0)
    if ncol == 0:
        return None
    f = _Figure(f"{cmp.get('title')} ({label}); each map scaled to its peak, grey = unvisited",
                width=max(1000, 290 * ncol), height=6 * 250 + 40)
    r = 1
    for L in HIDDEN:
        d = layers.get(L) or {}
        for which, name, ext in (("ref", cmp.get("ref_name"), cmp.get("extent_ref")),
                                 ("cond", cmp.get("cond_name"), cmp.get("extent_cond"))):
            for c, (cell, m) in enumerate(zip(d.get("cells", []), d.get(which, []),
                                              strict=False)):
                _map_plot(f, r, c, np.asarray(m), list(ext or [-0.5, 0.5, -0.5, 0.5]),
                          f"{LAYER_LABELS[L]} #{cell}, {name}: {_peak(m):.1f} Hz",
                          xlabel=(r == 6), ylabel=(c == 0))
            r += 1
    return f.save(out, stem)


def fig_place_maps(fm: dict[str, Any], out: Path, label: str) -> str | None:
    layers = fm.get("layers") or {}
    ncol = max((len(d.get("cells", [])) for d in layers.values()), default=0)
    if ncol == 0:
        return None
    f = _Figure(f"Clearest place cells at the end of {fm.get('phase')} ({label}); maps scaled "
                f"to their peak", width=max(1000, 290 * ncol), height=3 * 260 + 40)
    for r, L in enumerate(HIDDEN, start=1):
        d = layers.get(L) or {}
        for c, (cell, m, pc) in enumerate(zip(d.get("cells", []), d.get("maps", []),
                                              d.get("place_cell", []), strict=False)):
            tag = "place cell" if pc else "not a place cell"
            _map_plot(f, r, c, np.asarray(m), list(fm.get("extent") or [-0.5, 0.5, -0.5, 0.5]),
                      f"{LAYER_LABELS[L]} #{cell} ({tag}): {_peak(m):.1f} Hz",
                      xlabel=(r == 3), ylabel=(c == 0))
    return f.save(out, "place_maps")


def write_figures(data: dict[str, Any], out_dir: str | Path) -> list[str]:
    """Draw every figure the data allows into ``out_dir``; returns the PNG file names.

    Parameters
    ----------
    data : dict
        ``metrics`` (one run's metrics, or the mean of a sweep), ``sd`` (None, or the sd tree of
        a sweep), ``series`` (the mismatch trace: ``mismatch_total``, ``mismatch_bin_s``,
        ``phases``, optional ``mismatch_total_sd``), ``label`` (e.g. ``"seed 1"``),
        ``ratemaps`` (example maps of each comparison), ``final_maps`` and ``maps_label``.
    out_dir : path
        Existing folder.
    """
    out = Path(out_dir)
    m = data.get("metrics") or {}
    sd = data.get("sd")
    label = str(data.get("label", ""))
    maps_label = str(data.get("maps_label", label))
    names: list[str | None] = [
        fig_place_cells(m, sd, label, out),
        fig_mismatch(data.get("series") or {}, label, out),
        fig_pv(m, sd, label, out),
        fig_morph(m, sd, label, out),
        fig_ratio(m, sd, label, out, "stretch"),
        fig_ratio(m, sd, label, out, "objects"),
        fig_lesion(m, sd, label, out),
    ]
    for k, cmp in enumerate(data.get("ratemaps") or [], start=1):
        names.append(fig_ratemaps(cmp, out, f"ratemaps_{k}", maps_label))
    if data.get("final_maps"):
        names.append(fig_place_maps(data["final_maps"], out, maps_label))
    return [n for n in names if n]
