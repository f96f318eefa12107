"""Headless runs: keep what analysis needs of a run's chunks, and summarise it.

Used by ``hippoviz run`` (:func:`run_summary` is its summary), by the parameter sweeps
(``hippoviz sweep --minutes``: the same summary per grid point and seed) and by the experiment
protocols.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np
from numpy.typing import NDArray

from hippoviz.analysis import place_cell_analysis
from hippoviz.runtime import Session, SetParams
from hippoviz.runtime.session import SimulatorLike
from hippoviz.sim import HIDDEN, Chunk, Simulator

#: Steps per chunk of headless runs (2 s of simulated time).
CHUNK_STEPS = 200


@dataclass
class Collector:
    """Keeps the positions and hidden-layer spikes from global step ``start_step`` on, plus the
    mismatch and activity of every step (memory: a few tens of MB per simulated hour)."""

    start_step: int = 0
    layers: tuple[str, ...] = HIDDEN
    mismatch: list[NDArray[np.float32]] = field(default_factory=list)
    active: list[NDArray[np.float32]] = field(default_factory=list)
    pos: list[NDArray[np.float32]] = field(default_factory=list)
    spikes: dict[str, tuple[list[NDArray[np.float64]], list[NDArray[np.int32]]]] = field(
        default_factory=dict)

    def __post_init__(self) -> None:
        self.spikes = {L: ([], []) for L in self.layers}

    def add(self, chunk: Chunk) -> None:
        self.mismatch.append(chunk.mismatch)
        self.active.append(chunk.active_fraction)
        if chunk.step0 + chunk.n <= self.start_step:
            return
        skip = max(0, self.start_step - chunk.step0)
        self.pos.append(chunk.pos_m[skip:])
        t_min = chunk.t_s[skip] if skip < chunk.n else np.inf
        for L in self.layers:
            sp = chunk.spikes[L]
            keep = sp.times_s >= t_min
            self.spikes[L][0].append(sp.times_s[keep])
            self.spikes[L][1].append(sp.units[keep])

    def mismatch_array(self) -> NDArray[np.float32]:
        return np.concatenate(self.mismatch) if self.mismatch else np.zeros((0, 4), np.float32)

    def active_array(self) -> NDArray[np.float32]:
        return np.concatenate(self.active) if self.active else np.zeros((0, 3), np.float32)

    def window(self, layer: str) -> tuple[NDArray[np.float32], NDArray[np.float64],
                                          NDArray[np.int32]]:
        """``pos (T, 2)``, spike times (s) and unit ids of the window."""
        pos = np.concatenate(self.pos) if self.pos else np.zeros((0, 2), np.float32)
        t = np.concatenate(self.spikes[layer][0]) if self.spikes[layer][0] else np.zeros(0)
        u = (np.concatenate(self.spikes[layer][1]) if self.spikes[layer][1]
             else np.zeros(0, np.int32))
        return pos, t, u


def run_steps(sim: Simulator, n_steps: int, *, on_chunk: Callable[[Chunk], None] | None = None,
              progress: Progress | None = None, chunk_steps: int = CHUNK_STEPS) -> float:
    """Run ``n_steps`` in chunks; returns the wall time in seconds."""
    t0 = time.perf_counter()
    end = sim.step + n_steps
    while sim.step < end:
        chunk = sim.run_chunk(min(chunk_steps, end - sim.step))
        if on_chunk is not None:
            on_chunk(chunk)
        if progress is not None:
            progress.update(n_steps - (end - sim.step))
    return time.perf_counter() - t0


def layer_summary(sim: SimulatorLike, collector: Collector, *, seed: int = 0) -> dict[str, Any]:
    """Place-cell fraction, median spatial information and activity per hidden layer, from the
    spikes of the collector's window (docs/model.md's place-cell test, shuffles included)."""
    active = collector.active_array()
    start_rel = collector.start_step - (sim.step - active.shape[0])
    spikes = {}
    pos = np.zeros((0, 2), np.float32)
    for L in collector.layers:
        pos, t, u = collector.window(L)
        steps = np.floor(t / sim.dt_s + 1e-9).astype(np.int64) - collector.start_step
        spikes[L] = (np.clip(steps, 0, max(pos.shape[0] - 1, 0)), u)
    act: NDArray[np.float32] = (active[max(start_rel, 0):] if active.size
                                else np.zeros((0, len(collector.layers)), np.float32))
    return place_cell_summary(pos, spikes, act, sim.layer_sizes, sim.dt_s, sim.arena.width_m,
                              sim.arena.height_m, sim.params.analysis, seed=seed)


def steps_for_minutes(minutes: float, dt_s: float) -> int:
    """Steps of ``minutes`` simulated minutes (at least one)."""
    return max(1, round(minutes * 60.0 / dt_s))


def run_session(session: Session, n: int, progress: Progress | None = None,
                offset: int = 0) -> float:
    """Run ``n`` steps of ``session`` in chunks of :data:`CHUNK_STEPS`, the progress bar
    continued from ``offset`` steps; returns the wall time in seconds."""
    t0 = time.perf_counter()
    end = session.step + n
    while session.step < end:
        session.run_chunk(min(CHUNK_STEPS, end - session.step))
        if progress is not None:
            progress.update(offset + n - (end - session.step))
    return time.perf_counter() - t0


def run_summary(session: Session, n: int, *, seed: int, probe_minutes: float = 0.0,
                progress: Progress | None = None,
                compile_s: Callable[[], float] | None = None,
                after_run: Callable[[], None] | None = None) -> dict[str, Any]:
    """Run ``n`` steps of a fresh ``session`` and summarise them as ``hippoviz run`` does.

    With ``probe_minutes`` the weights are then frozen and that many more minutes are analysed
    (a probe session); otherwise the last ``analysis.window_min`` minutes of the run. The
    summary: speed, reconstruction error of the first and last minute, and per hidden layer
    the place-cell fraction, median spatial information and activity. ``compile_s()`` (the
    seconds spent compiling kernels during the run) is left out of the wall time;
    ``after_run()`` is called once the steps are done, before the analysis (``hippoviz run``
    stops watching for compiles there: the analysis kernels compile silently, as before).
    """
    sim = session.sim
    n_probe = round(probe_minutes * 60 / sim.dt_s)
    window = max(1, min(n, round(sim.params.analysis.window_min * 60 / sim.dt_s)))
    col = Collector(start_step=n if n_probe else n - window)
    session.chunk_done.connect(col.add)
    try:
        wall = run_session(session, n, progress)
        if n_probe:
            session.apply(SetParams({"learning.enabled": False}))
            run_session(session, n_probe, progress, offset=n)
    finally:
        session.chunk_done.disconnect(col.add)
    took = compile_s() if compile_s is not None else 0.0
    if after_run is not None:
        after_run()
    wall = max(wall - took, 1e-9)  # steps/s never counts a compile
    mm = col.mismatch_array()[:n, 0]
    per_min = round(60 / sim.dt_s)
    first = mm[: min(per_min, mm.size)]
    last = mm[-min(per_min, mm.size):]
    layers = layer_summary(sim, col, seed=seed)
    return {
        "steps": n,
        "simulated_s": n * sim.dt_s,
        "wall_s": wall,
        "steps_per_second": n / wall if wall > 0 else float("inf"),
        "reconstruction_error": {"initial": float(first.mean()), "final": float(last.mean())},
        "layers": {L: {k: v for k, v in d.items() if k != "result"} for L, d in layers.items()},
        "seed": seed,
        "analysis_window_s": (n_probe or window) * sim.dt_s,
        "probe_minutes": probe_minutes,
        "compile_s": took,
    }


#: Keys of :func:`run_summary` that measure the machine, not the model (they differ from one
#: run of the same parameters and seed to the next).
RUN_SUMMARY_TIMING = ("wall_s", "steps_per_second", "compile_s")


def place_cell_summary(pos: NDArray[np.floating], spikes: dict[str, tuple[Any, Any]],
                       active: NDArray[np.float32], layer_sizes: dict[str, int], dt_s: float,
                       width_m: float, height_m: float, analysis: Any, *, seed: int = 0
                       ) -> dict[str, Any]:
    """The place-cell test of every layer of ``spikes`` over one window.

    Parameters
    ----------
    pos : (T, 2) float
        Positions (m) of the window's steps.
    spikes : dict
        ``{layer: (steps (m,) int, units (m,) int)}``, steps relative to the window start.
    active : (T, n_layers) float
        Fraction of each layer's units active on each step (columns in the order of
        ``spikes``); may be empty.
    layer_sizes : dict
        Units per layer.
    dt_s : float
        Step (s).
    width_m, height_m : float
        Arena bounding box (m).
    analysis : AnalysisParams
        ``params.analysis`` (bin size, shuffles, p-value, field size, peak rate).
    seed : int
        Seed of the shuffles.

    Returns
    -------
    dict
        ``{layer: {"place_cell_fraction", "place_cell_fraction_of_active",
        "median_si_bits_per_spike", "active_fraction", "result": PlaceCellResult}}``.
    """
    ap = analysis
    out: dict[str, Any] = {}
    for k, (L, (steps, units)) in enumerate(spikes.items()):
        res = place_cell_analysis(
            pos, steps, units, layer_sizes[L], dt_s, width_m, height_m,
            bin_size_m=ap.bin_size_m, n_shuffles=ap.n_shuffles, p_value=ap.p_value,
            min_field_bins=ap.min_field_bins, min_peak_hz=ap.min_peak_hz, seed=seed,
            criterion=ap.place_cell_criterion, min_si_bits=ap.min_si_bits,
            min_spikes=ap.min_spikes,
            dominant_field_range=(ap.dominant_field_min, ap.dominant_field_max),
            second_field_ratio=ap.second_field_ratio)
        act = active[:, k] if active.size else np.zeros(0)
        out[L] = {
            "place_cell_fraction": float(res.fraction),
            "place_cell_fraction_of_active": float(res.fraction_of_active),
            "median_si_bits_per_spike": float(res.median_si_bits_per_spike),
            "active_fraction": float(np.mean(act)) if act.size else 0.0,
            "result": res,
        }
    return out


class Progress:
    """A one-line progress bar on a terminal; silent when ``stream`` is not a terminal."""

    def __init__(self, total: int, label: str = "", stream: TextIO | None = None) -> None:
        self.total = max(1, total)
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self._t0 = time.perf_counter()
        self._last = 0.0

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self._last < 0.1 and done < self.total:
            return
        self._last = now
        f = min(1.0, done / self.total)
        width = 30
        bar = "#" * int(f * width) + "-" * (width - int(f * width))
        el = now - self._t0
        eta = el / f - el if f > 0 else 0.0
        self.stream.write(f"\r{self.label} [{bar}] {100 * f:5.1f}%  {el:5.0f} s elapsed, "
                          f"{eta:5.0f} s left ")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * 78 + "\r")
            self.stream.flush()
