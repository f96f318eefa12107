"""Build the self-contained hippoviz app with PyInstaller (one folder: ``dist/hippoviz/``).

    .venv/bin/python packaging/build_app.py              # -> dist/hippoviz/hippoviz
    .venv/bin/python packaging/build_app.py --smoke      # ... then run the binary's checks
    .venv/bin/python packaging/build_app.py --dist /tmp/d --work /tmp/w

Run it with the Python of the environment that has hippoviz installed (the project's .venv):
PyInstaller bundles what that interpreter imports. PyInstaller itself is installed into the same
environment, at the pinned version below, when it is missing or another version is there.

The bundle holds Python, hippoviz, its dependencies (PyQt6, pyqtgraph, VisPy with its Qt backend
and data, Numba, h5py, pynwb, ...) and the ``resources/`` folder (``sys._MEIPASS/resources``, where
``hippoviz.resources`` looks in a frozen app). The binary takes the same command line as
``hippoviz``: with no arguments it opens the desktop app. See packaging/BUILDING.md for macOS and
Windows.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "packaging" / "pyinstaller"
#: PyInstaller and its hooks, pinned: a bundle is reproducible only with a fixed freezer.
PINS = ("pyinstaller==6.22.3", "pyinstaller-hooks-contrib==2026.9")
#: Folders of resources/ that only the documentation uses.
DOCS_ONLY = ("screenshots",)
#: Modules never needed at run time that would otherwise be pulled in by optional imports.
EXCLUDES = (
    "tkinter",
    "_tkinter",
    "matplotlib",
    "IPython",
    "jupyter_client",
    "ipykernel",
    "pytest",
    "_pytest",
    "hypothesis",
    "mypy",
    "PyQt5",
    "PySide2",
    "PySide6",
)


def log(msg: str) -> None:
    print(f"build_app: {msg}", flush=True)


def ensure_pyinstaller(python: str) -> None:
    """Install the pinned PyInstaller into ``python``'s environment unless it is there."""
    want = PINS[0].split("==")[1]
    probe = subprocess.run(
        [python, "-c", "import PyInstaller; print(PyInstaller.__version__)"],
        capture_output=True,
        text=True,
    )
    have = probe.stdout.strip() if probe.returncode == 0 else ""
    if have == want:
        return
    log(f"installing {' '.join(PINS)} (found: {have or 'none'})")
    subprocess.run([python, "-m", "pip", "install", "--quiet", *PINS], check=True)


def icon_args() -> list[str]:
    """The platform's icon (Windows .ico, macOS .icns made from the PNG by PyInstaller)."""
    icons = ROOT / "resources" / "icons"
    if sys.platform == "win32":
        return ["--icon", str(icons / "hippoviz.ico")]
    if sys.platform == "darwin":
        return ["--icon", str(icons / "hippoviz-512.png")]  # converted with Pillow if installed
    return []  # Linux: the .desktop file names the icon


def pyinstaller_args(dist: Path, work: Path, windowed: bool) -> list[str]:
    sep = os.pathsep
    args = [
        "--noconfirm",
        "--clean",
        "--onedir",
        "--name",
        "hippoviz",
        "--distpath",
        str(dist),
        "--workpath",
        str(work),
        "--specpath",
        str(work),
        "--log-level",
        "WARN",
        # VisPy picks its Qt backend by name at run time: PyInstaller cannot see the import
        "--hidden-import",
        "vispy.app.backends._pyqt6",
        "--collect-data",
        "vispy",
        # views are imported by module name (hippoviz.gui.qt_main_window.EXTERNAL_VIEWS)
        "--collect-submodules",
        "hippoviz",
        # the NWB and HDMF schemas, Dask's default configuration
        "--collect-data",
        "pynwb",
        "--collect-data",
        "hdmf",
        "--collect-data",
        "dask",
        "--collect-data",
        "distributed",
        # imageio-ffmpeg ships its own ffmpeg executable
        "--collect-binaries",
        "imageio_ffmpeg",
    ]
    for folder in resource_folders():
        args += ["--add-data", f"{folder}{sep}resources/{folder.name}"]
    for mod in EXCLUDES:
        args += ["--exclude-module", mod]
    if windowed:
        args.append("--windowed")  # macOS: a .app bundle; Windows: no console window
    args += icon_args()
    args.append(str(HERE / "hippoviz_main.py"))
    return args


