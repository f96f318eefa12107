"""Run an experiment protocol live in the app's simulation: :class:`QtExperimentRunner`.

The runner rebuilds the app's simulation with the protocol's parameters and seed, then, in the
simulation thread, attaches a :class:`hippoviz.experiments.ProtocolRun` to the new session: its
phases begin and end at stops at their boundaries (learning switched, manipulations applied) and
it collects the chunks through the session's chunk signal. The views keep showing the running
simulation. At the end the simulation pauses, the analyses run in a worker thread, and the
figures and ``report.md`` are written; :attr:`QtExperimentRunner.finished` carries the output
folder. The metrics equal those of ``hippoviz experiment NAME --seed S`` with the same preset
and overrides.

Wiring (:mod:`hippoviz.gui.experiments.experiments_controller` does it)::

    runner = QtExperimentRunner(sim_runner, name, out_dir, preset="default", seed=1,
                                parent=window)
    timeline.set_phases(runner.phases())
    runner.position.connect(timeline.set_position)
    runner.finished.connect(lambda out: open_report(out))   # report.md and the figures
    runner.failed.connect(show_error)
    runner.start()

While a protocol runs, play/pause and the speed control may be used freely; other changes
(parameters, objects, reset) alter the experiment, so the menu should discourage them. A phase
that starts ``fresh`` or from an earlier phase restores that state: simulated time jumps back.
"""

from __future__ import annotations

import traceback
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from PyQt6 import QtCore

from hippoviz import params as P
from hippoviz.experiments import protocol as PR
from hippoviz.experiments.engine import ProtocolRun
from hippoviz.experiments.output import write_run
from hippoviz.runtime import Pause, Play, Publish, Reset, Session, SimRunner


class _Attachment:
    """What the simulation thread tells the GUI thread about the attached run (plain values,
    written by the simulation thread, read by the GUI thread)."""

    def __init__(self) -> None:
        self.session: Session | None = None
        self.error: str | None = None


