"""File ▸ Export NWB… asks who made the session; the answers reach the NWB file and are
remembered; the [nwb] table of the app's config file pre-fills them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pynwb import NWBHDF5IO
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QDialogButtonBox

from hippoviz import params as P
from hippoviz.gui.capture.capture_controller import install
from tests.record.helpers import record_session


def test_export_dialog_metadata_reach_the_file(qtbot: Any, make_window: Callable[..., Any],
                                               tmp_path: Path) -> None:
    rec = record_session(tmp_path / "s.h5", P.load_preset("small"), steps=(60,),
                         manipulations={}).path
    cfg = tmp_path / "lab.toml"
    cfg.write_text('[nwb]\ninstitution = "Example University"\nlab = "Place Lab"\n')
    win = make_window()
    win.config_path = str(cfg)
    install(win)
    ctl = win.capture
    dlg = ctl.ask_nwb_metadata(rec, tmp_path / "s.nwb")
    qtbot.waitUntil(dlg.isVisible)
    assert dlg.institution.text() == "Example University" and dlg.lab.text() == "Place Lab"
    dlg.experimenter.setText("Doe, Jane; Roe, Richard")
    dlg.description.setText("gating sweep, run 3")
    ok = dlg.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    with qtbot.waitSignal(ctl.export_finished, timeout=120000):
        qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    with NWBHDF5IO(str(tmp_path / "s.nwb"), "r") as io:
        nwb = io.read()
        assert list(nwb.experimenter) == ["Doe, Jane", "Roe, Richard"]
        assert nwb.institution == "Example University" and nwb.lab == "Place Lab"
        assert nwb.session_description == "gating sweep, run 3"
        assert nwb.subject.species == "Rattus norvegicus"
    # the next export starts from these answers (the description is per session)
    again = ctl.ask_nwb_metadata(rec, tmp_path / "t.nwb")
    assert again.experimenter.text() == "Doe, Jane; Roe, Richard"
    assert again.description.text() == ""
    again.reject()
