"""Colours, themes and small drawing helpers shared by the views."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from numpy.typing import NDArray
from PyQt6.QtGui import QColor, QPalette
from PyQt6.QtWidgets import QApplication

from hippoviz.gui import palette

#: One colour and one name per spiking population, shared with every view (see palette.py).
LAYER_COLORS: dict[str, str] = dict(palette.LAYER_COLORS)
LAYER_LABELS: dict[str, str] = {**palette.LAYER_LABELS, "ec": "EC in"}
THEMES: tuple[str, ...] = ("dark", "light")

_PG = {
    "dark": {"background": palette.BACKGROUND, "foreground": palette.FOREGROUND},
    "light": {"background": "#ffffff", "foreground": "#303030"},
}


def plot_colors(theme: str) -> dict[str, str]:
    """``{"background", "foreground"}`` of pyqtgraph plots in ``theme``."""
    return dict(_PG.get(theme, _PG["dark"]))


def current_theme() -> str:
    """The theme applied last by :func:`apply_theme` (default dark)."""
    app = QApplication.instance()
    return str(app.property("hippoviz_theme") or "dark") if app is not None else "dark"


def _dark_palette() -> QPalette:
    pal = QPalette()
    c = {
        QPalette.ColorRole.Window: "#26282c",
        QPalette.ColorRole.WindowText: "#e2e2e2",
        QPalette.ColorRole.Base: "#1e2024",
        QPalette.ColorRole.AlternateBase: "#2b2e33",
        QPalette.ColorRole.ToolTipBase: "#30333a",
        QPalette.ColorRole.ToolTipText: "#f0f0f0",
        QPalette.ColorRole.Text: "#e2e2e2",
        QPalette.ColorRole.Button: "#30333a",
        QPalette.ColorRole.ButtonText: "#e2e2e2",
        QPalette.ColorRole.BrightText: "#ff6b6b",
        QPalette.ColorRole.Link: "#5aa9ff",
        QPalette.ColorRole.Highlight: "#3d7bd9",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.PlaceholderText: "#8a8a8a",
    }
    for role, col in c.items():
        pal.setColor(role, QColor(col))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText,
                 QPalette.ColorRole.WindowText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7a7a7a"))
    return pal


def apply_theme(app: QApplication, theme: str) -> None:
    """Apply ``theme`` (``"dark"`` or ``"light"``) to the application and to pyqtgraph defaults.

    Plots created afterwards take the new colours; :func:`restyle_plots` updates existing ones.
    """
    if theme not in THEMES:
        theme = "dark"
    app.setStyle("Fusion")
    app.setPalette(_dark_palette() if theme == "dark" else app.style().standardPalette())
    qss = ""
    try:
        from hippoviz.resources import resource

        path = resource("styles", f"{theme}.qss")
        if path.is_file():
            qss = path.read_text(encoding="utf-8")
    except (OSError, FileNotFoundError):
        qss = ""
    app.setStyleSheet(qss)
    pg.setConfigOptions(antialias=False, **plot_colors(theme))
    app.setProperty("hippoviz_theme", theme)


def restyle_plots(root: Any, theme: str) -> None:
    """Set background and axis colours of every pyqtgraph view below ``root``."""
    cols = plot_colors(theme)
    for view in root.findChildren(pg.GraphicsView):
        view.setBackground(cols["background"])
        scene = view.scene()
        if scene is None:
            continue
        for item in scene.items():
            if isinstance(item, pg.AxisItem):
                item.setPen(cols["foreground"])
                item.setTextPen(cols["foreground"])
            elif isinstance(item, pg.LabelItem):
                item.setText(item.text, color=cols["foreground"])


def colormap_lut(name: str = "inferno", alpha: int = 255) -> NDArray[np.uint8]:
    """``(256, 4) uint8`` RGBA lookup table of a pyqtgraph colormap."""
    cmap = pg.colormap.get(name)
    lut = cmap.getLookupTable(0.0, 1.0, 256, alpha=True)
    lut = np.asarray(lut, dtype=np.uint8).copy()
    lut[:, 3] = alpha
    return lut


def rgba_map(values: NDArray[np.floating], lut: NDArray[np.uint8],
             vmax: float | None = None) -> NDArray[np.uint8]:
    """Colour a 2-D map through ``lut``; NaN becomes fully transparent.

    Parameters
    ----------
    values : (ny, nx) float
        The map (NaN where undefined).
    lut : (256, 4) uint8
        RGBA lookup table.
    vmax : float, optional
        Value mapped to the top of the table (default: the finite maximum).

    Returns
    -------
    (ny, nx, 4) uint8
    """
    v = np.asarray(values, dtype=np.float32)
    finite = np.isfinite(v)
    top = float(np.max(v[finite])) if vmax is None and finite.any() else float(vmax or 0.0)
    top = top if top > 0 else 1.0
    idx = np.clip(np.where(finite, v, 0.0) / top * 255.0, 0, 255).astype(np.uint8)
    out = lut[idx]
    out[~finite, 3] = 0
    return out
