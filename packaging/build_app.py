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
#: Modules the app never loads that optional imports would otherwise pull in (measured: the
#: files a frozen app maps while it runs the window, a recorded run and an NWB export).
EXCLUDES = (
    "tkinter",
    "_tkinter",
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
    "matplotlib.tests",
    "matplotlib.testing",
    "aiohttp",  # an optional transport of fsspec; Dask's cluster talks over tornado
    "PyQt6.QtNetwork",
    "PyQt6.QtPdf",
    "PyQt6.QtQml",
    "PyQt6.QtQuick",
)
#: Files the app never loads, removed from the bundle after PyInstaller (globs below _internal/).
PRUNE = (
    # imageio-ffmpeg's own static ffmpeg (165 MiB, as much as all of Qt and SciPy together):
    # only movies use it, and they use the system's ffmpeg instead (a dialog says how to get one)
    "imageio_ffmpeg/binaries/ffmpeg-*",
    "PyQt6/Qt6/translations",  # the app is in English only
    "PyQt6/Qt6/plugins/imageformats/libqpdf.so",  # and the Qt PDF library it pulls in
    "PyQt6/Qt6/lib/libQt6Pdf.so.6",
    "PyQt6/Qt6/plugins/imageformats/libqtiff.so",
    "PyQt6/Qt6/plugins/imageformats/libqwebp.so",
    "PyQt6/Qt6/plugins/imageformats/libqicns.so",
    "PyQt6/Qt6/plugins/imageformats/libqwbmp.so",
    "PyQt6/Qt6/plugins/imageformats/libqtga.so",
    "distributed/http/static",  # Dask's web dashboard (not started by hippoviz)
    "pynwb/nwb-schema/docs",  # the schema's documentation figures (the YAML stays)
    "matplotlib/mpl-data/sample_data",  # the gallery's example data
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
        # the whole package, so that nothing imported lazily is left out
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


def prune(target: Path) -> int:
    """Remove the :data:`PRUNE` files of a built app; returns the bytes removed."""
    internal = target / "_internal"
    removed = 0
    for pattern in PRUNE:
        for path in sorted(internal.glob(pattern)):
            if path.is_dir() and not path.is_symlink():
                removed += folder_size(path)
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                removed += path.stat().st_size if path.is_file() else 0
                path.unlink()
    return removed


#: Libraries shipped with their symbol tables, stripped after the build (PyInstaller's --strip
#: strips everything, which breaks the OpenBLAS of NumPy and SciPy: "ELF load command
#: address/offset not page-aligned"). Each is checked to load before it replaces the original.
STRIP = (
    "llvmlite/binding/libllvmlite.so",  # 170 -> 152 MiB
    "libpython3*.so*",  # a Python built from source (pyenv) ships one with symbols
    "kiwisolver/*.so",
    "yaml/*.so",
)


def strip_binaries(target: Path) -> int:
    """Strip the :data:`STRIP` libraries of a built app (``strip --strip-unneeded``), keeping
    each original unless the stripped copy still loads; returns the bytes saved."""
    strip = shutil.which("strip")
    if strip is None:
        log("strip (binutils) not found: libraries keep their symbols")
        return 0
    internal = target / "_internal"
    saved = 0
    for pattern in STRIP:
        for lib in sorted(internal.glob(pattern)):
            if lib.is_symlink() or not lib.is_file():
                continue
            tmp = lib.with_name(lib.name + ".stripped")
            r = subprocess.run([strip, "--strip-unneeded", "-o", str(tmp), str(lib)],
                               capture_output=True, text=True)
            loads = r.returncode == 0 and subprocess.run(
                [sys.executable, "-c", "import ctypes, sys; ctypes.CDLL(sys.argv[1])", str(tmp)],
                capture_output=True).returncode == 0
            if loads and tmp.stat().st_size < lib.stat().st_size:
                saved += lib.stat().st_size - tmp.stat().st_size
                shutil.copymode(lib, tmp)
                os.replace(tmp, lib)
            else:
                tmp.unlink(missing_ok=True)
    return saved


def parts(target: Path, top: int = 12) -> list[tuple[str, int]]:
    """The heaviest parts of a built app: top-level entries of ``_internal`` and the binary."""
    internal = target / "_internal"
    sizes = [(p.name, folder_size(p) if p.is_dir() else p.stat().st_size)
             for p in internal.iterdir() if not p.is_symlink()]
    sizes.append((target.name + " (Python code)", (target / target.name).stat().st_size))
    return sorted(sizes, key=lambda kv: -kv[1])[:top]


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
    gone = prune(target) + strip_binaries(target)
    log(f"built {exe} in {took:.0f} s; the folder holds {folder_size(target) / 2**20:.0f} MiB "
        f"({gone / 2**20:.0f} MiB of unused files and symbol tables removed)")
    log("heaviest parts: " + ", ".join(f"{name} {size / 2**20:.0f}"
                                        for name, size in parts(target)) + " (MiB)")
    if args.smoke:
        smoke(exe)
    return 0


if __name__ == "__main__":
    sys.exit(main())
