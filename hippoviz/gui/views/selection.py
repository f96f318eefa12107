"""The selected cell, shared by every view: clicking a cell anywhere selects it everywhere."""

from __future__ import annotations

from PyQt6.QtCore import QObject, pyqtSignal


class QtSelection(QObject):
    """The currently selected layer and unit.

    Attributes
    ----------
    layer : str
        Layer of the selection, one of ``hippoviz.sim.LAYERS`` (``"ec"``, ``"dg"``, ``"ca3"``,
        ``"ca1"``, ``"out"``).
    unit : int or None
        Index of the selected unit within ``layer``; None when no cell is selected (the layer
        still tells views which layer to show).

    Notes
    -----
    ``changed`` is emitted once per effective change, never when ``select`` repeats the current
    selection, so views may call :meth:`select` from their own handlers without loops.
    """

    changed = pyqtSignal()

    def __init__(self, layer: str = "ca1", unit: int | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.layer: str = layer
        self.unit: int | None = unit

    def select(self, layer: str, unit: int | None) -> None:
        """Select ``unit`` of ``layer`` (``unit=None`` keeps only the layer) and notify views.

        Parameters
        ----------
        layer : str
            Layer name.
        unit : int or None
            Unit index within the layer, or None.
        """
        unit = None if unit is None else int(unit)
        if layer == self.layer and unit == self.unit:
            return
        self.layer = str(layer)
        self.unit = unit
        self.changed.emit()

    def clear(self) -> None:
        """Deselect the unit (keep the layer)."""
        self.select(self.layer, None)

    def __repr__(self) -> str:
        return f"QtSelection(layer={self.layer!r}, unit={self.unit!r})"
