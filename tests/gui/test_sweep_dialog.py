"""Experiments ▸ Sweep…: a tiny sweep runs in the background while the GUI keeps responding, the
heatmap fills as runs finish, a clicked cell asks to open that point and seed, Cancel leaves a
folder that Run resumes."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PyQt6.QtCore import Qt, QTimer

from hippoviz import params as P
from tests.gui.helpers import distinct_colours, pixels


@pytest.fixture
def make_dialog(qtbot: Any, tmp_path: Path) -> Iterator[Callable[[], Any]]:
    """A shown sweep dialog, kept alive until the test ends, then stopped and deleted by Qt
    (left to Python's garbage collector, a dialog could be freed in the middle of a paint)."""
    from hippoviz.gui.experiments.sweep_dialog import QtSweepDialog

    made: list[Any] = []

    def make() -> Any:
        dlg = QtSweepDialog(None, preset="small", out_root=tmp_path)
        made.append(dlg)
        dlg.show()
        qtbot.waitExposed(dlg)
        return dlg

    yield make
    for dlg in made:
        dlg.shutdown()
        assert not dlg.running, "the sweep thread outlived the test"
        dlg.close()
        dlg.deleteLater()
    qtbot.wait(10)


def test_sweep_fills_the_heatmap_and_a_click_opens_the_point(qtbot: Any, tmp_path: Path,
                                                             make_dialog: Any) -> None:
    dlg = make_dialog()
    assert dlg.add_parameter("learning.g_ca3_dg", "0:1:2")
    assert dlg.add_parameter("inputs.gamma_lec", "0.5,1")
    dlg.seeds_edit.setText("1-2")
    dlg.minutes_spin.setValue(0.2)
    dlg.workers_spin.setValue(min(2, dlg.workers_spin.maximum()))
    out = tmp_path / "sw"
    dlg.out_edit.setText(str(out))
    # the GUI thread keeps turning while the sweep runs
    beats: list[float] = []
    beat = QTimer()
    beat.timeout.connect(lambda: beats.append(time.perf_counter()))
    beat.start(20)
    progress: list[int] = []
    dlg.progress.valueChanged.connect(progress.append)
    assert dlg.start()
    assert dlg.running and dlg.state == "running" and not dlg.run_button.isEnabled()
    qtbot.waitUntil(lambda: dlg.state == "done", timeout=240_000)
    beat.stop()
    gaps = np.diff(beats)
    assert len(beats) > 20 and gaps.max() < 2.0, gaps.max()
    # filled as the runs finished, not at once
    assert len(set(progress)) >= 3 and progress[-1] == 8
    assert dlg.progress.value() == 8 and dlg.run_button.isEnabled()
    assert (out / "table.csv").is_file() and len(list((out / "runs").glob("*.json"))) == 8

    dlg.metric_box.setCurrentText("reconstruction_error.final")
    qtbot.wait(50)
    values = dlg.current_values()
    assert values.shape == (2, 2) and np.isfinite(values).all()
    assert len(np.unique(values)) == 4
    # the heatmap's pixels: four cells of four colours
    img = pixels(dlg.heatmap)
    centres = [dlg.heatmap.cell_centre(r, c) for r in range(2) for c in range(2)]
    cell_rgb = {tuple(img[p.y(), p.x()]) for p in centres}
    assert len(cell_rgb) == 4, cell_rgb
    assert distinct_colours(dlg.heatmap) > 20
    # the lowest mean is drawn darkest (viridis)
    lo = np.unravel_index(np.argmin(values), values.shape)
    hi = np.unravel_index(np.argmax(values), values.shape)
    p_lo = dlg.heatmap.cell_centre(int(lo[0]), int(lo[1]))
    p_hi = dlg.heatmap.cell_centre(int(hi[0]), int(hi[1]))
    assert img[p_lo.y(), p_lo.x()].astype(int).sum() < img[p_hi.y(), p_hi.x()].astype(
        int).sum()

    # a click opens that point with the first seed (the mean is shown)
    with qtbot.waitSignal(dlg.openRequested, timeout=2000) as got:
        qtbot.mouseClick(dlg.heatmap, Qt.MouseButton.LeftButton,
                         pos=dlg.heatmap.cell_centre(1, 0))
    params, seed, label = got.args
    assert isinstance(params, P.Params) and seed == 1
    assert P.get(params, "learning.g_ca3_dg") == 1.0
    assert P.get(params, "inputs.gamma_lec") == 0.5
    assert P.get(params, "network.n_dg") == P.get(P.load_preset("small"), "network.n_dg")
    assert "g_ca3_dg = 1" in label
    # ... or with the seed shown
    dlg.show_box.setCurrentText("seed 2")
    qtbot.wait(50)
    with qtbot.waitSignal(dlg.openRequested, timeout=2000) as got:
        qtbot.mouseClick(dlg.heatmap, Qt.MouseButton.LeftButton,
                         pos=dlg.heatmap.cell_centre(0, 1))
    params, seed, _label = got.args
    assert seed == 2
    assert P.get(params, "learning.g_ca3_dg") == 0.0
    assert P.get(params, "inputs.gamma_lec") == 1.0


def test_cancel_leaves_a_folder_that_run_resumes(qtbot: Any, tmp_path: Path,
                                                 make_dialog: Any) -> None:
    dlg = make_dialog()
    assert dlg.add_parameter("learning.g_ca3_dg", "0:1:6")
    dlg.seeds_edit.setText("1")
    dlg.minutes_spin.setValue(0.5)
    dlg.workers_spin.setValue(1)
    out = tmp_path / "cancelled"
    dlg.out_edit.setText(str(out))
    assert dlg.start()
    qtbot.waitUntil(lambda: len(dlg.records) >= 1, timeout=120_000)
    dlg.cancel()
    assert dlg.state == "cancelling"
    qtbot.waitUntil(lambda: dlg.state == "cancelled", timeout=60_000)
    assert not dlg.running and dlg.run_button.isEnabled()
    assert "resumes" in dlg.status.text()
    kept = {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*.json")}
    assert 1 <= len(kept) < 6
    assert not (out / "table.csv").exists()
    # one column: the heatmap shows the runs that finished, grey for the others
    assert dlg.current_values().shape == (6, 1)
    assert dlg.start()
    qtbot.waitUntil(lambda: dlg.state == "done", timeout=240_000)
    after = {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*.json")}
    assert len(after) == 6 and all(after[k] == v for k, v in kept.items())
    assert f"{6 - len(kept)} computed now" in dlg.status.text()
    assert (out / "table.csv").is_file()


def test_bad_grid_is_said_in_the_dialog(qtbot: Any, tmp_path: Path, make_dialog: Any) -> None:
    dlg = make_dialog()
    assert dlg.add_parameter("learning.g_ca3_dg", "0:5:3")
    out = tmp_path / "never"
    dlg.out_edit.setText(str(out))
    assert not dlg.start()
    assert "out of range" in dlg.status.text() and dlg.state == "idle"
    assert not out.exists()
    # a third parameter is refused; the default values span the range
    assert dlg.add_parameter("inputs.gamma_lec")
    assert dlg.grid_specs()[1] == "inputs.gamma_lec=0:2:3"
    assert not dlg.add_parameter("inputs.gamma_ta")
    assert "at most 2" in dlg.status.text()


def test_menu_opens_the_dialog_and_a_point_as_a_live_run(qtbot: Any, make_window: Any,
                                                         tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    from hippoviz.gui.experiments.experiments_controller import install

    monkeypatch.setenv("HOME", str(tmp_path))
    win = make_window(preset="small")
    ctl = install(win)
    texts = [a.text() for a in ctl.menu.actions()]
    assert "S&weep…" in texts
    ctl.sweep_action.trigger()
    dlg = ctl.sweep_dialog
    assert dlg is not None and dlg.isVisible()
    assert dlg.preset_box.currentText() == "small"
    assert str(dlg.out_edit.text()).startswith(str(tmp_path / "hippoviz-sweeps"))
    params = P.replace(P.load_preset("small"), {"learning.g_ca3_dg": 0.25,
                                                "inputs.gamma_lec": 0.75})
    ctl.confirm_open = False
    assert ctl.open_point(params, 7, "sweep point g_ca3_dg = 0.25, seed 7")
    qtbot.waitUntil(lambda: win.source.seed() == 7, timeout=30_000)
    qtbot.waitUntil(lambda: win.source.params() is not None and P.get(
        win.source.params(), "learning.g_ca3_dg") == 0.25, timeout=30_000)
    assert P.get(win.source.params(), "inputs.gamma_lec") == 0.75
    assert "seed 7" in win.windowTitle() or win.controls.seed_box.value() == 7
    dlg.close()
