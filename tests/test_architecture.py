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


def test_no_import_cycle() -> None:
    """No module of hippoviz imports itself back, directly or through others (imports inside
    functions count)."""
    import grimp

    graph = grimp.build_graph("hippoviz")
    modules = sorted(graph.modules)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.find_modules_directly_imported_by(v):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for m in modules:
        if m not in index:
            visit(m)
    assert cycles == []


def _sources(*folders: str) -> list[tuple[Path, str]]:
    out = []
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            out.append((path, path.read_text(encoding="utf-8")))
    return out


def test_nothing_patches_the_simulator() -> None:
    """Extensions plug into the session's hooks; nothing replaces ``run_chunk``."""
    import re

    bad = [str(p.relative_to(ROOT)) for p, text in _sources("hippoviz")
           if "hippoviz/sim/" not in p.as_posix() and re.search(r"\.run_chunk\s*=[^=]", text)]
    assert bad == []


def test_commands_and_events_are_typed() -> None:
    """Commands are written as dicts only where their wire form is defined (the simulator,
    the typed commands, the protocol's named-object commands); events never; nothing probes a
    data source with getattr or hasattr."""
    import re

    wire_ok = ("hippoviz/sim/", "hippoviz/runtime/commands.py", "hippoviz/experiments/protocol.py")
    bad = []
    for path, text in _sources("hippoviz"):
        rel = path.relative_to(ROOT).as_posix()
        if re.search(r"\{\s*[\"']op[\"']\s*:", text) and not rel.startswith(wire_ok):
            bad.append(f"{rel}: a command dict")
        if re.search(r"\{\s*[\"']kind[\"']\s*:", text) and rel.startswith(
                ("hippoviz/runtime/", "hippoviz/gui/")):
            bad.append(f"{rel}: an event dict")
        if re.search(r"(getattr|hasattr)\(\s*[\w.]*(source|src)\b", text):
            bad.append(f"{rel}: a data source probed")
        if re.search(r"\.latest\(", text):
            bad.append(f"{rel}: an untyped read of a data source")
    assert bad == []


def test_every_data_source_keeps_the_contract() -> None:
    from hippoviz.runtime import DataSource, LiveSource, StaticSource
    from hippoviz.runtime.recording_source import RecordingSource

    for cls in (LiveSource, RecordingSource, StaticSource):
        missing = [name for name in dir(DataSource)
                   if not name.startswith("_") and not callable(getattr(cls, name, None))]
        assert missing == [], f"{cls.__name__} lacks {missing}"
