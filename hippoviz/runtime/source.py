"""The contract between a session and the views: :class:`DataSource` and the values it serves.

Every view reads a :class:`DataSource` from the GUI thread at the display rate and proposes
changes through :meth:`DataSource.command`. Three classes implement it:

- :class:`hippoviz.runtime.LiveSource`: the running simulation (the runner's rings and slots);
- :class:`hippoviz.runtime.RecordingSource`: a recording at a cursor time (the replay window);
- :class:`StaticSource`: fixed values (a still picture of a session; the view tests use it).

No accessor blocks on the simulation; values are replaced, never mutated after publication, so a
reader may keep what it got.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from hippoviz import params as P
from hippoviz.runtime.commands import Command
from hippoviz.runtime.metrics import LayerMetrics
from hippoviz.runtime.session import ArenaLike

Spikes = tuple[NDArray[np.float64], NDArray[np.int32]]
ObjectPos = tuple[int, float, float]
Pose = tuple[float, float, float]
Extent = tuple[float, float, float, float]


@dataclass(frozen=True)
class Stats:
    """The state of the simulation thread: steps per wall second (0 while compiling or paused),
    simulated seconds per wall second, whether it plays, the speed asked for (None: as fast as
    possible), the steps of the last chunk, the share of wall time spent publishing, the step and
    whether Numba is compiling the kernels."""

    steps_per_s: float = 0.0
    x_realtime: float = 0.0
    playing: bool = False
    speed: float | None = None
    chunk_steps: int = 0
    publish_overhead: float = 0.0
    dt_s: float = 0.01
    compiling: bool = False


@dataclass(frozen=True, eq=False)
class ArenaShape:
    """The arena: size (m), shape morph (0 square, 1 circle), its ``(k, 2)`` closed outline and
    ``(xmin, xmax, ymin, ymax)`` bounds."""

    width_m: float
    height_m: float
    shape_morph: float
    outline: NDArray[np.float64]
    bounds: Extent

    @classmethod
    def of(cls, arena: ArenaLike) -> ArenaShape:
        """The shape of a simulator's arena (:class:`hippoviz.sim.Arena`)."""
        x0, x1, y0, y1 = (float(v) for v in arena.bounds)
        return cls(width_m=float(arena.width_m), height_m=float(arena.height_m),
                   shape_morph=float(arena.shape_morph),
                   outline=np.array(arena.outline(), dtype=np.float64), bounds=(x0, x1, y0, y1))


@dataclass(frozen=True, eq=False)
class RateMaps:
    """Online rate maps ``{layer: (n_units, ny, nx) float32}`` in Hz (NaN where unvisited) over
    ``extent`` = ``(xmin, xmax, ymin, ymax)`` metres.

    A live run smooths the maps of the layers its views read each second and every layer with
    each metrics job (``SimRunner.want_map_layers``), so a layer no view reads may be older than
    the others by up to that interval."""

    maps: Mapping[str, NDArray[np.float32]]
    extent: Extent


@dataclass(frozen=True)
class Health:
    """The hidden layers whose active fraction over the last 10 simulated seconds fell below a
    quarter of their target (``silent``), every layer's recent active fraction and its target
    (:mod:`hippoviz.analysis.health`)."""

    silent: tuple[str, ...] = ()
    active: Mapping[str, float] = field(default_factory=dict)
    targets: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class MetricsPoint:
    """The online metrics of the hidden layers at simulated time ``t_s``
    (:func:`hippoviz.runtime.metrics.layer_metrics` of each)."""

    t_s: float
    layers: Mapping[str, LayerMetrics]


