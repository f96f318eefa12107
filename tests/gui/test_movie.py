"""Movies (hippoviz.gui.movie and Capture → Record movie): frame count = duration × fps, frames
stamped and non-blank, a visible REC indicator, a clean, playable file after a stop, a pause or
closing the window, and no partial file when the path cannot be written or the disk is full."""

from __future__ import annotations

import errno
import gc
import threading
import tomllib
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import numpy as np
import pytest
from PyQt6.QtWidgets import QMessageBox

from hippoviz.gui.capture import movie_recorder as M
from hippoviz.gui.capture import screenshots as C
from hippoviz.gui.capture.capture_controller import install

CAPTURE_THREADS = ("hippoviz-movie", "hippoviz-recorder", "hippoviz-nwb-export")


@pytest.fixture(autouse=True)
def _no_capture_thread_left() -> Iterator[None]:
    yield
    left = [t for t in threading.enumerate() if t.name in CAPTURE_THREADS and t.is_alive()]
    assert not left, f"capture threads outlived the test: {left}"


def read_movie(path: Path) -> tuple[dict[str, Any], np.ndarray]:
    """Metadata and every frame ``(n, h, w, 3) uint8`` of an MP4, read back with
    imageio-ffmpeg."""
    # imageio-ffmpeg 0.8 leaves its reader's pipes for the garbage collector: not ours
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gen = imageio_ffmpeg.read_frames(str(path))
        try:
            meta = next(gen)
            w, h = meta["size"]
            frames = [np.frombuffer(f, np.uint8).reshape(h, w, 3).copy() for f in gen]
        finally:
            gen.close()
            del gen
            gc.collect()
    return meta, np.stack(frames)


