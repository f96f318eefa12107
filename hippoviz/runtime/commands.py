"""Typed commands: every change a session, and the simulation thread around it, accepts.

Two families:

- :data:`SimCommand` changes the simulated world and is logged by the simulator with the step at
  which it applied (``set`` live parameters, add, move or remove an object, drive the rat with a
  recorded path, reset the rate maps). Replaying the log on a fresh build reproduces a run bit
  for bit. Each has a *wire form*, the dict ``{"op": ..., ...}`` that
  :meth:`hippoviz.sim.Simulator.command` takes and that recordings and protocol files store:
  :meth:`to_wire` writes it, :func:`from_wire` reads it back (and is the one place that turns
  a stored or hand-written dict into a command).
- :data:`RunnerCommand` steers the simulation thread (play, pause, step, speed, rebuild, replay
  a command log, publish now); it is never logged by the simulator.

:data:`Command` is either. Code that dispatches on a command matches on these classes and ends
with :func:`typing.assert_never`, so that a type checker finds every place a new command must be
handled.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from hippoviz import params as P

Wire = dict[str, Any]


# -- commands of the simulated world ----------------------------------------------------------
@dataclass(frozen=True)
class SetParams:
    """Apply live parameters, ``{dotted key: value}`` (rebuild-only keys are refused).

    ``source`` says who asked (e.g. ``"gui"``); recordings keep it in their change log.
    """

    patch: Mapping[str, Any]
    source: str | None = field(default=None, kw_only=True)
    op: ClassVar[str] = "set"

    def to_wire(self) -> Wire:
        return _with_source({"op": self.op, "patch": dict(self.patch)}, self.source)


@dataclass(frozen=True)
class AddObject:
    """Put an object at ``(x, y)`` metres (in slot ``id``, or the first free one)."""

    x: float
    y: float
    id: int | None = None
    source: str | None = field(default=None, kw_only=True)
    op: ClassVar[str] = "add_object"

    def to_wire(self) -> Wire:
        d: Wire = {"op": self.op, "x": float(self.x), "y": float(self.y)}
        if self.id is not None:
            d["id"] = int(self.id)
        return _with_source(d, self.source)


@dataclass(frozen=True)
class MoveObject:
    """Move object ``id`` to ``(x, y)`` metres."""

    id: int
    x: float
    y: float
    source: str | None = field(default=None, kw_only=True)
    op: ClassVar[str] = "move_object"

    def to_wire(self) -> Wire:
        return _with_source({"op": self.op, "id": int(self.id), "x": float(self.x),
                             "y": float(self.y)}, self.source)


@dataclass(frozen=True)
class RemoveObject:
    """Take object ``id`` out of the arena."""

    id: int
    source: str | None = field(default=None, kw_only=True)
    op: ClassVar[str] = "remove_object"

    def to_wire(self) -> Wire:
        return _with_source({"op": self.op, "id": int(self.id)}, self.source)


@dataclass(frozen=True, eq=False)
class SetTrajectory:
    """Let a recorded path drive the rat from the current step on: ``xy (n, 2)`` metres, one
    row per step; ``None`` gives the rat back to the motion model."""

    xy: NDArray[np.float64] | None
    source: str | None = field(default=None, kw_only=True)
    op: ClassVar[str] = "set_trajectory"

    def to_wire(self) -> Wire:
        xy = None if self.xy is None else np.asarray(self.xy, np.float64).tolist()
        return _with_source({"op": self.op, "xy": xy}, self.source)


@dataclass(frozen=True)
class ResetRatemaps:
    """Forget the online rate maps and occupancy."""

    source: str | None = field(default=None, kw_only=True)
    op: ClassVar[str] = "reset_ratemaps"

    def to_wire(self) -> Wire:
        return _with_source({"op": self.op}, self.source)


SimCommand = SetParams | AddObject | MoveObject | RemoveObject | SetTrajectory | ResetRatemaps
#: A command log: ``(step, command)`` in the order the commands applied.
CommandLog = Sequence[tuple[int, SimCommand]]

_SIM_COMMANDS: dict[str, type[SimCommand]] = {
    c.op: c for c in (SetParams, AddObject, MoveObject, RemoveObject, SetTrajectory,
                      ResetRatemaps)}
#: The ``op`` of every simulator command, in the order of the docs.
SIM_OPS: tuple[str, ...] = tuple(_SIM_COMMANDS)


def _with_source(d: Wire, source: str | None) -> Wire:
    if source is not None:
        d["source"] = source
    return d


def _number(d: Mapping[str, Any], key: str, op: str) -> float:
    try:
        v = float(d[key])
    except (KeyError, TypeError, ValueError):
        raise P.ParamError(f"command '{op}' needs numeric 'x' and 'y'") from None
    if not math.isfinite(v):
        raise P.ParamError(f"command '{op}' needs finite 'x' and 'y', got {key} = {v!r}")
    return v


def _object_id(d: Mapping[str, Any], op: str) -> int:
    v = d.get("id")
    if isinstance(v, bool) or not isinstance(v, int | np.integer):
        if isinstance(v, float) and v.is_integer():
            return int(v)
        raise P.ParamError(f"command '{op}' needs an object 'id'")
    return int(v)


def from_wire(d: Mapping[str, Any]) -> SimCommand:
    """The command of a wire-form dict (a recording's log, a protocol file, a test).

    Raises
    ------
    hippoviz.params.ParamError
        Not a dict, no or an unknown ``op``, or missing or malformed fields; the message is one
        line naming the command.
    """
    if not isinstance(d, Mapping) or "op" not in d:
        raise P.ParamError(f"a command needs an 'op': {d!r}")
    op = d["op"]
    source = d.get("source")
    source = None if source is None else str(source)
    if op == SetParams.op:
        patch = d.get("patch")
        if not isinstance(patch, Mapping) or not patch:
            raise P.ParamError("command 'set' needs a non-empty 'patch'")
        return SetParams(dict(patch), source=source)
    if op == AddObject.op:
        oid = None if d.get("id") is None else _object_id(d, op)
        return AddObject(_number(d, "x", op), _number(d, "y", op), oid, source=source)
    if op == MoveObject.op:
        return MoveObject(_object_id(d, op), _number(d, "x", op), _number(d, "y", op),
                          source=source)
    if op == RemoveObject.op:
        return RemoveObject(_object_id(d, op), source=source)
    if op == SetTrajectory.op:
        xy = d.get("xy")
        if xy is None:
            return SetTrajectory(None, source=source)
        try:
            arr = np.asarray(xy, dtype=np.float64)
        except (TypeError, ValueError):
            raise P.ParamError("a trajectory must be numbers, shape (n, 2)") from None
        return SetTrajectory(arr, source=source)
    if op == ResetRatemaps.op:
        return ResetRatemaps(source=source)
    raise P.ParamError(f"unknown command op {op!r} (one of {', '.join(SIM_OPS)})")


def log_from_wire(log: Iterable[tuple[int, Mapping[str, Any]]]) -> list[tuple[int, SimCommand]]:
    """A stored command log (``[(step, wire dict), ...]``) as typed commands."""
    return [(int(step), from_wire(cmd)) for step, cmd in log]


# -- commands of the simulation thread --------------------------------------------------------
@dataclass(frozen=True)
class Play:
    """Run; with ``until_step``, pause when the simulation reaches that step."""

    until_step: int | None = None


@dataclass(frozen=True)
class Pause:
    """Stop running (between chunks)."""


@dataclass(frozen=True)
class Toggle:
    """Play when paused, pause when playing."""


@dataclass(frozen=True)
class Step:
    """Pause and run ``n`` steps (the runner's ``step_steps`` when None)."""

    n: int | None = None


@dataclass(frozen=True)
class SetSpeed:
    """Simulated seconds per wall second; ``None`` (or an infinite factor) runs as fast as
    possible."""

    factor: float | None


@dataclass(frozen=True)
class Reset:
    """Rebuild: with ``seed`` and ``params`` (default: the current ones) and ``patch`` (dotted
    keys, rebuild-only ones allowed) applied over them. A plain reset while a replay is loaded
    starts the replay again."""

    seed: int | None = None
    params: P.Params | None = None
    patch: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Replay:
    """Rebuild from ``params`` and ``seed`` and re-apply ``log`` at its steps (a recorded run,
    bit for bit); pause at ``end_step``, after which playing continues live."""

    params: P.Params
    seed: int
    log: CommandLog = ()
    end_step: int | None = None


@dataclass(frozen=True)
class Publish:
    """Publish what the views asked for (rate maps, weights, the latest values) now, without
    waiting for their refresh interval."""


@dataclass(frozen=True)
class Fork:
    """Fork the run now into branches A (the original) and B (its bit-exact twin), which then
    step in lockstep on one rat path (:class:`hippoviz.runtime.twin.Twin`). Commands given to a
    branch B source go to B; what moves the rat goes to both."""


@dataclass(frozen=True)
class Unfork:
    """End a fork and keep branch ``keep`` (``"a"`` or ``"b"``); the other is dropped. Keeping
    B makes it the run (a new ``build_id``: what was attached to A ends)."""

    keep: str = "a"


RunnerCommand = Play | Pause | Toggle | Step | SetSpeed | Reset | Replay | Publish | Fork | Unfork
Command = SimCommand | RunnerCommand

__all__ = [
    "SIM_OPS",
    "AddObject",
    "Command",
    "CommandLog",
    "Fork",
    "MoveObject",
    "Pause",
    "Play",
    "Publish",
    "RemoveObject",
    "Replay",
    "Reset",
    "ResetRatemaps",
    "RunnerCommand",
    "SetParams",
    "SetSpeed",
    "SetTrajectory",
    "SimCommand",
    "Step",
    "Toggle",
    "Unfork",
    "from_wire",
    "log_from_wire",
]
