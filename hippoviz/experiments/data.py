"""What a finished phase of a protocol leaves for its analyses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hippoviz import params as P


@dataclass
class PhaseData:
    """What a finished phase leaves for the analyses (arrays relative to the phase start).

    Attributes
    ----------
    name : str
    pos : (T, 2) float32
        Positions (m).
    spikes : dict
        ``{layer: (steps (m,) int64, units (m,) int32)}`` of the hidden layers.
    mismatch : (T,) float32
        Total entorhinal mismatch of every step.
    active : (T, 3) float32
        Active fraction of DG, CA3, CA1 per step.
    params : Params
        Parameters at the end of the phase.
    layer_sizes : dict
    dt_s : float
    width_m, height_m : float
        Arena bounding box (m).
    """

    name: str
    pos: NDArray[np.float32]
    spikes: dict[str, tuple[NDArray[np.int64], NDArray[np.int32]]]
    mismatch: NDArray[np.float32]
    active: NDArray[np.float32]
    params: P.Params
    layer_sizes: dict[str, int]
    dt_s: float
    width_m: float
    height_m: float
    place_cells: dict[str, Any] | None = None

    @property
    def n_steps(self) -> int:
        return int(self.pos.shape[0])


__all__ = ["PhaseData"]