class QtExperimentRunner(QtCore.QObject):
    """Runs one protocol live in a :class:`~hippoviz.runtime.SimRunner`.

    Parameters
    ----------
    sim_runner : SimRunner
        The app's simulation thread.
    protocol : str or Protocol
        A built-in name, a protocol file, or a parsed protocol.
    out_dir : path
        Folder for metrics.json, report.md and the figures (created at the end).
    preset : str
        Parameter preset the protocol runs on.
    seed : int
    sets : list of str
        ``KEY=VALUE`` overrides (as ``--set``).
    minutes : float, optional
        Scale the protocol to last this many simulated minutes.
    poll_ms : int
        How often the GUI thread looks at the progress.

    Signals
    -------
    phaseStarted(int, str)
        Index and name of the phase that just began.
    position(float)
        Protocol time in simulated minutes.
    progress(float)
        Fraction of the protocol done (0..1).
    analysing()
        The last phase ended; analyses and figures are being computed.
    finished(str)
        The output folder, once every file is written.
    failed(str)
        A one-line message (bad protocol, a command the simulator refused, analysis error).
    """

    phaseStarted = QtCore.pyqtSignal(int, str)
    position = QtCore.pyqtSignal(float)
    progress = QtCore.pyqtSignal(float)
    analysing = QtCore.pyqtSignal()
    finished = QtCore.pyqtSignal(str)
    failed = QtCore.pyqtSignal(str)

    def __init__(self, sim_runner: SimRunner, protocol: str | PR.Protocol, out_dir: str | Path, *,
                 preset: str = "default", seed: int = 1, sets: list[str] | None = None,
                 minutes: float | None = None, poll_ms: int = 100,
                 parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        proto = PR.resolve(protocol) if isinstance(protocol, str) else protocol
        if minutes is not None:
            proto = proto.scaled(minutes)
        self.protocol = proto
        self.out_dir = Path(out_dir)
        self._sim_runner = sim_runner
        sets = list(sets or [])
        self.run = ProtocolRun(proto, P.load_preset(preset), seed, P.parse_set(sets),
                               preset=preset, sets=sets, minutes=minutes)
        self._attached = _Attachment()
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self._poll)
        self._state = "idle"
        self._n_started = 0
        self._install: Future[None] | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._analysis: Future[str | None] | None = None

    # -- public -------------------------------------------------------------------------------
    def phases(self) -> list[tuple[str, float, bool]]:
        """``(name, minutes, learning)`` of every phase (for the timeline)."""
        dt_min = self.run.params.time.dt_ms / 1000.0 / 60.0
        return [(ph.name, n * dt_min, ph.learning)
                for ph, n in zip(self.protocol.phases, self.run.steps, strict=True)]

    @property
    def state(self) -> str:
        """``idle``, ``running``, ``analysing``, ``finished``, ``failed`` or ``cancelled``."""
        return self._state

    def start(self) -> None:
        """Rebuild the simulation with the protocol's parameters and seed, and run it."""
        if self._state != "idle":
            return
        self._state = "running"
        r = self._sim_runner
        r.command(Pause())
        r.command(Reset(seed=self.run.seed, params=self.run.params))
        self._install = r.call(self._attach)
        r.command(Publish())
        r.command(Play())
        self._timer.start()

    def cancel(self) -> None:
        """Stop following the protocol (the simulation keeps its state and pauses)."""
        if self._state in ("running", "analysing"):
            self._state = "cancelled"
            self._timer.stop()
            self._sim_runner.command(Pause())
            self._sim_runner.call(lambda _session: self.run.detach())
        self.shutdown()

    def shutdown(self, wait: bool = True) -> None:
        """Join the analysis worker (call before the application quits)."""
        self._timer.stop()
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=True)
            self._pool = None

    # -- internals ------------------------------------------------------------------------------
    def _attach(self, session: Session) -> None:
        """On the simulation thread, on the session the reset built: follow the protocol."""
        self._attached.session = session

        def failed(exc: Exception) -> None:  # reported to the GUI; the simulation goes on
            self._attached.error = f"{type(exc).__name__}: {exc}"

        self.run.attach(session, analyse=False, on_error=failed)

    def _finish(self) -> str | None:
        """On the worker thread: the analyses, then the files (figures drawn with matplotlib,
        no GUI toolkit); returns why the figures were not written, or None."""
        result = self.run.finish()
        self.out_dir.mkdir(parents=True, exist_ok=True)
        return write_run(self.out_dir, result)

    def _fail(self, msg: str) -> None:
        self._state = "failed"
        self._timer.stop()
        self._sim_runner.command(Pause())
        self.shutdown(wait=False)
        self.failed.emit(msg.splitlines()[0] if msg else "experiment failed")

    def _poll(self) -> None:
        run, att = self.run, self._attached
        if self._state == "running":
            if self._install is not None and self._install.done():
                exc = self._install.exception()
                if exc is not None:
                    self._fail(str(exc))
                    return
            if att.error is not None:
                self._fail(att.error)
                return
            if att.session is not None and self._sim_runner.session is not att.session:
                self._fail("the simulation was reset or rebuilt during the experiment")
                return
            started = list(run.started)
            if len(started) > self._n_started:
                for i in started[self._n_started:]:
                    self.phaseStarted.emit(i, self.protocol.phases[i].name)
                self._n_started = len(started)
                self._sim_runner.command(Publish())  # refresh params in the panels
            total = max(1, run.total_steps)
            self.progress.emit(min(1.0, run.done_steps / total))
            self.position.emit(run.done_steps * run.params.time.dt_ms / 1000.0 / 60.0)
            if run.done:
                self._state = "analysing"
                self._sim_runner.command(Pause())
                self._sim_runner.command(Publish())
                self.analysing.emit()
                self._pool = ThreadPoolExecutor(max_workers=1,
                                                thread_name_prefix="hippoviz-experiment")
                self._analysis = self._pool.submit(self._finish)
        elif self._state == "analysing" and self._analysis is not None:
            if not self._analysis.done():
                return
            self._timer.stop()
            try:
                error = self._analysis.result()
            except Exception as exc:
                self._fail(f"{type(exc).__name__}: {exc} "
                           f"{traceback.format_exc(limit=1).splitlines()[-1]}")
                return
            self.shutdown(wait=False)
            if error:
                self._fail(f"figures were not written: {error}")
                return
            self._state = "finished"
            self.progress.emit(1.0)
            self.finished.emit(str(self.out_dir))
