"""The running simulation as a :class:`~hippoviz.runtime.source.DataSource`.

The simulation thread (:class:`~hippoviz.runtime.SimRunner`) appends every chunk to the rings
and publishes latest values into typed :class:`Slot` s; :class:`LiveSource` reads them for the
views. Costly values (weights, rate maps, the values after the last step) are published only
while some view asked for them in the last :data:`INTEREST_S` seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import Generic, Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray

from hippoviz import params as P
from hippoviz.runtime.commands import Command
from hippoviz.runtime.rings import SampleRing, SpikeRing
from hippoviz.runtime.source import (
    ArenaShape,
    Health,
    MetricsPoint,
    ObjectPos,
    Pose,
    RateMaps,
    Samples,
    Spikes,
    Stats,
)

T = TypeVar("T")
#: An on-demand slot is refreshed while some reader asked for it within this many seconds.
INTEREST_S = 2.0


class Slot(Generic[T]):
    """One latest value: the simulation thread replaces it, readers get the last one (or None).

    Values are replaced, never mutated after publication. ``on_demand`` slots remember when a
    reader last asked (:meth:`request`), so that the publisher skips them when nobody looks.
    """

    def __init__(self, name: str, on_demand: bool = False) -> None:
        self.name = name
        self.on_demand = on_demand
        self._lock = threading.Lock()
        self._value: T | None = None
        self._asked = 0.0

    def put(self, value: T) -> None:
        with self._lock:
            self._value = value

    def get(self) -> T | None:
        with self._lock:
            return self._value

    def clear(self) -> None:
        with self._lock:
            self._value = None

    def request(self) -> T | None:
        """Note that a reader wants the value now, and return it."""
        self._asked = time.monotonic()
        return self.get()

    def wanted(self, within_s: float = INTEREST_S) -> bool:
        """Whether a reader asked within ``within_s`` seconds (always True when not on demand)."""
        return not self.on_demand or time.monotonic() - self._asked < within_s

    def __repr__(self) -> str:
        return f"Slot({self.name!r})"


class Slots:
    """Every latest value the simulation thread publishes."""

    def __init__(self) -> None:
        self.layer_sizes: Slot[dict[str, int]] = Slot("layer_sizes")
        self.input_groups: Slot[dict[str, tuple[int, int]]] = Slot("input_groups")
        self.params: Slot[P.Params] = Slot("params")
        self.seed: Slot[int] = Slot("seed")
        self.build_id: Slot[int] = Slot("build_id")
        self.step: Slot[int] = Slot("step")
        self.t_s: Slot[float] = Slot("t_s")
        self.stats: Slot[Stats] = Slot("stats")
        self.arena: Slot[ArenaShape] = Slot("arena")
        self.objects: Slot[list[ObjectPos]] = Slot("objects")
        self.pose: Slot[Pose] = Slot("pose")
        self.command_log_len: Slot[int] = Slot("command_log_len")
        self.weights: Slot[Mapping[str, NDArray[np.float32]]] = Slot("weights", on_demand=True)
        self.ratemaps: Slot[RateMaps] = Slot("ratemaps", on_demand=True)
        self.last: Slot[Mapping[str, NDArray[np.float32]]] = Slot("last", on_demand=True)
        self.metrics_history: Slot[list[MetricsPoint]] = Slot("metrics_history")
        self.health: Slot[Health] = Slot("health")

    def clear_build(self) -> None:
        """Empty the slots that describe the previous simulator (before a rebuild publishes)."""
        for slot in (self.weights, self.ratemaps, self.last, self.metrics_history, self.health):
            slot.clear()


class Commanded(Protocol):
    """What a live source needs of the simulation thread (:class:`~hippoviz.runtime.SimRunner`)."""

    def wait_ready(self, timeout: float | None = None) -> bool: ...
    def command(self, cmd: Command) -> None: ...


class LiveSource:
    """The views' :class:`~hippoviz.runtime.source.DataSource` over a running
    :class:`~hippoviz.runtime.SimRunner`: its rings and slots, and its command queue."""

    def __init__(self, runner: Commanded) -> None:
        self._runner = runner
        self.slots = Slots()
        self.samples_ring = SampleRing(1)
        self.spike_rings: dict[str, SpikeRing] = {}

    def layer_sizes(self) -> dict[str, int]:
        """Units per layer (waits for the first build of the simulator)."""
        sizes = self.slots.layer_sizes.get()
        if sizes is None:
            self._runner.wait_ready(timeout=120.0)
            sizes = self.slots.layer_sizes.get()
        return dict(sizes or {})

    def input_groups(self) -> dict[str, tuple[int, int]]:
        return dict(self.slots.input_groups.get() or {})

    def params(self) -> P.Params | None:
        return self.slots.params.get()

    def seed(self) -> int | None:
        return self.slots.seed.get()

    def build_id(self) -> int:
        return self.slots.build_id.get() or 0

    def step(self) -> int:
        return self.slots.step.get() or 0

    def t_s(self) -> float:
        return self.slots.t_s.get() or 0.0

    def stats(self) -> Stats:
        return self.slots.stats.get() or Stats()

    def arena(self) -> ArenaShape | None:
        return self.slots.arena.get()

    def objects(self) -> list[ObjectPos]:
        return list(self.slots.objects.get() or [])

    def pose(self) -> Pose | None:
        return self.slots.pose.get()

    def weights(self) -> Mapping[str, NDArray[np.float32]] | None:
        return self.slots.weights.request()

    def ratemaps(self) -> RateMaps | None:
        return self.slots.ratemaps.request()

    def last(self) -> Mapping[str, NDArray[np.float32]] | None:
        return self.slots.last.request()

    def metrics_history(self) -> Sequence[MetricsPoint]:
        return self.slots.metrics_history.get() or []

    def health(self) -> Health | None:
        return self.slots.health.get()

    def samples(self, seconds: float) -> Samples:
        d = self.samples_ring.last(seconds)
        f32 = np.float32
        return Samples(np.asarray(d["t_s"], np.float64), np.asarray(d["pos_m"], f32),
                       np.asarray(d["heading_rad"], f32), np.asarray(d["speed_m_s"], f32),
                       np.asarray(d["theta_phase_rad"], f32), np.asarray(d["mismatch"], f32))

    def spikes(self, layer: str, t0: float, t1: float) -> Spikes:
        ring = self.spike_rings.get(layer)
        if ring is None:
            return np.zeros(0, np.float64), np.zeros(0, np.int32)
        return ring.window(t0, t1)

    def command(self, cmd: Command) -> None:
        """Queue ``cmd`` for the simulation thread (see :mod:`hippoviz.runtime.commands`)."""
        self._runner.command(cmd)


__all__ = ["INTEREST_S", "LiveSource", "Slot", "Slots"]
