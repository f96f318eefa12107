"""packaging/setup.sh: the system packages it installs are those the README's commands need, a
second run does nothing, and a half-made .venv (ensurepip missing at the first try) is repaired.

The slow tests run the script in a copy of the checkout: it creates a .venv there and installs
the project into it with pip (about 2 minutes each with pip's cache warm)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SETUP = ROOT / "packaging" / "setup.sh"
debian = pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="not Debian/Ubuntu")

#: Tools the README's two commands use (the app, its tests, the PyInstaller build) and the
#: package of system-packages.txt that provides each.
TOOLS = {"objdump": "binutils", "xvfb-run": "xvfb", "xauth": "xauth", "import": "imagemagick",
         "xwininfo": "x11-utils", "xdpyinfo": "x11-utils"}


def _packages(python: str | None = None) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHON"}
    if python:
        env["PYTHON"] = python
    r = subprocess.run([str(SETUP), "--packages"], capture_output=True, text=True, env=env,
                       timeout=120, check=True)
    return r.stdout.split()


def _installed(pkg: str) -> bool:
    r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True,
                       text=True, check=False)
    return "install ok installed" in r.stdout


def _distribution_python() -> str | None:
    """A Python 3.11+ of the distribution (owned by a Debian package), if there is one."""
    for name in ("python3", "python3.13", "python3.12", "python3.11"):
        path = Path("/usr/bin") / name
        if path.exists() and subprocess.run(["dpkg-query", "-S", str(path.resolve())],
                                            capture_output=True, check=False).returncode == 0:
            ok = subprocess.run([str(path), "-c", "import sys; "
                                 "sys.exit(sys.version_info < (3, 11))"], check=False)
            if ok.returncode == 0:
                return str(path)
    return None


@debian
def test_listed_packages_provide_the_tools_and_are_installed() -> None:
    pkgs = _packages()
    assert "python3" in pkgs and "binutils" in pkgs
    for tool, pkg in TOOLS.items():
        assert pkg in pkgs, f"{tool} comes from {pkg}, which is not listed"
        assert shutil.which(tool), f"{tool} is missing though {pkg} is listed"
    missing = [p for p in pkgs if not _installed(p)]
    assert missing == [], "listed but not installed here (the suite would miss them)"


@debian
def test_interpreter_packages_are_derived_from_the_interpreter() -> None:
    py = _distribution_python()
    if py is None:
        pytest.skip("no Python 3.11+ of the distribution here")
    ver, soname = subprocess.run(
        [py, "-c", "import sys, sysconfig; print('%d.%d' % sys.version_info[:2]); "
                   "print(sysconfig.get_config_var('INSTSONAME'))"],
        capture_output=True, text=True, check=True).stdout.split()
    pkgs = _packages(py)
    venv_pkg = f"python{ver}-venv"
    assert venv_pkg in pkgs  # ensurepip: without it 'python3 -m venv' leaves a half-made .venv
    lib = [p for p in pkgs if p in (f"libpython{ver}", f"libpython{ver}t64")]
    assert len(lib) == 1, pkgs
    # the package really holds the library PyInstaller looks for
    files = subprocess.run(["dpkg-query", "-L", lib[0]], capture_output=True, text=True,
                           check=True).stdout.split()
    assert any(Path(f).name == soname for f in files), (lib[0], soname)


@debian
def test_a_python_of_its_own_needs_no_interpreter_packages() -> None:
    """An interpreter built from source (pyenv, /usr/local) carries its venv module and, when
    built shared, its libpython: nothing of the distribution is derived for it."""
    real = Path(sys.executable).resolve()
    owned = subprocess.run(["dpkg-query", "-S", str(real)], capture_output=True,
                           check=False).returncode == 0
    if owned:
        pytest.skip("this venv's Python is the distribution's")
    pkgs = _packages(sys.executable)
    assert not [p for p in pkgs if p.startswith("libpython") or p.endswith("-venv")]
    if sysconfig.get_config_var("Py_ENABLE_SHARED"):
        lib = Path(sysconfig.get_config_var("LIBDIR")) / sysconfig.get_config_var("INSTSONAME")
        assert lib.exists()


def test_unknown_option_is_one_line_exit_2() -> None:
    r = subprocess.run([str(SETUP), "--frobnicate"], capture_output=True, text=True,
                       timeout=60, check=False)
    assert r.returncode == 2
    assert r.stderr.strip() == ("hippoviz setup: error: unknown option '--frobnicate' (see "
                                "packaging/setup.sh --help)")


@debian
def test_without_sudo_it_says_how_to_run_it_as_root() -> None:
    """A user without sudo, a package missing: one line that says what to run as root."""
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        pytest.skip("needs root to run the script as another user")
    import tempfile

    # pytest's tmp_path lies below a folder only root may enter
    with tempfile.TemporaryDirectory(prefix="hippoviz-nosudo-") as tmp:
        _no_sudo(Path(tmp))


def _no_sudo(tmp_path: Path) -> None:
    co = tmp_path / "co"
    (co / "packaging").mkdir(parents=True)
    shutil.copy2(SETUP, co / "packaging" / "setup.sh")
    missing = next(p for p in ("hello", "cowsay", "sl", "fortune-mod") if not _installed(p))
    (co / "packaging" / "system-packages.txt").write_text(f"python3\n{missing}\n")
    bin_dir = tmp_path / "bin"  # the user's commands, sudo left out
    bin_dir.mkdir()
    for cmd in ("bash", "sed", "tr", "grep", "dpkg-query", "apt-get", "apt-cache", "id", "cat",
                "dirname", "env", "true"):
        (bin_dir / cmd).symlink_to(shutil.which(cmd) or f"/bin/{cmd}")
    for p in (tmp_path, co, co / "packaging", bin_dir):
        p.chmod(0o755)
    r = subprocess.run(["runuser", "-u", "nobody", "--", "env", "-i", f"PATH={bin_dir}",
                        "bash", str(co / "packaging" / "setup.sh")], capture_output=True,
                       text=True, timeout=120, check=False)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.strip() == (
        f"hippoviz setup: error: the system packages {missing} need root, and sudo is not "
        f"installed: as root run  su -c '{co}/packaging/setup.sh --system-only'  then "
        "packaging/setup.sh again")


# -- the script itself, in a copy of the checkout ------------------------------------------------
def _copy_checkout(dest: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".venv", "screenshots")
    for name in ("hippoviz", "resources", "packaging"):
        shutil.copytree(ROOT / name, dest / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    return dest


def _setup(copy: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHON",
                                                            "PYTHONPATH")}
    env["NUMBA_CACHE_DIR"] = str(copy / ".numba")  # its own cache: the kernels compile once
    r = subprocess.run(["packaging/setup.sh"], cwd=copy, capture_output=True, text=True,
                       env=env, timeout=1800, check=False)
    assert r.returncode == 0, f"--- stdout\n{r.stdout[-4000:]}\n--- stderr\n{r.stderr[-4000:]}"
    return r


def _working(copy: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    r = subprocess.run([str(copy / ".venv" / "bin" / "python"), "-c",
                        "import pip, pytest, hippoviz; print(hippoviz.__file__)"],
                       cwd=copy.parent, env=env, capture_output=True, text=True, timeout=120,
                       check=True)  # not from the checkout the tests run in
    assert Path(r.stdout.strip()).resolve().is_relative_to(copy.resolve())


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_twice_in_a_row_the_second_run_does_nothing(tmp_path: Path) -> None:
    copy = _copy_checkout(tmp_path / "hippoviz")
    first = _setup(copy).stdout
    assert "hippoviz setup: creating .venv" in first
    assert "hippoviz setup: installing hippoviz and its test tools into .venv" in first
    assert "compiling the model's kernels" in first
    _working(copy)
    stamp = copy / ".venv" / ".hippoviz-installed"
    before = {p: p.stat().st_mtime_ns for p in (stamp, copy / ".venv" / "bin" / "python")}

    second = _setup(copy).stdout.strip().splitlines()
    assert second == ["hippoviz setup: ready: .venv/bin/hippoviz starts the app, "
                      ".venv/bin/python -m pytest runs the tests"]
    assert {p: p.stat().st_mtime_ns for p in before} == before


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_a_half_made_venv_is_repaired(tmp_path: Path) -> None:
    copy = _copy_checkout(tmp_path / "hippoviz")
    # what a first run left behind when python3-venv (ensurepip) was missing
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(copy / ".venv")],
                   check=True)
    r = subprocess.run([str(copy / ".venv" / "bin" / "python"), "-c", "import pip"],
                       capture_output=True, check=False)
    assert r.returncode != 0  # "No module named pip", as users saw
    out = _setup(copy).stdout
    assert "making .venv anew (the one here is incomplete, broken or of another Python)" in out
    _working(copy)
