"""Benchmark of the periodic redraws of the Weights, Circuit, Place fields and Mismatch views
(a script, not a test).

Each view is built on a real simulator and driven as the app's display timer drives it: a tick
every 1/30 s calls ``view.refresh()``, runs the view's pending scene changes with their repaint
requests merged (:class:`hippoviz.gui.paint_once.PaintOnce`) and lets Qt paint. Between two
ticks the script (not timed) advances the simulator and publishes its values at the rates of
the runtime (``hippoviz.runtime.runner``): the values after the last step at every tick, the
weights every 0.5 s, the (smoothed) rate maps every second, the per-step samples as they come.

Per view it prints the GUI thread's milliseconds per tick (``refresh`` + ``paint``: p50, p99,
max, and how many ticks took more than 16 and 20 ms; the p99 of each part alone), the number of
redraws completed (Mismatch: plots drawn, either of its two) and how many ticks a redraw takes
from its first tick to its picture on show (mean, and the most). Views that spread a redraw over
ticks say so (``redraw_in_progress``, ``redraws``); for one that does not (an older version),
each new image, render or curve counts as a redraw done in one tick.

Run it under a real X server so VisPy draws (the Circuit view needs OpenGL)::

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python tests/benchmarks/bench_view_slices.py
    ... --preset default --seconds 10 --views weights,circuit --json
    ... --views fields --layer dg     # the gallery of the largest layer
    ... --views weights --sort        # rows and columns sorted by field position
    ... --profile 25                  # the 25 costliest functions of each view's ticks

The figures move with the machine's load: compare runs made back to back.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).resolve().parents[2] / ".numba_cache"))

from hippoviz import params as P
from hippoviz.runtime import RateMaps, Samples, StaticSource
from hippoviz.runtime.runner import (
    LAST_NAMES,
    RATEMAPS_EVERY_S,
    WEIGHTS_EVERY_S,
)

VIEWS: tuple[str, ...] = ("weights", "circuit", "fields", "mismatch")
#: Seconds of per-step samples kept (the Mismatch view's longest window is 5 min).
KEEP_S = 300.0
_SAMPLE_FIELDS = ("t_s", "pos_m", "heading_rad", "speed_m_s", "theta_phase_rad", "mismatch")


class SimFeed(StaticSource):
    """A real simulator behind the views' source contract, advanced by :meth:`advance`."""

    def __init__(self, preset: str, seed: int = 1) -> None:
        from hippoviz import sim as S

        self.S = S
        self.sim = sim = S.build(P.load_preset(preset), seed=seed)
        super().__init__(layer_sizes=dict(sim.layer_sizes), params=sim.params, seed=seed,
                         input_groups={k: (s.start, s.stop) for k, s in sim.input_groups.items()})
        self._chunks: list[Any] = []
        self._t_weights = -np.inf
        self._t_maps = -np.inf

    def advance(self, steps: int) -> None:
        """Simulate ``steps`` steps and publish what is due."""
        sim, S = self.sim, self.S
        self._chunks.append(sim.run_chunk(steps))
        t_end = float(sim.t_s)
        while len(self._chunks) > 1 and float(self._chunks[0].t_s[-1]) < t_end - KEEP_S:
            self._chunks.pop(0)
        self.all_samples = Samples(**{k: np.concatenate([getattr(c, k) for c in self._chunks])
                                      for k in _SAMPLE_FIELDS})
        self.step_, self.t_s_ = int(sim.step), t_end
        self.last_ = {k: np.array(sim.last(k), copy=True) for k in LAST_NAMES}
        now = time.monotonic()
        if now - self._t_weights >= WEIGHTS_EVERY_S:
            self._t_weights = now
            self.weights_ = {w: np.array(sim.weights(w), copy=True) for w in S.WEIGHT_NAMES}
        if now - self._t_maps >= RATEMAPS_EVERY_S:
            self._t_maps = now
            self.ratemaps_ = RateMaps(
                {layer: np.asarray(sim.ratemaps(layer), np.float32) for layer in S.LAYERS},
                tuple(float(v) for v in sim.ratemap_extent))  # type: ignore[arg-type]


