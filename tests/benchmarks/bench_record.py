"""Benchmark: headless steps/s with and without recording, and recording size per minute.

A script, not a test::

    .venv/bin/python tests/benchmarks/bench_record.py [--preset NAME] [--minutes 2]
        [--repeats 3] [--json]

Without ``--preset`` the default parameters (``P.Params()``) are used. Each repeat runs the
same simulated minutes (a fresh simulator from the same seed, 200-step chunks as
``hippoviz run``) without recording, with :class:`~hippoviz.record.Recorder` (all writes on the
simulation thread) and with :class:`~hippoviz.record.ThreadedRecorder` (writes on a writer
thread behind a bounded queue), interleaved so that load from other processes hits every mode
alike. Reported per mode, best of the repeats:

- ``steps_per_s``: wall-clock steps/s of the run loop (recorder open and close excluded; they
  are reported separately as ``open_s`` and ``close_s``);
- ``sim_thread_cpu_overhead``: extra CPU time of the simulation thread per step, relative to
  no recording. On a machine with a free core for the writer thread this is what recording
  costs the simulation; wall-clock figures on a loaded machine also include the writer
  thread's competition for the CPU;
- ``mib_per_simulated_min``: file size per simulated minute (steady state: the fixed start and
  end snapshots and the final state are subtracted using a short run).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).resolve().parents[2] / ".numba_cache"))

from hippoviz import __version__
from hippoviz import params as P
from hippoviz.record import Recorder, ThreadedRecorder
from hippoviz.sim import build

CHUNK = 200  # steps per chunk, as hippoviz run
MODES = {"none": None, "sync": Recorder, "threaded": ThreadedRecorder}


def run(params: P.Params, n_steps: int, mode: str, out: Path,
        **kw: Any) -> dict[str, float]:
    """One run; times in seconds, size in bytes; ``kw`` go to the recorder."""
    sim = build(params, 1)
    sim.run_chunk(1)  # load the compiled kernels outside the timing
    cls = MODES[mode]
    t0 = time.perf_counter()
    rec = cls(out, sim, force=True, **kw) if cls is not None else None
    t1, c1 = time.perf_counter(), time.thread_time()
    done = 0
    while done < n_steps:
        chunk = sim.run_chunk(min(CHUNK, n_steps - done))
        done += chunk.n
        if rec is not None:
            rec.write(chunk)
    t2, c2 = time.perf_counter(), time.thread_time()
    size = 0
    if rec is not None:
        rec.close()
        size = out.stat().st_size
        out.unlink()
    t3 = time.perf_counter()
    return {"steps_per_s": n_steps / (t2 - t1), "sim_thread_cpu_s": c2 - c1,
            "open_s": t1 - t0, "close_s": t3 - t2, "bytes": size}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", default=None, help="preset name (default: P.Params())")
    ap.add_argument("--minutes", type=float, default=2.0, help="simulated minutes per run")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--snapshot-interval", type=float, default=None, metavar="S",
                    help="weight snapshot interval (default: the recorder's, 10 s)")
    ap.add_argument("--ratemap-interval", type=float, default=None, metavar="S",
                    help="rate-map snapshot interval (default: the recorder's, 60 s)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    kw: dict[str, Any] = {}
    if args.snapshot_interval is not None:
        kw["snapshot_interval_s"] = args.snapshot_interval
    if args.ratemap_interval is not None:
        kw["ratemap_interval_s"] = args.ratemap_interval
    params = P.load_preset(args.preset) if args.preset else P.Params()
    dt = params.time.dt_ms / 1000.0
    n = max(CHUNK, round(args.minutes * 60 / dt))
    n_short = round(10 / dt)  # 10 simulated seconds: the fixed part of the file size
    results: dict[str, list[dict[str, float]]] = {m: [] for m in MODES}
    short: dict[str, int] = {}
    load0 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.h5"
        for m in ("sync", "threaded"):  # warm-up (numba, h5py, page cache) and fixed size
            short[m] = int(run(params, n_short, m, out, **kw)["bytes"])
        for r in range(args.repeats):
            for m in MODES:
                res = run(params, n, m, out, **kw)
                results[m].append(res)
                if not args.json:
                    print(f"  repeat {r + 1} {m:>8}: {res['steps_per_s']:8.0f} steps/s, "
                          f"sim-thread CPU {res['sim_thread_cpu_s']:.2f} s", file=sys.stderr)
    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    best = {m: max(results[m], key=lambda x: x["steps_per_s"]) for m in MODES}
    cpu = {m: min(x["sim_thread_cpu_s"] for x in results[m]) for m in MODES}
    base = best["none"]["steps_per_s"]
    minutes = n * dt / 60
    summary: dict[str, Any] = {
        "hippoviz_version": __version__,
        "preset": args.preset or "default (P.Params())",
        "simulated_minutes_per_run": minutes,
        "repeats": args.repeats,
        "recorder_options": kw,
        "cpu_count": os.cpu_count(),
        "load_average_1min": [load0, load1],
        "steps_per_s": {m: round(best[m]["steps_per_s"], 1) for m in MODES},
        "wall_overhead_percent": {
            m: round(100 * (1 - best[m]["steps_per_s"] / base), 1) for m in ("sync", "threaded")},
        "sim_thread_cpu_overhead_percent": {
            m: round(100 * (cpu[m] / cpu["none"] - 1), 1) for m in ("sync", "threaded")},
        "open_s": {m: round(min(x["open_s"] for x in results[m]), 3)
                   for m in ("sync", "threaded")},
        "close_s": {m: round(min(x["close_s"] for x in results[m]), 3)
                    for m in ("sync", "threaded")},
        "mib_per_simulated_min": {
            m: round((best[m]["bytes"] - short[m]) / 2**20 / (minutes - n_short * dt / 60), 2)
            for m in ("sync", "threaded")},
        "mib_fixed": {m: round(short[m] / 2**20, 1) for m in ("sync", "threaded")},
        "all_runs": results,
    }
    if args.json:
        print(json.dumps(summary))
        return 0
    print(f"hippoviz {__version__}, {summary['preset']}, {minutes:g} simulated min per run, "
          f"best of {args.repeats}; {os.cpu_count()} CPUs, load average {load0:.1f} -> "
          f"{load1:.1f}; recorder options {kw or 'default'}")
    print(f"  {'mode':>8}  {'steps/s':>8}  {'wall':>7}  {'sim-thread CPU':>14}  "
          f"{'open':>6}  {'close':>6}  {'MiB/sim-min':>11}")
    for m in MODES:
        if m == "none":
            print(f"  {m:>8}  {summary['steps_per_s'][m]:8.0f}")
            continue
        print(f"  {m:>8}  {summary['steps_per_s'][m]:8.0f}  "
              f"{summary['wall_overhead_percent'][m]:6.1f}%  "
              f"{summary['sim_thread_cpu_overhead_percent'][m]:13.1f}%  "
              f"{summary['open_s'][m]:5.2f}s  {summary['close_s'][m]:5.2f}s  "
              f"{summary['mib_per_simulated_min'][m]:11.1f}")
    print(f"  fixed part of every file (start/end snapshots, final state): "
          f"{summary['mib_fixed']['sync']:.1f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
