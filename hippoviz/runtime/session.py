"""The session: one simulator and the typed hooks through which everything drives it.

A :class:`Session` owns the simulator of one build (parameters and seed). It is Qt-free and has
no thread of its own: the app's simulation thread (:class:`~hippoviz.runtime.SimRunner`), the
command line, a replay and an experiment protocol each drive one from their own loop, and plug
into it through three hooks:

- a **schedule** of commands at steps (:meth:`Session.set_schedule`): a recorded command log
  re-applied where it was recorded. It is the one implementation of "apply this log at these
  steps" (live replay in the app, :func:`hippoviz.runtime.replay.verify`, ``hippoviz run
  --replay``);
- **stops** at step boundaries (:meth:`Session.stop_at`): chunks never cross one, and its
  callback runs between the chunk that reached it and the next (a protocol's phase ends, the
  end of a replay, ``Play(until_step=...)``);
- **signals** (psygnal): :attr:`Session.chunk_done` with every chunk (a recorder, a collector),
  :attr:`Session.applied` after every command, :attr:`Session.restored` after a state was
  loaded.

Every change goes through :meth:`Session.apply` (typed commands, :mod:`hippoviz.runtime.commands`)
and is logged by the simulator with its step, so that the parameters, the seed and the log
reproduce the run bit for bit, however it was cut into chunks. :meth:`Session.state_dict` and
:meth:`Session.restore` carry the complete dynamic state: a session built from the same
parameters and seed and given another's state is its bit-exact twin.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from numpy.typing import NDArray
from psygnal import EmitLoopError, Signal, SignalInstance

from hippoviz import params as P
from hippoviz.runtime.commands import (
    CommandLog,
    SetTrajectory,
    SimCommand,
)
from hippoviz.sim import Chunk, build

#: Steps per chunk when a loop has no better idea (2 s of simulated time at dt = 10 ms).
CHUNK_STEPS = 200


class ArenaLike(Protocol):
    """What a session reads of the simulator's arena."""

    @property
    def width_m(self) -> float: ...
    @property
    def height_m(self) -> float: ...
    @property
    def shape_morph(self) -> float: ...
    @property
    def bounds(self) -> tuple[float, float, float, float]: ...
    def outline(self) -> NDArray[Any]: ...
    def contains(self, x: float, y: float) -> bool: ...


class SimulatorLike(Protocol):
    """What the runtime needs of a simulator: :class:`hippoviz.sim.Simulator` (docs/api-sim.md)
    and the stand-ins of the tests."""

    @property
    def params(self) -> P.Params: ...
    @property
    def seed(self) -> int: ...
    @property
    def step(self) -> int: ...
    @property
    def dt_s(self) -> float: ...
    @property
    def t_s(self) -> float: ...
    @property
    def layer_sizes(self) -> dict[str, int]: ...
    @property
    def input_groups(self) -> Mapping[str, Any]: ...
    @property
    def command_log(self) -> list[tuple[int, dict[str, Any]]]: ...
    @property
    def arena(self) -> ArenaLike: ...
    @property
    def objects(self) -> list[tuple[int, float, float]]: ...
    @property
    def pose(self) -> tuple[float, float, float]: ...
    @property
    def ratemap_extent(self) -> tuple[float, float, float, float]: ...
    @property
    def ratemaps_epoch(self) -> int: ...
    @property
    def occupancy_s(self) -> NDArray[Any]: ...
    def command(self, cmd: dict[str, Any]) -> Any: ...
    def run_chunk(self, n: int) -> Chunk: ...
    def weights(self, name: str) -> NDArray[Any]: ...
    def last(self, name: str) -> NDArray[Any]: ...
    def ratemaps(self, layer: str, smooth: bool = True) -> NDArray[Any]: ...
    def state_dict(self) -> dict[str, NDArray[Any]]: ...
    def load_state_dict(self, d: dict[str, NDArray[Any]]) -> None: ...


Builder = Callable[[P.Params, int], SimulatorLike]


def default_builder(params: P.Params, seed: int) -> SimulatorLike:
    """:func:`hippoviz.sim.build`."""
    sim: SimulatorLike = build(params, seed)
    return sim


@dataclass(frozen=True)
class Applied:
    """A command the session applied: at ``step``, with the simulator's ``result`` (the id of
    an added object, the changes of a ``set``, ...); ``scheduled`` when the schedule applied
    it."""

    step: int
    command: SimCommand
    result: Any
    scheduled: bool = False


@dataclass(frozen=True)
class ScheduleProblem:
    """A scheduled command that did not apply: ``reason`` is ``"skipped"`` (the session was
    already past its step: it lay inside a chunk) or ``"refused"`` (the simulator refused it);
    ``index`` is its place in the schedule."""

    index: int
    step: int
    at_step: int
    command: SimCommand
    reason: str
    message: str

    def __str__(self) -> str:
        return self.message


