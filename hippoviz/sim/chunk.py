"""What one call of :meth:`Simulator.run_chunk` returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

#: Spiking populations, in loop order: EC input (superficial), DG, CA3, CA1, EC output (deep).
LAYERS: tuple[str, ...] = ("ec", "dg", "ca3", "ca1", "out")
#: The hidden layers of the autoencoder.
HIDDEN: tuple[str, ...] = ("dg", "ca3", "ca1")
#: Columns of :attr:`Chunk.mismatch`.
MISMATCH_GROUPS: tuple[str, ...] = ("total", "grid", "border", "lec")


@dataclass(frozen=True)
class Spikes:
    """Spikes of one layer: ``times_s (m,) float64`` (absolute simulated time, sub-step
    resolution) and ``units (m,) int32`` (index within the layer), sorted by time."""

    times_s: NDArray[np.float64]
    units: NDArray[np.int32]

    def __len__(self) -> int:
        return int(self.times_s.shape[0])


@dataclass(frozen=True)
class Chunk:
    """Samples and spikes of ``n`` consecutive steps starting at global step ``step0``.

    Attributes
    ----------
    step0 : int
        Global index of the first step.
    t_s : (n,) float64
        Simulated time at the start of each step (``(step0 + i) * dt``).
    pos_m : (n, 2) float32
        Rat position (arena centred at the origin) after each step.
    heading_rad : (n,) float32
        Head direction.
    speed_m_s : (n,) float32
        Running speed.
    theta_phase_rad : (n,) float32
        Theta phase in [0, 2 pi).
    mismatch : (n, 4) float32
        Entorhinal mismatch ``||x - x_hat||^2 / ||x||^2``: total, grid, border, LEC
        (:data:`MISMATCH_GROUPS`).
    spikes : dict[str, Spikes]
        One entry per layer of :data:`LAYERS`.
    active_fraction : (n, 3) float32
        Fraction of DG, CA3 and CA1 units active on each step.
    """

    step0: int
    t_s: NDArray[np.float64]
    pos_m: NDArray[np.float32]
    heading_rad: NDArray[np.float32]
    speed_m_s: NDArray[np.float32]
    theta_phase_rad: NDArray[np.float32]
    mismatch: NDArray[np.float32]
    spikes: dict[str, Spikes] = field(default_factory=dict)
    active_fraction: NDArray[np.float32] = field(
        default_factory=lambda: np.zeros((0, 3), np.float32))

    @property
    def n(self) -> int:
        return int(self.t_s.shape[0])
