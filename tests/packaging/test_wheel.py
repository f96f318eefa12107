"""The wheel holds every resource the app needs and runs from a fresh venv outside the checkout.

Builds the wheel (``python -m build --wheel``), installs it into a plain venv in a temporary
folder (``pip install WHEEL``: pip's cache and the local package index make this work offline),
then runs ``hippoviz run --preset small --minutes 1`` and a GUI smoke start under Xvfb from that
venv, in a folder outside the checkout, with nothing of the checkout on any path.

Measured on the project's 2-core machine: wheel ≈ 5 s, venv + install ≈ 60 s, the one-minute
run ≈ 45 s (Numba compiles the kernels of the fresh install), the GUI ≈ 3 s to its window:
about 2 minutes in all, hence ``slow``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from packaging_helpers import ROOT, assert_no_crash, clean_env, gui_smoke

import hippoviz

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

#: Folders of resources/ that only the documentation uses; every other folder is the app's.
DOCS_ONLY = ("screenshots",)
TIMINGS: dict[str, float] = {}


def _run(cmd: list[str], timeout: float, **kw: object) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)  # type: ignore[call-overload]
    assert r.returncode == 0, (
        f"{' '.join(map(str, cmd))} failed with {r.returncode}\n"
        f"--- stdout\n{r.stdout[-3000:]}\n--- stderr\n{r.stderr[-3000:]}"
    )
    return r


@pytest.fixture(scope="module")
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("wheel-test")
    assert not base.resolve().is_relative_to(ROOT), "the temporary folder is inside the checkout"
    return base


@pytest.fixture(scope="module")
def wheel(outside: Path) -> Path:
    t0 = time.monotonic()
    _run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(outside / "dist"), str(ROOT)],
        timeout=600,
    )
    TIMINGS["wheel build"] = time.monotonic() - t0
    wheels = sorted((outside / "dist").glob("hippoviz-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def venv(outside: Path, wheel: Path) -> Path:
    """A plain venv (no system site-packages) with only the wheel and its dependencies."""
    env_dir = outside / "venv"
    t0 = time.monotonic()
    _run([sys.executable, "-m", "venv", str(env_dir)], timeout=300)
    py = env_dir / "bin" / "python"
    _run(
        [str(py), "-m", "pip", "install", "--quiet", str(wheel)],
        timeout=1200,
        env=clean_env(outside, PIP_DISABLE_PIP_VERSION_CHECK="1"),
        cwd=outside,
    )
    TIMINGS["venv + pip install"] = time.monotonic() - t0
    return env_dir


@pytest.fixture(scope="module")
def user_env(outside: Path, venv: Path) -> dict[str, str]:
    home = outside / "user"
    home.mkdir(exist_ok=True)
    return clean_env(home, venv / "bin", NUMBA_CACHE_DIR=str(home / "numba-cache"))


@pytest.fixture(scope="module")
def headless_run(outside: Path, venv: Path, user_env: dict[str, str]) -> dict[str, object]:
    """``hippoviz run --preset small --minutes 1 --json`` from the venv (also warms Numba's
    cache for the GUI start)."""
    t0 = time.monotonic()
    r = _run(
        [str(venv / "bin" / "hippoviz"), "run", "--preset", "small", "--minutes", "1", "--json"],
        timeout=900,
        env=user_env,
        cwd=outside / "user",
    )
    TIMINGS["hippoviz run --minutes 1"] = time.monotonic() - t0
    return dict(json.loads(r.stdout))


def test_wheel_holds_every_resource(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    folders = [d for d in (ROOT / "resources").iterdir() if d.is_dir() and d.name not in DOCS_ONLY]
    assert {"presets", "protocols", "styles", "icons"} <= {d.name for d in folders}
    needed = [
        p
        for d in folders
        for p in sorted(d.rglob("*"))
        if p.is_file() and not p.name.startswith(".") and "__pycache__" not in p.parts
    ]
    assert len(needed) > 20, needed
    missing = [
        p.relative_to(ROOT).as_posix()
        for p in needed
        if "hippoviz/_resources/" + p.relative_to(ROOT / "resources").as_posix() not in names
    ]
    assert not missing, f"resources missing from {wheel.name}: {missing}"
    for must in (
        "presets/small.toml",
        "presets/default.toml",
        "presets/large.toml",
        "icons/hippoviz.svg",
        "icons/hippoviz-256.png",
        "styles/dark.qss",
    ):
        assert f"hippoviz/_resources/{must}" in names, must
    entry = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry).decode()
    assert "hippoviz = hippoviz.cli:main" in text
    assert not [n for n in names if n.startswith(("tests/", ".venv/", "packaging/"))]


def test_installed_outside_the_checkout(
    outside: Path, venv: Path, user_env: dict[str, str]
) -> None:
    code = (
        "import hippoviz, hippoviz.resources as r; "
        "print(hippoviz.__file__); print(r.resources_dir()); print(hippoviz.__version__)"
    )
    r = _run(
        [str(venv / "bin" / "python"), "-c", code], timeout=120, env=user_env, cwd=outside / "user"
    )
    module, res, version = r.stdout.split()
    assert Path(module).is_relative_to(venv), module
    assert Path(res).is_relative_to(venv) and Path(res).name == "_resources", res
    assert version == hippoviz.__version__
    r = _run([str(venv / "bin" / "hippoviz"), "--version"], timeout=120, env=user_env)
    assert r.stdout.strip() == f"hippoviz {hippoviz.__version__}"


def test_installed_runs_headless(headless_run: dict[str, object]) -> None:
    assert headless_run["steps"] == 6000
    assert headless_run["simulated_s"] == pytest.approx(60.0)
    assert set(headless_run["layers"]) == {"dg", "ca3", "ca1"}  # type: ignore[arg-type]


def test_installed_gui_starts(
    outside: Path, venv: Path, user_env: dict[str, str], headless_run: dict[str, object]
) -> None:
    smoke = gui_smoke(
        [str(venv / "bin" / "hippoviz")],
        user_env,
        outside / "user",
        outside / "gui.log",
        appear_s=20.0,
    )
    TIMINGS["GUI: window after"] = smoke.window_after_s or float("nan")
    print("\nwheel timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in TIMINGS.items()))
    assert smoke.window_after_s is not None, f"no hippoviz window within 20 s:\n{smoke.output}"
    assert_no_crash(smoke)
