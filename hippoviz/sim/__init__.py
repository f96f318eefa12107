"""L1: the simulation core (NumPy + Numba, no threads, no GUI).

``build(params, seed)`` → :class:`Simulator` → ``run_chunk(n)`` → :class:`Chunk`.
"""

from hippoviz.sim.arena import WALLS, Arena
from hippoviz.sim.chunk import HIDDEN, LAYERS, MISMATCH_GROUPS, Chunk, Spikes
from hippoviz.sim.simulator import WEIGHT_NAMES, SimulationDiverged, Simulator, build

__all__ = [
    "HIDDEN",
    "LAYERS",
    "MISMATCH_GROUPS",
    "WALLS",
    "WEIGHT_NAMES",
    "Arena",
    "Chunk",
    "SimulationDiverged",
    "Simulator",
    "Spikes",
    "build",
]
