"""Fixtures of the GUI tests (pytest-qt under pytest-xvfb; QT_QPA_PLATFORM left unset).

- Qt warnings fail every test in this folder (``qt_log_level_fail("WARNING")``).
- Settings go to a temporary INI file, never to the user's.
- Every window is closed and its simulation thread joined after the test; a test that leaves a
  ``hippoviz-sim`` thread alive fails.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Qt warns when XDG_RUNTIME_DIR is missing (containers, CI); give it a private one.
if not os.environ.get("XDG_RUNTIME_DIR"):
    _xdg = tempfile.mkdtemp(prefix="hippoviz-xdg-")
    os.chmod(_xdg, 0o700)
    os.environ["XDG_RUNTIME_DIR"] = _xdg

from PyQt6.QtCore import QSettings

from hippoviz import params as P


def _load_fakesim() -> Any:
    path = Path(__file__).resolve().parents[1] / "runtime" / "fakesim.py"
    spec = importlib.util.spec_from_file_location("hippoviz_test_fakesim", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


fakesim = _load_fakesim()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.qt_log_level_fail("WARNING"))
            item.add_marker(pytest.mark.gui)


@pytest.fixture(scope="session", autouse=True)
def _warm_numba() -> None:
    """Compile (or load from the cache) the simulator's kernels once, before any timed wait."""
    from hippoviz.sim import build

    build(P.load_preset("small"), 1).run_chunk(2)


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path) -> Iterator[None]:
    """Default-constructed QSettings write below tmp_path."""
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path))
    yield


@pytest.fixture(autouse=True)
def _dark_theme_after(qapp: Any) -> Iterator[None]:
    """A test that switches the theme must not change the next test's colours."""
    yield
    from hippoviz.gui.style import apply_theme, current_theme

    if current_theme() != "dark":
        apply_theme(qapp, "dark")


@pytest.fixture(autouse=True)
def _no_thread_left() -> Iterator[None]:
    yield
    left = [t for t in threading.enumerate()
            if t.name in ("hippoviz-sim", "hippoviz-maps") and t.is_alive()]
    assert not left, f"simulation threads outlived the test: {left}"


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "hippoviz.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def make_window(qtbot: Any, settings: QSettings) -> Iterator[Callable[..., Any]]:
    """``make_window(preset="small", seed=1, builder=None, fake=False, nan_at_step=None)``:
    a shown main window on the real simulator (or the fake one), closed after the test."""
    from hippoviz.gui.main_window import QtMainWindow

    windows: list[Any] = []

    def make(preset: str = "small", seed: int = 1, builder: Any = None, fake: bool = False,
             nan_at_step: int | None = None, **kw: Any) -> Any:
        if fake:
            builder = fakesim.fake_builder(nan_at_step)
        win = QtMainWindow(P.load_preset(preset), seed, builder=builder, settings=settings,
                           restore=False, **kw)
        windows.append(win)
        qtbot.addWidget(win)
        win.show()
        qtbot.waitExposed(win)
        return win

    yield make
    for win in windows:
        win.close()
        assert not win.runner.alive, "the simulation thread survived closing the window"
