"""How the CA1 response to an added object depends on how long the loop has learned with it.

    .venv/bin/python science/object_time_course.py --seeds 11-18 --out /tmp/objects-time

Runs the first four phases of the built-in protocol ``objects`` (10 minutes' learning in the
empty box, a frozen probe, the object added for N minutes, a frozen probe) for N = 5, 10 and
15 with learning on, and N = 5 with learning off, each over the seeds with ``hippoviz
experiment`` (its protocol TOML written from the built-in one, the later phases left out), then
prints a Markdown table of the per-cell measure (``objects.added`` and ``objects.control``,
mean ± sd over the seeds, range) for CA1, with DG's and CA3's means, and the paired tests
(one-sided Wilcoxon signed-rank) of 5 minutes against learning off and against 15 minutes.

``--gate M`` (repeatable) adds a row that emulates a plasticity gate closing M minutes after
the object appears: the object's first M minutes at every rate, then the rest of the 15 with
every learning rate and homeostasis at ``--gate-factor`` (0.1) of their values, tested against
the 15 minutes without a gate::

    .venv/bin/python science/object_time_course.py --seeds 11-18 --out /tmp/gate --gate 5

docs/science.md section 5 (objects) reports its figures.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from hippoviz import params as P
from hippoviz.resources import resource

#: (label, minutes with the object, learning on)
VARIANTS: tuple[tuple[str, int, bool], ...] = (
    ("5 min, learning off", 5, False),
    ("5 min (the protocol)", 5, True),
    ("10 min", 10, True),
    ("15 min", 15, True),
)


def protocol_text(minutes: int, learning: bool) -> str:
    """The built-in ``objects`` protocol up to the probe after the object is added, with the
    object in place ``minutes`` minutes (learning ``learning``) before that probe."""
    text = resource("protocols", "objects.toml").read_text(encoding="utf-8")
    text = text[: text.index('[[phase]]\nname = "explore_moved"')]
    head = 'name = "explore_object"\nminutes = 5\nlearning = true'
    if head not in text:
        raise SystemExit("objects.toml has changed: its explore_object phase was not found")
    new = f'name = "explore_object"\nminutes = {minutes}\nlearning = {str(learning).lower()}'
    tag = f"{minutes}min" + ("" if learning else "-frozen")
    return text.replace(head, new).replace('name = "objects"', f'name = "objects-{tag}"', 1)


#: What a plasticity gate scales: every learning rate and the rate of homeostasis.
GATED = ("learning.lr_dg", "learning.lr_ca3", "learning.lr_ca1", "learning.lr_out",
         "learning.lr_ca3_recurrent", "learning.lr_object_ca1", "network.homeostasis_rate")


def gated_text(open_minutes: int, minutes: int, factor: float, params: P.Params) -> str:
    """:func:`protocol_text` for ``minutes`` with the object, its first ``open_minutes`` at
    every rate and the rest with the :data:`GATED` rates of ``params`` times ``factor``."""
    if not 0 < open_minutes < minutes:
        raise ValueError(f"--gate must be between 0 and {minutes} minutes, got {open_minutes}")
    text = protocol_text(open_minutes, True)
    sets = ", ".join(f'"{k}" = {round(float(P.get(params, k)) * factor, 12)!r}' for k in GATED)
    gated = (f'[[phase]]\nname = "explore_gated"\nminutes = {minutes - open_minutes}\n'
             f"learning = true\nset = {{ {sets} }}\n\n")
    probe = '[[phase]]\nname = "probe_object"'
    text = text.replace(probe, gated + probe, 1)
    return text.replace('name = "objects-', f'name = "objects-gate{open_minutes}-', 1)


def run(out: Path, seeds: str, minutes: int, learning: bool,
        overrides: list[str] | None = None, text: str | None = None, tag: str = "") -> Path:
    folder = out / f"{minutes}min{'' if learning else '-frozen'}{tag}"
    toml = out / f"{folder.name}.toml"
    toml.write_text(text or protocol_text(minutes, learning), encoding="utf-8")
    cmd = [sys.executable, "-m", "hippoviz", "experiment", str(toml), "--seeds", seeds,
           "--out", str(folder), "--force"]
    for kv in overrides or []:
        cmd += ["--set", kv]
    rc = subprocess.run(cmd, stdout=subprocess.DEVNULL, env=dict(os.environ)).returncode
    if rc:  # hippoviz has said why on stderr (a bad --set: status 2)
        raise SystemExit(rc)
    return folder


def per_seed(folder: Path) -> dict[int, dict[str, Any]]:
    out = {}
    for f in folder.glob("seed-*/metrics.json"):
        out[int(f.parent.name[5:])] = json.loads(f.read_text(encoding="utf-8"))["objects"]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="11-18", help="seed range A-B (default 11-18)")
    ap.add_argument("--out", type=Path, required=True, help="folder for the runs")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="a parameter for every run (as hippoviz experiment --set; repeatable)")
    ap.add_argument("--gate", type=int, action="append", default=[], metavar="M",
                    help="also emulate a plasticity gate closing M minutes after the object "
                    "appears (repeatable)")
    ap.add_argument("--gate-factor", type=float, default=0.1, metavar="F",
                    help="what the gate leaves of every learning rate and of homeostasis")
    args = ap.parse_args(argv)
    # (label, minutes with the object, learning on, protocol text or None, folder suffix)
    variants: list[tuple[str, int, bool, str | None, str]] = [(*v, None, "") for v in VARIANTS]
    try:
        params = P.replace(P.load_preset("default"), P.parse_set(args.overrides))
        for m in args.gate:
            variants.append((f"15 min, plasticity × {args.gate_factor:g} after {m}", 15, True,
                             gated_text(m, 15, args.gate_factor, params), f"-gate{m}"))
    except (P.ParamError, ValueError) as exc:
        print(f"object_time_course: error: {exc}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    added: dict[str, np.ndarray] = {}
    print("| with the object before the probe | added object (mean ± sd, range) | control place "
          "| DG | CA3 |\n|---|---|---|---|---|")
    for label, minutes, learning, text, tag in variants:
        runs = per_seed(run(args.out, args.seeds, minutes, learning, args.overrides, text, tag))
        seeds = sorted(runs)

        def col(key: str, layer: str, runs: dict[int, Any] = runs,
                seeds: list[int] = seeds) -> np.ndarray:
            return np.array([runs[s][key][layer]["near_rate_ratio"] for s in seeds])

        a, c = col("added", "ca1"), col("control", "ca1")
        added[label] = a
        print(f"| {label} | {a.mean():.2f} ± {a.std(ddof=1):.2f} ({a.min():.2f}–{a.max():.2f}) "
              f"| {c.mean():.2f} ± {c.std(ddof=1):.2f} | {col('added', 'dg').mean():.2f} "
              f"| {col('added', 'ca3').mean():.2f} |")
    five = added["5 min (the protocol)"]
    for other in ("5 min, learning off", "15 min"):
        b = added[other]
        p = stats.wilcoxon(five, b, alternative="greater").pvalue
        print(f"\n5 minutes against {other}: higher on {int((five > b).sum())} of {five.size} "
              f"seeds, one-sided Wilcoxon p = {p:.3g}")
    for label, *_ in variants[len(VARIANTS):]:
        g, b = added[label], added["15 min"]
        p = stats.wilcoxon(g, b, alternative="greater").pvalue
        print(f"\n{label} against 15 min: higher on {int((g > b).sum())} of {g.size} seeds, "
              f"one-sided Wilcoxon p = {p:.3g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
