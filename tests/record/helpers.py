"""Helpers of the :mod:`hippoviz.record` tests: record a session and remember what it saw."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hippoviz import params as P
from hippoviz.record import Recorder
from hippoviz.sim import LAYERS, WEIGHT_NAMES, Chunk, build

#: Chunk lengths of the shared recording: uneven, so chunk boundaries are exercised.
CHUNK_STEPS = (50, 73, 100, 64, 120, 90, 55, 100, 80, 101, 77, 66, 100, 58, 99, 100)

#: Commands applied before chunk i: live parameter changes and manipulations of every kind.
MANIPULATIONS: dict[int, list[dict[str, Any]]] = {
    2: [{"op": "set", "patch": {"learning.g_ca3_dg": 0.5}, "source": "gui"}],
    4: [{"op": "add_object", "x": 0.2, "y": -0.1}],
    6: [{"op": "move_object", "id": 0, "x": -0.25, "y": 0.3},
        {"op": "set", "patch": {"inputs.gamma_lec": 0.5, "learning.g_ec_ca1": 1.5}}],
    8: [{"op": "set", "patch": {"arena.width_m": 1.5}}],  # stretch: the rate-map grid grows
    10: [{"op": "set", "patch": {"learning.feedback": "alignment"}}],  # feedback != transpose
    12: [{"op": "add_object", "x": 0.5, "y": 0.0}, {"op": "remove_object", "id": 0}],
    13: [{"op": "reset_ratemaps"}],
}


@dataclass
class Session:
    """A recorded run and everything the test saw while it ran."""

    path: Path
    sim: Any
    params: P.Params
    seed: int
    chunks: list[Chunk] = field(default_factory=list)
    weights_at: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)
    ratemaps_at: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)
    occupancy_at: dict[int, np.ndarray] = field(default_factory=dict)
    extent_at: dict[int, tuple[float, ...]] = field(default_factory=dict)
    final_state: dict[str, Any] = field(default_factory=dict)

    def concat(self, name: str) -> np.ndarray:
        return np.concatenate([np.asarray(getattr(c, name)) for c in self.chunks])

    def spikes(self, layer: str) -> tuple[np.ndarray, np.ndarray]:
        return (np.concatenate([c.spikes[layer].times_s for c in self.chunks]),
                np.concatenate([c.spikes[layer].units for c in self.chunks]))


def _capture(s: Session) -> None:
    sim = s.sim
    s.weights_at[sim.step] = {n: sim.weights(n) for n in WEIGHT_NAMES}
    s.ratemaps_at[sim.step] = {L: sim.ratemaps(L, smooth=False) for L in LAYERS}
    s.occupancy_at[sim.step] = np.asarray(sim.occupancy_s, np.float32)
    s.extent_at[sim.step] = tuple(sim.ratemap_extent)


def record_session(path: Path, params: P.Params, seed: int = 7, *, cls: type = Recorder,
                   pre_steps: int = 0, steps: tuple[int, ...] = CHUNK_STEPS,
                   manipulations: dict[int, list[dict[str, Any]]] | None = None,
                   **kw: Any) -> Session:
    """Build a simulator, record ``steps`` chunks with ``manipulations`` applied between them,
    and remember the chunks, weights, rate maps and final state along the way."""
    manipulations = MANIPULATIONS if manipulations is None else manipulations
    sim = build(params, seed)
    if pre_steps:
        sim.run_chunk(pre_steps)  # recording starts mid-run
    s = Session(path, sim, params, seed)
    kw.setdefault("snapshot_interval_s", 1.0)
    kw.setdefault("ratemap_interval_s", 2.0)
    rec = cls(path, sim, **kw)
    _capture(s)
    for i, n in enumerate(steps):
        for cmd in manipulations.get(i, []):
            sim.command(cmd)
        chunk = sim.run_chunk(n)
        s.chunks.append(chunk)
        rec.write(chunk)
        _capture(s)
    rec.log(sim.step, sim.t_s, "note.phase", None, "probe", "test")
    s.final_state = sim.state_dict()
    rec.close()
    return s
