"""The dialog that asks for the metadata of an NWB export."""

from __future__ import annotations

import logging
import os
from typing import Any

from PyQt6.QtCore import QSettings
from PyQt6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QWidget

log = logging.getLogger(__name__)


class QtNwbMetadataDialog(QDialog):
    """Experimenter, institution, lab and session description of an NWB export.

    Pre-filled with the last answers (QSettings ``nwb/*``), else with the ``[nwb]`` table of
    the config file the app was started with; a bad answer is said under the fields and the
    dialog stays open. :attr:`metadata` holds the accepted answers
    (:class:`hippoviz.record.NwbMetadata`).
    """

    KEYS = ("experimenter", "institution", "lab")

    def __init__(self, parent: QWidget | None, settings: QSettings,
                 config: str | os.PathLike[str] | None = None) -> None:
        super().__init__(parent)
        from hippoviz.record import NwbMetadata, RecordError, load_nwb_metadata

        self.settings = settings
        self.metadata: Any = None
        base = NwbMetadata()
        if config:
            try:
                base = load_nwb_metadata(config)
            except RecordError as exc:
                log.info("no NWB metadata from %s: %s", config, exc)
        self._base = base
        form = QFormLayout(self)
        self.experimenter = QLineEdit(str(settings.value("nwb/experimenter", "") or "")
                                      or "; ".join(base.experimenter))
        self.experimenter.setPlaceholderText("Last, First; Last, First")
        self.experimenter.setToolTip("Who made the session, each as 'Last, First' (DANDI's "
                                     "form); separate several with ';'")
        self.institution = QLineEdit(str(settings.value("nwb/institution", "") or "")
                                     or base.institution)
        self.lab = QLineEdit(str(settings.value("nwb/lab", "") or "") or base.lab)
        self.description = QLineEdit(base.session_description)
        self.description.setPlaceholderText("hippoviz's own: seed and duration")
        form.addRow("Experimenter", self.experimenter)
        form.addRow("Institution", self.institution)
        form.addRow("Lab", self.lab)
        form.addRow("Session description", self.description)
        self.problem = QLabel("")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #ff6b6b")
        self.problem.hide()
        form.addRow(self.problem)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.setMinimumWidth(460)

    def accept(self) -> None:
        from hippoviz.record import RecordError

        names = tuple(n.strip() for n in self.experimenter.text().split(";") if n.strip())
        try:
            self.metadata = self._base.replace(
                experimenter=names, institution=self.institution.text().strip(),
                lab=self.lab.text().strip(),
                session_description=self.description.text().strip())
        except RecordError as exc:
            self.problem.setText(str(exc))
            self.problem.show()
            return
        self.settings.setValue("nwb/experimenter", "; ".join(names))
        self.settings.setValue("nwb/institution", self.metadata.institution)
        self.settings.setValue("nwb/lab", self.metadata.lab)
        super().accept()


__all__ = ["QtNwbMetadataDialog"]
