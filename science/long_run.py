"""Does the loop stay alive for days? Runs a preset for many simulated hours on several seeds
(in parallel, one process per seed) and writes, per seed, one row per simulated window: each
hidden layer's active fraction, the mismatch and the error carried by each back-projection;
then a figure and a summary.

    .venv/bin/python science/long_run.py --preset default --hours 48 --seeds 1-4 \\
        --out docs/figures/long-run [--set KEY=VALUE ...]

Outputs in ``--out``: ``long_run.json`` (every window of every seed, the parameters and the
verdicts) and ``long_run.png`` / ``.svg`` (the four panels over time, one line per seed).
The verdicts are the targets of the loop's health: every hidden layer at its target sparsity
within ±50 % in every window after the first hour, the carried error non-zero, and the
mismatch of the last hour below that of hour 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from hippoviz import params as P
from hippoviz.analysis.health import CARRIED, HEALTH_LAYERS, HealthMonitor, targets_of
from hippoviz.experiments.sweep import parse_seeds
from hippoviz.sim import build

CHUNK = 2000


def run_seed(preset: str, overrides: dict[str, Any], seed: int, hours: float,
             window_min: float) -> dict[str, Any]:
    params = P.replace(P.load_preset(preset), overrides)
    sim = build(params, seed)
    mon = HealthMonitor(targets_of(params), window_s=window_min * 60.0)
    n_total = round(hours * 3600.0 / sim.dt_s)
    t0 = time.perf_counter()
    done = 0
    while done < n_total:
        c = sim.run_chunk(min(CHUNK, n_total - done))
        mon.add(c.t_s, c.active_fraction, c.mismatch[:, 0], sim.last("carried_error"))
        done += c.n
    return {"seed": seed, "wall_s": time.perf_counter() - t0,
            "windows": [w.to_json() for w in mon.windows]}


def verdicts(runs: list[dict[str, Any]], targets: dict[str, float],
             window_min: float) -> dict[str, Any]:
    """Per seed: layers within ±50 % of target after hour 1, carried error non-zero, last-hour
    mismatch below hour 2's."""
    out: dict[str, Any] = {}
    per_hour = max(1, round(60.0 / window_min))
    for r in runs:
        ws = r["windows"]
        late = [w for w in ws if w["t_end_s"] > 3600.0]
        act = {L: [w["active_fraction"][L] for w in late] for L in HEALTH_LAYERS}
        in_band = {L: bool(all(0.5 * targets[L] <= a <= 1.5 * targets[L] for a in act[L]))
                   for L in HEALTH_LAYERS}
        carried_min = {c: float(min((w["carried_error"][c] for w in late), default=0.0))
                       for c in CARRIED}
        mm = [w["mismatch"] for w in ws]
        hour2 = float(np.mean(mm[per_hour:2 * per_hour])) if len(mm) >= 2 * per_hour else None
        last = float(np.mean(mm[-per_hour:])) if mm else None
        out[str(r["seed"])] = {
            "active_min": {L: float(min(act[L], default=0.0)) for L in HEALTH_LAYERS},
            "active_max": {L: float(max(act[L], default=0.0)) for L in HEALTH_LAYERS},
            "layers_within_50pct": in_band,
            "carried_min": carried_min,
            "carried_nonzero": all(v > 0 for v in carried_min.values()),
            "mismatch_hour2": hour2, "mismatch_last_hour": last,
            "mismatch_below_hour2": (hour2 is not None and last is not None and last < hour2),
        }
    return out


def figure(runs: list[dict[str, Any]], targets: dict[str, float], path: Path,
           title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 7), sharex=True)
    for r in runs:
        t = np.array([w["t_end_s"] for w in r["windows"]]) / 3600.0
        for i, L in enumerate(HEALTH_LAYERS):
            a = [w["active_fraction"][L] / targets[L] for w in r["windows"]]
            axes[0, 0].plot(t, a, color=f"C{i}", alpha=0.7,
                            label=L.upper() if r is runs[0] else None)
        axes[0, 1].plot(t, [w["mismatch"] for w in r["windows"]], color="k", alpha=0.6)
        for i, c in enumerate(CARRIED):
            axes[1, 0].plot(t, [w["carried_error"][c] for w in r["windows"]], color=f"C{i}",
                            alpha=0.7, label=c.replace("_", " → ").upper()
                            if r is runs[0] else None)
    axes[0, 0].axhspan(0.5, 1.5, color="0.9", zorder=0)
    axes[0, 0].set_ylabel("active fraction / target")
    axes[0, 0].legend(loc="upper right")
    axes[0, 1].set_ylabel("mismatch ‖x − x̂‖² / ‖x‖²")
    axes[1, 0].set_ylabel("carried error per active unit")
    axes[1, 0].set_yscale("symlog", linthresh=1e-4)
    axes[1, 0].legend(loc="upper right")
    for ax in axes[1]:
        ax.set_xlabel("simulated hours")
    axes[1, 1].axis("off")
    axes[1, 1].text(0, 0.9, title, va="top", fontsize=9, wrap=True)
    fig.tight_layout()
    fig.savefig(path.with_suffix(".png"), dpi=110)
    fig.savefig(path.with_suffix(".svg"))
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", default="default")
    ap.add_argument("--hours", type=float, default=48.0)
    ap.add_argument("--seeds", default="1-4")
    ap.add_argument("--window-min", type=float, default=10.0)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args(argv)
    try:
        overrides = P.parse_set(a.set)
        params = P.replace(P.load_preset(a.preset), overrides)
        seeds = parse_seeds(a.seeds)
    except P.ParamError as e:
        print(f"long_run: error: {e}", file=sys.stderr)
        return 2
    a.out.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(max_workers=a.workers or min(len(seeds), 2)) as ex:
        futs = [ex.submit(run_seed, a.preset, overrides, s, a.hours, a.window_min)
                for s in seeds]
        runs = [f.result() for f in futs]
    targets = targets_of(params)
    v = verdicts(runs, targets, a.window_min)
    doc = {"preset": a.preset, "hours": a.hours, "seeds": seeds, "overrides": overrides,
           "window_min": a.window_min, "targets": targets, "verdicts": v, "runs": runs}
    (a.out / "long_run.json").write_text(json.dumps(doc, indent=1))
    title = (f"{a.preset} preset, {a.hours:g} simulated hours, seeds {a.seeds}"
             + (f", {' '.join(a.set)}" if a.set else ""))
    figure(runs, targets, a.out / "long_run", title)
    for s, d in v.items():
        print(f"seed {s}: active min {d['active_min']}, carried min {d['carried_min']}, "
              f"mismatch hour 2 {d['mismatch_hour2']} -> last hour {d['mismatch_last_hour']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
