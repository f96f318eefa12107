"""Movies: record the window or one view to MP4 (H.264 through imageio-ffmpeg).

:class:`QtMovieRecorder` grabs the target widget on a QTimer at the chosen frame rate, stamps
the simulated time into the bottom-right corner and hands the frame to :class:`MovieWriter`,
which encodes on a worker thread behind a bounded queue. The movie runs in real time: when a
timer tick comes late (a busy GUI thread) the last frame is repeated for the ticks it missed,
so a movie of ``d`` seconds has ``d × fps`` frames and plays at the speed it was recorded.

The file is written under a temporary name in the target folder and renamed when ffmpeg has
finished (with a provenance sidecar ``NAME.mp4.toml``, see
:mod:`hippoviz.gui.capture.screenshots`); a failure (unwritable folder, disk full) removes it and
raises or reports :class:`CaptureError`.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PyQt6.QtCore import QObject, QPointF, QRectF, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter
from PyQt6.QtWidgets import QWidget

from hippoviz.gui.capture.screenshots import (
    CaptureError,
    Provenance,
    check_output,
    grab_image,
    image_rgb,
    sidecar_path,
    sidecar_text,
    temp_path,
    write_files,
)

log = logging.getLogger(__name__)

#: Frame rates offered by the movie dialog.
FPS_CHOICES: tuple[int, ...] = (10, 15, 24, 25, 30, 60)
DEFAULT_FPS = 30
#: imageio-ffmpeg quality (0-10; 7 = x264 CRF 15: crisp plot lines and text).
DEFAULT_QUALITY = 7
_END = object()
_ABORT = object()


def _ffmpeg_reason(exc: BaseException) -> str:
    """One line out of imageio-ffmpeg's long error texts."""
    from hippoviz.record.errors import os_reason

    text = str(exc)
    low = text.lower()
    if "no space left" in low or "file too large" in low:
        return "disk full (no space left on device or file size limit reached)"
    if "permission denied" in low:
        return "permission denied"
    if isinstance(exc, OSError) and exc.errno is not None:
        return os_reason(exc)
    if "no ffmpeg exe could be found" in low:  # the app bundle carries no ffmpeg of its own
        return ("no ffmpeg found: install it (Debian/Ubuntu: sudo apt-get install ffmpeg) or "
                "set IMAGEIO_FFMPEG_EXE to an ffmpeg executable")
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[0] if lines else type(exc).__name__


