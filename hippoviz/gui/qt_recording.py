"""Record the running session to HDF5 from the app: :class:`QtSessionRecorder` and the red
recording indicator :class:`QtRecIndicator`.

A :class:`hippoviz.record.ThreadedRecorder` is created on the simulation thread (it reads the
simulator's parameters, weights and rate maps) and every chunk the simulator returns is handed
to ``recorder.write(chunk)`` on that thread, right after ``run_chunk``: nothing is dropped, and
when the writer thread falls behind, the bounded queue slows the simulation down
(docs/architecture.md: recording is lossless). ``SimRunner`` has no hook for this yet, so the
recorder taps the simulator's ``run_chunk`` (:class:`ChunkTap`); the small runner change that
gives it a hook (``chunk_listeners``, used at once when present) is described in
:class:`ChunkTap`.

A rebuild (reset, preset, new seed) ends the recording: the file holds the run up to the rebuild.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QObject, QRectF, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QColor, QIcon, QMouseEvent, QPainter, QPixmap
from PyQt6.QtWidgets import QLabel, QWidget

from hippoviz import params as P

log = logging.getLogger(__name__)

#: Colour of every recording indicator (screen recordings and session recordings).
REC_RED = "#e53935"


def record_icon(size: int = 32, color: str = REC_RED) -> QIcon:
    """A red disc: the icon of the record actions."""
    pm = QPixmap(size, size)
    pm.fill(QColor(0, 0, 0, 0))
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(QColor("#ffffff"))
    p.setBrush(QColor(color))
    m = size * 0.18
    p.drawEllipse(QRectF(m, m, size - 2 * m, size - 2 * m))
    p.end()
    return QIcon(pm)


class QtRecIndicator(QLabel):
    """A red "● REC …" badge for the status bar; its dot blinks while shown.

    Clicking it emits :attr:`clicked` (the owner stops the recording).
    """

    clicked = pyqtSignal()

    def __init__(self, what: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.what = what
        self._text = ""
        self._on = True
        self.setObjectName("recIndicator")
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setStyleSheet(
            f"QLabel#recIndicator {{ background: {REC_RED}; color: #ffffff; font-weight: bold;"
            " border-radius: 4px; padding: 1px 8px; margin: 1px 2px; }")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self._blink = QTimer(self)
        self._blink.setInterval(600)
        self._blink.timeout.connect(self._toggle)
        self.hide()

    def start(self, detail: str = "") -> None:
        self._on = True
        self.set_detail(detail)
        self.show()
        self._blink.start()

    def stop(self) -> None:
        self._blink.stop()
        self.hide()

    def set_detail(self, detail: str) -> None:
        self._text = detail
        self._render()

    def _toggle(self) -> None:
        self._on = not self._on
        self._render()

    def _render(self) -> None:
        dot = "#ffffff" if self._on else REC_RED
        detail = f" {self._text}" if self._text else ""
        self.setText(f"<span style='color:{dot}'>●</span> REC {self.what}{detail}")

    def mousePressEvent(self, ev: QMouseEvent | None) -> None:
        if ev is not None and ev.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()
            ev.accept()
            return
        super().mousePressEvent(ev)


def format_duration(seconds: float) -> str:
    """``75.3`` -> ``"1:15"``, ``3725`` -> ``"1:02:05"``."""
    s = max(0, int(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def format_bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000.0
    return f"{n:.1f} GB"


# ----------------------------------------------------------------------------------------------
class ChunkTap:
    """Hands every chunk of ``sim`` to ``recorder.write`` on the simulation thread.

    With a runner that has a ``chunk_listeners`` list (called with each chunk right after
    ``run_chunk`` on the simulation thread) the tap is one of those listeners. ``SimRunner``
    has no such hook yet; then the tap shadows ``run_chunk`` on the simulator instance (the
    class is untouched). :meth:`detach` undoes either. The tap is created, used and detached
    on the simulation thread only.

    The runner change that makes the shadowing unnecessary: in ``SimRunner.__init__``
    ``self.chunk_listeners: list[Callable[[Any], None]] = []``, and in ``SimRunner._run``,
    right after ``chunk = sim.run_chunk(n)`` succeeded, ``for fn in self.chunk_listeners:
    fn(chunk)``.
    """

    def __init__(self, sim: Any, recorder: Any, runner: Any = None) -> None:
        self.sim = sim
        self.recorder = recorder
        self.error: BaseException | None = None
        self.chunks = 0
        self._fn: Any = None
        listeners = getattr(runner, "chunk_listeners", None)
        self._listeners: list[Any] | None = listeners if isinstance(listeners, list) else None
        if self._listeners is not None:
            self._listeners.append(self.write)
            return
        original = sim.run_chunk

        def run_chunk(n: int) -> Any:
            chunk = original(n)
            self.write(chunk)
            return chunk

        self._fn = run_chunk
        sim.run_chunk = run_chunk

    def write(self, chunk: Any) -> None:
        """Record ``chunk``; a failure is kept in :attr:`error` (the simulation goes on)."""
        if self.error is not None:
            return
        try:
            self.recorder.write(chunk)
            self.chunks += 1
        except Exception as exc:  # the recorder removed its file; the GUI reports it
            self.error = exc
            self.detach()

    def detach(self) -> None:
        if self._listeners is not None:
            if self.write in self._listeners:
                self._listeners.remove(self.write)
        elif getattr(self.sim, "__dict__", {}).get("run_chunk") is self._fn:
            del self.sim.run_chunk


def _ensure_build_params(sim: Any, runner: Any) -> None:
    """Give ``sim`` the ``build_params`` the recorder needs to replay it.

    The simulator only knows the parameters in force; after a live change those are not the
    ones it was built with. The runner keeps the parameters of its last build.
    """
    if isinstance(getattr(sim, "build_params", None), P.Params):
        return
    built = getattr(runner, "build_params", None)
    if not isinstance(built, P.Params):
        built = getattr(runner, "_params", None)  # SimRunner: the params of the last build
    if isinstance(built, P.Params) and getattr(runner, "sim", None) is sim:
        with contextlib.suppress(AttributeError):
            sim.build_params = built


class QtSessionRecorder(QObject):
    """Start and stop lossless HDF5 recordings of the running simulation.

    Parameters
    ----------
    runner : hippoviz.runtime.SimRunner
        The simulation thread (``call``, ``alive``, ``source``).
    snapshot_interval_s, ratemap_interval_s : float
        Simulated seconds between weight and rate-map snapshots (see
        :class:`hippoviz.record.Recorder`).

    Signals
    -------
    started(str)
        The recording runs; the path it will have when complete.
    stopped(str)
        The recording was closed and renamed to this path (a complete file).
    failed(str)
        One-line reason; no partial file is left.

    Notes
    -----
    :meth:`start` and :meth:`stop` return at once; the work happens on the simulation thread
    between chunks and the signals say how it went. :meth:`stop_blocking` (used when the
    window closes) waits for it.
    """

    started = pyqtSignal(str)
    stopped = pyqtSignal(str)
    failed = pyqtSignal(str)
    _finished = pyqtSignal(str, object)  # (what, result or exception), from the sim thread

    def __init__(self, runner: Any, parent: QObject | None = None, *,
                 snapshot_interval_s: float = 10.0, ratemap_interval_s: float = 60.0) -> None:
        super().__init__(parent)
        self.runner = runner
        self.snapshot_interval_s = float(snapshot_interval_s)
        self.ratemap_interval_s = float(ratemap_interval_s)
        self.state = "idle"  # idle, starting, recording, stopping
        self.path: Path | None = None
        self.last_path: Path | None = None
        self.stop_reason = ""
        self.t_start_s = 0.0
        self._tap: ChunkTap | None = None
        self._start_error: BaseException | None = None
        self._build_id: Any = None
        self._finished.connect(self._on_finished)
        self._watch = QTimer(self)
        self._watch.setInterval(250)
        self._watch.timeout.connect(self._check)

    # -- state ---------------------------------------------------------------------------------
    @property
    def recording(self) -> bool:
        """Starting, recording or stopping (the file is not complete yet)."""
        return self.state != "idle"

    @property
    def bytes_written(self) -> int:
        """Size of the file being written so far."""
        rec = self._tap.recorder if self._tap is not None else None
        part = getattr(rec, "part_path", None)
        try:
            return os.stat(part).st_size if part is not None else 0
        except OSError:
            return 0

    def recorded_s(self) -> float:
        """Simulated seconds recorded so far."""
        if self.state != "recording":
            return 0.0
        t = self.runner.source.latest("t_s") if hasattr(self.runner, "source") else None
        return max(0.0, float(t or 0.0) - self.t_start_s)

    # -- start ---------------------------------------------------------------------------------
    def start(self, path: str | os.PathLike[str], force: bool = False) -> None:
        """Start recording to ``path`` (``.h5``); :attr:`started` or :attr:`failed` follows."""
        if self.state != "idle":
            self.failed.emit("a recording is already running")
            return
        if not getattr(self.runner, "alive", False):
            self.failed.emit("cannot record: the simulation is not running")
            return
        self.state = "starting"
        self.path = Path(path)
        self.stop_reason = ""
        self._call(lambda sim: self._attach(sim, Path(path), force), "start")

    def _attach(self, sim: Any, path: Path, force: bool) -> tuple[str, Any, float]:
        """On the simulation thread: create the recorder and tap the simulator."""
        from hippoviz.record import ThreadedRecorder

        self._start_error = None
        try:
            if sim is None:
                raise RuntimeError("cannot record: there is no simulation (the build failed)")
            _ensure_build_params(sim, self.runner)
            rec = ThreadedRecorder(path, sim, force=force,
                                   snapshot_interval_s=self.snapshot_interval_s,
                                   ratemap_interval_s=self.ratemap_interval_s)
        except BaseException as exc:
            self._start_error = exc
            raise
        self._tap = ChunkTap(sim, rec, self.runner)
        build_id = self.runner.source.latest("build_id") if hasattr(self.runner, "source") \
            else None
        return str(path), build_id, float(sim.t_s)

    # -- stop ----------------------------------------------------------------------------------
    def stop(self, reason: str = "") -> None:
        """Close the recording (final state, rename); :attr:`stopped` or :attr:`failed`
        follows."""
        if self.state not in ("starting", "recording"):
            return
        self.state = "stopping"
        self.stop_reason = reason
        self._watch.stop()
        if getattr(self.runner, "alive", False):
            self._call(lambda _sim: self._finish(), "stop")
        else:  # no simulation thread any more: nobody else touches the simulator
            self._run_here(self._finish, "stop")

    def stop_blocking(self, timeout_s: float = 60.0) -> bool:
        """Stop and wait until the file is complete (for closing the window). Returns whether
        the recording ended (complete or failed) within ``timeout_s``."""
        if self.state == "idle":
            return True
        self.state = "stopping"
        self._watch.stop()
        fut: Future[Any] | None = None
        if getattr(self.runner, "alive", False):
            fut = self.runner.call(lambda _sim: _safe(self._finish))
            try:
                fut.result(timeout_s)
            except TimeoutError:
                log.error("the recording did not close within %.0f s", timeout_s)
                return False
            except Exception:
                pass  # reported below
        if fut is None or fut.cancelled():
            self._run_here(self._finish, "stop")
            return True
        exc = fut.exception()
        result = exc if exc is not None else fut.result()
        self._on_finished("stop", result.exc if isinstance(result, _Failed) else result)
        return True

    def _finish(self) -> str:
        """Detach the tap and close the recorder (on the simulation thread, or on the GUI
        thread once the simulation thread has ended)."""
        tap, self._tap = self._tap, None
        if tap is None:
            raise self._start_error or RuntimeError("the recording never started")
        tap.detach()
        if tap.error is not None:
            with contextlib.suppress(Exception):
                tap.recorder.abort()
            raise tap.error
        tap.recorder.close()
        return str(tap.recorder.path)

    # -- plumbing ------------------------------------------------------------------------------
    def _call(self, fn: Any, what: str) -> None:
        """Run ``fn(sim)`` on the simulation thread; its result or exception comes back as
        ``_finished``. Exceptions are returned, not raised, so that the runner does not report
        them a second time as a simulation error."""

        def safe(sim: Any) -> Any:
            try:
                return fn(sim)
            except Exception as exc:
                return _Failed(exc)

        fut = self.runner.call(safe)

        def done(f: Future[Any]) -> None:
            if f.cancelled():
                self._finished.emit(what, RuntimeError("the simulation thread stopped"))
                return
            exc = f.exception()
            result = exc if exc is not None else f.result()
            if isinstance(result, _Failed):
                result = result.exc
            self._finished.emit(what, result)

        fut.add_done_callback(done)

    def _run_here(self, fn: Any, what: str) -> None:
        try:
            result = fn()
        except Exception as exc:
            self._on_finished(what, exc)
        else:
            self._on_finished(what, result)

    def _on_finished(self, what: str, result: Any) -> None:
        if isinstance(result, BaseException):
            msg = _message(result)
            if what == "start":
                if self.state == "starting":
                    self.state = "idle"
                    self.path = None
                    self.failed.emit(msg)
                return
            if self.state == "stopping":
                self.state = "idle"
                self.path = None
                self.failed.emit(msg)
            return
        if what == "start":
            if self.state != "starting":
                return  # stopped before it started: the stop reports
            _path, self._build_id, self.t_start_s = result
            self.state = "recording"
            self._watch.start()
            self.started.emit(str(self.path))
        elif self.state == "stopping":
            self.state = "idle"
            self.last_path = Path(result)
            self.path = None
            self.stopped.emit(str(result))

    def _check(self) -> None:
        """Stop when the simulation was rebuilt or the writer failed."""
        if self.state != "recording":
            return
        tap = self._tap
        if tap is not None and (tap.error is not None or getattr(tap.recorder, "closed", False)):
            self.stop("the recording failed")
            return
        src = getattr(self.runner, "source", None)
        if src is not None and self._build_id is not None:
            build_id = src.latest("build_id")
            if build_id is not None and build_id != self._build_id:
                self.stop("the simulation was rebuilt")
                return
        if not getattr(self.runner, "alive", True):
            self.stop("the simulation thread ended")


class _Failed:
    """An exception returned (not raised) by work done on the simulation thread."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def _safe(fn: Any) -> Any:
    try:
        return fn()
    except Exception as exc:
        return _Failed(exc)


def _message(exc: BaseException) -> str:
    from hippoviz.record import RecordError

    if isinstance(exc, RecordError | P.ParamError):
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc}"
    # the app asks before overwriting; the command-line hint does not apply here
    text = text.replace(" (use --force to overwrite it)", " (choose another name)")
    lines = text.strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def default_recording_name(when: float | None = None) -> str:
    """``hippoviz-2026-11-28T08-15-02.h5``."""
    t = time.localtime(when)
    return time.strftime("hippoviz-%Y-%m-%dT%H-%M-%S.h5", t)


__all__ = ["REC_RED", "ChunkTap", "QtRecIndicator", "QtSessionRecorder", "default_recording_name",
           "format_bytes", "format_duration", "record_icon"]
