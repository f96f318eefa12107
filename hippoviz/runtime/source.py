"""The Qt-free data source every view pulls from (the contract between runtime and views)."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from hippoviz.runtime.rings import SampleRing, SpikeRing

if TYPE_CHECKING:
    from hippoviz.runtime.runner import SimRunner

#: Keys of :meth:`DataSource.latest` that cost the simulation thread work to publish; they are
#: only refreshed while some view asked for them in the last :data:`INTEREST_S` seconds.
ON_DEMAND = ("weights", "ratemaps", "ratemap_extent", "last")
INTEREST_S = 2.0


class LatestSlots:
    """Latest-value slots: the simulation thread overwrites, readers get the last value.

    Values are replaced, never mutated after publication, so a reader may keep what it got.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, Any] = {}
        self._wanted: dict[str, float] = {}

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._values[key] = value

    def get(self, key: str) -> Any:
        with self._lock:
            return self._values.get(key)

    def drop(self, *keys: str) -> None:
        with self._lock:
            for k in keys:
                self._values.pop(k, None)

    def want(self, key: str) -> None:
        """Note that a reader asked for ``key`` now."""
        self._wanted[key] = time.monotonic()

    def wanted(self, key: str, within_s: float = INTEREST_S) -> bool:
        t = self._wanted.get(key)
        return t is not None and time.monotonic() - t < within_s


class DataSource:
    """What the views read, and the one way they propose changes.

    Every method may be called from the GUI thread at the display rate; none blocks on the
    simulation (reads copy out of rings and slots under short locks).

    Parameters
    ----------
    runner : SimRunner
        The simulation thread that fills the rings and slots and executes commands.

    Notes
    -----
    Keys of :meth:`latest`:

    ``"params"``
        :class:`hippoviz.params.Params` currently applied by the simulator.
    ``"t_s"``, ``"step"``, ``"seed"``
        Simulated time (s), global step, seed of the current build.
    ``"weights"``
        ``{name: (n_post, n_pre) float32}`` for every name of ``hippoviz.sim.WEIGHT_NAMES``;
        refreshed at most every 0.5 s of wall time.
    ``"ratemaps"``
        ``{layer: (n_units, ny, nx) float32}`` online rate maps in Hz (NaN unvisited);
        refreshed about every 1 s.
    ``"ratemap_extent"``
        ``(xmin, xmax, ymin, ymax)`` of the rate maps in metres.
    ``"last"``
        ``{name: ndarray}`` of ``sim.last(name)`` after the latest chunk: ``x``, ``x_hat``,
        ``dg``, ``ca3``, ``ca1``, ``rate_ec`` … ``rate_out`` (Hz), ``carried_error (3,)``.
    ``"input_groups"``
        ``{group: (start, stop)}`` over the EC vector.
    ``"arena"``
        ``{"width_m", "height_m", "shape_morph", "outline": (k, 2) float, "bounds": (4,)}``.
    ``"objects"``
        ``[(id, x_m, y_m), ...]``.
    ``"metrics_history"``
        ``[{"t_s": float, "dg": {...}, "ca3": {...}, "ca1": {...}}, ...]`` every ~10 s of
        simulated time; each layer dict has ``place_cell_fraction``,
        ``median_si_bits_per_spike`` and ``method`` (``"analysis"`` or ``"approx"``).
    ``"build_id"``
        Incremented at every (re)build: layer sizes may change when it does.
    ``"stats"``
        ``{"steps_per_s", "x_realtime", "playing", "speed", "chunk_steps"}``.
    ``"health"``
        ``{"silent": [layer, ...], "active": {layer: fraction}, "targets": {layer: k}}``
        after every chunk: the hidden layers whose active fraction over the last 10 simulated
        seconds is below a quarter of their target (:mod:`hippoviz.analysis.health`).

    The weights, rate maps and ``last`` are published only while some view asks for them (a
    request starts their refresh; the first call may return None).
    """

    def __init__(self, runner: SimRunner) -> None:
        self._runner = runner
        self.slots = LatestSlots()
        self.samples_ring = SampleRing(1)
        self.spike_rings: dict[str, SpikeRing] = {}

    # -- the view-facing contract --------------------------------------------------------------
    def layer_sizes(self) -> dict[str, int]:
        """Units per layer, ``{"ec": n, "dg": .., "ca3": .., "ca1": .., "out": n}`` (waits for
        the first build of the simulator)."""
        sizes = self.slots.get("layer_sizes")
        if sizes is None:
            self._runner.wait_ready(timeout=120.0)
            sizes = self.slots.get("layer_sizes")
        return dict(sizes or {})

    def latest(self, key: str) -> Any | None:
        """The latest published value of ``key`` (see the class notes), or None if none yet."""
        if key in ON_DEMAND:
            self.slots.want(key)
            if key == "ratemap_extent":
                self.slots.want("ratemaps")
        return self.slots.get(key)

    def samples(self, seconds: float) -> dict[str, NDArray[np.generic]]:
        """Per-step samples of the most recent ``seconds`` of simulated time.

        Returns
        -------
        dict
            ``t_s (n,) float64``, ``pos_m (n, 2) float32``, ``heading_rad (n,)``,
            ``speed_m_s (n,)``, ``theta_phase_rad (n,)``, ``mismatch (n, 4) float32``
            (total, grid, border, LEC).
        """
        return self.samples_ring.last(seconds)

    def spikes(self, layer: str, t0: float, t1: float) -> tuple[NDArray[np.float64],
                                                                NDArray[np.int32]]:
        """Spikes of ``layer`` with ``t0 <= t < t1`` (simulated seconds).

        Returns
        -------
        times_s : (m,) float64
        units : (m,) int32
        """
        ring = self.spike_rings.get(layer)
        if ring is None:
            return np.zeros(0, np.float64), np.zeros(0, np.int32)
        return ring.window(t0, t1)

    def command(self, cmd: dict[str, Any]) -> None:
        """Propose a change; the simulation thread applies it between chunks.

        Simulator commands (``hippoviz.sim`` API): ``{"op": "set", "patch": {...}}``,
        ``add_object``, ``move_object``, ``remove_object``, ``reset_ratemaps``. Runtime
        commands: ``play`` (optional ``until_step``), ``pause``, ``toggle``, ``step`` (``n``),
        ``speed`` (``factor``: float, None = as fast as possible), ``reset`` (optional
        ``seed``, ``params``, ``patch``). Errors come back as events of the runner.
        """
        self._runner.command(cmd)
