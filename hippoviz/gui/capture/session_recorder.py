"""Record the running session to HDF5 from the app: :class:`QtSessionRecorder`.

A :class:`hippoviz.record.ThreadedRecorder` is created on the simulation thread (it reads the
simulator's parameters, weights and rate maps) and connected to the session's
:attr:`~hippoviz.runtime.Session.chunk_done` signal: every chunk is handed to
``recorder.write(chunk)`` on that thread, right after it was simulated. Nothing is dropped, and
when the writer thread falls behind, the bounded queue slows the simulation down
(docs/architecture.md: recording is lossless).

A rebuild (reset, preset, new seed) makes a new session and ends the recording: the file holds
the run up to the rebuild.

A forked run records both branches: A to the chosen file, B beside it as ``NAME-B.h5``
(:func:`hippoviz.record.branch_path`), from the fork (or from the start of the recording when it
starts while forked). Each file names its branch and the fork (SCHEMA.md, "Forked runs"). Unfork
closes the dropped branch's file; when B is kept, B's file goes on as the recording.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QObject, QTimer, pyqtSignal

from hippoviz import params as P
from hippoviz.record import RecordError, ThreadedRecorder, branch_path
from hippoviz.runtime import Session, SimRunner, Twin
from hippoviz.sim import Chunk

log = logging.getLogger(__name__)


class RecordingTap:
    """A recorder listening to a session's chunks (created, used and detached on the simulation
    thread). A failing write is kept in :attr:`error`; the tap then leaves and the simulation
    goes on."""

    def __init__(self, session: Session, recorder: ThreadedRecorder) -> None:
        self.session = session
        self.recorder = recorder
        self.error: BaseException | None = None
        self.chunks = 0
        session.chunk_done.connect(self.write)

    def write(self, chunk: Chunk) -> None:
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
        self.session.chunk_done.disconnect(self.write, missing_ok=True)


class QtSessionRecorder(QObject):
    """Start and stop lossless HDF5 recordings of the running simulation.

    Parameters
    ----------
    runner : hippoviz.runtime.SimRunner
        The simulation thread.
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
    #: Branch B of a fork is being recorded too, to this path.
    branch_started = pyqtSignal(str)
    #: A branch's file was closed when the fork ended (path, or one-line failure).
    branch_stopped = pyqtSignal(str)
    _finished = pyqtSignal(str, object)  # (what, result or exception), from the sim thread

    def __init__(self, runner: SimRunner, parent: QObject | None = None, *,
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
        self._tap: RecordingTap | None = None
        #: Branch B's recording while the run is forked.
        self._tap_b: RecordingTap | None = None
        self.path_b: Path | None = None
        runner.fork_listeners.append(self._on_fork)
        runner.unfork_listeners.append(self._on_unfork)
        self._start_error: BaseException | None = None
        self._build_id: int | None = None
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
        if self._tap is None:
            return 0
        try:
            return os.stat(self._tap.recorder.part_path).st_size
        except OSError:
            return 0

    def recorded_s(self) -> float:
        """Simulated seconds recorded so far."""
        if self.state != "recording":
            return 0.0
        return max(0.0, self.runner.source.t_s() - self.t_start_s)

    # -- start ---------------------------------------------------------------------------------
    def start(self, path: str | os.PathLike[str], force: bool = False) -> None:
        """Start recording to ``path`` (``.h5``); :attr:`started` or :attr:`failed` follows."""
        if self.state != "idle":
            self.failed.emit("a recording is already running")
            return
        if not self.runner.alive:
            self.failed.emit("cannot record: the simulation is not running")
            return
        self.state = "starting"
        self.path = Path(path)
        self.stop_reason = ""
        self._call(lambda session: self._attach(session, Path(path), force), "start")

    def _attach(self, session: Session, path: Path, force: bool) -> tuple[str, int, float]:
        """On the simulation thread: create the recorder and connect it to the session."""
        self._start_error = None
        twin = self.runner.twin
        try:
            rec = self._recorder(path, session, force,
                                 self._branch(twin, "a", path) if twin is not None else None)
        except BaseException as exc:
            self._start_error = exc
            raise
        self._tap = RecordingTap(session, rec)
        if twin is not None:
            self._start_b(twin, path, force)
        return str(path), self.runner.source.build_id(), session.t_s

    def _recorder(self, path: Path, session: Session, force: bool,
                  branch: dict[str, Any] | None) -> ThreadedRecorder:
        return ThreadedRecorder(path, session.sim, force=force,
                                build_params=session.build_params,
                                snapshot_interval_s=self.snapshot_interval_s,
                                ratemap_interval_s=self.ratemap_interval_s, branch=branch)

    @staticmethod
    def _branch(twin: Twin, name: str, path: Path) -> dict[str, Any]:
        other = branch_path(path).name if name == "a" else path.name
        return {"name": name, "fork_step": twin.fork_step, "fork_t_s": twin.fork_t_s,
                "twin": other}

    def _start_b(self, twin: Twin, path: Path, force: bool) -> None:
        """On the simulation thread: record branch B beside ``path`` (A's file)."""
        path_b = branch_path(path)
        try:
            rec_b = self._recorder(path_b, twin.b, force, self._branch(twin, "b", path))
        except Exception as exc:  # A's recording goes on; the GUI says why B's did not start
            self.branch_stopped.emit(f"branch B is not recorded: {_message(exc)}")
            return
        self._tap_b = RecordingTap(twin.b, rec_b)
        self.path_b = path_b
        self.branch_started.emit(str(path_b))

    def _on_fork(self, twin: Twin) -> None:
        """On the simulation thread, right after a fork: record B too."""
        tap = self._tap
        if tap is None or self.state not in ("starting", "recording") or self.path is None:
            return
        tap.recorder.set_branch(self._branch(twin, "a", self.path))
        self._start_b(twin, self.path, force=True)

    def _on_unfork(self, _twin: Twin, keep: str, build_id: int) -> None:
        """On the simulation thread, as the fork ends: close the dropped branch's file; when B
        is kept, its file goes on as the recording."""
        tap_a, tap_b = self._tap, self._tap_b
        if tap_b is None:
            return
        self._tap_b = None
        path_b, self.path_b = self.path_b, None
        dropped = tap_b if keep == "a" else tap_a
        if keep == "b":
            self._tap = tap_b
            self.path = path_b
            self._build_id = build_id
        if dropped is None:
            return
        dropped.detach()
        try:
            if dropped.error is not None:
                raise dropped.error
            dropped.recorder.close()
            self.branch_stopped.emit(str(dropped.recorder.path))
        except Exception as exc:
            with contextlib.suppress(Exception):
                dropped.recorder.abort()
            self.branch_stopped.emit(f"the recording of the dropped branch failed: "
                                     f"{_message(exc)}")

    # -- stop ----------------------------------------------------------------------------------
    def stop(self, reason: str = "") -> None:
        """Close the recording (final state, rename); :attr:`stopped` or :attr:`failed`
        follows."""
        if self.state not in ("starting", "recording"):
            return
        self.state = "stopping"
        self.stop_reason = reason
        self._watch.stop()
        if self.runner.alive:
            self._call(lambda _session: self._finish(), "stop")
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
        if self.runner.alive:
            fut = self.runner.call(lambda _session: _safe(self._finish))
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
        tap_b, self._tap_b = self._tap_b, None
        self.path_b = None
        if tap_b is not None:  # branch B's file closes with A's
            tap_b.detach()
            try:
                if tap_b.error is not None:
                    raise tap_b.error
                tap_b.recorder.close()
            except Exception:
                with contextlib.suppress(Exception):
                    tap_b.recorder.abort()
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
    def _call(self, fn: Callable[[Session], Any], what: str) -> None:
        """Run ``fn(session)`` on the simulation thread; its result or exception comes back as
        ``_finished``. Exceptions are returned, not raised, so that the runner does not report
        them a second time as a simulation error."""

        def safe(session: Session) -> Any:
            try:
                return fn(session)
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
        if tap is not None and (tap.error is not None or tap.recorder.closed):
            self.stop("the recording failed")
            return
        if self._build_id is not None and self.runner.source.build_id() != self._build_id:
            self.stop("the simulation was rebuilt")
            return
        if not self.runner.alive:
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


__all__ = ["QtSessionRecorder", "RecordingTap", "default_recording_name"]
