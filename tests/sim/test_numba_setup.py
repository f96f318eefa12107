"""Numba's NumPy support loads without SciPy's linear algebra (hippoviz/sim/numba_setup.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, timeout=600, check=True)
    return out.stdout.strip().splitlines()[-1]


def test_a_headless_run_does_not_load_scipy_linalg() -> None:
    line = _run("""
        import sys
        from hippoviz.params import load_preset
        from hippoviz.sim import build
        assert "numba.np.arraymath" not in sys.modules  # importing alone loads nothing more
        sim = build(load_preset("small"), 1)
        sim.run_chunk(50)
        print("numba.np.arraymath" in sys.modules, "scipy.linalg" in sys.modules)
    """)
    assert line == "True False"


def test_jitted_blas_still_works_after_the_setup() -> None:
    # np.dot in jitted code imports scipy.linalg.cython_blas when it is typed
    line = _run("""
        import sys
        import numpy as np
        from hippoviz.sim.numba_setup import load_numba_np
        from numba import njit
        assert load_numba_np() and "scipy.linalg" not in sys.modules
        @njit
        def f(a, b):
            return np.dot(a, b)
        a = np.arange(6.0).reshape(2, 3)
        b = np.arange(12.0).reshape(3, 4)
        print(bool(np.allclose(f(a, b), a @ b)), "scipy.linalg" in sys.modules)
    """)
    assert line == "True True"


def test_nothing_changes_when_scipy_linalg_is_already_loaded() -> None:
    line = _run("""
        import sys
        import scipy.linalg
        from hippoviz.sim.numba_setup import load_numba_np
        import numba.np.arraymath as am
        print(load_numba_np(), am._HAVE_BLAS)
    """)
    assert line == "False True"


def test_a_numba_without_that_module_is_left_alone() -> None:
    # should Numba move its NumPy support, importing hippoviz.sim must still work
    line = _run("""
        import sys
        import importlib.abc

        class Gone(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name == "numba.np.arraymath":
                    raise ModuleNotFoundError(name)
                return None

        sys.meta_path.insert(0, Gone())
        from hippoviz.sim.numba_setup import load_numba_np
        print(load_numba_np(), "numba.np.arraymath" in sys.modules)
    """)
    assert line == "False False"