@dataclass(frozen=True, eq=False)
class Samples:
    """Per-step samples, in time order: ``t_s (n,) float64``, ``pos_m (n, 2)``,
    ``heading_rad (n,)``, ``speed_m_s (n,)``, ``theta_phase_rad (n,)``, ``mismatch (n, 4)``
    (total, grid, border, LEC), all float32 but the time."""

    t_s: NDArray[np.float64]
    pos_m: NDArray[np.float32]
    heading_rad: NDArray[np.float32]
    speed_m_s: NDArray[np.float32]
    theta_phase_rad: NDArray[np.float32]
    mismatch: NDArray[np.float32]

    @classmethod
    def empty(cls) -> Samples:
        z = np.zeros(0, np.float32)
        return cls(np.zeros(0, np.float64), np.zeros((0, 2), np.float32), z, z, z,
                   np.zeros((0, 4), np.float32))

    def __len__(self) -> int:
        return int(self.t_s.shape[0])

    def window(self, seconds: float) -> Samples:
        """The samples of the last ``seconds`` of simulated time."""
        if len(self) == 0:
            return self
        k = int(np.searchsorted(self.t_s, self.t_s[-1] - float(seconds), side="right"))
        return Samples(self.t_s[k:], self.pos_m[k:], self.heading_rad[k:], self.speed_m_s[k:],
                       self.theta_phase_rad[k:], self.mismatch[k:])


@runtime_checkable
class DataSource(Protocol):
    """What the views read, and the one way they propose changes.

    Every method may be called from the GUI thread at the display rate; none blocks on the
    simulation. ``None`` means "not available yet" (before the first build, or on-demand values
    before their first publication: asking starts their refresh).
    """

    def layer_sizes(self) -> dict[str, int]:
        """Units per layer, ``{"ec", "dg", "ca3", "ca1", "out"}``."""
        ...

    def input_groups(self) -> dict[str, tuple[int, int]]:
        """``{group: (start, stop)}`` over the EC vector (grid, border, LEC context, objects)."""
        ...

    def params(self) -> P.Params | None:
        """The parameters in force."""
        ...

    def seed(self) -> int | None: ...

    def build_id(self) -> int:
        """Grows by one at every (re)build; layer sizes may change when it does."""
        ...

    def step(self) -> int:
        """The global step (0 before any)."""
        ...

    def t_s(self) -> float:
        """Simulated time in seconds."""
        ...

    def stats(self) -> Stats: ...

    def arena(self) -> ArenaShape | None: ...

    def objects(self) -> list[ObjectPos]:
        """``[(id, x_m, y_m), ...]`` of the objects present."""
        ...

    def pose(self) -> Pose | None:
        """``(x_m, y_m, heading_rad)`` of the rat now (before its first step too)."""
        ...

    def weights(self) -> Mapping[str, NDArray[np.float32]] | None:
        """``{name: (n_post, n_pre) float32}`` for every name of ``hippoviz.sim.WEIGHT_NAMES``
        (on demand, refreshed at most every 0.5 s of wall time)."""
        ...

    def ratemaps(self) -> RateMaps | None:
        """The online rate maps (on demand, refreshed about every second)."""
        ...

    def last(self) -> Mapping[str, NDArray[np.float32]] | None:
        """``{name: array}`` of ``Simulator.last(name)`` after the latest chunk: ``x``,
        ``x_hat``, ``dg``, ``ca3``, ``ca1``, ``rate_ec`` … ``rate_out`` (Hz),
        ``carried_error (3,)`` (on demand)."""
        ...

    def metrics_history(self) -> Sequence[MetricsPoint]:
        """The online metrics so far: 5 s of simulated time after a build, then every 10 s."""
        ...

    def health(self) -> Health | None: ...

    def samples(self, seconds: float) -> Samples:
        """Per-step samples of the most recent ``seconds`` of simulated time."""
        ...

    def spikes(self, layer: str, t0: float, t1: float) -> Spikes:
        """Spikes of ``layer`` with ``t0 <= t < t1``: ``times_s (m,) float64``,
        ``units (m,) int32``."""
        ...

    def command(self, cmd: Command) -> None:
        """Propose a change; a live source applies it between chunks (errors come back as
        events of the runner); a recording ignores it."""
        ...


