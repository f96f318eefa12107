"""glibc's allocator set for a process that runs for hours with several threads.

The app allocates and frees arrays of megabytes many times a second in three threads (the
simulation's chunks, the map worker's smoothing, the views' images). With glibc's defaults each
thread gets arenas of its own (up to eight per core), and an array larger than the mmap
threshold raises that threshold to its size when freed, so that later arrays of that size come
from the arenas' heaps, which hold freed memory instead of returning it to the system: the
resident memory of a long run crept up, in steps, by 5-15 % over half an hour.
:func:`tune_malloc` caps the arenas at :data:`ARENAS` and fixes the threshold at
:data:`MMAP_THRESHOLD_BYTES`, so an array that large always gets pages of its own that go back to
the system when it is freed, while the heap keeps :data:`TRIM_THRESHOLD_BYTES` free at its top
for the smaller arrays made every chunk. An environment that sets ``MALLOC_ARENA_MAX``,
``MALLOC_MMAP_THRESHOLD_`` or ``MALLOC_TRIM_THRESHOLD_`` itself is left as it is.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys

#: ``mallopt`` parameters (glibc's malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
#: Allocations of this many bytes or more are mapped on their own: the rate maps of the large
#: layers and their smoothing's temporaries (6-13 MB on the default preset), not a chunk's
#: arrays (about 2 MB each, made every 15 ms: mapped afresh each time, their page faults cost
#: the simulation 3-8 % of its speed at 1 MB).
MMAP_THRESHOLD_BYTES = 4 << 20
#: Free memory at the top of a heap kept for reuse rather than given back (a fixed mmap
#: threshold leaves it at glibc's 128 kB, and the heap was then shrunk and grown again, page
#: by page, every chunk).
TRIM_THRESHOLD_BYTES = 32 << 20
#: Most allocator arenas shared by the process's threads.
ARENAS = 2


def tune_malloc() -> dict[str, int]:
    """Cap glibc's arenas and fix its mmap threshold (Linux with glibc; elsewhere nothing).

    Call it once, early, before the threads start. Returns what was set (``{"arena_max": 2,
    "mmap_threshold": 4194304, "trim_threshold": 33554432}``), without a setting the
    environment made itself or that glibc refused; empty where there is no glibc.
    """
    if sys.platform != "linux" or platform.libc_ver()[0] != "glibc":
        return {}
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return {}
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    done: dict[str, int] = {}
    for env, name, param, value in (
            ("MALLOC_ARENA_MAX", "arena_max", M_ARENA_MAX, ARENAS),
            ("MALLOC_MMAP_THRESHOLD_", "mmap_threshold", M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES),
            ("MALLOC_TRIM_THRESHOLD_", "trim_threshold", M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)):
        if env not in os.environ and mallopt(param, value) == 1:
            done[name] = value
    return done
