"""A recording as a :class:`~hippoviz.runtime.source.DataSource`, at a cursor time.

:class:`RecordingSource` serves the views out of a :class:`hippoviz.record.Recording`, so that the
live views draw a recording unchanged: the raster (spikes up to the cursor), the arena (walls,
objects and the rat at the cursor, the selected cell's rate map of the nearest rate-map
snapshot), the weights (nearest snapshot) and the place-field gallery. The replay window moves
the cursor.
"""

from __future__ import annotations

import bisect
import logging
import math
from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from hippoviz import params as P
from hippoviz.record.reader import Recording
from hippoviz.runtime.commands import Command, SetParams, from_wire
from hippoviz.runtime.source import (
    ArenaShape,
    Extent,
    Health,
    MetricsPoint,
    ObjectPos,
    Pose,
    RateMaps,
    Samples,
    Spikes,
    Stats,
)
from hippoviz.sim import Arena

log = logging.getLogger(__name__)

#: Points of the path :meth:`RecordingSource.path_until_now` returns at most.
PATH_POINTS = 20_000
_EMPTY_T = np.zeros(0, np.float64)
_EMPTY_U = np.zeros(0, np.int32)


class RecordingSource:
    """A read-only data source over a recording, at a cursor that the timeline moves.

    Parameters
    ----------
    rec : hippoviz.record.Recording
        An open recording (this source does not close it).

    Notes
    -----
    The cursor is a sample index ``i``; the time shown is the end of that step,
    ``t_s[i] + dt`` (what :meth:`t_s` of the live source is after that step). Snapshot-backed
    values (weights, rate maps) are the same object until the nearest snapshot changes, so
    views redraw only then. Commands are ignored (a recording cannot be changed); the values
    a recording does not hold (``last``, the metrics history, the health) are None or empty.
    """

    def __init__(self, rec: Recording) -> None:
        self.rec = rec
        self.dt_s = float(rec.dt_s)
        f32 = np.float32
        self._s = Samples(np.asarray(rec.sample("t_s"), np.float64),
                          np.asarray(rec.sample("pos_m"), f32),
                          np.asarray(rec.sample("heading_rad"), f32),
                          np.asarray(rec.sample("speed_m_s"), f32),
                          np.asarray(rec.sample("theta_phase_rad"), f32),
                          np.asarray(rec.sample("mismatch"), f32))
        self._t: NDArray[np.float64] = self._s.t_s
        self._steps: NDArray[np.int64] = np.asarray(rec.step, np.int64)
        self.n = int(self._t.size)
        self.index = 0
        #: Whether the replay is playing (``stats().playing``).
        self.playing = False
        self._spk: dict[str, tuple[float, float, NDArray[np.float64], NDArray[np.int32]]] = {}
        self._set_steps = [s for s, c in rec.command_log if isinstance(_parsed(c), SetParams)]
        self._params_cache: dict[int, P.Params] = {}
        self._arena_cache: dict[tuple[float, float, float], ArenaShape] = {}
        self._obj_steps = [ch.step for ch in rec.changes
                           if ch.command >= 0 and ch.key.startswith("objects.")]
        self._objects_cache: dict[int, list[ObjectPos]] = {}
        self._weights: tuple[int, dict[str, NDArray[np.float32]]] | None = None
        self._maps: tuple[int, RateMaps] | None = None
        self._groups = {k: (int(v[0]), int(v[1])) for k, v in rec.input_groups.items()}

    # -- the cursor ----------------------------------------------------------------------------
    @property
    def t_start_s(self) -> float:
        return float(self._t[0]) + self.dt_s if self.n else float(self.rec.t_start_s)

    @property
    def t_end_s(self) -> float:
        return float(self._t[-1]) + self.dt_s if self.n else float(self.rec.t_end_s)

    @property
    def t_now(self) -> float:
        """Simulated time at the cursor (end of the cursor's step)."""
        return float(self._t[self.index]) + self.dt_s if self.n else float(self.rec.t_start_s)

    @property
    def step_now(self) -> int:
        return int(self._steps[self.index]) + 1 if self.n else int(self.rec.start_step)

    def set_index(self, i: int) -> int:
        self.index = int(min(max(0, i), max(0, self.n - 1)))
        return self.index

    def seek(self, t_s: float) -> int:
        """Move the cursor to the step that ends at or before ``t_s``; returns its index."""
        return self.set_index(self.index_of(t_s))

    def index_of(self, t_s: float) -> int:
        i = int(np.searchsorted(self._t + self.dt_s, t_s, side="right")) - 1
        return int(min(max(0, i), max(0, self.n - 1)))

    # -- the DataSource contract ---------------------------------------------------------------
    def layer_sizes(self) -> dict[str, int]:
        return dict(self.rec.layer_sizes)

    def input_groups(self) -> dict[str, tuple[int, int]]:
        return dict(self._groups)

    def params(self) -> P.Params | None:
        return self.params_now()

    def seed(self) -> int | None:
        return int(self.rec.seed)

    def build_id(self) -> int:
        return 1

    def step(self) -> int:
        return self.step_now

    def t_s(self) -> float:
        return self.t_now

    def stats(self) -> Stats:
        return Stats(playing=self.playing, dt_s=self.dt_s)

    def arena(self) -> ArenaShape | None:
        a = self.params_now().arena
        key = (float(a.width_m), float(a.height_m), float(a.shape_morph))
        out = self._arena_cache.get(key)
        if out is None:
            out = ArenaShape.of(Arena(*key))
            self._arena_cache[key] = out
        return out

    def objects(self) -> list[ObjectPos]:
        if self.n == 0:
            return []
        k = bisect.bisect_right(self._obj_steps, self.step_now - 1)
        objs = self._objects_cache.get(k)
        if objs is None:
            objs = [(int(i), float(x), float(y))
                    for i, (x, y) in sorted(self.rec.objects_at(self.step_now - 1).items())]
            self._objects_cache[k] = objs
        return list(objs)

    def pose(self) -> Pose | None:
        if self.n == 0:
            return None
        x, y = (float(v) for v in self._s.pos_m[self.index])
        return x, y, float(self._s.heading_rad[self.index])

    def weights(self) -> Mapping[str, NDArray[np.float32]] | None:
        if self.n == 0:
            return None
        snap = self.weight_snapshot()
        if snap is None:
            return None
        k = snap[0]
        if self._weights is None or self._weights[0] != k:
            ws = {name: self.rec.weights(name, index=k) for name in self.rec.weight_names}
            self._weights = (k, ws)
        return self._weights[1]

    def ratemaps(self) -> RateMaps | None:
        if self.n == 0:
            return None
        snap = self.ratemap_snapshot()
        if snap is None:
            return None
        k = snap[0]
        if self._maps is None or self._maps[0] != k:
            maps: dict[str, NDArray[np.float32]] = {}
            extent: Extent = (0.0, 0.0, 0.0, 0.0)
            for layer in self.rec.ratemap_layers:
                m, ext = self.rec.ratemaps(layer, index=k)
                maps[layer] = m
                x0, x1, y0, y1 = (float(v) for v in ext)
                extent = (x0, x1, y0, y1)
            self._maps = (k, RateMaps(maps, extent))
        return self._maps[1]

    def last(self) -> Mapping[str, NDArray[np.float32]] | None:
        return None  # not recorded

    def metrics_history(self) -> Sequence[MetricsPoint]:
        return []  # not recorded

    def health(self) -> Health | None:
        return None  # not recorded

    def samples(self, seconds: float) -> Samples:
        s = self._s
        if self.n == 0:
            return s
        i1 = self.index + 1
        i0 = int(np.searchsorted(self._t, self.t_now - float(seconds), side="left"))
        i0 = min(max(0, i0), i1)
        return Samples(s.t_s[i0:i1], s.pos_m[i0:i1], s.heading_rad[i0:i1], s.speed_m_s[i0:i1],
                       s.theta_phase_rad[i0:i1], s.mismatch[i0:i1])

    def spikes(self, layer: str, t0: float, t1: float) -> Spikes:
        t1 = min(float(t1), self.t_now)  # nothing after the cursor
        t0 = float(t0)
        if self.n == 0 or t1 <= t0 or layer not in self.rec.layers:
            return _EMPTY_T, _EMPTY_U
        c = self._spk.get(layer)
        if c is None or t0 < c[0] or t1 > c[1]:
            margin = max(5.0, t1 - t0)
            lo, hi = t0 - margin, t1 + margin
            sp = self.rec.spikes(layer, lo, hi)
            c = (lo, hi, np.asarray(sp.times_s, np.float64), np.asarray(sp.units, np.int32))
            self._spk[layer] = c
        a = int(np.searchsorted(c[2], t0, side="left"))
        b = int(np.searchsorted(c[2], t1, side="left"))
        return c[2][a:b], c[3][a:b]

    def command(self, cmd: Command) -> None:
        log.debug("replay: command ignored (a recording is read-only): %s", cmd)

    # -- state at the cursor ---------------------------------------------------------------------
    def params_now(self) -> P.Params:
        """The parameters in force at the cursor."""
        k = bisect.bisect_right(self._set_steps, self.step_now - 1)
        p = self._params_cache.get(k)
        if p is None:
            p = self.rec.params_at(self.step_now - 1)
            self._params_cache[k] = p
        return p

    def weight_snapshot(self) -> tuple[int, float] | None:
        """``(index, t_s)`` of the weight snapshot shown, or None."""
        times = self.rec.weight_times_s
        if times.size == 0:
            return None
        k = self.rec.snapshot_index(self.t_now, "weights")
        return k, float(times[k])

    def ratemap_snapshot(self) -> tuple[int, float] | None:
        times = self.rec.ratemap_times_s
        if times.size == 0:
            return None
        k = self.rec.snapshot_index(self.t_now, "ratemaps")
        return k, float(times[k])

    def path_until_now(self, max_points: int = PATH_POINTS) -> NDArray[np.float32]:
        """``(m, 2)`` positions from the start to the cursor (decimated to ``max_points``)."""
        pos = self._s.pos_m[: self.index + 1]
        step = max(1, math.ceil(len(pos) / max_points))
        if step > 1:
            pos = np.concatenate([pos[::step], pos[-1:]])
        return pos

    @property
    def mismatch(self) -> NDArray[np.float32]:
        return self._s.mismatch

    @property
    def times(self) -> NDArray[np.float64]:
        """``(n,)`` end time of each recorded step."""
        return self._t + self.dt_s


def _parsed(cmd: Mapping[str, object]) -> Command | None:
    """The command of a stored log entry (None for one this version cannot read)."""
    try:
        return from_wire(cmd)
    except P.ParamError:
        return None


__all__ = ["PATH_POINTS", "RecordingSource"]