def n_colours(frame: np.ndarray) -> int:
    q = (frame // 8).astype(np.uint32)  # video compression blurs exact colours
    return len(np.unique((q[..., 0] << 10) | (q[..., 1] << 5) | q[..., 2]))


def visible_error(win: Any) -> QMessageBox | None:
    boxes = [b for b in win.findChildren(QMessageBox) if b.isVisible()]
    return boxes[-1] if boxes else None


def test_movie_has_duration_times_fps_frames_stamped_and_non_blank(
        qtbot: Any, make_window: Callable[..., Any], tmp_path: Path) -> None:
    win = make_window()
    install(win)
    ctl = win.capture
    win.controls.speed_box.setCurrentText("5×")
    win.controls.play()
    path = tmp_path / "run.mp4"
    fps, duration = 10, 1.5
    rec = ctl.start_movie("Window", path, fps=fps, duration_s=duration, stop_on_pause=False)
    assert rec is not None, ctl.errors
    assert ctl.movie_indicator.isVisible() and "REC" in ctl.movie_indicator.text()
    assert ctl.act_stop_movie.isEnabled() and not ctl.act_movie.isEnabled()
    with qtbot.waitSignal(rec.finished, timeout=30000) as blocker:
        pass
    win.controls.pause()
    assert Path(blocker.args[0]) == path
    assert not ctl.movie_indicator.isVisible() and not ctl.act_stop_movie.isEnabled()
    n, secs = imageio_ffmpeg.count_frames_and_secs(str(path))
    assert n == round(duration * fps) == rec.frames
    assert secs == pytest.approx(duration, abs=0.11)
    meta, frames = read_movie(path)
    assert meta["fps"] == pytest.approx(fps)
    w, h = M.even_size(win.width(), win.height())
    assert frames.shape == (n, h, w, 3)
    assert all(n_colours(f) > 20 for f in frames), "blank frames"
    # the time stamp: a dark box with white text in the bottom-right corner
    corner = frames[-1, h - 30:h - 4, w - 60:w - 8].astype(int)
    assert (corner.min(axis=2) > 200).any() and (corner.max(axis=2) < 40).any()
    side = tomllib.loads(C.sidecar_path(path).read_text(encoding="utf-8"))["provenance"]
    assert side["kind"] == "movie" and side["frames"] == n and side["fps"] == fps
    assert side["seed"] == 1 and side["t_end_s"] >= side["t_start_s"]
    assert not list(tmp_path.glob(".*part"))


def test_movie_stops_cleanly_on_pause_and_on_stop(qtbot: Any, make_window: Callable[..., Any],
                                                   tmp_path: Path) -> None:
    win = make_window(fake=True)
    install(win)
    ctl = win.capture
    win.controls.play()
    qtbot.waitUntil(lambda: win.source.stats().playing, timeout=5000)
    rec = ctl.start_movie("Arena", tmp_path / "pause.mp4", fps=15)
    assert rec is not None, ctl.errors
    with qtbot.waitSignal(rec.timer.timeout, timeout=2000):
        pass
    with qtbot.waitSignal(rec.finished, timeout=10000):
        win.controls.pause()  # the movie ends with the simulation
    n, _ = imageio_ffmpeg.count_frames_and_secs(str(tmp_path / "pause.mp4"))
    assert n == rec.frames >= 1
    _, frames = read_movie(tmp_path / "pause.mp4")
    arena = win.views["Arena"]
    assert frames.shape[1:3] == M.even_size(arena.width(), arena.height())[::-1]

    rec2 = ctl.start_movie("Raster", tmp_path / "stop.mp4", fps=10)
    assert rec2 is not None
    for _ in range(3):
        with qtbot.waitSignal(rec2.timer.timeout, timeout=2000):
            pass
    path = ctl.stop_movie()  # Capture → Stop movie
    assert path == tmp_path / "stop.mp4"
    n2, _ = imageio_ffmpeg.count_frames_and_secs(str(path))
    assert n2 == rec2.frames >= 3


def test_closing_the_window_finishes_the_movie(qtbot: Any, make_window: Callable[..., Any],
                                               tmp_path: Path) -> None:
    win = make_window(fake=True)
    install(win)
    rec = win.capture.start_movie("Window", tmp_path / "close.mp4", fps=10)
    assert rec is not None
    for _ in range(2):
        with qtbot.waitSignal(rec.timer.timeout, timeout=2000):
            pass
    win.close()
    assert rec.state == "done"
    n, _ = imageio_ffmpeg.count_frames_and_secs(str(tmp_path / "close.mp4"))
    assert n == rec.frames >= 2
    assert (tmp_path / "close.mp4.toml").is_file()


def test_unwritable_path_or_full_disk_leave_no_movie(
        qtbot: Any, make_window: Callable[..., Any], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    out.mkdir()
    # the API: a clear exception before any frame
    with pytest.raises(C.CaptureError, match="does not exist"):
        M.MovieWriter(out / "missing" / "a.mp4", (64, 48), 10)
    (out / "file").write_text("x")
    with pytest.raises(C.CaptureError, match="not a folder"):
        M.MovieWriter(out / "file" / "a.mp4", (64, 48), 10)
    with pytest.raises(C.CaptureError, match="even"):
        M.MovieWriter(out / "odd.mp4", (63, 48), 10)

    win = make_window(fake=True)
    install(win)
    ctl = win.capture
    # the app: a dialog, nothing written, the app goes on
    assert ctl.start_movie("Window", out / "missing" / "w.mp4", fps=10) is None
    box = visible_error(win)
    assert box is not None and "does not exist" in box.text()
    box.close()
    assert not ctl.movie_indicator.isVisible()

    # the disk fills up while encoding
    real = imageio_ffmpeg.write_frames

    def filling(path: str, *a: Any, **kw: Any) -> Any:
        gen = real(path, *a, **kw)
        gen.send(None)
        yield
        for k in range(10**9):
            frame = yield
            if k == 2:
                gen.close()
                raise OSError(errno.ENOSPC, "No space left on device")
            gen.send(frame)

    monkeypatch.setattr(imageio_ffmpeg, "write_frames", filling)
    rec = ctl.start_movie("Window", out / "full.mp4", fps=30)
    assert rec is not None
    with qtbot.waitSignal(rec.failed, timeout=10000) as blocker:
        pass
    assert "disk full" in blocker.args[0]
    box = visible_error(win)
    assert box is not None and "disk full" in box.text()
    box.close()
    assert sorted(p.name for p in out.iterdir()) == ["file"]
    assert not ctl.movie_indicator.isVisible() and ctl.act_movie.isEnabled()
    assert win.runner.alive
