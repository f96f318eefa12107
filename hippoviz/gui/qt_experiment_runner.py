"""Run an experiment protocol live in the app's simulation, with a phase timeline.

:class:`QtExperimentRunner` drives the app's :class:`~hippoviz.runtime.SimRunner` through a
protocol: it rebuilds the simulation with the protocol's parameters and seed, then, inside the
simulation thread and exactly at the phase boundaries, switches learning, applies the
manipulations and collects what the analyses need. The views keep showing the running
simulation. At the end the simulation pauses, the analyses run in a worker thread, and the
figures and ``report.md`` are written (figures on the GUI thread); :attr:`finished` carries the
output folder. The metrics equal those of ``hippoviz experiment NAME --seed S`` with the same
preset and overrides.

:class:`QtPhaseTimeline` is a thin widget that shows the phases (green: learning, grey: frozen),
their names and a cursor at the current protocol time; connect :attr:`QtExperimentRunner.position`
to :meth:`QtPhaseTimeline.set_position`.

:class:`QtExperimentsMenu` lists the built-in protocols and "Open protocol file...".

Wiring in the main window::

    menu = QtExperimentsMenu(window)
    window.menuBar().addMenu(menu)
    menu.chosen.connect(start_experiment)        # a built-in name or a .toml path
    # start_experiment(name):
    runner = QtExperimentRunner(sim_runner, name, out_dir, preset="default", seed=1,
                                parent=window)
    timeline.set_phases(runner.phases())
    runner.position.connect(timeline.set_position)
    runner.finished.connect(lambda out: open_report(out))   # report.md and the PNGs
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
from typing import Any

from PyQt6 import QtCore, QtGui, QtWidgets

from hippoviz import params as P
from hippoviz.experiments import protocol as PR
from hippoviz.experiments.cli import write_run
from hippoviz.experiments.engine import ProtocolRun, RunResult


class _Driver:
    """Lives in the simulation thread: wraps ``sim.run_chunk`` so that chunks never cross a
    phase boundary, feeds them to the :class:`ProtocolRun`, and switches phases between
    chunks. Its counters are read by the GUI thread (plain ints and floats)."""

    def __init__(self, run: ProtocolRun) -> None:
        self.run = run
        self.sim: Any = None
        self.end_step = 0
        self.done_steps = 0
        self.phase_done = 0
        self.started: list[int] = []  # phases begun, in order (appended by the sim thread)
        self.finished = False
        self.error: str | None = None
        self._orig: Any = None

    def install(self, sim: Any) -> None:
        self.sim = sim
        self.run.start(sim)
        self._orig = sim.run_chunk
        sim.run_chunk = self._run_chunk  # instance attribute: the runtime calls this
        self._begin()

    def _begin(self) -> None:
        n = self.run.begin_phase(self.sim)
        self.end_step = self.sim.step + n
        self.phase_done = 0
        self.started.append(self.run.index)

    def uninstall(self) -> None:
        sim = self.sim
        if sim is not None and "run_chunk" in vars(sim):
            del sim.run_chunk

    def _run_chunk(self, n: int) -> Any:
        sim = self.sim
        if self.finished or self.error is not None:
            return self._orig(n)
        n = max(1, min(int(n), self.end_step - sim.step))
        chunk = self._orig(n)
        try:
            self.run.add_chunk(chunk)
            self.done_steps += chunk.n
            self.phase_done += chunk.n
            if sim.step >= self.end_step:
                self.run.end_phase(sim, analyse=False)
                if self.run.done:
                    self.finished = True
                    self.uninstall()
                else:
                    self._begin()
        except Exception as exc:  # reported to the GUI; the simulation goes on
            self.error = f"{type(exc).__name__}: {exc}"
            self.uninstall()
        return chunk


class QtExperimentRunner(QtCore.QObject):
    """Runs one protocol live in a :class:`~hippoviz.runtime.SimRunner`.

    Parameters
    ----------
    sim_runner : SimRunner
        The app's simulation thread (``submit``, ``call``, ``command``).
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

    def __init__(self, sim_runner: Any, protocol: str | PR.Protocol, out_dir: str | Path, *,
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
        self._driver = _Driver(self.run)
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self._poll)
        self._state = "idle"
        self._n_started = 0
        self._install: Future[Any] | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._analysis: Future[RunResult] | None = None

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
        r.command({"op": "pause"})
        r.command({"op": "reset", "params": self.run.params, "seed": self.run.seed})
        self._install = r.call(self._driver.install)
        r.command({"op": "publish"})
        r.command({"op": "play"})
        self._timer.start()

    def cancel(self) -> None:
        """Stop following the protocol (the simulation keeps its state and pauses)."""
        if self._state in ("running", "analysing"):
            self._state = "cancelled"
            self._timer.stop()
            self._sim_runner.command({"op": "pause"})
            self._sim_runner.call(lambda sim: self._driver.uninstall())
        self.shutdown()

    def shutdown(self, wait: bool = True) -> None:
        """Join the analysis worker (call before the application quits)."""
        self._timer.stop()
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=True)
            self._pool = None

    # -- internals ------------------------------------------------------------------------------
    def _fail(self, msg: str) -> None:
        self._state = "failed"
        self._timer.stop()
        self._sim_runner.command({"op": "pause"})
        self.shutdown(wait=False)
        self.failed.emit(msg.splitlines()[0] if msg else "experiment failed")

    def _poll(self) -> None:
        d = self._driver
        if self._state == "running":
            if self._install is not None and self._install.done():
                exc = self._install.exception()
                if exc is not None:
                    self._fail(str(exc))
                    return
            if d.error is not None:
                self._fail(d.error)
                return
            current = getattr(self._sim_runner, "sim", d.sim)
            if d.sim is not None and current is not d.sim:
                self._fail("the simulation was reset or rebuilt during the experiment")
                return
            started = list(d.started)
            if len(started) > self._n_started:
                for i in started[self._n_started:]:
                    self.phaseStarted.emit(i, self.protocol.phases[i].name)
                self._n_started = len(started)
                self._sim_runner.command({"op": "publish"})  # refresh params in the panels
            total = max(1, self.run.total_steps)
            self.progress.emit(min(1.0, d.done_steps / total))
            self.position.emit(d.done_steps * self.run.params.time.dt_ms / 1000.0 / 60.0)
            if d.finished:
                self._state = "analysing"
                self._sim_runner.command({"op": "pause"})
                self._sim_runner.command({"op": "publish"})
                self.analysing.emit()
                self._pool = ThreadPoolExecutor(max_workers=1,
                                                thread_name_prefix="hippoviz-experiment")
                self._analysis = self._pool.submit(self.run.finish)
        elif self._state == "analysing" and self._analysis is not None:
            if not self._analysis.done():
                return
            self._timer.stop()
            try:
                result = self._analysis.result()
                from hippoviz.gui.figures import write_figures

                self.out_dir.mkdir(parents=True, exist_ok=True)
                error = write_run(self.out_dir, result, write_figures)
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