def make_view(name: str, feed: SimFeed, args: argparse.Namespace) -> Any:
    from hippoviz.gui.views.selection import QtSelection

    selection = QtSelection("ca1")
    if name == "weights":
        from hippoviz.gui.views.weights_view import QtWeightsView

        v: Any = QtWeightsView(feed, selection)
        v.set_projection(args.projection)
        v.set_sorting(args.sort, args.sort)
    elif name == "circuit":
        from hippoviz.gui.views.circuit_view import QtCircuitView

        v = QtCircuitView(feed, selection)
    elif name == "fields":
        from hippoviz.gui.views.fields_view import QtFieldsView

        v = QtFieldsView(feed, selection)
        v.set_layer(args.layer)
    else:
        from hippoviz.gui.views.mismatch_view import QtMismatchView

        v = QtMismatchView(feed, selection)
    return v


def count_redraws(name: str, view: Any) -> None:
    """Count the complete redraws of a view that does not count them itself (each in one go):
    new images (Weights, Place fields), renders (Circuit), new curves (Mismatch)."""
    view.redraws = getattr(view, "renders", 0)
    if name == "circuit":
        cls = type(view)
        orig_render = cls._render

        def render(self: Any) -> None:
            orig_render(self)
            self.redraws = self.renders

        view._render = render.__get__(view, cls)
        return
    items = ([view.err_curves["total"], view.xhat_curve] if name == "mismatch"
             else [view.image])
    for item in items:
        meth = "setData" if name == "mismatch" else "setImage"
        orig = getattr(item, meth)

        def wrapped(*a: Any, _orig: Any = orig, **k: Any) -> Any:
            view.redraws += 1
            return _orig(*a, **k)

        setattr(item, meth, wrapped)


def pct(a: list[float], q: float) -> float:
    return float(np.percentile(a, q)) if a else float("nan")


