"""Typed events: what the simulation thread tells the GUI (:meth:`SimRunner.poll_events`).

Every event is a frozen dataclass; :data:`Event` is their union, so a consumer matches on the
classes and ends with :func:`typing.assert_never` to handle all of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hippoviz.runtime.commands import Command


@dataclass(frozen=True)
class Built:
    """A (re)build finished: ``build_id`` grows by one each time; layer sizes may change."""

    seed: int
    build_id: int
    layer_sizes: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Error:
    """A rejected command, a failed build or publication, a replayed command that was skipped or
    refused: ``message`` is one line for a dialog, ``detail`` a traceback when there is one."""

    message: str
    detail: str = ""
    command: Command | None = None


@dataclass(frozen=True)
class Diverged:
    """The reconstruction stopped being finite at ``t_s``; the runner paused. ``key`` is the
    parameter most likely to blame (empty when none stands out)."""

    key: str
    message: str
    t_s: float
    detail: str = ""


@dataclass(frozen=True)
class Result:
    """What a simulator command returned (e.g. the id of an added object)."""

    command: Command
    value: Any


@dataclass(frozen=True)
class Paused:
    """The runner paused by itself at ``step`` (a ``Play(until_step=...)`` reached it)."""

    step: int


@dataclass(frozen=True)
class ReplayEnded:
    """A replayed command log reached its end step; playing on continues live."""

    step: int


@dataclass(frozen=True)
class Compiling:
    """Numba began compiling the kernels (the first chunk after an install, an update or a
    cleared cache); ``Stats.compiling`` is True until :class:`Compiled`."""


@dataclass(frozen=True)
class Compiled:
    """The compile ended after ``seconds`` (never counted in steps/s)."""

    seconds: float


@dataclass(frozen=True)
class Forked:
    """The run forked at ``step``: branch B (the runner's ``branch_b``) is A's twin."""

    step: int
    t_s: float


@dataclass(frozen=True)
class Unforked:
    """The fork ended at ``step``; branch ``keep`` (``"a"`` or ``"b"``) goes on as the run."""

    keep: str
    step: int


@dataclass(frozen=True)
class Shared:
    """A change given to ``branch`` moves the rat, so it was applied to both branches:
    ``keys`` (parameter keys, or ``"trajectory"``)."""

    branch: str
    keys: tuple[str, ...]


Event = (Built | Error | Diverged | Result | Paused | ReplayEnded | Compiling | Compiled | Forked
         | Unforked | Shared)

__all__ = [
    "Built",
    "Compiled",
    "Compiling",
    "Diverged",
    "Error",
    "Event",
    "Forked",
    "Paused",
    "ReplayEnded",
    "Result",
    "Shared",
    "Unforked",
]
