"""Memory soak of the desktop app (a script, not a test).

Runs the app at maximum speed for ``--minutes`` (30 by default) with the default layout, raising
each tab of the right-hand area in turn (every ``--rotate`` seconds) so that every view draws,
and samples the process's resident memory (RSS) every ``--every`` seconds. Every tab is raised
once within the first 40 seconds (each view made and drawn, the Circuit's OpenGL context
included) before the rotation settles to ``--rotate``, so that the first minute holds the
views' start-up. Reports RSS after the first minute, at the end, the growth in between and
the largest RSS seen, and which mappings (the main heap, anonymous memory, each library) grew
after the first minute. glibc's allocator is set as ``hippoviz gui`` sets it
(``hippoviz.runtime.malloc``) unless ``--default-malloc``::

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python tests/benchmarks/bench_soak.py
    ... --minutes 30 --json > soak.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from typing import Any

import numpy as np

RIGHT_TABS = ("Place fields", "Mismatch", "Weights", "Circuit", "Metrics")


def rss_mb() -> float:
    """Resident memory of this process now (MB; Linux)."""
    with open("/proc/self/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def rss_by_mapping() -> dict[str, float]:
    """Resident memory (MB) by kind of mapping (Linux): ``[heap]`` (the main malloc arena),
    ``anon`` (every anonymous mapping: other arenas, large arrays, thread stacks, GL buffers),
    and each mapped file (libraries, fonts) by name."""
    out: dict[str, float] = {}
    key = "anon"
    with open("/proc/self/smaps", encoding="ascii", errors="replace") as fh:
        for line in fh:
            head = line.split(maxsplit=5)
            if len(head) >= 5 and "-" in head[0] and ":" not in head[0]:
                name = head[5].strip() if len(head) > 5 else ""
                key = name if name and not name.startswith("[anon") else "anon"
                if name.startswith("[stack"):
                    key = "anon"
            elif line.startswith("Rss:"):
                out[key] = out.get(key, 0.0) + int(line.split()[1]) / 1024
    return out


def soak(preset: str, minutes: float, every_s: float, rotate_s: float,
         tuned_malloc: bool = True) -> dict[str, Any]:
    from PyQt6.QtCore import QSettings, QTimer
    from PyQt6.QtWidgets import QApplication

    from hippoviz import params as P
    from hippoviz.gui.main_window import QtMainWindow
    from hippoviz.gui.style import apply_theme
    from hippoviz.runtime.malloc import tune_malloc

    malloc = tune_malloc() if tuned_malloc else {}  # as `hippoviz gui` does
    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_theme(app, "dark")
    tmp = tempfile.mkdtemp(prefix="hippoviz-soak-")
    settings = QSettings(os.path.join(tmp, "soak.ini"), QSettings.Format.IniFormat)
    win = QtMainWindow(P.load_preset(preset), 1, settings=settings, restore=False)
    win.show()
    win.controls.speed_box.setCurrentText("max")
    samples: list[tuple[float, float, int]] = []
    state = {"t0": 0.0, "tab": 0, "raised": 0}
    #: RSS by mapping at the first sample after one minute, and at the last
    mappings: dict[str, dict[str, float]] = {}

    def sample() -> None:
        t = time.perf_counter() - state["t0"]
        samples.append((round(t, 1), round(rss_mb(), 1), win.source.step()))
        if t >= 60.0 and "after_1min" not in mappings:
            mappings["after_1min"] = rss_by_mapping()
        if t >= 60 * minutes:
            mappings["end"] = rss_by_mapping()
            sampler.stop()
            rotator.stop()
            win.close()
            app.quit()

    def rotate() -> None:
        state["tab"] = (state["tab"] + 1) % len(RIGHT_TABS)
        dock = win.docks[RIGHT_TABS[int(state["tab"])]]
        dock.show()
        dock.raise_()
        state["raised"] += 1
        if state["raised"] == len(RIGHT_TABS):  # every view shown once: the steady rotation
            rotator.start(int(1000 * rotate_s))

    sampler = QTimer()
    sampler.timeout.connect(sample)
    rotator = QTimer()
    rotator.timeout.connect(rotate)

    def start() -> None:
        win.controls.play()
        state["t0"] = time.perf_counter()
        sample()
        sampler.start(int(1000 * every_s))
        rotator.start(int(1000 * min(rotate_s, 40.0 / len(RIGHT_TABS))))

    QTimer.singleShot(1500, start)
    app.exec()
    after_1min = next((r for t, r, _s in samples if t >= 60.0), samples[-1][1])
    end = samples[-1][1]
    # RSS swings by tens of MB as views allocate and free (weights, rate maps): compare the
    # median of the 5 minutes after the first one with that of the last 5 minutes too
    t_end = samples[-1][0]
    early = [r for t, r, _s in samples if 60.0 <= t <= 360.0] or [after_1min]
    late = [r for t, r, _s in samples if t >= t_end - 300.0]
    med_early, med_late = float(np.median(early)), float(np.median(late))
    return {
        "preset": preset,
        "minutes": minutes,
        "rss_start_mb": samples[0][1],
        "rss_after_1min_mb": after_1min,
        "rss_end_mb": end,
        "rss_max_mb": max(r for _t, r, _s in samples),
        "growth_after_1min": (end - after_1min) / after_1min,
        "rss_median_min1_to_6_mb": med_early,
        "rss_median_last5min_mb": med_late,
        "median_growth": (med_late - med_early) / med_early,
        "steps": samples[-1][2] - samples[0][2],
        "load_average": os.getloadavg(),
        "malloc": malloc,  # what hippoviz.runtime.malloc.tune_malloc set
        # where the growth after the first minute lies (MB, largest changes first)
        "growth_by_mapping_mb": _growth(mappings),
        "samples": samples,
    }


def _growth(mappings: dict[str, dict[str, float]], n: int = 8) -> dict[str, float]:
    a, b = mappings.get("after_1min", {}), mappings.get("end", {})
    diff = {k: b.get(k, 0.0) - a.get(k, 0.0) for k in set(a) | set(b)}
    top = sorted(diff, key=lambda k: -abs(diff[k]))[:n]
    return {k: round(diff[k], 1) for k in top}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="default")
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--every", type=float, default=10.0, help="seconds between RSS samples")
    ap.add_argument("--rotate", type=float, default=20.0, help="seconds per raised tab")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--default-malloc", action="store_true",
                    help="leave glibc's allocator as it is (the app tunes it)")
    args = ap.parse_args()
    res = soak(args.preset, args.minutes, args.every, args.rotate,
               tuned_malloc=not args.default_malloc)
    if args.json:
        print(json.dumps(res))
        return 0
    for k, v in res.items():
        if k != "samples":
            print(f"{k:>18}: {v:.3g}" if isinstance(v, float) else f"{k:>18}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
