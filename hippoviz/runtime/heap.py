"""Hand the C heap's free memory back to the system now and then.

glibc's ``malloc`` keeps the memory a program frees for its next allocations; with several
threads allocating arrays of many sizes (the simulation's published copies, the rate maps, the
views' images) a long run holds tens of MB of free heap that it seldom reuses, and its resident
memory creeps up. ``malloc_trim(0)`` returns the free pages; the map worker calls
:meth:`HeapTrimmer.maybe` after each of its jobs (low priority, about once a second while the
simulation plays), which trims at most every :data:`TRIM_EVERY_S`. Where the C library is not
glibc, it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable

#: Fewest seconds between two trims.
TRIM_EVERY_S = 30.0


def _glibc_trim() -> Callable[[], int] | None:
    name = ctypes.util.find_library("c")
    try:
        fn = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None
    if fn is None:
        return None
    fn.argtypes = [ctypes.c_size_t]
    fn.restype = ctypes.c_int
    return lambda: int(fn(0))


_TRIM = _glibc_trim()


def trim_heap() -> bool:
    """Return the free memory of the C heap to the system now; whether any was (False also
    where the C library cannot)."""
    return bool(_TRIM()) if _TRIM is not None else False


class HeapTrimmer:
    """Calls :func:`trim_heap` at most once every ``every_s`` seconds of ``now``."""

    def __init__(self, every_s: float = TRIM_EVERY_S) -> None:
        self.every_s = every_s
        self.trims = 0  #: trims done (for tests)
        self._last: float | None = None

    def maybe(self, now: float) -> None:
        """Trim if ``every_s`` passed since the last trim (the first call only starts the
        clock)."""
        if self._last is None:
            self._last = now
        elif now - self._last >= self.every_s:
            self._last = now
            self.trims += 1
            trim_heap()


__all__ = ["TRIM_EVERY_S", "HeapTrimmer", "trim_heap"]
