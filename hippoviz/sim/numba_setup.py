"""Numba's NumPy support, loaded without SciPy's linear algebra.

When Numba first compiles or loads a kernel it imports ``numba.np.arraymath``, which checks
whether BLAS is available for ``np.dot`` in jitted code by importing
``scipy.linalg.cython_blas``. That import runs the whole of ``scipy.linalg`` and maps SciPy's
own OpenBLAS: about 14 MB of resident memory in a headless run (``hippoviz bench``: 201 MB
with it, 187 MB without), for a library none of hippoviz's kernels calls (they are loops; the
matrix products of the NumPy twins run in NumPy). :func:`load_numba_np` imports
``numba.np.arraymath`` once with that probe answered "not here", so the flag it sets only
selects Numba's own loop for an inner product; building a :class:`Simulator` calls it (the
first kernel loads then), so importing ``hippoviz.sim`` alone costs nothing more. Numba's
``np.dot`` and ``@`` in jitted code still work: they import ``scipy.linalg.cython_blas`` again
when they are typed, after this module has stepped aside. Nothing is done when either module
is already loaded (another part of the process may need SciPy's linear algebra, which then
stays).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType

_PROBED = "scipy.linalg"


class _NotHere(importlib.abc.MetaPathFinder):
    """Refuses ``scipy.linalg`` and its submodules, as if SciPy lacked them."""

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname == _PROBED or fullname.startswith(_PROBED + "."):
            raise ImportError(f"{fullname} is not loaded by hippoviz's kernels")
        return None


def load_numba_np() -> bool:
    """Import ``numba.np.arraymath`` without its BLAS probe loading SciPy's linear algebra.

    Returns whether the probe was skipped (``False`` when Numba's NumPy support or
    ``scipy.linalg`` was already loaded, and nothing changed)."""
    if "numba.np.arraymath" in sys.modules or _PROBED in sys.modules:
        return False
    finder = _NotHere()
    sys.meta_path.insert(0, finder)
    try:
        import numba.np.arraymath  # noqa: F401
    except ImportError:  # a Numba whose NumPy support lives elsewhere: loaded as it comes
        return False
    finally:
        sys.meta_path.remove(finder)
    return True
