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
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from hippoviz import params as P
from hippoviz.analysis.health import CARRIED, HEALTH_LAYERS, targets_of
from hippoviz.experiments.health_run import run_seed, verdicts
from hippoviz.experiments.sweep import parse_seeds


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
    axes[0, 1].tick_params(labelbottom=True)  # the panel below it is the caption
    axes[0, 1].set_xlabel("simulated hours")
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