def resource_folders() -> list[Path]:
    """The folders of resources/ the app reads (the screenshots are for the docs only)."""
    return sorted(
        d for d in (ROOT / "resources").iterdir() if d.is_dir() and d.name not in DOCS_ONLY
    )


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def smoke(exe: Path) -> None:
    """Quick checks of the frozen binary: version, resources, a short headless run."""
    # a frozen app ignores NUMBA_CACHE_DIR: Numba caches its kernels in the user's cache folder
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    for cmd in (
        [str(exe), "--version"],
        [str(exe), "params", "--json"],
        [str(exe), "run", "--preset", "small", "--steps", "500", "--json"],
    ):
        t0 = time.monotonic()
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
        status = "ok" if r.returncode == 0 else f"FAILED (exit {r.returncode})"
        log(f"smoke: {' '.join(cmd[1:])}: {status} in {time.monotonic() - t0:.1f} s")
        if r.returncode != 0:
            sys.stderr.write(r.stderr[-4000:])
            raise SystemExit(1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Build the hippoviz app with PyInstaller (onedir).")
    ap.add_argument(
        "--dist",
        type=Path,
        default=ROOT / "dist",
        help="output folder; the app goes to DIST/hippoviz (default: ./dist)",
    )
    ap.add_argument(
        "--work",
        type=Path,
        default=ROOT / "build" / "pyinstaller",
        help="PyInstaller's work folder (default: ./build/pyinstaller)",
    )
    ap.add_argument(
        "--windowed",
        action="store_true",
        help="macOS: build hippoviz.app; Windows: no console (the CLI prints nothing then)",
    )
    ap.add_argument("--smoke", action="store_true", help="run quick checks of the binary after")
    ap.add_argument(
        "--no-install",
        action="store_true",
        help="do not install PyInstaller; fail if it is missing",
    )
    args = ap.parse_args(argv)

    python = sys.executable
    if args.no_install:
        import importlib.util

        if importlib.util.find_spec("PyInstaller") is None:
            log("PyInstaller is not installed (and --no-install was given)")
            return 2
    else:
        ensure_pyinstaller(python)
    missing = [
        p
        for p in ("icons/hippoviz.svg", "presets/default.toml")
        if not (ROOT / "resources" / p).is_file()
    ]
    if missing:
        log(f"resources missing: {', '.join(missing)}")
        return 2

    dist, work = args.dist.resolve(), args.work.resolve()
    target = dist / "hippoviz"
    if target.exists():
        shutil.rmtree(target)
    work.mkdir(parents=True, exist_ok=True)
    log(f"building {target} with {python}")
    t0 = time.monotonic()
    subprocess.run(
        [python, "-m", "PyInstaller", *pyinstaller_args(dist, work, args.windowed)],
        check=True,
        cwd=ROOT,
    )
    took = time.monotonic() - t0
    exe = target / ("hippoviz.exe" if sys.platform == "win32" else "hippoviz")
    if not exe.is_file():
        log(f"no binary at {exe}")
        return 1
    if sys.platform.startswith("linux"):  # menu entry + icon installer beside the binary
        for name in ("hippoviz.desktop", "install_desktop.sh"):
            shutil.copy2(ROOT / "packaging" / name, target / name)
    log(f"built {exe} in {took:.0f} s; the folder holds {folder_size(target) / 2**20:.0f} MiB")
    if args.smoke:
        smoke(exe)
    return 0


if __name__ == "__main__":
    sys.exit(main())
