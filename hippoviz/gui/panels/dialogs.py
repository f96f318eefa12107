"""About, keyboard shortcuts and error dialogs (non-blocking: they never stop the event loop)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QMessageBox, QWidget

import hippoviz

CITATION = (
    "Santos-Pata D, Amil AF, Raikov IG, Rennó-Costa C, Mura A, Soltesz I, Verschure PFMJ (2021). "
    "Entorhinal mismatch: A model of self-supervised learning in the hippocampus. "
    "<i>iScience</i> 24(4):102364. doi:10.1016/j.isci.2021.102364"
)

#: (keys, what they do), shown by Help > Keyboard shortcuts.
SHORTCUTS: list[tuple[str, str]] = [
    ("Space", "Play / pause"),
    ("S", "Step one chunk (100 ms)"),
    ("Ctrl+R", "Reset with the seed in the seed field"),
    ("Ctrl+Shift+R", "Reset with a new random seed"),
    ("+ / -", "Faster / slower"),
    ("A / B", "LEC context A / B"),
    ("N", "New room (global remapping)"),
    ("Ctrl+O", "Open a config (TOML)"),
    ("Ctrl+S", "Save the current config (TOML)"),
    ("Ctrl+Shift+S", "Screenshot of the window (PNG)"),
    ("Ctrl+Alt+S", "Screenshot of a view (PNG 1x/2x/4x, SVG)"),
    ("Ctrl+Shift+M / Ctrl+Alt+M", "Record / stop a movie (MP4)"),
    ("Ctrl+E", "Record the session to HDF5 (toggle)"),
    ("Ctrl+F", "Fork the run into A and B (Simulation ▸ Unfork… keeps one)"),
    ("Ctrl+Shift+O", "Open a recording (timeline)"),
    ("Ctrl+Q", "Quit"),
    ("F1", "This list"),
    ("Double-click arena", "Add an object there"),
    ("Drag object", "Move it"),
    ("Right-click object", "Remove it"),
    ("Click a cell", "Select it in every view (raster row, arena rate map)"),
    ("Wheel / Page Up / Page Down", "Zoom / page through raster units"),
]


def about_text() -> str:
    return (
        f"<h3>hippoviz {hippoviz.__version__}</h3>"
        "<p>Watch the hippocampus teach itself: a live, self-supervised entorhinal–hippocampal "
        "loop in a foraging rat. The loop EC → DG → CA3 → CA1 → EC learns to reconstruct its "
        "entorhinal input; the mismatch travels back through countercurrent inhibitory "
        "projections.</p>"
        f"<p>Please cite the model:<br>{CITATION}</p>"
        "<p>Layer sizes, sparsity, learning rules and calibration beyond the paper are this "
        "project's reconstruction.</p>"
    )


def shortcuts_html() -> str:
    rows = "".join(f"<tr><td><b>{k}</b>&nbsp;&nbsp;</td><td>{v}</td></tr>" for k, v in SHORTCUTS)
    return f"<table>{rows}</table>"


def show_message(parent: QWidget, title: str, text: str,
                 icon: QMessageBox.Icon = QMessageBox.Icon.Information,
                 buttons: QMessageBox.StandardButton = QMessageBox.StandardButton.Ok,
                 on_done: Callable[[int], Any] | None = None,
                 detail: str = "") -> QMessageBox:
    """Open a window-modal message box without blocking; ``on_done(button)`` on close."""
    box = QMessageBox(icon, title, text, buttons, parent)
    box.setTextFormat(Qt.TextFormat.RichText if text.lstrip().startswith("<") else
                      Qt.TextFormat.PlainText)
    if detail:
        box.setDetailedText(detail)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    if on_done is not None:
        box.finished.connect(lambda _r: on_done(int(box.standardButton(box.clickedButton()).value)
                                                if box.clickedButton() else 0))
    box.open()
    return box
