"""Running a protocol: phases on one simulated rat, data per phase, analyses at phase ends.

:class:`ProtocolRun` plugs into a :class:`~hippoviz.runtime.Session`'s hooks (a stop at each
phase end, the chunk signal), so that any loop that runs the session drives it: the headless
runner (:meth:`ProtocolRun.run`), and the app, which runs the same phases live in its simulation
thread (:mod:`hippoviz.gui.experiments.experiment_runner`). The same protocol, parameters and
seed give the same metrics either way, bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, assert_never

import numpy as np
from numpy.typing import NDArray

from hippoviz import __version__
from hippoviz import params as P
from hippoviz.experiments import analyses as A
from hippoviz.experiments.data import PhaseData
from hippoviz.experiments.protocol import (
    MIN_PHASE_STEPS,
    AddNamedObject,
    MoveNamedObject,
    Phase,
    PhaseCommand,
    Protocol,
    ProtocolError,
    RemoveNamedObject,
)
from hippoviz.experiments.session import CHUNK_STEPS, Collector, Progress, place_cell_summary
from hippoviz.runtime import (
    AddObject,
    MoveObject,
    RemoveObject,
    ResetRatemaps,
    Session,
    SetParams,
    SetTrajectory,
)
from hippoviz.sim import HIDDEN, Chunk

#: Resolution of the mismatch trace kept for figures and ``series.json`` (s).
TRACE_BIN_S = 1.0


@dataclass
class RunResult:
    """The outcome of one run: ``metrics`` (what metrics.json holds), ``series`` (the mismatch
    trace and phase spans) and ``figures`` (plain data for :mod:`hippoviz.experiments.figures`)."""

    metrics: dict[str, Any]
    series: dict[str, Any]
    figures: dict[str, Any] = field(default_factory=dict)


def phase_steps(phase: Phase, dt_s: float) -> int:
    return max(MIN_PHASE_STEPS, round(phase.minutes * 60.0 / dt_s))


class ProtocolRun:
    """One run of a protocol on one seed.

    Parameters
    ----------
    protocol : Protocol
    params : Params
        Base parameters (preset and ``--set``); the protocol's ``[params]`` are applied over
        them, then ``overrides`` (so that ``--set`` wins over the protocol).
    seed : int
    overrides : dict, optional
        Dotted parameters applied last.

    Notes
    -----
    :meth:`attach` plugs the run into a :class:`~hippoviz.runtime.Session` freshly built from
    :attr:`params` and :attr:`seed`: each phase begins at once (learning switched, manipulations
    applied through the session), collects the session's chunks, and ends at a stop at its last
    step, where the next phase begins. Whatever drives the session (the headless :meth:`run`,
    the app's simulation thread) only calls ``session.run_chunk`` until :attr:`done`; then
    :meth:`finish`. The counters :attr:`done_steps` and :attr:`started` may be read from another
    thread.
    """

    def __init__(self, protocol: Protocol, params: P.Params, seed: int,
                 overrides: dict[str, Any] | None = None, *, preset: str = "",
                 sets: list[str] | None = None, minutes: float | None = None) -> None:
        self.protocol = protocol
        self.seed = int(seed)
        p = P.replace(params, protocol.params) if protocol.params else params
        if overrides:
            p = P.replace(p, overrides)
        self.params = p
        self.provenance = {"version": __version__, "preset": preset, "set": list(sets or []),
                           "protocol_source": protocol.source, "protocol_sha256": protocol.sha256,
                           "minutes": minutes}
        self.index = 0
        #: Steps run so far, and the phases begun (in order).
        self.done_steps = 0
        self.started: list[int] = []
        self._initial: dict[str, Any] | None = None
        self._snapshots: dict[str, tuple[dict[str, Any], dict[str, int]]] = {}
        self._keep = protocol.referenced()
        self._data: dict[str, PhaseData] = {}
        self._tails: dict[str, NDArray[np.float32]] = {}
        self._objects: dict[str, int] = {}
        self._collector: Collector | None = None
        self._pending: list[PhaseData] = []
        self._phase_start_step = 0
        self._phase_log: list[dict[str, Any]] = []
        self._trace: list[NDArray[np.float64]] = []
        self._metrics: dict[str, Any] = {}
        self._figures: dict[str, Any] = {"ratemaps": [], "final_maps": None}
        self._t_min = 0.0
        self._dt_s = self.params.time.dt_ms / 1000.0
        self.steps = [phase_steps(ph, self._dt_s) for ph in protocol.phases]
        self._lesion_intact = {a.options["intact"] for ph in protocol.phases
                               for a in ph.analyses if a.kind == "lesion"}
        self._session: Session | None = None
        self._analyse_at_end = True
        self._on_error: Callable[[Exception], None] | None = None

    # -- driving --------------------------------------------------------------------------------
    @property
    def total_steps(self) -> int:
        return int(sum(self.steps))

    @property
    def done(self) -> bool:
        return self.index >= len(self.protocol.phases)

    def session(self) -> Session:
        """A session built from the run's parameters and seed."""
        return Session(self.params, self.seed)

    def attach(self, session: Session, *, analyse: bool = True,
               on_error: Callable[[Exception], None] | None = None) -> None:
        """Run the protocol on ``session`` (freshly built from :attr:`params` and :attr:`seed`)
        through its hooks; the first phase begins now.

        Parameters
        ----------
        analyse : bool
            Compute each phase's analyses when it ends (False: leave them to :meth:`finish`, as
            the app does, so that the simulation thread does not wait for them).
        on_error : callable, optional
            Called with an exception raised at a phase boundary (a command the simulator
            refused), after which the run detaches; without it the exception propagates out of
            ``session.run_chunk``.
        """
        if session.step != 0 or session.seed != self.seed:
            raise RuntimeError("a protocol run needs a freshly built session of its seed")
        self._session = session
        self._analyse_at_end = analyse
        self._on_error = on_error
        self._initial = session.state_dict()
        session.chunk_done.connect(self.add_chunk)
        self._guarded(self._begin)

    def detach(self) -> None:
        """Stop following the protocol (the session goes on as it is)."""
        session, self._session = self._session, None
        if session is not None:
            session.chunk_done.disconnect(self.add_chunk)

    def _guarded(self, fn: Callable[[Session], None]) -> None:
        session = self._session
        if session is None:
            return
        try:
            fn(session)
        except Exception as exc:
            if self._on_error is None:
                raise
            self.detach()
            self._on_error(exc)

    def _begin(self, session: Session) -> None:
        n = self.begin_phase(session)
        session.stop_at(session.step + n, lambda s: self._guarded(self._phase_ended))

    def _phase_ended(self, session: Session) -> None:
        self.end_phase(session, analyse=self._analyse_at_end)
        if self.done:
            self.detach()
        else:
            self._begin(session)

    def begin_phase(self, session: Session) -> int:
        """Restore the phase's starting state, switch learning, apply its manipulations;
        returns the number of steps to run."""
        ph = self.protocol.phases[self.index]
        applied: list[dict[str, Any]] = []
        if ph.start == "fresh" and self.index > 0:
            assert self._initial is not None
            session.restore(self._initial)
            self._objects = {}
        elif ph.start not in ("continue", "fresh"):
            state, objects = self._snapshots[ph.start]
            session.restore(state)
            self._objects = dict(objects)
        session.apply(SetParams({"learning.enabled": ph.learning}))
        for cmd in ph.commands:
            applied.append(self._apply(session, cmd))
        self._collector = Collector(start_step=session.step, layers=HIDDEN)
        self._phase_start_step = session.step
        self._phase_log.append({
            "name": ph.name, "minutes": self.steps[self.index] * self._dt_s / 60.0,
            "learning": ph.learning, "start": ph.start,
            "start_min": self._t_min, "end_min": None, "manipulations": applied})
        self.started.append(self.index)
        return self.steps[self.index]

    def _object_id(self, name: str) -> int:
        if name not in self._objects:
            raise P.ParamError(f"no object named '{name}' in the arena")
        return self._objects[name]

    def _apply(self, session: Session, cmd: PhaseCommand) -> dict[str, Any]:
        """Apply one phase command; returns it as the phase log keeps it (with the object id)."""
        try:
            match cmd:
                case AddNamedObject(name=name, x=x, y=y, id=oid):
                    got = int(session.apply(AddObject(x, y, oid)))
                    self._objects[name] = got
                    return {**cmd.to_wire(), "id": got}
                case MoveNamedObject(name=name, x=x, y=y):
                    oid = self._object_id(name)
                    session.apply(MoveObject(oid, x, y))
                    return {**cmd.to_wire(), "id": oid}
                case RemoveNamedObject(name=name):
                    oid = self._object_id(name)
                    session.apply(RemoveObject(oid))
                    del self._objects[name]
                    return {**cmd.to_wire(), "id": oid}
                case AddObject():
                    return {**cmd.to_wire(), "id": int(session.apply(cmd))}
                case SetParams() | MoveObject() | RemoveObject() | SetTrajectory() | \
                        ResetRatemaps():
                    session.apply(cmd)
                    return cmd.to_wire()
                case _:
                    assert_never(cmd)
        except P.ParamError as exc:
            raise ProtocolError(f"protocol {self.protocol.source}, phase "
                                f"'{self.protocol.phases[self.index].name}': {exc}") from None

    def add_chunk(self, chunk: Chunk) -> None:
        """Keep what the current phase's analyses need of ``chunk``."""
        if self._collector is not None:
            self._collector.add(chunk)
            self.done_steps += chunk.n

    def end_phase(self, session: Session, *, analyse: bool = True) -> None:
        """Close the current phase: keep its data, snapshot it if a later phase branches from
        it, and (unless ``analyse`` is False) compute its analyses now."""
        ph = self.protocol.phases[self.index]
        col = self._collector
        assert col is not None
        pos, _, _ = col.window(HIDDEN[0])
        spikes: dict[str, tuple[NDArray[np.int64], NDArray[np.int32]]] = {}
        for L in HIDDEN:
            _, t, u = col.window(L)
            steps = np.floor(t / session.dt_s + 1e-9).astype(np.int64) - self._phase_start_step
            spikes[L] = (np.clip(steps, 0, max(pos.shape[0] - 1, 0)), u.astype(np.int32))
        mm = col.mismatch_array()[:, 0].copy()
        data = PhaseData(name=ph.name, pos=pos, spikes=spikes, mismatch=mm,
                         active=col.active_array(), params=session.params,
                         layer_sizes=session.layer_sizes, dt_s=session.dt_s,
                         width_m=float(session.arena.width_m),
                         height_m=float(session.arena.height_m))
        self._collector = None
        if ph.name in self.protocol.branch_points():
            self._snapshots[ph.name] = (session.state_dict(), dict(self._objects))
        n = data.n_steps
        self._trace.append(_bin_trace(mm, round(TRACE_BIN_S / session.dt_s)))
        self._tails[ph.name] = mm[-round(600.0 / session.dt_s):]
        self._t_min += n * session.dt_s / 60.0
        log = self._phase_log[-1]
        log["end_min"] = self._t_min
        log["mismatch_mean"] = _finite(float(mm.mean())) if mm.size else None
        tail = mm[-min(mm.size, round(60.0 / session.dt_s)):]
        log["mismatch_last_minute"] = _finite(float(tail.mean())) if tail.size else None
        self._pending.append(data)
        self.index += 1
        if analyse:
            self.analyse_pending()

    def analyse_pending(self) -> None:
        """The analyses of every closed phase not analysed yet, in order (:meth:`end_phase`
        does it at once by default; the app defers it to the end of the run)."""
        while self._pending:
            self._analyse(self._pending.pop(0))

    def _analyse(self, data: PhaseData) -> None:
        ph = self.protocol.phase(data.name)
        last = ph.name == self.protocol.phases[-1].name
        log = next(e for e in self._phase_log if e["name"] == ph.name)
        if ph.wants("place_cells") or last or ph.name in self._lesion_intact or any(
                a.kind == "lesion" for a in ph.analyses):
            data.place_cells = self._place_cells(data, ph)
            log["layers"] = {L: {k: v for k, v in d.items() if k != "result"}
                             for L, d in data.place_cells.items()}
            if last:
                self._metrics["layers"] = log["layers"]
                self._figures["final_maps"] = A.example_place_maps(data)
        ctx = A.Context(data=self._data, current=data, bin_size_m=self.protocol.bin_size_m,
                        tails=self._tails, source=self._source_of(ph),
                        metrics=self._metrics, figures=self._figures)
        results = []
        for a in ph.analyses:
            if a.kind == "place_cells":
                continue
            results.append(a.kind)
            A.run(a, ctx)
        log["analyses"] = [a.kind for a in ph.analyses]
        if ph.name in self._keep:
            self._data[ph.name] = data
        # free the per-unit results once summarised
        if data.place_cells is not None:
            for d in data.place_cells.values():
                d.pop("result", None)

    def _source_of(self, ph: Phase) -> str | None:
        """The phase whose end this phase started from (None for a fresh start)."""
        if ph.start == "fresh":
            return None
        if ph.start != "continue":
            return ph.start
        i = [p.name for p in self.protocol.phases].index(ph.name)
        return self.protocol.phases[i - 1].name if i > 0 else None

    def _place_cells(self, data: PhaseData, ph: Phase) -> dict[str, Any]:
        ap = data.params.analysis
        win_min = ph.window_minutes if ph.window_minutes is not None else ap.window_min
        n = data.n_steps
        w = max(1, min(n, round(win_min * 60.0 / data.dt_s)))
        s0 = n - w
        spikes = {}
        for L, (steps, units) in data.spikes.items():
            keep = steps >= s0
            spikes[L] = (steps[keep] - s0, units[keep])
        return place_cell_summary(data.pos[s0:], spikes, data.active[s0:], data.layer_sizes,
                                  data.dt_s, data.width_m, data.height_m, ap, seed=self.seed)

    def finish(self) -> RunResult:
        """The metrics, series and figure data of the whole run."""
        self.analyse_pending()
        proto = self.protocol
        phases = []
        for e in self._phase_log:
            phases.append({k: v for k, v in e.items()})
        metrics: dict[str, Any] = {
            "experiment": proto.name,
            "title": proto.title,
            "model_row": proto.experiment,
            "rodent": proto.rodent,
            "citation": proto.citation,
            "description": proto.description,
            "seed": self.seed,
            "minutes": self._t_min,
            "phases": phases,
        }
        metrics["layers"] = self._metrics.pop("layers", None)
        metrics.update(self._metrics)
        non_default = {k: list(v[1]) if isinstance(v[1], tuple) else v[1]
                       for k, v in P.diff(P.Params(), self.params).items()}
        metrics["provenance"] = {**self.provenance, "non_default": non_default,
                                 "params": P.to_dict(self.params)}
        trace = np.concatenate(self._trace) if self._trace else np.zeros(0)
        series = {
            "mismatch_bin_s": TRACE_BIN_S,
            "mismatch_total": trace.tolist(),
            "phases": [{"name": e["name"], "start_min": e["start_min"], "end_min": e["end_min"],
                        "learning": e["learning"]} for e in phases],
        }
        return RunResult(metrics=clean(metrics), series=clean(series),
                         figures=dict(self._figures))

    def run(self, *, progress: Progress | None = None,
            chunk_steps: int = CHUNK_STEPS) -> RunResult:
        """Run every phase headless and return the result."""
        session = self.session()
        self.attach(session)
        while not self.done:
            session.run_chunk(chunk_steps)
            if progress is not None:
                progress.update(self.done_steps)
        return self.finish()


def _bin_trace(x: NDArray[np.float32], n: int) -> NDArray[np.float64]:
    n = max(1, n)
    m = x.size // n
    if m == 0:
        return np.asarray([float(x.mean())]) if x.size else np.zeros(0)
    return np.asarray(x[: m * n].reshape(m, n).mean(axis=1), np.float64)


def _finite(v: float) -> float | None:
    return v if math.isfinite(v) else None


def clean(obj: Any) -> Any:
    """JSON-ready copy: NumPy scalars and arrays to Python, NaN and infinities to None."""
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return clean(obj.tolist())
    if isinstance(obj, np.bool_ | bool):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating | float):
        f = float(obj)
        return f if math.isfinite(f) else None
    return obj


def run_protocol(protocol: Protocol, params: P.Params, seed: int,
                 overrides: dict[str, Any] | None = None, *, progress: Progress | None = None,
                 preset: str = "", sets: list[str] | None = None,
                 minutes: float | None = None) -> RunResult:
    """Run ``protocol`` headless on ``seed`` (a picklable entry point for Dask workers)."""
    run = ProtocolRun(protocol, params, seed, overrides, preset=preset, sets=sets,
                      minutes=minutes)
    return run.run(progress=progress)
