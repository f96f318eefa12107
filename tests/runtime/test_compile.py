"""Numba compiles are noticed while they happen, announced once and kept out of speed figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from numba import njit

from hippoviz.runtime.compile import COMPILING_TEXT, CompileWatch


def test_watch_reports_the_outermost_compile_of_its_thread_once() -> None:
    @njit
    def inner(x: float) -> float:
        return x * 2.0

    @njit
    def outer(x: float) -> float:
        return inner(x) + 1.0  # compiles inner along the way

    started: list[float] = []
    ended: list[float] = []
    with CompileWatch(lambda: started.append(time.perf_counter()), ended.append) as watch:
        assert outer(1.0) == 3.0
        assert len(started) == 1 and len(ended) == 1  # one announcement, not one per function
        assert watch.compiles == 1 and watch.compile_s == pytest.approx(ended[0])
        assert not watch.compiling
        outer(2.0)  # compiled: nothing more
        assert watch.compiles == 1

        @njit
        def elsewhere(x: float) -> float:
            return x - 1.0

        t = threading.Thread(target=elsewhere, args=(1.0,))
        t.start()
        t.join()
        assert watch.compiles == 1  # another thread's compile is not this thread's wait
    @njit
    def after(x: float) -> float:
        return x

    after(1.0)
    assert watch.compiles == 1  # removed: no longer listening


@pytest.mark.slow
def test_run_on_a_cold_cache_says_so_once_and_does_not_count_it(tmp_path: Path) -> None:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}  # an empty cache
    cmd = [sys.executable, "-m", "hippoviz", "run", "--preset", "small", "--steps", "300",
           "--json"]
    t0 = time.monotonic()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900, check=False)
    elapsed = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    lines = r.stderr.strip().splitlines()
    assert lines == [f"hippoviz: {COMPILING_TEXT}…"]
    d = json.loads(r.stdout)
    assert d["compile_s"] > 1.0
    # the run's own time leaves the compile out; steps/s is computed from it
    assert d["wall_s"] + d["compile_s"] < elapsed
    assert d["steps_per_second"] == pytest.approx(d["steps"] / d["wall_s"])

    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900, check=False)
    assert r.returncode == 0 and r.stderr == ""  # cached: nothing to say
    assert json.loads(r.stdout)["compile_s"] == 0.0

    # what packaging/setup.sh runs: silent when cached, two lines when it compiles
    r = subprocess.run([sys.executable, "-m", "hippoviz.runtime.compile"], env=env,
                       capture_output=True, text=True, timeout=900, check=False)
    assert r.returncode == 0 and r.stdout == "" and r.stderr == ""  # no runpy warning either
    env["NUMBA_CACHE_DIR"] = str(tmp_path / "other")
    r = subprocess.run([sys.executable, "-m", "hippoviz.runtime.compile", "--prefix", "x: "],
                       env=env, capture_output=True, text=True, timeout=900, check=False)
    out = r.stdout.strip().splitlines()
    assert r.returncode == 0 and len(out) == 2
    assert out[0] == f"x: {COMPILING_TEXT}…" and out[1].startswith("x: compiled in ")
