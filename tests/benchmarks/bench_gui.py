"""Benchmark of the desktop app (a script, not a test).

Measures, on this machine:

- headless simulation throughput (steps/s of ``sim.run_chunk`` in one thread);
- the app's throughput at maximum speed with the default layout (all default-visible views
  drawing), as a fraction of headless;
- display frames per second and dropped frames;
- the p99 interval of a 10 ms QTimer on the GUI thread while the simulation runs;
- the time from launching ``python -m hippoviz.gui.app`` to the window being up (warm Numba cache).

Run it under a real X server so VisPy draws (docs/architecture.md)::

    xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python tests/benchmarks/bench_gui.py
    ... --preset small --seconds 10 --json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def headless_steps_per_s(preset: str, seconds: float) -> tuple[float, float]:
    """Steps per wall second and per CPU second of the bare simulator in this thread."""
    from hippoviz import params as P
    from hippoviz.runtime.threads import limit_threads
    from hippoviz.sim import build

    limit_threads(1)
    sim = build(P.load_preset(preset), 1)
    sim.run_chunk(200)  # compile / load the cache
    n, t0, c0 = 0, time.perf_counter(), time.thread_time()
    while time.perf_counter() - t0 < seconds:
        sim.run_chunk(100)
        n += 100
    return n / (time.perf_counter() - t0), n / (time.thread_time() - c0)


def thread_cpu_s(tid: int) -> float:
    """CPU seconds (user + system) used so far by thread ``tid`` of this process (Linux)."""
    try:
        with open(f"/proc/self/task/{tid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def app_figures(preset: str, seconds: float) -> dict[str, Any]:
    """Run the app at maximum speed for ``seconds`` and measure it."""
    from PyQt6.QtCore import QSettings, Qt, QTimer
    from PyQt6.QtWidgets import QApplication

    from hippoviz import params as P
    from hippoviz.gui.main_window import QtMainWindow
    from hippoviz.gui.style import apply_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_theme(app, "dark")
    tmp = tempfile.mkdtemp(prefix="hippoviz-bench-")
    settings = QSettings(os.path.join(tmp, "bench.ini"), QSettings.Format.IniFormat)
    win = QtMainWindow(P.load_preset(preset), 1, settings=settings, restore=False)
    win.show()
    win.resize(1280, 800)
    win.controls.speed_box.setCurrentText("max")
    out: dict[str, Any] = {}
    intervals: list[float] = []
    probe = QTimer()
    probe.setTimerType(Qt.TimerType.PreciseTimer)
    last = [0.0]

    def on_probe() -> None:
        now = time.perf_counter()
        if last[0]:
            intervals.append(now - last[0])
        last[0] = now

    probe.timeout.connect(on_probe)
    state: dict[str, Any] = {}

    def start() -> None:
        win.controls.play()
        QTimer.singleShot(2000, begin)  # let the chunk size settle

    def begin() -> None:
        intervals.clear()
        last[0] = 0.0
        probe.start(10)
        state["step0"] = win.source.step()
        state["t0"] = time.perf_counter()
        state["drop0"] = win.dropped_frames
        state["ticks0"] = len(win._ticks)
        state["frames"] = 0
        state["tids"] = {"gui": threading.main_thread().native_id,
                         "sim": win.runner._thread.native_id,
                         "maps": win.runner._maps._thread.native_id}
        state["cpu0"] = {k: thread_cpu_s(t) for k, t in state["tids"].items()}
        win.timer.timeout.connect(count)
        QTimer.singleShot(int(1000 * seconds), finish)

    def count() -> None:
        state["frames"] += 1

    def finish() -> None:
        wall = time.perf_counter() - state["t0"]
        probe.stop()
        out["app_steps_per_s"] = (win.source.step() - state["step0"]) / wall
        out["display_fps"] = state["frames"] / wall
        out["dropped_frames"] = win.dropped_frames - state["drop0"]
        out["cpu_share"] = {k: round((thread_cpu_s(t) - state["cpu0"][k]) / wall, 2)
                            for k, t in state["tids"].items()}
        out["load_average"] = os.getloadavg()[0]
        iv = np.array(intervals) * 1000
        out["timer10ms_p50_ms"] = float(np.percentile(iv, 50)) if iv.size else float("nan")
        out["timer10ms_p99_ms"] = float(np.percentile(iv, 99)) if iv.size else float("nan")
        out["refresh_ms"] = {k: round(v, 2) for k, v in win.refresh_ms.items()}
        out["drawn_views"] = sorted(win.refresh_ms)
        win.close()
        app.quit()

    QTimer.singleShot(1500, start)
    app.exec()
    return out


def window_up_s(preset: str, runs: int = 2) -> list[float]:
    """Seconds from launching the app to its window being shown (each run a fresh process)."""
    out = []
    env = dict(os.environ, XDG_CONFIG_HOME=tempfile.mkdtemp(prefix="hippoviz-bench-cfg-"))
    for _ in range(runs):
        t0 = time.perf_counter()
        p = subprocess.Popen(
            [sys.executable, "-m", "hippoviz.gui.app", "--preset", preset, "--print-startup",
             "--quit-after", "0.5"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        up = float("nan")
        assert p.stdout is not None
        for line in p.stdout:
            if line.startswith("window up"):
                up = time.perf_counter() - t0
        p.wait(120)
        out.append(up)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="default")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--switch-interval", type=float, default=None,
                    help="sys.setswitchinterval for the app part (default: the app's own)")
    ap.add_argument("--no-window-up", action="store_true", help="skip the start-up runs")
    args = ap.parse_args()
    if args.switch_interval is not None:
        sys.setswitchinterval(args.switch_interval)
    res: dict[str, Any] = {"preset": args.preset, "cpus": os.cpu_count()}
    res["headless_steps_per_s"], res["headless_steps_per_cpu_s"] = headless_steps_per_s(
        args.preset, args.seconds)
    res["headless_load_average"] = os.getloadavg()[0]
    res.update(app_figures(args.preset, args.seconds))
    res["app_vs_headless"] = res["app_steps_per_s"] / res["headless_steps_per_s"]
    # per CPU second of the simulation thread: what the app costs the simulation when the
    # machine is shared (CPU starvation by other processes divides out; GIL waits do not)
    res["app_steps_per_sim_cpu_s"] = res["app_steps_per_s"] / max(1e-9, res["cpu_share"]["sim"])
    res["app_vs_headless_per_cpu"] = (res["app_steps_per_sim_cpu_s"]
                                      / res["headless_steps_per_cpu_s"])
    res["switch_interval_s"] = sys.getswitchinterval()
    if not args.no_window_up:
        res["window_up_s"] = window_up_s(args.preset)
    if args.json:
        print(json.dumps(res))
    else:
        for k, v in res.items():
            print(f"{k:>22}: {v:.3g}" if isinstance(v, float) else f"{k:>22}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
