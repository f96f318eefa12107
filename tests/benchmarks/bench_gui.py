"""Benchmark of the desktop app (a script, not a test).

Measures, on this machine:

- headless simulation throughput (steps/s of ``sim.run_chunk`` in one thread), before the app
  and again after each of its rows (the app paused meanwhile);
- the app's throughput at maximum speed with the default layout (all default-visible views
  drawing), as a fraction of headless (of the mean of the headless runs just before and just
  after that row: the speed of a shared machine drifts by 10-20 % over minutes);
- display frames per second and dropped frames;
- the p99 interval of a 10 ms QTimer on the GUI thread while the simulation runs;
- the garbage collector's full passes (count, longest), which stall every thread;
- the latency of a gating edit (set in the parameter tree, as the user's spin box does, every
  200 ms) until the simulator applies it (``gating_latency_ms``: p50, p99, max);
- the time from launching ``python -m hippoviz.gui.app`` to the window being up (warm Numba cache);
- the same figures with each view shown in turn (``--views``; the JSON's ``views``: name ->
  ``app_vs_headless``, ``display_fps``, ``timer10ms_p99_ms``, the GUI thread's milliseconds of CPU
  per frame, ...) and with every dock floating at once, next to what the app's own status bar
  showed meanwhile (``status_bar_steps_per_s``, ``status_bar_fps``), each view's refreshes a
  second (``refreshes_per_s``) and whether the window spared its views meanwhile
  (``frame_budget``: the share of the row it did, the spared views' redraws a second, the
  simulation thread's wait for a CPU per second of the GUI thread's; hippoviz.gui.frame_budget);
- optionally with other processes keeping cores busy (``--busy 1``), and with a cProfile of the
  GUI thread per view (``--profile DIR``).

Run it under a real X server so VisPy draws (docs/architecture.md)::

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python tests/benchmarks/bench_gui.py
    ... --preset small --seconds 10 --json
    ... --views Circuit,Mismatch --busy 1 --profile /tmp/prof
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


_HEADLESS: dict[str, Any] = {}


def headless_steps_per_s(preset: str, seconds: float) -> tuple[float, float]:
    """Steps per wall second and per CPU second of the bare simulator in this thread (one
    simulator per preset, built once and run on from where it stopped)."""
    from hippoviz import params as P
    from hippoviz.runtime.threads import limit_threads
    from hippoviz.sim import build

    limit_threads(1)
    sim = _HEADLESS.get(preset)
    if sim is None:
        sim = _HEADLESS[preset] = build(P.load_preset(preset), 1)
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


#: Views measured one at a time (``--views``); "all floating" puts every dock in a window of
#: its own, all visible at once.
VIEW_ROWS: tuple[str, ...] = ("Arena", "Raster", "Place fields", "Mismatch", "Weights",
                              "Circuit", "Metrics", "all floating")
_NUMBER = re.compile(r"[-+]?[0-9][0-9,]*\.?[0-9]*")


def status_number(text: str) -> float:
    """The first number of a status-bar label ("10,722 steps/s" -> 10722.0)."""
    m = _NUMBER.search(text)
    return float(m.group(0).replace(",", "")) if m else float("nan")


def arrange(win: Any, row: str, screen: tuple[int, int] = (1600, 1000)) -> None:
    """Lay the window out for ``row``: the default layout with that view's tab raised
    ("Arena": the right-hand and bottom docks closed; "Raster": the right-hand docks closed),
    or every dock floating in a tile of its own beside the main window ("all floating")."""
    win.default_layout()
    right = [t for t in win.docks if t not in ("Controls", "Raster")]
    if row == "all floating":
        docks = list(win.docks.values())
        cols = 3
        rows = -(-(len(docks) + 1) // cols)  # the main window (the arena) is a tile too
        w, h = screen[0] // cols, screen[1] // rows
        win.resize(w, h)
        win.move(0, 0)
        for i, dock in enumerate(docks, start=1):
            dock.setFloating(True)
            dock.show()
            dock.resize(w - 10, h - 30)
            dock.move((i % cols) * w, (i // cols) * h)
        return
    if row == "Arena":
        for t in (*right, "Raster"):
            win.docks[t].hide()
    elif row == "Raster":
        for t in right:
            win.docks[t].hide()
    else:
        win.docks[row].show()
        win.docks[row].raise_()


def app_figures(preset: str, seconds: float, rows: tuple[str, ...] = ("default",),
                profile_dir: str | None = None, settle_s: float = 1.5) -> dict[str, Any]:
    """Run the app at maximum speed and measure it ``seconds`` in each layout of ``rows``
    ("default": the default layout as it opens; the names of :data:`VIEW_ROWS`), and the bare
    simulator ``seconds`` after each row, the app paused (``out["headless"]``: one
    ``(steps/s, steps per CPU s)`` a row)."""
    from PyQt6.QtCore import QSettings, Qt, QTimer
    from PyQt6.QtWidgets import QApplication

    from hippoviz import params as P
    from hippoviz.gui.main_window import STATUS_EVERY_S, QtMainWindow
    from hippoviz.gui.style import apply_theme
    from hippoviz.runtime.malloc import tune_malloc

    tune_malloc()  # as `hippoviz gui` does
    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_theme(app, "dark")
    tmp = tempfile.mkdtemp(prefix="hippoviz-bench-")
    settings = QSettings(os.path.join(tmp, "bench.ini"), QSettings.Format.IniFormat)
    win = QtMainWindow(P.load_preset(preset), 1, settings=settings, restore=False)
    win.show()
    win.resize(1280, 800)
    win.controls.speed_box.setCurrentText("max")
    out: dict[str, Any] = {"rows": {}, "headless": []}
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
    state: dict[str, Any] = {"todo": list(rows), "frames": 0}
    prof: Any = None

    def count() -> None:
        state["frames"] += 1

    def read_status() -> None:
        state["status"].append((status_number(win.lbl_sps.text()),
                                status_number(win.lbl_fps.text())))
        fb = win.frame_budget
        state["budget"].append((fb.active, fb.views_hz if fb.active else None, fb.ratio))

    status_timer = QTimer()
    status_timer.timeout.connect(read_status)
    # a gating edit every 200 ms, timed from the edit to the simulator applying it
    gating_key = "learning.g_ca3_dg"
    gating = win.params_panel.parameter(gating_key, "gating")
    g0 = float(gating.value())
    edits: dict[float, float] = {}  # value -> wall time of the edit
    latencies: list[float] = []

    def on_applied(a: Any) -> None:  # the simulation thread, between chunks
        v = getattr(a.command, "patch", {}).get(gating_key)
        t = edits.pop(v, None) if v is not None else None
        if t is not None:
            latencies.append(time.perf_counter() - t)

    def edit_gating() -> None:
        v = g0 * (0.99 if gating.value() == g0 else 1.0)
        edits[v] = time.perf_counter()
        gating.setValue(v)

    edit_timer = QTimer()
    edit_timer.timeout.connect(edit_gating)
    # the garbage collector's passes over the oldest generation, timed (any thread)
    gc_full: list[float] = []
    gc_t0 = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            gc_t0[0] = time.perf_counter()
        else:
            gc_full.append(1000 * (time.perf_counter() - gc_t0[0]))

    gc.callbacks.append(on_gc)

    def start() -> None:
        win.runner.call(lambda s: s.applied.connect(on_applied)).result(5)
        win.controls.play()
        win.timer.timeout.connect(count)
        QTimer.singleShot(2000, next_row)  # let the chunk size settle

    def next_row() -> None:
        if not state["todo"]:
            win.close()
            app.quit()
            return
        state["row"] = row = state["todo"].pop(0)
        if row != "default":
            arrange(win, row)
        # views created, first frames drawn (a view shown for the first time compiles its
        # shaders over the next ticks: a longer settle leaves that out)
        QTimer.singleShot(int(1000 * settle_s), begin)

    def begin() -> None:
        nonlocal prof
        intervals.clear()
        last[0] = 0.0
        probe.start(10)
        state["step0"] = win.source.step()
        state["t0"] = time.perf_counter()
        state["drop0"] = win.dropped_frames
        state["frames"] = 0
        state["status"] = []
        state["budget"] = []
        state["refresh0"] = dict(win.refresh_ms)
        state["count0"] = dict(win.refresh_count)
        state["tids"] = {"gui": threading.main_thread().native_id,
                         "sim": win.runner._thread.native_id,
                         "maps": win.runner._maps._thread.native_id}
        state["cpu0"] = {k: thread_cpu_s(t) for k, t in state["tids"].items()}
        status_timer.start(int(1000 * STATUS_EVERY_S))
        latencies.clear()
        gc_full.clear()
        edit_timer.start(200)
        if profile_dir:
            import cProfile

            prof = cProfile.Profile()
            prof.enable()
        QTimer.singleShot(int(1000 * seconds), finish)

    def finish() -> None:
        nonlocal prof
        wall = time.perf_counter() - state["t0"]
        if prof is not None:
            prof.disable()
            name = state["row"].replace(" ", "_")
            prof.dump_stats(os.path.join(str(profile_dir), f"gui_{name}.prof"))
            prof = None
        probe.stop()
        status_timer.stop()
        edit_timer.stop()
        r: dict[str, Any] = {}
        r["app_steps_per_s"] = (win.source.step() - state["step0"]) / wall
        r["display_fps"] = state["frames"] / wall
        r["dropped_frames"] = win.dropped_frames - state["drop0"]
        r["cpu_share"] = {k: round((thread_cpu_s(t) - state["cpu0"][k]) / wall, 3)
                          for k, t in state["tids"].items()}
        r["gui_ms_per_frame"] = 1000 * r["cpu_share"]["gui"] * wall / max(1, state["frames"])
        r["load_average"] = os.getloadavg()[0]
        iv = np.array(intervals) * 1000
        r["timer10ms_p50_ms"] = float(np.percentile(iv, 50)) if iv.size else float("nan")
        r["timer10ms_p99_ms"] = float(np.percentile(iv, 99)) if iv.size else float("nan")
        r["gc_full_passes"] = len(gc_full)
        r["gc_full_max_ms"] = round(max(gc_full), 1) if gc_full else 0.0
        lat = np.array(latencies) * 1000
        r["gating_latency_ms"] = ({"p50": round(float(np.percentile(lat, 50)), 1),
                                   "p99": round(float(np.percentile(lat, 99)), 1),
                                   "max": round(float(lat.max()), 1), "n": int(lat.size)}
                                  if lat.size else {})
        r["refresh_ms"] = {k: round(v, 2) for k, v in win.refresh_ms.items()
                           if state["refresh0"].get(k) != v}
        # the views' refreshes a second (the display timer refreshes each view on screen every
        # tick, unless views are spared: frame_budget)
        r["refreshes_per_s"] = {k: round((v - state["count0"].get(k, 0)) / wall, 1)
                                for k, v in win.refresh_count.items()
                                if v != state["count0"].get(k, 0)}
        bud = state["budget"][1:] or [(False, None, float("nan"))]
        hz = [h for _a, h, _r in bud if h is not None]
        r["frame_budget"] = {"sparing": float(np.mean([a for a, _h, _r in bud])),
                             "views_hz": float(np.median(hz)) if hz else None,
                             "wait_per_gui_s": float(np.nanmedian([x for _a, _h, x in bud]))}
        st = np.array(state["status"][1:] or [(float("nan"), float("nan"))])
        r["status_bar_steps_per_s"] = float(np.nanmedian(st[:, 0]))
        r["status_bar_fps"] = float(np.nanmedian(st[:, 1]))
        out["rows"][state["row"]] = r
        # the machine's speed drifts over minutes: the bare simulator again, now, with the app
        # paused (the GUI thread runs it; nothing draws meanwhile)
        win.controls.pause()
        QTimer.singleShot(300, measure_headless)

    def measure_headless() -> None:
        if win.source.stats().playing:
            QTimer.singleShot(50, measure_headless)
            return
        out["headless"].append(headless_steps_per_s(preset, seconds))
        win.controls.play()
        next_row()

    QTimer.singleShot(1500, start)
    app.exec()
    gc.callbacks.remove(on_gc)
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
    ap.add_argument("--seconds", type=float, default=10.0,
                    help="seconds measured per layout (and for headless, before and after)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--views", default="all",
                    help="comma-separated rows to measure one after the other: 'all' (every "
                    f"one of {', '.join(VIEW_ROWS)}), 'none' (the default layout only) or names")
    ap.add_argument("--profile", metavar="DIR", default=None,
                    help="write a cProfile of the GUI thread per row to DIR/gui_<row>.prof")
    ap.add_argument("--switch-interval", type=float, default=None,
                    help="sys.setswitchinterval for the app part (default: the app's own)")
    ap.add_argument("--settle", type=float, default=1.5, metavar="S",
                    help="seconds between laying out a row and measuring it (default 1.5)")
    ap.add_argument("--no-window-up", action="store_true", help="skip the start-up runs")
    ap.add_argument("--busy", type=int, default=0, metavar="N",
                    help="keep N cores busy with other processes (a spinning Python each) "
                    "during the whole benchmark, headless runs included")
    args = ap.parse_args()
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(max(0, args.busy))]
    try:
        return run(args, ap)
    finally:
        for p in busy:
            p.terminate()
            p.wait(10)


def run(args: argparse.Namespace, ap: argparse.ArgumentParser) -> int:
    """The benchmark of ``main``'s arguments."""
    if args.switch_interval is not None:
        sys.setswitchinterval(args.switch_interval)
    if args.views == "all":
        rows: tuple[str, ...] = VIEW_ROWS
    elif args.views == "none":
        rows = ()
    else:
        rows = tuple(v.strip() for v in args.views.split(",") if v.strip())
        bad = [r for r in rows if r not in VIEW_ROWS]
        if bad:
            ap.error(f"unknown view rows {bad}; choose from {VIEW_ROWS}")
    if args.profile:
        os.makedirs(args.profile, exist_ok=True)
    res: dict[str, Any] = {"preset": args.preset, "cpus": os.cpu_count(),
                           "busy_processes": args.busy}
    before = headless_steps_per_s(args.preset, args.seconds)
    res["headless_load_average"] = os.getloadavg()[0]
    app = app_figures(args.preset, args.seconds, ("default", *rows), args.profile,
                      args.settle)
    between = app["headless"]
    after = between[-1]
    # the mean of a run before and one after the app: the machine's load drifts
    res["headless_steps_per_s"] = 0.5 * (before[0] + after[0])
    res["headless_steps_per_cpu_s"] = 0.5 * (before[1] + after[1])
    res["headless_before_after"] = [round(before[0]), round(after[0])]
    # each row against the bare simulator measured just before and just after it (the
    # machine's speed drifts by 10-20 % over minutes on a shared host)
    around = [before, *between]
    for i, r in enumerate(app["rows"].values()):
        hl = 0.5 * (around[i][0] + around[i + 1][0])
        hl_cpu = 0.5 * (around[i][1] + around[i + 1][1])
        r["headless_steps_per_s"] = hl
        r["app_vs_headless"] = r["app_steps_per_s"] / hl
        # per CPU second of the simulation thread: what the app costs the simulation when the
        # machine is shared (CPU starvation by other processes divides out; GIL waits do not)
        r["app_vs_headless_per_cpu"] = (r["app_steps_per_s"] / max(1e-9, r["cpu_share"]["sim"])
                                        / hl_cpu)
        r["status_bar_vs_measured"] = r["status_bar_steps_per_s"] / max(1e-9,
                                                                         r["app_steps_per_s"])
    default = app["rows"].pop("default")
    res.update(default)  # the default layout's figures, as before
    res["views"] = app["rows"]
    res["switch_interval_s"] = sys.getswitchinterval()
    if not args.no_window_up:
        res["window_up_s"] = window_up_s(args.preset)
    if args.json:
        print(json.dumps(res))
        return 0
    for k, v in res.items():
        if k == "views":
            continue
        print(f"{k:>24}: {v:.3g}" if isinstance(v, float) else f"{k:>24}: {v}")
    head = (f"{'view':>14} {'app/headless':>12} {'fps':>5} {'p99 ms':>7} {'gui ms/frame':>12} "
            f"{'gui cpu':>7} {'status steps/s':>14} {'status fps':>10} {'edit ms p99':>11} "
            f"{'spared':>6} {'views Hz':>8}")
    print(head)
    for name, r in res["views"].items():
        edit_p99 = r["gating_latency_ms"].get("p99", float("nan"))
        print(f"{name:>14} {r['app_vs_headless']:>12.0%} {r['display_fps']:>5.1f} "
              f"{r['timer10ms_p99_ms']:>7.1f} {r['gui_ms_per_frame']:>12.1f} "
              f"{r['cpu_share']['gui']:>7.2f} {r['status_bar_steps_per_s']:>14,.0f} "
              f"{r['status_bar_fps']:>10.0f} {edit_p99:>11.1f} "
              f"{r['frame_budget']['sparing']:>6.0%} {r['frame_budget']['views_hz'] or 0:>8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
