"""Starting the app where it cannot open a window: one line, exit 2, and a suggestion that works
as typed from where the user is."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXE = Path(sys.executable).with_name("hippoviz")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_CACHE_HOME=str(tmp_path / "cache"))
    env.update(extra)
    return env


def _one_line(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hippoviz: error: "), r.stderr
    assert "core dumped" not in r.stderr and "Aborted" not in r.stderr
    return lines[0]


def _suggested_xvfb(line: str) -> list[str]:
    cmd = line.split("start the app under Xvfb: ", 1)[1]
    assert cmd.startswith("xvfb-run -a ")
    return shlex.split(cmd)


@pytest.mark.skipif(not EXE.is_file(), reason="the hippoviz script of an installed venv")
def test_no_display_suggests_the_command_that_works_from_here(tmp_path: Path) -> None:
    # from the checkout, as the README has it: .venv/bin/hippoviz
    rel = os.path.relpath(EXE, ROOT)
    r = subprocess.run([rel], cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True,
                       timeout=60, check=False)
    line = _one_line(r)
    assert "DISPLAY is not set" in line
    cmd = _suggested_xvfb(line)
    assert cmd[2] == rel, line  # not a bare 'hippoviz', which the shell would not find
    assert f"'{rel} run'" in line

    # from elsewhere: the absolute path
    r = subprocess.run([str(EXE)], cwd=tmp_path, env=_env(tmp_path), capture_output=True,
                       text=True, timeout=60, check=False)
    assert _suggested_xvfb(_one_line(r))[2] == str(EXE)

    # on PATH: the bare name
    env = _env(tmp_path, PATH=f"{EXE.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    r = subprocess.run(["hippoviz"], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=60, check=False)
    assert _suggested_xvfb(_one_line(r))[2] == "hippoviz"


@pytest.mark.skipif(not EXE.is_file(), reason="the hippoviz script of an installed venv")
def test_the_suggested_command_starts_the_app(tmp_path: Path) -> None:
    import shutil

    if shutil.which("xvfb-run") is None:
        pytest.skip("xvfb-run (package xvfb) is not installed")
    rel = os.path.relpath(EXE, ROOT)
    r = subprocess.run([rel], cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True,
                       timeout=60, check=False)
    cmd = _suggested_xvfb(_one_line(r))
    r = subprocess.run([*cmd, "gui", "--quit-after", "2", "--no-welcome"], cwd=ROOT,
                       env=_env(tmp_path), capture_output=True, text=True, timeout=300,
                       check=False)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]


def test_display_without_an_x_server_is_one_line_exit_2(tmp_path: Path) -> None:
    n = next(i for i in range(77, 200) if not Path(f"/tmp/.X11-unix/X{i}").exists()
             and not Path(f"/tmp/.X{i}-lock").exists())
    r = subprocess.run([sys.executable, "-m", "hippoviz"], env=_env(tmp_path, DISPLAY=f":{n}"),
                       capture_output=True, text=True, timeout=60, check=False)
    line = _one_line(r)
    assert f"cannot open the X display ':{n}' (no X server answers there)" in line
    assert "check DISPLAY" in line and "xvfb-run -a " in line
    # the same under the platform Qt would pick itself
    r = subprocess.run([sys.executable, "-m", "hippoviz", "gui"],
                       env=_env(tmp_path, DISPLAY=f":{n}", QT_QPA_PLATFORM="xcb"),
                       capture_output=True, text=True, timeout=60, check=False)
    assert "no X server answers there" in _one_line(r)


def test_a_working_display_passes_the_check() -> None:
    from hippoviz.cli import x_display_problem

    display = os.environ.get("DISPLAY")
    if not display:
        pytest.skip("no X display (pytest-xvfb provides one)")
    assert x_display_problem(display) is None
    assert "cannot open the X display" in (x_display_problem(":199") or "")
