"""Benchmark: steps/s of each branch of a forked run (two twins in lockstep) against one
headless simulator.

A script, not a test::

    .venv/bin/python tests/benchmarks/bench_twin.py [--preset NAME] [--steps 3000]
        [--repeats 3] [--chunk 200] [--json]

Each repeat builds a session from the same seed, runs a warm-up, then times ``--steps`` steps
of (1) the session alone, as ``hippoviz run`` does, and (2) a :class:`~hippoviz.runtime.Twin`
forked from a copy of it, whose two branches run the same steps in lockstep (B's chunk in the
twin's worker thread, A's in the calling thread: the kernels release the GIL). The modes are
interleaved so that load from other processes hits both alike; the best of the repeats is
reported. Since the branches advance together, each branch's steps/s is the twin's steps/s;
``ratio_each`` is that over the single simulator's (the goal on two cores: at least 0.45, i.e.
the twin costs at most about the time of the two runs one after the other, less the
parallelism). ``cpu_per_wall`` (process CPU time over wall time) shows how much of a second
core the twin used. On a machine shared with other work, the figures move with its load: run
it on a quiet machine, and look at ``load_avg``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).resolve().parents[2] / ".numba_cache"))

from hippoviz import __version__
from hippoviz import params as P
from hippoviz.runtime import Session, Twin
from hippoviz.runtime.threads import limit_threads


def _time(run: Any) -> tuple[float, float]:
    w0, c0 = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - w0, time.process_time() - c0


def measure(params: P.Params, steps: int, chunk: int, seed: int = 1) -> dict[str, float]:
    base = Session(params, seed)
    base.run(max(chunk, 400), chunk)  # warm-up (loads the kernels, fills the caches)
    state = base.state_dict()

    single = Session(params, seed)
    single.restore(state)
    wall_1, cpu_1 = _time(lambda: single.run(steps, chunk))

    a = Session(params, seed)
    a.restore(state)
    with Twin.fork(a, worker_init=lambda: (limit_threads(1), None)[1]) as twin:
        twin.run(chunk, chunk)  # the worker thread's first chunk
        wall_2, cpu_2 = _time(lambda: twin.run(steps, chunk))
        identical = twin.identical()
    return {"single_steps_per_s": steps / wall_1, "twin_steps_per_s_each": steps / wall_2,
            "ratio_each": wall_1 / wall_2, "single_cpu_per_wall": cpu_1 / wall_1,
            "twin_cpu_per_wall": cpu_2 / wall_2, "twins_identical": float(identical)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    ap.add_argument("--preset", default="default")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--chunk", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    limit_threads(1)
    params = P.load_preset(args.preset)
    runs = [measure(params, args.steps, args.chunk, seed=1 + i) for i in range(args.repeats)]
    best = max(runs, key=lambda r: r["ratio_each"])
    out = {"preset": args.preset, "steps": args.steps, "chunk": args.chunk,
           "repeats": runs, "best": best, "cpus": os.cpu_count(),
           "load_avg": list(os.getloadavg()), "hippoviz": __version__}
    if args.json:
        print(json.dumps(out))
        return 0
    print(f"preset {args.preset}, {args.steps} steps in {args.chunk}-step chunks, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    for i, r in enumerate(runs):
        print(f"  repeat {i + 1}: one simulator {r['single_steps_per_s']:7.0f} steps/s; "
              f"twin {r['twin_steps_per_s_each']:7.0f} steps/s each branch "
              f"({100 * r['ratio_each']:.0f} %), CPU/wall {r['single_cpu_per_wall']:.2f} vs "
              f"{r['twin_cpu_per_wall']:.2f}")
    print(f"best: each branch at {100 * best['ratio_each']:.0f} % of one simulator's steps/s "
          f"(goal >= 45 %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
