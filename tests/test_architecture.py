"""Architecture and tooling checks: the core imports no GUI toolkit, layers import one way,
lint and types are clean."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def test_core_imports_no_gui_toolkit() -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        "import hippoviz, hippoviz.cli\n"
        "for m in ('hippoviz.params', 'hippoviz.sim', 'hippoviz.analysis',"
        " 'hippoviz.experiments', 'hippoviz.runtime', 'hippoviz.record'):\n"
        "    pkg = importlib.import_module(m)\n"
        "    for info in pkgutil.walk_packages(getattr(pkg, '__path__', []), m + '.'):\n"
        "        importlib.import_module(info.name)\n"
        "bad = sorted({'PyQt6', 'pyqtgraph', 'vispy'} & {k.split('.')[0] for k in sys.modules})\n"
        "print(','.join(bad) or 'ok')\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False,
                       cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"


def test_importing_hippoviz_is_light() -> None:
    r = subprocess.run([sys.executable, "-c", "import sys, hippoviz; print(len([m for m in "
                        "sys.modules if m.startswith(('numpy', 'numba', 'PyQt6'))]))"],
                       capture_output=True, text=True, check=False)
    assert r.stdout.strip() == "0"


def _tool(name: str) -> str:
    exe = BIN / name
    if not exe.exists():
        found = shutil.which(name)
        if found is None:
            pytest.fail(f"{name} is not installed (pip install -e '.[test]')")
        return found
    return str(exe)


def test_import_contracts() -> None:
    r = subprocess.run([_tool("lint-imports")], capture_output=True, text=True, cwd=ROOT,
                       check=False)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]


def test_ruff() -> None:
    r = subprocess.run([_tool("ruff"), "check", "hippoviz", "tests"], capture_output=True,
                       text=True, cwd=ROOT, check=False)
    assert r.returncode == 0, r.stdout[-4000:]


def test_mypy_strict_core() -> None:
    r = subprocess.run([_tool("mypy")], capture_output=True, text=True, cwd=ROOT, check=False)
    assert r.returncode == 0, r.stdout[-4000:]
