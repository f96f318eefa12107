"""glibc's allocator as the app sets it: large arrays freed go back to the system."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from typing import Any

import pytest

pytestmark = pytest.mark.skipif(
    sys.platform != "linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")

#: Frees a large array (glibc then raises its mmap threshold to that size), then holds 60
#: arrays of 4 MB and frees all but the last one made: without the tuning they came from the
#: heap, whose top the last one pins, so the resident memory stays up.
SCRIPT = """
import json, resource, sys
import numpy as np
from hippoviz.runtime.malloc import tune_malloc
done = tune_malloc() if sys.argv[1] == "tuned" else {}
def rss():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20
big = np.ones(8 << 20, np.uint8); del big
held = [np.ones(4 << 20, np.uint8) for _ in range(60)]
peak = rss()
del held[:-1]
print(json.dumps({"done": done, "peak": peak, "after": rss()}))
"""


def _run(mode: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    e.update(env or {})
    out = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True,
                         check=True, env=e, timeout=60)
    res: dict[str, Any] = json.loads(out.stdout)
    return res


def test_freed_large_arrays_go_back_to_the_system() -> None:
    from hippoviz.runtime.malloc import ARENAS, MMAP_THRESHOLD_BYTES, TRIM_THRESHOLD_BYTES

    tuned, plain = _run("tuned"), _run("plain")
    assert tuned["done"] == {"arena_max": ARENAS, "mmap_threshold": MMAP_THRESHOLD_BYTES,
                             "trim_threshold": TRIM_THRESHOLD_BYTES}
    for r in (tuned, plain):
        assert r["peak"] > 240
    assert plain["after"] > 200  # the heap kept them
    assert tuned["after"] < plain["after"] - 150  # given back


def test_a_setting_of_the_environment_is_left_alone() -> None:
    from hippoviz.runtime.malloc import ARENAS, TRIM_THRESHOLD_BYTES

    r = _run("tuned", {"MALLOC_MMAP_THRESHOLD_": "131072"})
    assert r["done"] == {"arena_max": ARENAS, "trim_threshold": TRIM_THRESHOLD_BYTES}
