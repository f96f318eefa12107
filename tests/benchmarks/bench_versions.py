"""Benchmark: this checkout's simulation speed against an earlier commit's, side by side.

Checks the earlier commit out into a temporary git worktree, then runs ``hippoviz bench --json``
of the two alternately (``--pairs`` times, each after a warm-up run that compiles its kernels
into a cache of its own), so that both see the same machine at about the same time::

    .venv/bin/python tests/benchmarks/bench_versions.py --base eb2219c --preset large --pairs 3

Prints each run and, per version, the median steps/s, GFLOP/s and RSS, and the ratio of the
medians (``--json``: one object). Add ``--profile`` to time each phase of a step in each run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _bench(tree: Path, preset: str, seconds: float, profile: bool) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(tree), NUMBA_CACHE_DIR=str(tree / ".numba_cache"))
    cmd = [sys.executable, "-m", "hippoviz", "bench", "--json", "--preset", preset,
           "--seconds", str(seconds)] + (["--profile"] if profile else [])
    r = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise SystemExit(f"bench_versions: hippoviz bench failed in {tree}: "
                         f"{r.stderr.strip().splitlines()[-1:] or r.returncode}")
    out: dict[str, Any] = json.loads(r.stdout)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True, help="the earlier commit (any git revision)")
    ap.add_argument("--preset", default="default")
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=8.0, help="seconds per bench run")
    ap.add_argument("--profile", action="store_true", help="time each phase of a step too")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rev = subprocess.run(["git", "rev-parse", "--verify", f"{args.base}^{{commit}}"], cwd=ROOT,
                         capture_output=True, text=True, check=False)
    if rev.returncode != 0:
        print(f"bench_versions: not a commit: {args.base}", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="hippoviz-base-"))
    base = tmp / "tree"
    subprocess.run(["git", "worktree", "add", "--detach", str(base), rev.stdout.strip()],
                   cwd=ROOT, check=True, capture_output=True)
    runs: dict[str, list[dict[str, Any]]] = {"base": [], "this": []}
    try:
        trees = {"base": base, "this": ROOT}
        for tree in trees.values():  # compile each version's kernels before measuring
            _bench(tree, args.preset, 1.0, False)
        for i in range(args.pairs):
            for name, tree in trees.items():
                res = _bench(tree, args.preset, args.seconds, args.profile)
                runs[name].append(res)
                if not args.json:
                    print(f"pair {i + 1} {name:4s}: {res['steps_per_second']:8.0f} steps/s, "
                          f"{res['achieved_gflops']:6.2f} GFLOP/s, {res['rss_mb']:6.1f} MB RSS",
                          flush=True)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT,
                       check=False, capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    summary: dict[str, Any] = {"base": args.base, "preset": args.preset, "pairs": args.pairs,
                               "load_average": os.getloadavg()}
    for name, rs in runs.items():
        summary[name] = {k: statistics.median(r[k] for r in rs)
                         for k in ("steps_per_second", "achieved_gflops", "rss_mb")}
        if args.profile:
            summary[name]["phases_us"] = {
                ph: statistics.median(r["phases"][ph]["us_per_step"] for r in rs)
                for ph in rs[0]["phases"]}
    summary["speedup"] = (summary["this"]["steps_per_second"]
                          / summary["base"]["steps_per_second"])
    if args.json:
        print(json.dumps({**summary, "runs": runs}))
        return 0
    for name in ("base", "this"):
        s = summary[name]
        print(f"{name}: median {s['steps_per_second']:.0f} steps/s, "
              f"{s['achieved_gflops']:.2f} GFLOP/s, {s['rss_mb']:.1f} MB RSS")
        for ph, us in s.get("phases_us", {}).items():
            print(f"    {ph:32s} {us:8.1f} us")
    print(f"this / base: {summary['speedup']:.2f}x steps/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
