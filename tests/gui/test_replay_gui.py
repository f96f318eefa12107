"""Replay (File → Open recording, hippoviz.gui.replay): the timeline scrubs every view — the
arena's rat and path, the raster (no spike after the cursor), the weights at the nearest
snapshot, the mismatch cursor — and plays; bad files give a dialog."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PyQt6.QtCore import QSettings
from PyQt6.QtWidgets import QMessageBox

from hippoviz import params as P
from hippoviz.gui.capture.capture_controller import install
from hippoviz.gui.replay.replay_window import QtReplayWindow
from hippoviz.record import Recorder, open_recording
from hippoviz.runtime import DataSource, Pause
from hippoviz.runtime.recording_source import RecordingSource

CAPTURE_THREADS = ("hippoviz-movie", "hippoviz-recorder", "hippoviz-nwb-export")
#: Commands applied before chunk i of the recorded session (100 steps = 1 s each).
MANIPULATIONS = {
    2: [{"op": "add_object", "x": 0.2, "y": -0.1}],
    4: [{"op": "set", "patch": {"arena.width_m": 1.5}}],
}


@pytest.fixture(autouse=True)
def _no_capture_thread_left() -> Iterator[None]:
    yield
    left = [t for t in threading.enumerate() if t.name in CAPTURE_THREADS and t.is_alive()]
    assert not left, f"capture threads outlived the test: {left}"


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 s of the small preset, an object added at 2 s, the arena stretched at 4 s."""
    from hippoviz.sim import build

    path = tmp_path_factory.mktemp("replay") / "session.h5"
    sim = build(P.load_preset("small"), 3)
    with Recorder(path, sim, snapshot_interval_s=2.0, ratemap_interval_s=4.0) as rec:
        for i in range(8):
            for cmd in MANIPULATIONS.get(i, []):
                sim.command(cmd)
            rec.write(sim.run_chunk(100))
    return path


