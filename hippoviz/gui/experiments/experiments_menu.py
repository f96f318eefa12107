"""The Experiments menu: the built-in protocols and "Open protocol file..."."""

from __future__ import annotations

from PyQt6 import QtCore, QtWidgets

from hippoviz import params as P
from hippoviz.experiments import protocol as PR


class QtExperimentsMenu(QtWidgets.QMenu):
    """An "Experiments" menu: one action per built-in protocol (in docs/model.md's order) and
    "Open protocol file...". :attr:`chosen` carries a built-in name or a file path."""

    chosen = QtCore.pyqtSignal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("&Experiments", parent)
        for name in PR.builtin_names():
            try:
                proto = PR.resolve(name)
            except P.ParamError:
                continue
            row = f"{proto.experiment}. " if proto.experiment else ""
            act = self.addAction(f"{row}{proto.title}  ({proto.minutes:.0f} min)")
            assert act is not None
            act.setToolTip(proto.description.replace("\n", " "))
            act.setData(name)
            act.triggered.connect(lambda _=False, n=name: self.chosen.emit(n))
        self.addSeparator()
        open_act = self.addAction("Open protocol file...")
        assert open_act is not None
        open_act.triggered.connect(self._open_file)

    def _open_file(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self.parentWidget(), "Open an experiment protocol", "",
            "Protocols (*.toml);;All files (*)")
        if path:
            self.chosen.emit(path)


__all__ = ["QtExperimentsMenu"]