class QtPhaseTimeline(QtWidgets.QWidget):
    """The phases of a protocol as a horizontal bar, with a cursor at the current time."""

    LEARNING = QtGui.QColor("#2f7d4f")
    FROZEN = QtGui.QColor("#4a4f59")
    CURSOR = QtGui.QColor("#ffffff")
    TEXT = QtGui.QColor("#d5d9e0")

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._phases: list[tuple[str, float, bool]] = []
        self._pos = 0.0
        self.setMinimumHeight(28)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding,
                           QtWidgets.QSizePolicy.Policy.Fixed)

    def set_phases(self, phases: list[tuple[str, float, bool]]) -> None:
        self._phases = list(phases)
        self._pos = 0.0
        tips = [f"{n}: {m:.1f} min, learning {'on' if L else 'off'}" for n, m, L in phases]
        self.setToolTip("\n".join(tips))
        self.update()

    def set_position(self, minutes: float) -> None:
        self._pos = float(minutes)
        self.update()

    def position(self) -> float:
        return self._pos

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(600, 28)

    def paintEvent(self, event: QtGui.QPaintEvent | None) -> None:
        total = sum(m for _, m, _ in self._phases)
        if total <= 0:
            return
        p = QtGui.QPainter(self)
        w, h = self.width(), self.height()
        x = 0.0
        fm = p.fontMetrics()
        for name, minutes, learning in self._phases:
            pw = w * minutes / total
            rect = QtCore.QRectF(x, 0, pw, h)
            p.fillRect(rect.adjusted(0, 0, -1, 0), self.LEARNING if learning else self.FROZEN)
            p.setPen(self.TEXT)
            text = fm.elidedText(name, QtCore.Qt.TextElideMode.ElideRight, max(0, int(pw) - 6))
            p.drawText(rect.adjusted(3, 0, -3, 0), int(QtCore.Qt.AlignmentFlag.AlignVCenter), text)
            x += pw
        cx = w * min(max(self._pos / total, 0.0), 1.0)
        p.setPen(QtGui.QPen(self.CURSOR, 2))
        p.drawLine(QtCore.QPointF(cx, 0), QtCore.QPointF(cx, h))
        p.end()


class QtExperimentsMenu(QtWidgets.QMenu):
    """An "Experiments" menu: one action per built-in protocol (in docs/model.md's order) and
    "Open protocol file...". :attr:`chosen` carries a built-in name or a file path."""

    chosen = QtCore.pyqtSignal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__("&Experiments", parent)
        for name in PR.builtin_names():
            try:
                proto = PR.resolve(name)
            except P.ParamError:
                continue
            row = f"{proto.experiment}. " if proto.experiment else ""
            act = self.addAction(f"{row}{proto.title}  ({proto.minutes:.0f} min)")
            assert act is not None
            act.setToolTip(proto.description.replace("\n", " "))
            act.setData(name)
            act.triggered.connect(lambda _=False, n=name: self.chosen.emit(n))
        self.addSeparator()
        open_act = self.addAction("Open protocol file...")
        assert open_act is not None
        open_act.triggered.connect(self._open_file)

    def _open_file(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self.parentWidget(), "Open an experiment protocol", "",
            "Protocols (*.toml);;All files (*)")
        if path:
            self.chosen.emit(path)
