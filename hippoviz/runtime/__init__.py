"""L2: the simulation thread, its command queue, ring buffers and latest-value slots (no Qt).

>>> from hippoviz import params as P
>>> from hippoviz.runtime import SimRunner
>>> runner = SimRunner(P.load_preset("small"), seed=1)      # doctest: +SKIP
>>> runner.start(); src = runner.source                      # doctest: +SKIP
>>> src.command({"op": "play"})                              # doctest: +SKIP
"""

from hippoviz.runtime.rings import SampleRing, SpikeRing
from hippoviz.runtime.runner import RUNTIME_OPS, SimRunner, default_builder
from hippoviz.runtime.source import DataSource, LatestSlots
from hippoviz.runtime.threads import limit_threads

__all__ = [
    "RUNTIME_OPS",
    "DataSource",
    "LatestSlots",
    "SampleRing",
    "SimRunner",
    "SpikeRing",
    "default_builder",
    "limit_threads",
]
