"""The C heap's free memory is handed back to the system, at most every so often, by the map
worker after its jobs."""

from __future__ import annotations

import resource
import time

import numpy as np
import pytest

from hippoviz.runtime import heap
from hippoviz.runtime.heap import HeapTrimmer, trim_heap


def rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def test_trimmer_trims_at_most_every_so_often(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(heap, "trim_heap", lambda: calls.append(1) or True)
    t = HeapTrimmer(every_s=30.0)
    t.maybe(100.0)  # starts the clock
    t.maybe(129.0)
    assert calls == [] and t.trims == 0
    t.maybe(130.0)
    t.maybe(131.0)
    assert len(calls) == 1 and t.trims == 1
    t.maybe(160.0)
    assert len(calls) == 2


@pytest.mark.skipif(heap._TRIM is None, reason="the C library is not glibc")
def test_trim_returns_freed_heap_to_the_system() -> None:
    trim_heap()
    # 160 MB in 40 kB blocks (below malloc's mmap threshold: they come from the heap), all but
    # every 64th freed: the free memory sits between live blocks, which malloc keeps
    blocks = [np.ones(10_000, np.float32) for _ in range(4000)]
    kept = blocks[::64]
    del blocks
    time.sleep(0.05)
    held = rss_mb()
    assert trim_heap()
    assert held - rss_mb() > 80.0
    assert all(float(b[0]) == 1.0 for b in kept)  # the live blocks are untouched


def test_map_worker_trims_after_its_jobs() -> None:
    from hippoviz.runtime.maps import MapJob, MapWorker

    done: list[float] = []
    w = MapWorker(lambda job, maps: done.append(job.t_s), lambda job, p: None,
                  lambda m, d: None, niceness=0)
    w.trimmer.every_s = 0.0
    w.start()
    try:
        for i in range(3):
            raw = {"ca1": np.zeros((4, 8, 8), np.float32)}
            w.submit(MapJob(build_id=1, t_s=float(i), raw=raw,
                            occupancy=np.ones((8, 8)), extent=(0, 1, 0, 1), publish=True,
                            metrics=False, metric_opts={}))
            deadline = time.monotonic() + 10
            while len(done) <= i and time.monotonic() < deadline:
                time.sleep(0.01)
        deadline = time.monotonic() + 5
        while w.trimmer.trims < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        assert w.stop()
    assert len(done) == 3
    assert w.trimmer.trims >= 2  # the first job starts its clock, each later one trims