@pytest.fixture
def replay(qtbot: Any, settings: QSettings, recording: Path) -> Iterator[QtReplayWindow]:
    win = QtReplayWindow(recording, settings=settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()


def test_slider_moves_the_rat_and_every_view(qtbot: Any, replay: QtReplayWindow,
                                             recording: Path) -> None:
    win = replay
    with open_recording(recording) as rec:
        pos = rec.pos_m.copy()
        t = rec.t_s + rec.dt_s
        w_times = rec.weight_times_s.copy()
        k = int(np.argmin(np.abs(w_times - t[650])))
        w_near = rec.weights("ca3_ca1", index=k)
    rat = win.arena.rat
    seen = []
    for i in (50, 650, 300):
        win.slider.setValue(i)  # as a drag of the slider does
        win.refresh_now()
        assert win.source.index == i
        p = rat.pos()
        assert (p.x(), p.y()) == pytest.approx(tuple(pos[i]), abs=1e-6)
        seen.append((p.x(), p.y()))
        assert win.timeline.cursor.value() == pytest.approx(t[i])
        assert f"t = {t[i]:,.2f} s" in win.time_label.text()
        # the raster never shows the future
        for layer in ("dg", "ca1"):
            times, _ = win.source.spikes(layer, 0.0, 100.0)
            assert times.size == 0 or times.max() < t[i]
    assert len(set(seen)) == 3, "the rat did not move with the slider"
    # the raster asks for the spikes of the window that ends at the cursor
    asked: list[tuple[float, float]] = []
    real = win.source.spikes

    def spy(layer: str, t0: float, t1: float) -> Any:
        asked.append((t0, t1))
        return real(layer, t0, t1)

    win.source.spikes = spy  # type: ignore[method-assign]
    win.raster.refresh()
    assert asked and max(b for _, b in asked) == pytest.approx(t[300], abs=0.05)
    assert min(a for a, _ in asked) == pytest.approx(t[300] - win.raster.window_spin.value(),
                                                     abs=0.05)
    del win.source.spikes

    # 6.5 s: the stretched arena, the object, the weights of the nearest snapshot
    win.slider.setValue(650)
    win.refresh_now()
    assert win.source.arena().width_m == pytest.approx(1.5)
    assert [o[1:] for o in win.source.objects()] == [pytest.approx((0.2, -0.1))]
    assert list(win.arena.object_items()) == [0]
    weights = win.views["Weights"]
    weights.set_projection("ca3_ca1")
    weights.refresh()
    np.testing.assert_array_equal(weights.displayed, w_near)
    assert f"weights @ {w_times[k]:,.1f} s" in win.snap_label.text()
    win.slider.setValue(100)  # 1 s: before the object and the stretch
    win.refresh_now()
    assert win.source.objects() == [] and win.arena.object_items() == {}
    assert win.source.arena().width_m == pytest.approx(1.0)
    assert win.view_errors == []


def test_timeline_seeks_and_plays(qtbot: Any, replay: QtReplayWindow) -> None:
    win = replay
    win.timeline.seek_requested.emit(4.0)  # a click or a cursor drag on the mismatch plot
    assert win.source.t_now == pytest.approx(4.0)
    assert win.slider.value() == win.source.index
    win.speed_box.setCurrentText("10×")
    t0 = win.source.t_now
    win.act_play.trigger()
    assert win.source.stats().playing
    qtbot.waitUntil(lambda: win.source.t_now > t0 + 0.5, timeout=5000)
    win.act_play.trigger()
    assert not win.source.playing
    x0 = win.arena.rat.pos().x()
    win.seek(win.source.t_end_s)
    win.refresh_now()
    assert win.slider.value() == win.slider.maximum()
    assert win.arena.rat.pos().x() != x0
    # the timeline marks the manipulations
    assert len(win.timeline.markers) == 2


def test_open_recording_from_the_main_window(qtbot: Any, make_window: Callable[..., Any],
                                             recording: Path, tmp_path: Path) -> None:
    main = make_window(fake=True)
    install(main)
    ctl = main.capture
    assert ctl.act_open_recording in main.findChildren(type(ctl.act_open_recording))
    rp = ctl.open_recording(recording)
    assert isinstance(rp, QtReplayWindow) and rp.isVisible()
    assert rp.source.rec.seed == 3
    # the replay window has the capture menu too: a screenshot carries the recording
    shot = rp.capture.screenshot("Arena", tmp_path / "replay-arena.png", scale=1)
    assert shot is not None
    assert str(recording) in (tmp_path / "replay-arena.png.toml").read_text(encoding="utf-8")
    assert rp.capture.act_record is None  # nothing to record in a replay
    # bad files: a dialog each, no window
    (tmp_path / "text.h5").write_text("hello")
    assert ctl.open_recording(tmp_path / "text.h5") is None
    boxes = [b for b in main.findChildren(QMessageBox) if b.isVisible()]
    assert boxes and "not an HDF5 file" in boxes[-1].text()
    boxes[-1].close()
    assert ctl.open_recording(tmp_path / "nothing.h5") is None
    main.close()  # closes its replay windows too
    assert not rp.isVisible()


def test_recording_source_contract(recording: Path) -> None:
    with open_recording(recording) as rec:
        src = RecordingSource(rec)
        assert isinstance(src, DataSource)
        assert src.layer_sizes() == rec.layer_sizes
        src.seek(3.0)
        s = src.samples(1.0)
        assert s.t_s.size == 100 and s.t_s[-1] + rec.dt_s == pytest.approx(3.0)
        times, units = src.spikes("ca1", 0.0, 10.0)
        all_sp = rec.spikes("ca1", 0.0, 3.0)
        np.testing.assert_array_equal(times, all_sp.times_s)
        np.testing.assert_array_equal(units, all_sp.units)
        assert src.params() == rec.params_at(src.step_now - 1)
        assert src.last() is None
        src.command(Pause())  # read-only: ignored
        assert os.fspath(rec.path) == os.fspath(recording)


def test_an_empty_recording_opens(qtbot: Any, settings: QSettings, tmp_path: Path) -> None:
    from hippoviz.sim import build

    path = tmp_path / "empty.h5"
    with Recorder(path, build(P.load_preset("small"), 1)):
        pass  # stopped at once: no step recorded
    win = QtReplayWindow(path, settings=settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.refresh_now()
    win.act_play.trigger()
    win.tick()
    win.act_play.trigger()
    assert win.source.n == 0 and win.view_errors == []
    win.close()