def bench_view(name: str, feed: SimFeed, args: argparse.Namespace) -> dict[str, Any]:
    from PyQt6.QtWidgets import QApplication

    from hippoviz.gui.paint_once import PaintOnce

    app = QApplication.instance()
    assert app is not None
    view = make_view(name, feed, args)
    w, h = (int(s) for s in args.size.split("x"))
    view.resize(w, h)
    view.show()
    period = 1.0 / args.hz
    refresh_ms: list[float] = []
    paint_ms: list[float] = []
    slices: list[int] = []  # ticks from the start of each redraw to its picture on show
    prof: Any = None

    paint_once = PaintOnce()

    def tick() -> tuple[float, float]:
        """What the app's display tick does for one view: refresh it, run its scenes' pending
        changes with their repaint requests merged (PaintOnce), then paint (the event loop)."""
        t0 = time.perf_counter()
        view.refresh()
        t1 = time.perf_counter()
        paint_once.flush([view])
        app.processEvents()
        return t1 - t0, time.perf_counter() - t1

    # settle: first draws, the canvas's shaders, the first rate maps
    t_end = time.perf_counter() + args.warmup
    while time.perf_counter() < t_end:
        feed.advance(args.steps)
        tick()
        time.sleep(period / 2)
    if args.profile:
        import cProfile

        prof = cProfile.Profile()
    n_ticks = round(args.seconds * args.hz)
    if not hasattr(view, "redraws"):
        count_redraws(name, view)
    redraws0 = int(view.redraws)
    start: int | None = None  # the tick where the redraw in progress began
    next_t = time.perf_counter()
    for i in range(n_ticks):
        feed.advance(args.steps)
        delay = next_t - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        next_t = max(next_t + period, time.perf_counter())
        before = int(view.redraws)
        if prof is not None:
            prof.enable()
        r, p = tick()
        if prof is not None:
            prof.disable()
        refresh_ms.append(1000 * r)
        paint_ms.append(1000 * p)
        done = int(view.redraws) - before
        busy = bool(getattr(view, "redraw_in_progress", False))
        if done:
            slices.append(1 if start is None else i - start + 1)
            slices.extend([1] * (done - 1))
            start = i if busy else None
        elif busy and start is None:
            start = i
    total = [a + b for a, b in zip(refresh_ms, paint_ms, strict=True)]
    out: dict[str, Any] = {
        "ticks": n_ticks,
        "tick_ms": {"p50": pct(total, 50), "p95": pct(total, 95), "p99": pct(total, 99),
                    "max": max(total)},
        "refresh_ms": {"p50": pct(refresh_ms, 50), "p99": pct(refresh_ms, 99),
                       "max": max(refresh_ms)},
        "paint_ms": {"p50": pct(paint_ms, 50), "p99": pct(paint_ms, 99), "max": max(paint_ms)},
        "ticks_over_16ms": int(sum(t > 16.0 for t in total)),
        "ticks_over_20ms": int(sum(t > 20.0 for t in total)),
        "redraws": int(view.redraws) - redraws0,
        "ticks_per_redraw": ({"mean": float(np.mean(slices)), "max": int(max(slices))}
                             if slices else {"mean": 1.0, "max": 1}),
    }
    if prof is not None:
        import io
        import pstats

        s = io.StringIO()
        pstats.Stats(prof, stream=s).sort_stats("cumulative").print_stats(args.profile)
        out["profile"] = s.getvalue()
    view.close()
    view.deleteLater()
    app.processEvents()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", default="default")
    ap.add_argument("--views", default=",".join(VIEWS),
                    help=f"comma-separated, of {', '.join(VIEWS)}")
    ap.add_argument("--seconds", type=float, default=10.0, help="measured seconds per view")
    ap.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds per view")
    ap.add_argument("--hz", type=float, default=30.0, help="display rate (ticks per second)")
    ap.add_argument("--steps", type=int, default=100, help="simulated steps between ticks")
    ap.add_argument("--size", default="450x480", help="view size WxH (the app's right dock)")
    ap.add_argument("--projection", default="ec_dg", help="Weights view: the projection shown")
    ap.add_argument("--sort", action="store_true", help="Weights view: sort rows and columns")
    ap.add_argument("--layer", default="ca1", help="Place fields view: the layer shown")
    ap.add_argument("--profile", type=int, default=0, metavar="N",
                    help="print the N costliest functions of each view's ticks")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    names = [v.strip() for v in args.views.split(",") if v.strip()]
    bad = [v for v in names if v not in VIEWS]
    if bad:
        ap.error(f"unknown views {bad} (known: {', '.join(VIEWS)})")

    from PyQt6.QtWidgets import QApplication

    from hippoviz.gui.style import apply_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_theme(app, "dark")  # type: ignore[arg-type]
    results: dict[str, Any] = {
        "preset": args.preset, "hz": args.hz, "steps_per_tick": args.steps, "size": args.size,
        "load_avg": list(os.getloadavg()), "views": {},
    }
    for name in names:
        feed = SimFeed(args.preset)
        feed.advance(2000)  # fields, weights and a mismatch history to show
        results["views"][name] = bench_view(name, feed, args)
    if args.json:
        print(json.dumps(results, indent=2, default=float))
        return 0
    print(f"preset {args.preset}, {args.hz:g} Hz, {args.steps} steps per tick, view "
          f"{args.size}, load average {results['load_avg'][0]:.2f}")
    print(f"{'view':>9} {'tick p50':>8} {'p95':>6} {'p99':>6} {'max':>6} {'>16ms':>5} {'>20ms':>5} "
          f"{'refresh p99':>11} {'paint p99':>9} {'redraws':>7} {'ticks/redraw':>12}")
    for name, r in results["views"].items():
        t, tpr = r["tick_ms"], r["ticks_per_redraw"]
        print(f"{name:>9} {t['p50']:>8.1f} {t['p95']:>6.1f} {t['p99']:>6.1f} {t['max']:>6.1f} "
              f"{r['ticks_over_16ms']:>5} {r['ticks_over_20ms']:>5} "
              f"{r['refresh_ms']['p99']:>11.1f} {r['paint_ms']['p99']:>9.1f} "
              f"{r['redraws']:>7} "
              f"{tpr['mean']:>7.1f} ({tpr['max']})")
        if "profile" in r:
            print(r["profile"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
