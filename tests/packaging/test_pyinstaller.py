"""The PyInstaller bundle builds, runs headless and starts its window under Xvfb.

Runs ``packaging/build_app.py`` (which installs the pinned PyInstaller into this venv when it is
missing) into a temporary folder, then from the bundle: ``--version``, a short headless run with
a recording exported to NWB (the bundled schemas), a short experiment whose figures matplotlib
draws, and the desktop app for 5 s. The app is ended
by its own ``--quit-after 5`` when ``hippoviz gui`` has that option, otherwise by SIGTERM.

Measured on the project's 2-core machine: build 2-4 min, the bundle ≈ 530 MiB (llvmlite ≈ 152,
Qt ≈ 92, SciPy ≈ 76, the Python code ≈ 31, NumPy ≈ 40, matplotlib and Pillow for the figures of
experiment reports ≈ 38), the first headless run ≈ 50 s (Numba
compiles into the user's cache: a frozen app ignores NUMBA_CACHE_DIR), the window ≈ 3 s after
launch. imageio-ffmpeg's own ffmpeg (165 MiB) is left out: movies use the system's.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from packaging_helpers import ROOT, assert_no_crash, clean_env, gui_smoke

import hippoviz

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def _run(cmd: list[str], timeout: float, **kw: object) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)  # type: ignore[call-overload]
    assert r.returncode == 0, (
        f"{' '.join(map(str, cmd))} failed with {r.returncode}\n"
        f"--- stdout\n{r.stdout[-3000:]}\n--- stderr\n{r.stderr[-3000:]}"
    )
    return r


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("pyinstaller")
    t0 = time.monotonic()
    _run(
        [
            sys.executable,
            str(ROOT / "packaging" / "build_app.py"),
            "--dist",
            str(base / "dist"),
            "--work",
            str(base / "work"),
        ],
        timeout=1500,
    )
    took = time.monotonic() - t0
    exe = base / "dist" / "hippoviz" / "hippoviz"
    assert exe.is_file()
    size = sum(
        f.stat().st_size for f in exe.parent.rglob("*") if f.is_file() and not f.is_symlink()
    )
    print(f"\nPyInstaller build {took:.0f} s, bundle {size / 2**20:.0f} MiB")
    # what the app never loads stays out (it was 737 MiB with ffmpeg and Qt's extras)
    assert size / 2**20 <= 560, f"the bundle grew to {size / 2**20:.0f} MiB"
    return exe


@pytest.fixture(scope="module")
def user(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    home = tmp_path_factory.mktemp("bundle-user")
    return home, clean_env(home)


def test_bundle_layout(bundle: Path) -> None:
    internal = bundle.parent / "_internal"
    for must in (
        "resources/presets/default.toml",
        "resources/icons/hippoviz.svg",
        "resources/protocols/place-cells.toml",
        "resources/styles/dark.qss",
    ):
        assert (internal / must).is_file(), must
    assert list(internal.glob("vispy/**/*.glsl")) or (internal / "vispy").is_dir()
    assert (bundle.parent / "hippoviz.desktop").is_file()
    assert not list(internal.glob("imageio_ffmpeg/binaries/ffmpeg*"))
    assert not (internal / "PyQt6" / "Qt6" / "translations").exists()


def test_bundle_runs_headless(bundle: Path, user: tuple[Path, dict[str, str]]) -> None:
    home, env = user
    r = _run([str(bundle), "--version"], timeout=120, env=env, cwd=home)
    assert r.stdout.strip() == f"hippoviz {hippoviz.__version__}"
    _run(
        [str(bundle), "run", "--preset", "small", "--steps", "300", "--record", "rec.h5"],
        timeout=900,
        env=env,
        cwd=home,
    )
    _run([str(bundle), "export", "rec.h5", "--nwb", "rec.nwb"], timeout=300, env=env, cwd=home)
    assert (home / "rec.nwb").stat().st_size > 0
    # an experiment's figures are drawn by matplotlib inside the bundle
    _run([str(bundle), "experiment", "novelty", "--preset", "small", "--minutes", "0.5",
          "--out", "exp"], timeout=600, env=env, cwd=home)
    assert (home / "exp" / "mismatch.png").stat().st_size > 1000
    assert (home / "exp" / "mismatch.svg").stat().st_size > 1000


def test_bundle_gui_runs_5s_and_quits(bundle: Path, user: tuple[Path, dict[str, str]]) -> None:
    home, env = user
    # the headless test compiled Numba's kernels into this user's cache; make sure of it here
    _run([str(bundle), "run", "--preset", "small", "--steps", "50"], timeout=900, env=env, cwd=home)
    gui_help = _run([str(bundle), "gui", "--help"], timeout=120, env=env).stdout
    if "--quit-after" in gui_help:
        smoke = gui_smoke(
            [str(bundle), "gui", "--quit-after", "5"],
            env,
            home,
            home / "gui.log",
            appear_s=30.0,
            quit_after=5.0,
        )
    else:  # until `hippoviz gui --quit-after` exists: 5 s with the window up, then SIGTERM
        smoke = gui_smoke([str(bundle)], env, home, home / "gui.log", appear_s=30.0, run_s=5.0)
    print(
        f"\nbundle GUI: window after {smoke.window_after_s} s, ended by {smoke.how}, "
        f"exit status {smoke.returncode}"
    )
    assert smoke.window_after_s is not None, f"no hippoviz window within 30 s:\n{smoke.output}"
    assert_no_crash(smoke)
