"""Icon, desktop entry and documentation pictures: present, current and well-formed (fast)."""

from __future__ import annotations

import configparser
import importlib.util
import shutil
import subprocess
import sys
from types import ModuleType
from typing import Any

import pytest
from packaging_helpers import ROOT


def _load(name: str) -> ModuleType:
    path = ROOT / "packaging" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"hippoviz_packaging_{name}", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_icon_pngs_match_the_svg(qapp: Any) -> None:
    make_icons = _load("make_icons")
    assert (ROOT / "resources" / "icons" / "hippoviz.svg").is_file()
    assert make_icons.stale_pngs() == [], "run packaging/make_icons.py"
    assert (ROOT / "resources" / "icons" / "hippoviz.ico").stat().st_size > 1000


def test_desktop_entry() -> None:
    path = ROOT / "packaging" / "hippoviz.desktop"
    cp = configparser.ConfigParser(interpolation=None)
    cp.optionxform = str  # type: ignore[assignment,method-assign]
    cp.read(path, encoding="utf-8")
    entry = cp["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Exec"].split()[0] == "hippoviz"
    assert entry["Icon"] == "hippoviz"
    assert "Science" in entry["Categories"].split(";")
    assert entry["Terminal"] == "false"
    if shutil.which("desktop-file-validate"):
        r = subprocess.run(["desktop-file-validate", str(path)], capture_output=True, text=True)
        assert r.returncode == 0 and "error" not in r.stdout, r.stdout + r.stderr


def test_every_documented_screenshot_exists() -> None:
    r = subprocess.run(
        [sys.executable, str(ROOT / "packaging" / "screenshots.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_user_guide_covers_the_main_tasks() -> None:
    guide = (ROOT / "docs" / "user-guide.md").read_text(encoding="utf-8").lower()
    for task in (
        "place cells",
        "gating",
        "lesion",
        "experiment",
        "record",
        "nwb",
        "screenshot",
        "movie",
    ):
        assert task in guide, task
    shots = _load("screenshots")
    assert len(shots.referenced_images()) >= 8


@pytest.mark.parametrize("script", ["build_app.py", "screenshots.py", "make_icons.py"])
def test_packaging_scripts_have_help(script: str) -> None:
    r = subprocess.run(
        [sys.executable, str(ROOT / "packaging" / script), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0 and "usage" in r.stdout, r.stdout + r.stderr