class Stop:
    """A stop at a step boundary (see :meth:`Session.stop_at`); :meth:`cancel` removes it."""

    def __init__(self, session: Session, step: int,
                 callback: Callable[[Session], None] | None) -> None:
        self.step = int(step)
        self._session = session
        self._callback = callback
        self.active = True

    def cancel(self) -> None:
        """Remove the stop (nothing happens when it has fired or was cancelled)."""
        if self.active:
            self.active = False
            self._session._forget(self)

    def _fire(self) -> None:
        self.active = False
        if self._callback is not None:
            self._callback(self._session)

    def __repr__(self) -> str:
        return f"Stop(step={self.step}, active={self.active})"


def _emit(signal: SignalInstance, *args: Any) -> None:
    """Emit ``signal``; a listener's exception comes out as itself, not wrapped."""
    try:
        signal.emit(*args)
    except EmitLoopError as exc:
        cause = exc.__cause__
        if isinstance(cause, BaseException):
            raise cause from None
        raise


class Session:
    """One simulator of one build and the hooks that drive it (see the module notes).

    Parameters
    ----------
    params : Params
        Parameters of the build.
    seed : int
    builder : callable, optional
        ``builder(params, seed) -> simulator``; default :func:`default_builder`.

    Attributes
    ----------
    chunk_done : psygnal.SignalInstance
        Emitted with every :class:`~hippoviz.sim.Chunk`, in order, on the thread that runs the
        session, before the stops of the chunk fire.
    applied : psygnal.SignalInstance
        Emitted with an :class:`Applied` after every command (scheduled or not).
    restored : psygnal.SignalInstance
        Emitted with the step after :meth:`restore` loaded a state (time may jump back).
    """

    chunk_done = Signal(Chunk)
    applied = Signal(Applied)
    restored = Signal(int)

    def __init__(self, params: P.Params, seed: int, builder: Builder | None = None) -> None:
        self.seed = int(seed)
        self.sim: SimulatorLike = (builder or default_builder)(params, self.seed)
        #: The parameters of the build (a replay starts from these, whatever changed live).
        self.build_params: P.Params = self.sim.params
        self._schedule: list[tuple[int, SimCommand]] = []
        self._i_sched = 0
        self._stops: list[Stop] = []

    # -- what it is ---------------------------------------------------------------------------
    @property
    def params(self) -> P.Params:
        """The parameters in force now."""
        return self.sim.params

    @property
    def step(self) -> int:
        return int(self.sim.step)

    @property
    def t_s(self) -> float:
        return float(self.sim.t_s)

    @property
    def dt_s(self) -> float:
        return float(self.sim.dt_s)

    @property
    def arena(self) -> ArenaLike:
        return self.sim.arena

    @property
    def layer_sizes(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.sim.layer_sizes.items()}

    @property
    def command_log(self) -> list[tuple[int, dict[str, Any]]]:
        """Every command applied so far, ``(step, wire form)``, in order (the simulator's)."""
        return list(self.sim.command_log)

    # -- commands -----------------------------------------------------------------------------
    def apply(self, cmd: SimCommand) -> Any:
        """Apply ``cmd`` now (between chunks) and log it; returns the simulator's result.

        Raises
        ------
        hippoviz.params.ParamError
            The simulator refused the command (nothing changed).
        """
        return self._apply(cmd, scheduled=False)

    def _apply(self, cmd: SimCommand, scheduled: bool) -> Any:
        step = self.step
        result = self.sim.command(cmd.to_wire())
        _emit(self.applied, Applied(step, cmd, result, scheduled))
        return result

    def set_trajectory(self, xy: NDArray[Any] | None) -> int:
        """Let ``xy (n, 2)`` drive the rat from now on (a :class:`SetTrajectory`); returns
        ``n``. This is what :func:`hippoviz.record.trajectory.drive` calls."""
        return int(self.apply(SetTrajectory(xy)) or 0)

    # -- the schedule -------------------------------------------------------------------------
    def set_schedule(self, log: CommandLog) -> list[ScheduleProblem]:
        """Re-apply ``log`` (``(step, command)`` in order) at its steps from now on; commands
        due now apply at once (their problems are returned). Replaces any earlier schedule."""
        self._schedule = [(int(s), c) for s, c in log]
        self._i_sched = 0
        return self.apply_due()

    @property
    def schedule(self) -> list[tuple[int, SimCommand]]:
        return list(self._schedule)

    @property
    def schedule_done(self) -> int:
        """Commands of the schedule taken so far (applied, refused or skipped)."""
        return self._i_sched

    def apply_due(self) -> list[ScheduleProblem]:
        """Apply the scheduled commands whose step has come; returns those that did not apply
        (the rest still do)."""
        problems: list[ScheduleProblem] = []
        step = self.step
        while self._i_sched < len(self._schedule) and self._schedule[self._i_sched][0] <= step:
            i = self._i_sched
            at, cmd = self._schedule[i]
            self._i_sched += 1
            if at < step:
                problems.append(ScheduleProblem(
                    i, at, step, cmd, "skipped",
                    f"command {i} at step {at} lies inside a chunk (the session is at step "
                    f"{step}): skipped"))
                continue
            try:
                self._apply(cmd, scheduled=True)
            except (P.ParamError, ValueError, KeyError) as exc:
                problems.append(ScheduleProblem(i, at, step, cmd, "refused",
                                                f"command {i} at step {at} was refused: {exc}"))
        return problems

    # -- stops --------------------------------------------------------------------------------
    def stop_at(self, step: int, callback: Callable[[Session], None] | None = None) -> Stop:
        """A boundary at ``step``: no chunk crosses it, and once the session reaches it
        ``callback(session)`` runs (between chunks, on the thread that runs the session). A
        stop at or before the current step fires after the next chunk."""
        stop = Stop(self, step, callback)
        self._stops.append(stop)
        self._stops.sort(key=lambda s: s.step)
        return stop

    def _forget(self, stop: Stop) -> None:
        if stop in self._stops:
            self._stops.remove(stop)

    @property
    def stops(self) -> list[Stop]:
        return list(self._stops)

    def steps_to_boundary(self) -> int | None:
        """Steps to the next scheduled command or stop ahead (None: none ahead)."""
        step = self.step
        ahead = [s.step for s in self._stops if s.step > step]
        if self._i_sched < len(self._schedule):
            ahead.append(self._schedule[self._i_sched][0])
        ahead = [a for a in ahead if a > step]
        return min(ahead) - step if ahead else None

    def _fire_due_stops(self) -> None:
        step = self.step
        due = [s for s in self._stops if s.step <= step]
        for s in due:
            self._forget(s)
        for s in due:
            s._fire()

    # -- running ------------------------------------------------------------------------------
    def run_chunk(self, n: int) -> Chunk:
        """Apply what is due, then run at most ``n`` steps (never across a boundary) as one
        chunk; the listeners get it, then the stops it reached fire.

        Raises
        ------
        ScheduleError
            A scheduled command did not apply (use :meth:`apply_due` first to handle those
            yourself).
        hippoviz.sim.SimulationDiverged
            The reconstruction became non-finite (the simulator kept its last good state).
        """
        chunk = self.sim.run_chunk(self.begin_chunk(n))
        self.end_chunk(chunk)
        return chunk

    def begin_chunk(self, n: int) -> int:
        """The first half of :meth:`run_chunk`: apply what is due and return how many of ``n``
        steps the next chunk may run (never across a boundary). A caller that runs the
        simulator's chunk elsewhere (a twin runs two in parallel) hands it to
        :meth:`end_chunk`.

        Raises
        ------
        ScheduleError
            A scheduled command did not apply.
        """
        problems = self.apply_due()
        if problems:
            raise ScheduleError(problems[0])
        n = int(n)
        to_boundary = self.steps_to_boundary()
        if to_boundary is not None:
            n = min(n, to_boundary)
        return max(0, n)

    def end_chunk(self, chunk: Chunk) -> None:
        """The second half of :meth:`run_chunk`: the listeners get ``chunk``, then the stops it
        reached fire (on the calling thread)."""
        _emit(self.chunk_done, chunk)
        self._fire_due_stops()

    def run(self, n_steps: int, chunk_steps: int = CHUNK_STEPS,
            on_chunk: Callable[[Chunk], None] | None = None) -> None:
        """Run ``n_steps`` steps in chunks of at most ``chunk_steps`` (scheduled commands and
        stops in between, as :meth:`run_chunk`)."""
        end = self.step + int(n_steps)
        while self.step < end:
            chunk = self.run_chunk(min(int(chunk_steps), end - self.step))
            if on_chunk is not None:
                on_chunk(chunk)

    # -- state --------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, NDArray[Any]]:
        """The complete dynamic state (the simulator's ``state_dict``)."""
        return self.sim.state_dict()

    def restore(self, state: Mapping[str, NDArray[Any]]) -> None:
        """Load a state saved by :meth:`state_dict` (same build sizes): the weights, the rat, the
        parameters in force and the command log of that moment."""
        self.sim.load_state_dict(dict(state))
        _emit(self.restored, self.step)

    def __repr__(self) -> str:
        return f"Session(seed={self.seed}, step={self.step})"


class ScheduleError(P.ParamError):
    """A scheduled command that did not apply (see :class:`ScheduleProblem`)."""

    def __init__(self, problem: ScheduleProblem) -> None:
        super().__init__(problem.message)
        self.problem = problem


__all__ = [
    "CHUNK_STEPS",
    "Applied",
    "Builder",
    "ScheduleError",
    "ScheduleProblem",
    "Session",
    "SimulatorLike",
    "Stop",
    "default_builder",
]
