"""Helpers of the packaging tests: clean environments for installed apps and a GUI smoke start
under the test session's X server (pytest-xvfb provides ``$DISPLAY``)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: Signs of a crash in an app's output.
CRASH_SIGNS = (
    "Traceback (most recent call last)",
    "Fatal Python error",
    "Segmentation fault",
    "QThread: Destroyed while thread",
    "core dumped",
    "Aborted",
)
#: The main window under X: WM_CLASS ("hippoviz" "hippoviz") and a real size.
_WINDOW = re.compile(r'\("hippoviz" "hippoviz"\)\s+(\d+)x(\d+)')


def clean_env(tmp: Path, bin_dir: Path | None = None, **extra: str) -> dict[str, str]:
    """The environment of a user who installed hippoviz: nothing of the checkout or its venv,
    private settings, caches and runtime folders below ``tmp``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "PYTHONPATH",
            "PYTHONHOME",
            "VIRTUAL_ENV",
            "QT_QPA_PLATFORM",
            "NUMBA_CACHE_DIR",
            "PYTHONSTARTUP",
        )
    }
    path = [
        p
        for p in env.get("PATH", "").split(os.pathsep)
        if p and not Path(p).resolve().is_relative_to(ROOT)
    ]
    if bin_dir is not None:
        path.insert(0, str(bin_dir))
    env["PATH"] = os.pathsep.join(path)
    for name, sub in (
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_CACHE_HOME", "cache"),
        ("XDG_DATA_HOME", "data"),
    ):
        env[name] = str(tmp / sub)
    runtime = tmp / "runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env["XDG_RUNTIME_DIR"] = str(runtime)
    env.update(extra)
    return env


def window_size() -> tuple[int, int] | None:
    """Size of the hippoviz main window on ``$DISPLAY`` (None: none yet)."""
    try:
        out = subprocess.run(
            ["xwininfo", "-root", "-tree"], capture_output=True, text=True, timeout=10
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    sizes = [(int(w), int(h)) for w, h in _WINDOW.findall(out)]
    big = [s for s in sizes if s[0] > 100 and s[1] > 100]
    return max(big) if big else None


@dataclass
class Smoke:
    """What a GUI smoke start saw."""

    window_after_s: float | None  # None: no window seen (or xwininfo missing)
    returncode: int
    output: str
    how: str  # "quit-after" or "SIGTERM"


def gui_smoke(
    cmd: list[str],
    env: dict[str, str],
    cwd: Path,
    log: Path,
    *,
    appear_s: float = 20.0,
    run_s: float = 0.0,
    quit_after: float | None = None,
) -> Smoke:
    """Start a GUI command, wait until its window appears (or ``appear_s``), keep it running
    ``run_s`` more seconds, then end it: by itself (``quit_after``, the app's own timer) or
    with SIGTERM. Fails the test if it exits early or does not end."""
    if not os.environ.get("DISPLAY"):
        pytest.skip("no X display (the pytest-xvfb plugin or a desktop provides one)")
    has_xwininfo = shutil.which("xwininfo") is not None
    t0 = time.monotonic()
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            cmd,
            env=env,
            cwd=cwd,
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            seen = None
            while time.monotonic() - t0 < appear_s:
                if proc.poll() is not None:
                    break
                if has_xwininfo and window_size() is not None:
                    seen = time.monotonic() - t0
                    break
                time.sleep(0.25)
            end = time.monotonic() + run_s
            while proc.poll() is None and time.monotonic() < end:
                time.sleep(0.25)
            if proc.poll() is not None and quit_after is None:
                text = log.read_text(errors="replace")
                pytest.fail(f"{cmd[0]} exited early with status {proc.returncode}:\n{text[-3000:]}")
            if quit_after is None:
                proc.send_signal(signal.SIGTERM)
                how = "SIGTERM"
            else:
                how = "quit-after"
            try:
                proc.wait(timeout=60 if quit_after is None else quit_after + appear_s + 60)
            except subprocess.TimeoutExpired:
                pytest.fail(f"{cmd[0]} did not end ({how})")
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    return Smoke(seen, proc.returncode, log.read_text(errors="replace"), how)


def assert_no_crash(smoke: Smoke) -> None:
    signs = [s for s in CRASH_SIGNS if s in smoke.output]
    assert not signs, f"the app's output shows {signs}:\n{smoke.output[-4000:]}"
    if smoke.how == "quit-after":
        assert smoke.returncode == 0, f"exit status {smoke.returncode}:\n{smoke.output[-3000:]}"
    else:  # ended by SIGTERM: 0 if the app handles it, else killed by the signal itself
        assert smoke.returncode in (0, -signal.SIGTERM, 128 + signal.SIGTERM), (
            f"exit status {smoke.returncode} after SIGTERM:\n{smoke.output[-3000:]}"
        )