class MovieWriter:
    """Encode RGB frames to an MP4 file on a worker thread.

    Parameters
    ----------
    path : path-like
        The ``.mp4`` to write (under a temporary name until :meth:`close`).
    size : (width, height)
        Frame size in pixels; both must be even (H.264 4:2:0).
    fps : float
        Frames per second of the movie.
    quality : float
        imageio-ffmpeg quality, 0-10.
    max_queue : int
        Frames waiting for the encoder at most; :meth:`write` blocks while the queue is full
        (a frame is never dropped).
    force : bool
        Overwrite an existing file.

    Raises
    ------
    CaptureError
        The path cannot be written (checked at once, before any frame).
    """

    def __init__(self, path: str | os.PathLike[str], size: tuple[int, int], fps: float, *,
                 quality: float = DEFAULT_QUALITY, max_queue: int = 8, force: bool = False,
                 preset: str = "veryfast") -> None:
        self.path = Path(path)
        w, h = int(size[0]), int(size[1])
        if w <= 0 or h <= 0 or w % 2 or h % 2:
            raise CaptureError(f"movie frames must have an even, positive size, got {w} × {h}")
        if not fps > 0:
            raise CaptureError(f"the frame rate must be positive, got {fps!r}")
        self.size = (w, h)
        self.fps = float(fps)
        self.quality = float(quality)
        self.preset = preset
        self.force = force
        self.frames_written = 0
        self.error: str | None = None
        check_output(self.path, force)
        self._tmp = temp_path(self.path)
        try:  # fail now, not in ffmpeg, when the folder cannot be written
            with open(self._tmp, "wb"):
                pass
        except OSError as exc:
            from hippoviz.record.errors import os_reason

            with contextlib.suppress(OSError):
                self._tmp.unlink()
            raise CaptureError(f"cannot write movie {self.path}: {os_reason(exc)}") from None
        self._q: queue.Queue[Any] = queue.Queue(maxsize=max(1, int(max_queue)))
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="hippoviz-movie", daemon=True)
        self._thread.start()

    @property
    def temp_path(self) -> Path:
        return self._tmp

    def write(self, frame: NDArray[np.uint8]) -> None:
        """Queue one ``(height, width, 3) uint8`` frame (blocks while the queue is full).

        Raises
        ------
        CaptureError
            The encoder failed (the temporary file is already gone).
        """
        if self.error is not None:
            raise CaptureError(f"cannot write movie {self.path}: {self.error}")
        if self._closed:
            raise CaptureError(f"movie {self.path} is closed")
        h, w = frame.shape[:2]
        if (w, h) != self.size or frame.dtype != np.uint8 or frame.shape[2:] != (3,):
            raise ValueError(f"frame must be ({self.size[1]}, {self.size[0]}, 3) uint8, "
                             f"got {frame.shape} {frame.dtype}")
        self._q.put(np.ascontiguousarray(frame))

    def close(self, provenance: Provenance | None = None, **fields: Any) -> Path:
        """Finish the file and rename it (with its sidecar); returns the path.

        Raises
        ------
        CaptureError
            Encoding or writing failed; nothing is left behind.
        """
        if not self._closed:
            self._closed = True
            self._q.put(_END)
            self._thread.join()
        if self.error is not None:
            raise CaptureError(f"cannot write movie {self.path}: {self.error}")
        if self.frames_written == 0:
            self._unlink()
            raise CaptureError(f"movie {self.path} has no frames")
        side = sidecar_text(provenance or Provenance(), kind="movie", file=self.path.name,
                            format="mp4", fps=self.fps, frames=self.frames_written,
                            duration_s=self.frames_written / self.fps,
                            width_px=self.size[0], height_px=self.size[1], **fields)
        side_path = sidecar_path(self.path)
        try:
            write_files({side_path: side.encode("utf-8")}, force=self.force)
            os.replace(self._tmp, self.path)
        except (CaptureError, OSError) as exc:
            self._unlink()
            with contextlib.suppress(OSError):
                side_path.unlink()
            if isinstance(exc, CaptureError):
                raise
            from hippoviz.record.errors import os_reason

            raise CaptureError(f"cannot write movie {self.path}: {os_reason(exc)}") from None
        return self.path

    def abort(self) -> None:
        """Stop at once and remove the temporary file."""
        if not self._closed:
            self._closed = True
            self._q.put(_ABORT)
            self._thread.join()
        self._unlink()

    def _unlink(self) -> None:
        with contextlib.suppress(OSError):
            self._tmp.unlink()

    def _run(self) -> None:
        import imageio_ffmpeg

        gen = None
        aborted = False
        try:
            gen = imageio_ffmpeg.write_frames(
                str(self._tmp), self.size, fps=self.fps, codec="libx264",
                quality=self.quality, macro_block_size=2, ffmpeg_log_level="error",
                # the temporary name has no .mp4 suffix: name the container
                output_params=["-f", "mp4", "-preset", self.preset, "-movflags", "+faststart"])
            gen.send(None)
            while True:
                item = self._q.get()
                if item is _END:
                    break
                if item is _ABORT:
                    aborted = True
                    break
                gen.send(item)
                self.frames_written += 1
            g, gen = gen, None
            g.close()
        except Exception as exc:
            self.error = _ffmpeg_reason(exc)
            log.warning("movie %s failed: %s", self.path, exc)
            # keep draining: a producer blocked on a full queue must wake up
            while not aborted:
                item = self._q.get()
                if item is _END or item is _ABORT:
                    break
        finally:
            if gen is not None:
                with contextlib.suppress(Exception):
                    gen.close()
            if aborted or self.error is not None:
                self._unlink()


# ----------------------------------------------------------------------------------------------
def even_size(w: int, h: int) -> tuple[int, int]:
    return max(2, w - w % 2), max(2, h - h % 2)


