"""Record session (File → Record session, the toolbar's record button, the REC badge) and
File → Export NWB: the toggle produces an HDF5 recording that hippoviz.record.open_recording
reads, with every spike; bad paths and bad files give a dialog and no partial output."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PyQt6.QtWidgets import QMessageBox

from hippoviz import params as P
from hippoviz.gui.capture.capture_controller import install
from hippoviz.record import open_recording
from hippoviz.runtime import AddObject, Play, SetParams

CAPTURE_THREADS = ("hippoviz-movie", "hippoviz-recorder", "hippoviz-nwb-export")


@pytest.fixture(autouse=True)
def _no_capture_thread_left() -> Iterator[None]:
    yield
    left = [t for t in threading.enumerate() if t.name in CAPTURE_THREADS and t.is_alive()]
    assert not left, f"capture threads outlived the test: {left}"


def visible_error(win: Any) -> QMessageBox | None:
    boxes = [b for b in win.findChildren(QMessageBox) if b.isVisible()]
    return boxes[-1] if boxes else None


def play_until(qtbot: Any, win: Any, step: int) -> None:
    win.controls.speed_box.setCurrentText("max")
    win.source.command(Play(until_step=step))
    qtbot.waitUntil(lambda: win.source.step() == step
                    and not win.source.stats().playing, timeout=60000)


def test_record_toggle_writes_a_recording_with_the_spikes(
        qtbot: Any, make_window: Callable[..., Any], tmp_path: Path) -> None:
    win = make_window()
    install(win)
    ctl = win.capture
    assert ctl.act_record is not None and ctl.act_record in win.controls.actions()
    assert ctl.act_record.shortcut().toString() == "Ctrl+E"
    play_until(qtbot, win, 100)
    # a live change before the recording: the file must still replay from the build params
    win.source.command(SetParams({"learning.g_ca3_dg": 0.5}))
    qtbot.waitUntil(lambda: P.get(win.source.params(), "learning.g_ca3_dg") == 0.5,
                    timeout=5000)
    path = tmp_path / "session.h5"
    with qtbot.waitSignal(ctl.session.started, timeout=20000):
        ctl.start_session_recording(path)
    assert ctl.act_record.isChecked()
    assert ctl.session_indicator.isVisible() and "REC" in ctl.session_indicator.text()
    assert not path.exists()  # written under OUT.h5.part until complete
    # spikes seen by the GUI while recording (the raster's source)
    play_until(qtbot, win, 400)
    win.source.command(AddObject(0.2, -0.1))
    play_until(qtbot, win, 500)
    live = {layer: win.source.spikes(layer, 1.0, 5.0) for layer in ("dg", "ca3", "ca1")}
    with qtbot.waitSignal(ctl.session.stopped, timeout=30000) as blocker:
        ctl.act_record.trigger()  # the toggle again: stop
    assert Path(blocker.args[0]) == path
    assert not ctl.act_record.isChecked() and not ctl.session_indicator.isVisible()
    with open_recording(path) as rec:
        assert rec.complete
        assert rec.start_step == 100 and rec.end_step == 500
        assert rec.params == P.load_preset("small")  # built with these; the change is logged
        assert [c.get("op") for _, c in rec.command_log] == ["set", "add_object"]
        assert any(ch.key == "learning.g_ca3_dg" and ch.new == 0.5 for ch in rec.changes)
        for layer, (times, units) in live.items():
            sp = rec.spikes(layer, 1.0, 5.0)
            assert sp.times_s.size > 0, f"no {layer} spikes recorded"
            np.testing.assert_array_equal(sp.times_s, times)
            np.testing.assert_array_equal(sp.units, units)
        assert rec.pos_m.shape == (400, 2)
        assert rec.weight_times_s.size >= 1
    assert win.view_errors == [] and ctl.errors == []


def test_unwritable_recording_path_gives_a_dialog(qtbot: Any, make_window: Callable[..., Any],
                                                  tmp_path: Path) -> None:
    win = make_window(fake=True)
    install(win)
    ctl = win.capture
    with qtbot.waitSignal(ctl.session.failed, timeout=10000) as blocker:
        ctl.start_session_recording(tmp_path / "missing" / "x.h5")
    assert "does not exist" in blocker.args[0]
    box = visible_error(win)
    assert box is not None and "does not exist" in box.text()
    box.close()
    assert not ctl.act_record.isChecked() and not ctl.session_indicator.isVisible()
    assert not (tmp_path / "missing").exists()
    # an existing file is refused unless confirmed (the file dialog confirms: force=True)
    (tmp_path / "old.h5").write_bytes(b"old")
    with qtbot.waitSignal(ctl.session.failed, timeout=10000) as blocker:
        ctl.start_session_recording(tmp_path / "old.h5")
    assert "already exists" in blocker.args[0]
    assert (tmp_path / "old.h5").read_bytes() == b"old"
    assert win.runner.alive


def test_closing_or_rebuilding_finishes_the_recording(
        qtbot: Any, make_window: Callable[..., Any], tmp_path: Path) -> None:
    win = make_window()
    install(win)
    ctl = win.capture
    with qtbot.waitSignal(ctl.session.started, timeout=20000):
        ctl.start_session_recording(tmp_path / "a.h5")
    play_until(qtbot, win, 200)
    with qtbot.waitSignal(ctl.session.stopped, timeout=30000):
        win.controls.reset()  # a rebuild ends the recording of the old simulation
    with open_recording(tmp_path / "a.h5") as rec:
        assert rec.complete and rec.end_step == 200
    assert "rebuilt" in win.statusBar().currentMessage()

    qtbot.waitUntil(lambda: win.source.step() == 0, timeout=20000)
    with qtbot.waitSignal(ctl.session.started, timeout=20000):
        ctl.start_session_recording(tmp_path / "b.h5")
    play_until(qtbot, win, 150)
    win.close()  # finishes the file before the simulation thread stops
    with open_recording(tmp_path / "b.h5") as rec:
        assert rec.complete and rec.end_step == 150
        assert rec.spike_count("ca1") > 0


def test_export_nwb_from_the_app(qtbot: Any, make_window: Callable[..., Any],
                                 tmp_path: Path) -> None:
    win = make_window()
    install(win)
    ctl = win.capture
    with qtbot.waitSignal(ctl.session.started, timeout=20000):
        ctl.start_session_recording(tmp_path / "s.h5")
    play_until(qtbot, win, 200)
    with qtbot.waitSignal(ctl.session.stopped, timeout=30000):
        ctl.stop_session_recording()
    with qtbot.waitSignal(ctl.export_finished, timeout=120000) as blocker:
        assert ctl.export_nwb(tmp_path / "s.h5", tmp_path / "s.nwb")
    assert Path(blocker.args[0]) == tmp_path / "s.nwb"
    assert (tmp_path / "s.nwb").stat().st_size > 0
    # a foreign file: a dialog, and no output file
    (tmp_path / "foreign.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 64)
    with qtbot.waitSignal(ctl.export_failed, timeout=60000) as blocker:
        assert ctl.export_nwb(tmp_path / "foreign.h5", tmp_path / "f.nwb")
    box = visible_error(win)
    assert box is not None and box.text() == blocker.args[0]
    box.close()
    assert not (tmp_path / "f.nwb").exists()
    assert not list(tmp_path.glob("*.part"))


def test_the_recording_tap_listens_to_the_sessions_chunks() -> None:
    """The recorder is a listener of the session's chunk signal; nothing patches the simulator.
    A failing write is kept (the simulation goes on) and the tap leaves."""
    from hippoviz.gui.capture.session_recorder import RecordingTap
    from hippoviz.runtime import Session

    from ..runtime.fakesim import fake_builder

    class Rec:
        def __init__(self) -> None:
            self.got: list[int] = []
            self.fail = False

        def write(self, chunk: Any) -> None:
            if self.fail:
                raise OSError(28, "No space left on device")
            self.got.append(chunk.n)

    session = Session(P.load_preset("small"), 1, fake_builder())
    rec = Rec()
    tap = RecordingTap(session, rec)  # type: ignore[arg-type]
    session.run_chunk(3)
    assert rec.got == [3] and "run_chunk" not in vars(session.sim)
    tap.detach()
    session.run_chunk(4)
    assert rec.got == [3]

    tap = RecordingTap(session, rec)  # type: ignore[arg-type]
    session.run_chunk(7)
    assert rec.got == [3, 7]
    rec.fail = True
    session.run_chunk(2)  # the simulation goes on
    assert isinstance(tap.error, OSError) and session.step == 16
    rec.fail = False
    session.run_chunk(1)
    assert rec.got == [3, 7]  # the tap has left
