"""One dark-theme palette for every hippoviz view.

Layer colours follow the Okabe-Ito colour-blind-safe set, lightened where needed so that they
read on a dark background; every view that draws DG, CA3 or CA1 (raster, gallery, metrics,
circuit, ...) takes its colour from :data:`LAYER_COLORS`, so a layer looks the same everywhere.

Colours are ``"#rrggbb"`` strings (accepted by Qt, pyqtgraph and VisPy alike). The helpers at the
bottom build pyqtgraph objects lazily, so importing this module stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:  # pragma: no cover
    import pyqtgraph as pg

# -- surfaces and text ----------------------------------------------------------------------------
#: Plot / canvas background.
BACKGROUND = "#15171c"
#: Slightly lighter surface: gaps between tiles, empty sheet cells.
SURFACE = "#23262d"
#: Unvisited rate-map bins (NaN): a neutral grey, distinct from a silent (dark) bin.
UNVISITED = "#3a3e46"
#: Main text and axis colour.
FOREGROUND = "#d5d9e0"
#: Secondary text: ticks, hints, "waiting for data".
MUTED = "#8b929d"
#: Grid lines and separators.
GRID = "#3b4049"
#: Highlight of the selected cell (gallery frame, raster row, arena overlay).
SELECTION = "#ffffff"

# -- populations ------------------------------------------------------------------------------
#: One colour per population, in loop order.
LAYER_COLORS: dict[str, str] = {
    "ec": "#56b4e9",  # sky blue: entorhinal input (superficial layers)
    "dg": "#2ec99a",  # bluish green: dentate gyrus
    "ca3": "#e69f00",  # orange
    "ca1": "#d77fb3",  # reddish purple
    "out": "#a3d5f7",  # pale blue: EC deep layers (the reconstruction), a lighter EC
}
#: Display names of the populations.
LAYER_LABELS: dict[str, str] = {
    "ec": "EC",
    "dg": "DG",
    "ca3": "CA3",
    "ca1": "CA1",
    "out": "EC out",
}

# -- branches of a forked run ----------------------------------------------------------------
#: Colour of each branch of a forked run (its panel, its half of a split view, its curves).
BRANCH_COLORS: dict[str, str] = {
    "a": "#4aa3ff",  # blue: the original
    "b": "#ff8c3a",  # orange: the twin
}
BRANCH_LABELS: dict[str, str] = {"a": "A (original)", "b": "B (twin)"}

# -- entorhinal input groups (mismatch columns and EC vector slices) ----------------------------
GROUP_COLORS: dict[str, str] = {
    "total": FOREGROUND,
    "grid": "#f0e442",  # yellow: MEC grid cells
    "border": "#f07f45",  # vermillion: MEC border cells
    "lec": "#a99cf5",  # lavender: LEC (context + objects)
    "lec_context": "#a99cf5",
    "lec_object": "#7fb8ff",
}
GROUP_LABELS: dict[str, str] = {
    "total": "total",
    "grid": "MEC grid",
    "border": "MEC border",
    "lec": "LEC",
    "lec_context": "LEC context",
    "lec_object": "LEC object",
}

# -- circuit ------------------------------------------------------------------------------------
#: Forward (excitatory) projections.
FORWARD = "#b9c1cc"
#: Countercurrent inhibitory projections (the error pathway).
INHIBITORY = "#ff4f4f"
#: A lesioned (gain 0) projection.
LESION = "#7a3b3b"

# -- colour maps (names known to pyqtgraph.colormap.get) ----------------------------------------
#: Rate maps (sequential, perceptually uniform, dark low end that is not the background).
RATEMAP_CMAP = "viridis"
#: Signed weights: blue-black-red, a diverging map made for dark backgrounds; centre it at 0.
WEIGHTS_CMAP = "CET-D4"

#: Text sizes (points) used by the views so that a ~400 x 300 px dock stays readable.
FONT_PT = 8
LABEL_PT = 9
#: Faces for formulas, before the app's own (Qt falls back if none is installed): DejaVu Sans,
#: the usual face of the app, sets the hat of x̂ (x and a combining circumflex) far above the x,
#: clipped away in an axis label; its serif and the others set it on the x.
FORMULA_FACES = ("DejaVu Serif", "Liberation Serif", "serif")


def formula_html(text: str) -> str:
    """``text`` for a rich-text label (pyqtgraph's axis labels), its x̂ set in a formula face."""
    faces = ", ".join(f"'{f}'" if f != "serif" else f for f in FORMULA_FACES)
    return text.replace("x̂", f'<span style="font-family: {faces}">x̂</span>')


def rgb(color: str) -> tuple[int, int, int]:
    """``"#rrggbb"`` -> ``(r, g, b)`` in 0..255."""
    c = color.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def rgba_f(color: str, alpha: float = 1.0) -> tuple[float, float, float, float]:
    """``"#rrggbb"`` -> ``(r, g, b, a)`` in 0..1 (VisPy's convention)."""
    r, g, b = rgb(color)
    return r / 255.0, g / 255.0, b / 255.0, float(alpha)


def ramp_lut(stops: list[str], n: int = 256, alpha: int = 255) -> NDArray[np.uint8]:
    """A ``(n, 4) uint8`` lookup table interpolating linearly through colour ``stops``."""
    cols = np.array([rgb(s) for s in stops], dtype=np.float64)
    x = np.linspace(0.0, 1.0, len(stops))
    t = np.linspace(0.0, 1.0, n)
    out = np.empty((n, 4), dtype=np.uint8)
    for k in range(3):
        out[:, k] = np.round(np.interp(t, x, cols[:, k])).astype(np.uint8)
    out[:, 3] = alpha
    return out


def layer_lut(layer: str, n: int = 256) -> NDArray[np.uint8]:
    """Activity lookup table of one population: surface -> layer colour -> near white."""
    return ramp_lut([SURFACE, LAYER_COLORS.get(layer, FOREGROUND), "#fbfbf5"], n)


def colormap(name: str) -> pg.ColorMap:
    """A pyqtgraph colour map by name (one of the ``*_CMAP`` constants)."""
    import pyqtgraph as pg

    cmap = pg.colormap.get(name)
    assert cmap is not None
    return cmap


def cmap_lut(name: str, n: int = 256) -> NDArray[np.uint8]:
    """``(n, 4) uint8`` RGBA lookup table of a named colour map."""
    lut = colormap(name).getLookupTable(0.0, 1.0, n, alpha=True)
    return np.ascontiguousarray(lut, dtype=np.uint8)


def style_plot(
    plot: Any,
    *,
    left: str = "",
    bottom: str = "",
    left_units: str | None = None,
    bottom_units: str | None = None,
) -> None:
    """Apply the palette to a pyqtgraph ``PlotItem``: axis colours, fonts and labels."""
    import pyqtgraph as pg
    from PyQt6 import QtGui

    font = QtGui.QFont()
    font.setPointSize(FONT_PT)
    for name in ("left", "bottom", "right", "top"):
        ax = plot.getAxis(name)
        ax.setPen(pg.mkPen(GRID))
        ax.setTextPen(pg.mkPen(MUTED))
        ax.setStyle(tickFont=font, tickTextOffset=3)
        ax.enableAutoSIPrefix(False)  # labels carry their units; no "(x0.001)" surprises
    style = {"color": FOREGROUND, "font-size": f"{LABEL_PT}pt"}
    if left:
        plot.setLabel("left", left, units=left_units, **style)
    if bottom:
        plot.setLabel("bottom", bottom, units=bottom_units, **style)
    plot.showGrid(x=True, y=True, alpha=0.15)
    cache_axes(plot)


def uncache_backgrounds(widget: Any) -> None:
    """Paint the plain background of every pyqtgraph view in ``widget`` (itself included)
    straight from its brush rather than from pyqtgraph's cached background pixmap.

    Copying that window-sized pixmap at each repaint cost more than filling with one colour:
    the arena's GUI thread took about a fifth less CPU at the display rate without it.
    """
    import pyqtgraph as pg
    from PyQt6.QtWidgets import QGraphicsView

    views = [widget] if isinstance(widget, pg.GraphicsView) else []
    for view in [*views, *widget.findChildren(pg.GraphicsView)]:
        view.setCacheMode(QGraphicsView.CacheModeFlag.CacheNone)


def cache_axes(plot: Any) -> None:
    """Keep each axis of a pyqtgraph ``PlotItem`` drawn in a pixmap of the screen's resolution.

    An axis (its grid lines included) is otherwise drawn again, from its recorded picture, every
    time a curve under it changes: at the display rate that replay cost more than the curves.
    The pixmap is drawn anew when the axis changes (range, ticks, colours, size), and only then.
    """
    from PyQt6.QtWidgets import QGraphicsItem

    for name in ("left", "bottom", "right", "top"):
        plot.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


def waiting_text(message: str = "waiting for data…") -> pg.TextItem:
    """A centred, muted "waiting for data" label to put in a plot or view box."""
    import pyqtgraph as pg
    from PyQt6 import QtGui

    item = pg.TextItem(message, color=MUTED, anchor=(0.5, 0.5))
    font = QtGui.QFont()
    font.setPointSize(LABEL_PT + 1)
    font.setItalic(True)
    item.setFont(font)
    return item
