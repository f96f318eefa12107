"""Headless runs: keep what analysis needs of a run's chunks, and summarise it.

Used by ``hippoviz run`` and by the experiment protocols.
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


def layer_summary(sim: Simulator, collector: Collector, *, seed: int = 0) -> dict[str, Any]:
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