_NO_SPIKES: Spikes = (np.zeros(0, np.float64), np.zeros(0, np.int32))


class StaticSource:
    """A :class:`DataSource` over fixed values: a still picture of a session.

    Every value is a public attribute of the same name (``layer_sizes_``, ``params_``, ...,
    with a trailing underscore) that may be replaced at any time; :attr:`all_samples` holds the
    samples :meth:`samples` windows, :attr:`all_spikes` the spikes of each layer, and
    :attr:`commands` every command proposed.
    """

    def __init__(self, *, layer_sizes: Mapping[str, int] | None = None,
                 input_groups: Mapping[str, tuple[int, int]] | None = None,
                 params: P.Params | None = None, seed: int | None = None, build_id: int = 1,
                 step: int = 0, t_s: float = 0.0, stats: Stats | None = None,
                 arena: ArenaShape | None = None, objects: Sequence[ObjectPos] = (),
                 pose: Pose | None = None,
                 weights: Mapping[str, NDArray[np.float32]] | None = None,
                 ratemaps: RateMaps | None = None,
                 last: Mapping[str, NDArray[np.float32]] | None = None,
                 metrics_history: Sequence[MetricsPoint] = (), health: Health | None = None,
                 samples: Samples | None = None,
                 spikes: Mapping[str, Spikes] | None = None) -> None:
        self.layer_sizes_ = dict(layer_sizes or {})
        self.input_groups_ = dict(input_groups or {})
        self.params_ = params
        self.seed_ = seed
        self.build_id_ = build_id
        self.step_ = step
        self.t_s_ = t_s
        self.stats_ = stats or Stats()
        self.arena_ = arena
        self.objects_ = list(objects)
        self.pose_ = pose
        self.weights_ = weights
        self.ratemaps_ = ratemaps
        self.last_ = last
        self.metrics_history_ = list(metrics_history)
        self.health_ = health
        self.all_samples = samples if samples is not None else Samples.empty()
        self.all_spikes = dict(spikes or {})
        self.commands: list[Command] = []

    def layer_sizes(self) -> dict[str, int]:
        return dict(self.layer_sizes_)

    def input_groups(self) -> dict[str, tuple[int, int]]:
        return dict(self.input_groups_)

    def params(self) -> P.Params | None:
        return self.params_

    def seed(self) -> int | None:
        return self.seed_

    def build_id(self) -> int:
        return self.build_id_

    def step(self) -> int:
        return self.step_

    def t_s(self) -> float:
        return self.t_s_

    def stats(self) -> Stats:
        return self.stats_

    def arena(self) -> ArenaShape | None:
        return self.arena_

    def objects(self) -> list[ObjectPos]:
        return list(self.objects_)

    def pose(self) -> Pose | None:
        return self.pose_

    def weights(self) -> Mapping[str, NDArray[np.float32]] | None:
        return self.weights_

    def ratemaps(self) -> RateMaps | None:
        return self.ratemaps_

    def last(self) -> Mapping[str, NDArray[np.float32]] | None:
        return self.last_

    def metrics_history(self) -> Sequence[MetricsPoint]:
        return list(self.metrics_history_)

    def health(self) -> Health | None:
        return self.health_

    def samples(self, seconds: float) -> Samples:
        return self.all_samples.window(seconds)

    def spikes(self, layer: str, t0: float, t1: float) -> Spikes:
        times, units = self.all_spikes.get(layer, _NO_SPIKES)
        k = (times >= t0) & (times < t1)
        return times[k], units[k]

    def command(self, cmd: Command) -> None:
        self.commands.append(cmd)


__all__ = [
    "ArenaShape",
    "DataSource",
    "Extent",
    "Health",
    "LayerMetrics",
    "MetricsPoint",
    "ObjectPos",
    "Pose",
    "RateMaps",
    "Samples",
    "Spikes",
    "StaticSource",
    "Stats",
]
