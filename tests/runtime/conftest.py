"""Fixtures of the runtime tests: runners that always stop (no thread outlives a test)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from hippoviz import params as P
from hippoviz.runtime import SimRunner

from .fakesim import fake_builder


@pytest.fixture(scope="session")
def _warm_numba() -> None:
    """Compile (or load from the cache) the simulator's kernels before any timed wait."""
    from hippoviz.sim import build

    build(P.load_preset("small"), 1).run_chunk(2)


@pytest.fixture
def make_runner(_warm_numba: None) -> Iterator[Callable[..., SimRunner]]:
    """``make_runner(builder=None, **kw)``: a started runner on the small preset (fake simulator
    unless ``real=True``), stopped and joined after the test."""
    runners: list[SimRunner] = []

    def make(real: bool = False, nan_at_step: int | None = None, seed: int = 1,
             **kw: Any) -> SimRunner:
        builder = None if real else fake_builder(nan_at_step)
        r = SimRunner(P.load_preset("small"), seed=seed, builder=builder, **kw)
        r.start()
        assert r.wait_ready(120)
        runners.append(r)
        return r

    yield make
    for r in runners:
        assert r.stop(5.0), "simulation thread did not stop"
    assert not [t for t in threading.enumerate() if t.name in ("hippoviz-sim", "hippoviz-maps")]
