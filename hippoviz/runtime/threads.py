"""Keep the simulation thread to its share of the CPU so the GUI thread keeps a core."""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import threading
from typing import Any

_BLAS_SETTERS = (
    "scipy_openblas_set_num_threads64_",
    "scipy_openblas_set_num_threads",
    "openblas_set_num_threads64_",
    "openblas_set_num_threads",
    "MKL_Set_Num_Threads",
)


def _loaded_blas_libraries() -> list[str]:
    """Paths of the BLAS shared libraries mapped into this process (Linux only)."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as fh:
            paths = {line.split()[-1] for line in fh if ".so" in line}
    except OSError:
        return []
    return sorted(p for p in paths if "openblas" in p.lower() or "libmkl_rt" in p.lower())


def limit_blas_threads(n: int) -> str:
    """Limit the BLAS thread pool of every loaded BLAS library to ``n`` threads.

    Uses :mod:`threadpoolctl` when installed, else calls the libraries' own setters through
    :mod:`ctypes`. BLAS pools are process-wide.

    Returns
    -------
    str
        How the limit was applied (for the log), or ``"none"``.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        pass
    else:
        threadpool_limits(limits=n, user_api="blas")
        return "threadpoolctl"
    done = []
    for path in _loaded_blas_libraries():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in _BLAS_SETTERS:
            fn = getattr(lib, name, None)
            if fn is not None:
                fn(ctypes.c_int(n))
                done.append(name)
                break
    return ",".join(done) or "none"


def limit_numba_threads(n: int) -> None:
    """Limit Numba's parallel regions started from the calling thread to ``n`` threads.

    :func:`numba.set_num_threads` is thread-local, so call it from the simulation thread. Does
    nothing when Numba is not imported yet (the simulation imports it).
    """
    numba = sys.modules.get("numba")
    if numba is None:
        return
    with contextlib.suppress(Exception):
        numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))


def lower_thread_priority(niceness: int = 5) -> bool:
    """Raise the nice value of the calling thread (Linux schedules threads individually), so that
    the GUI thread wins when both want the CPU. Returns whether it worked."""
    if not hasattr(os, "setpriority"):
        return False
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + niceness)
    except (OSError, PermissionError):
        return False
    return True


def run_queue_wait_s(tid: int) -> float | None:
    """Seconds thread ``tid`` of this process has spent so far runnable but waiting for a CPU
    (the kernel's scheduler statistics; Linux), or None where the kernel does not say. Waits
    for a lock or for I/O are not in it: it grows only when every core is taken."""
    try:
        with open(f"/proc/self/task/{tid}/schedstat", "rb") as fh:
            return int(fh.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


def limit_threads(n: int = 1, niceness: int = 0) -> dict[str, Any]:
    """Limit BLAS and Numba threads to ``n`` and optionally lower this thread's priority.

    Parameters
    ----------
    n : int
        Threads allowed for BLAS (process-wide) and Numba (this thread).
    niceness : int
        Added to the calling thread's nice value (0 = unchanged).

    Returns
    -------
    dict
        ``{"blas": how, "numba": n, "niced": bool}``.
    """
    how = limit_blas_threads(n)
    limit_numba_threads(n)
    niced = lower_thread_priority(niceness) if niceness else False
    return {"blas": how, "numba": n, "niced": niced}