def stamp_time(img: QImage, t_s: float | None, label: str = "hippoviz") -> None:
    """Draw ``label · t = 12.34 s`` in a dark box into the bottom-right corner of ``img``."""
    text = label if t_s is None else f"{label} · t = {t_s:,.2f} s"
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    font = QFont()
    font.setPixelSize(max(11, min(22, round(img.height() / 38))))
    font.setBold(True)
    font.setStyleHint(QFont.StyleHint.Monospace)
    p.setFont(font)
    fm = QFontMetrics(font)
    pad = max(4, font.pixelSize() // 3)
    tw, th = fm.horizontalAdvance(text), fm.height()
    box = QRectF(img.width() - tw - 3 * pad, img.height() - th - 3 * pad, tw + 2 * pad,
                 th + 2 * pad)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor(0, 0, 0, 170))
    p.drawRoundedRect(box, pad, pad)
    p.setPen(QColor("#ffffff"))
    p.drawText(QPointF(box.left() + pad, box.top() + pad + fm.ascent()), text)
    p.end()


def fit_image(img: QImage, size: tuple[int, int]) -> QImage:
    """``img`` on a ``size`` canvas: cropped by a pixel to an even size when that is all it
    takes, else scaled to fit (aspect kept) and centred on black."""
    w, h = size
    if img.width() == w and img.height() == h:
        return img
    if 0 <= img.width() - w <= 1 and 0 <= img.height() - h <= 1:
        return img.copy(0, 0, w, h)
    canvas = QImage(w, h, QImage.Format.Format_ARGB32_Premultiplied)
    canvas.fill(QColor(0, 0, 0))
    scaled = img.scaled(w, h, Qt.AspectRatioMode.KeepAspectRatio,
                        Qt.TransformationMode.SmoothTransformation)
    p = QPainter(canvas)
    p.drawImage((w - scaled.width()) // 2, (h - scaled.height()) // 2, scaled)
    p.end()
    return canvas


class QtMovieRecorder(QObject):
    """Record a widget to MP4 at ``fps`` frames per (wall-clock) second.

    Parameters
    ----------
    target : QWidget or callable returning a QWidget
        What to record (a callable is asked at every frame: a dock's current view).
    path : path-like
        The ``.mp4`` to write.
    fps : float
        Frames per second.
    time_fn : callable, optional
        Returns the simulated time (s) stamped into each frame (None: no time).
    playing_fn : callable, optional
        Returns whether the simulation plays; the movie stops when it goes from playing to
        paused.
    duration_s : float, optional
        Stop by itself after ``round(duration_s * fps)`` frames.
    provenance_fn : callable, optional
        Returns the :class:`~hippoviz.gui.capture.screenshots.Provenance` written to the sidecar.
    label : str
        Name of what is recorded (sidecar, stamp).

    Signals
    -------
    started(str), finished(str), failed(str)
        The path when it started and when the file is complete; a one-line reason when it
        failed (nothing partial is left).
    """

    started = pyqtSignal(str)
    finished = pyqtSignal(str)
    failed = pyqtSignal(str)

    def __init__(self, target: QWidget | Callable[[], QWidget | None],
                 path: str | os.PathLike[str], fps: float = DEFAULT_FPS, *,
                 time_fn: Callable[[], float | None] | None = None,
                 playing_fn: Callable[[], bool | None] | None = None,
                 duration_s: float | None = None,
                 provenance_fn: Callable[[], Provenance] | None = None,
                 label: str = "", quality: float = DEFAULT_QUALITY, force: bool = False,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._target = target
        self.path = Path(path)
        self.fps = float(fps)
        if not self.fps > 0:
            raise CaptureError(f"the frame rate must be positive, got {fps!r}")
        self.time_fn = time_fn
        self.playing_fn = playing_fn
        self.max_frames = (max(1, round(float(duration_s) * self.fps))
                           if duration_s else None)
        self.provenance_fn = provenance_fn
        self.label = label
        self.quality = quality
        self.force = force
        self.frames = 0
        self.repeated = 0
        self.t_first: float | None = None
        self.t_last: float | None = None
        self._writer: MovieWriter | None = None
        self._provenance: Provenance | None = None
        self._last: NDArray[np.uint8] | None = None
        self._t0 = 0.0
        self._was_playing = False
        self.state = "idle"  # idle, recording, done, failed
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(max(1, round(1000.0 / self.fps)))
        self.timer.timeout.connect(self._tick)

    @property
    def recording(self) -> bool:
        return self.state == "recording"

    @property
    def elapsed_s(self) -> float:
        """Movie time recorded so far (frames / fps)."""
        return self.frames / self.fps

    def target(self) -> QWidget | None:
        t = self._target
        if isinstance(t, QWidget):
            return t
        return t()

    def start(self) -> Path:
        """Grab the first frame, open the file and start the timer.

        Raises
        ------
        CaptureError
            The path cannot be written, or the target has no size.
        """
        if self.state != "idle":
            raise CaptureError("this movie recorder was already used")
        widget = self.target()
        if widget is None:
            raise CaptureError("nothing to record: the view is gone")
        img = grab_image(widget, 1)
        self._size = even_size(img.width(), img.height())
        self._provenance = self.provenance_fn() if self.provenance_fn else None
        self._writer = MovieWriter(self.path, self._size, self.fps, quality=self.quality,
                                   force=self.force)
        self.state = "recording"
        self._was_playing = bool(self.playing_fn()) if self.playing_fn else False
        self._t0 = time.perf_counter()
        self._emit_frame(self._frame(img), 1)
        self.timer.start()
        self.started.emit(str(self.path))
        if self.max_frames is not None and self.frames >= self.max_frames:
            QTimer.singleShot(0, self.stop)
        return self.path

    def _frame(self, img: QImage | None = None) -> NDArray[np.uint8]:
        if img is None:
            widget = self.target()
            if widget is None or widget.width() <= 0 or widget.height() <= 0:
                if self._last is not None:
                    return self._last  # hidden for a moment: hold the last frame
                raise CaptureError("nothing to record: the view has no size")
            img = grab_image(widget, 1)
        t = self.time_fn() if self.time_fn else None
        t = None if t is None else float(t)
        if t is not None:
            self.t_first = t if self.t_first is None else self.t_first
            self.t_last = t
        img = fit_image(img, self._size)
        stamp_time(img, t)
        frame = image_rgb(img)
        self._last = frame
        return frame

    def _emit_frame(self, frame: NDArray[np.uint8], n: int) -> None:
        assert self._writer is not None
        for _ in range(n):
            self._writer.write(frame)
        self.frames += n
        self.repeated += n - 1

    def _tick(self) -> None:
        if self.state != "recording":
            return
        if self.playing_fn is not None:
            playing = bool(self.playing_fn())
            if self._was_playing and not playing:
                self.stop()
                return
            self._was_playing = self._was_playing or playing
        due = math.floor((time.perf_counter() - self._t0) * self.fps) + 1
        if self.max_frames is not None:
            due = min(due, self.max_frames)
        n = due - self.frames
        try:
            if n > 0:
                self._emit_frame(self._frame(), n)
        except (CaptureError, RuntimeError) as exc:  # encoder failed, view deleted
            self._fail(str(exc))
            return
        if self.max_frames is not None and self.frames >= self.max_frames:
            self.stop()

    def stop(self) -> Path | None:
        """Finish the movie (the file is complete and playable when this returns). Returns the
        path, or None when it failed (``failed`` says why)."""
        if self.state != "recording":
            return None
        self.timer.stop()
        assert self._writer is not None
        try:
            path = self._writer.close(
                self._provenance, view=self.label or None, t_start_s=self.t_first,
                t_end_s=self.t_last, repeated_frames=self.repeated)
        except CaptureError as exc:
            self.state = "failed"
            self.failed.emit(str(exc))
            return None
        self.state = "done"
        self.finished.emit(str(path))
        return path

    def abort(self) -> None:
        """Stop and remove the partial file."""
        if self.state == "recording":
            self.timer.stop()
            if self._writer is not None:
                self._writer.abort()
            self.state = "failed"

    def _fail(self, msg: str) -> None:
        self.timer.stop()
        if self._writer is not None:
            self._writer.abort()
        self.state = "failed"
        if not msg.startswith("cannot write movie"):
            msg = f"cannot write movie {self.path}: {msg}"
        self.failed.emit(msg)


__all__ = ["DEFAULT_FPS", "FPS_CHOICES", "MovieWriter", "QtMovieRecorder", "fit_image",
           "stamp_time"]
