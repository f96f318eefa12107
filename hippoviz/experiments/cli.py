"""``hippoviz experiment``: run a protocol headless and write metrics, figures and a report.

Output folder (one seed)::

    metrics.json   every result (deterministic: the same seed gives the same file)
    series.json    the mismatch trace (1-s means) and the phase spans
    params.toml    the full parameters of the run
    report.md      each result next to the rodent result, with the verdict
    *.png, *.svg   figures

With ``--seeds A-B`` each seed's ``metrics.json`` and ``series.json`` go to ``seed-S/``, and the
top-level files hold the mean ± sd over seeds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from hippoviz import params as P
from hippoviz.experiments import output as O
from hippoviz.experiments import protocol as PR
from hippoviz.experiments import report as R
from hippoviz.experiments.engine import ProtocolRun, RunResult
from hippoviz.experiments.output import FigureWriter
from hippoviz.experiments.session import Progress
from hippoviz.experiments.sweep import SweepError, parse_seeds, run_seeds


class ExperimentUsageError(P.ParamError):
    """Bad input to ``hippoviz experiment`` (a :class:`ParamError`, so the command line prints
    one line and exits with status 2; importing ``hippoviz.cli`` here would break the layers)."""


def _usage(msg: str) -> Exception:
    return ExperimentUsageError(msg)


def list_protocols() -> list[dict[str, Any]]:
    out = []
    for name in PR.builtin_names():
        p = PR.resolve(name)
        out.append({"name": name, "title": p.title, "minutes": p.minutes,
                    "model_row": p.experiment, "phases": [ph.name for ph in p.phases]})
    return out


def run_experiment_command(args: argparse.Namespace,
                           figure_writer: FigureWriter | None = None) -> int:
    """Entry point of ``hippoviz experiment`` (returns the exit status).

    Parameters
    ----------
    args : argparse.Namespace
        ``name, list, out, seed, seeds, scheduler, minutes, preset, set, force, json``.
    figure_writer : callable, optional
        ``writer(figure_data, out_dir) -> [file names]``; default
        :func:`hippoviz.experiments.figures.write_figures` (matplotlib).
    """
    if args.list:
        items = list_protocols()
        if args.json:
            print(json.dumps({"protocols": items}))
        else:
            for it in items:
                row = f"#{it['model_row']}" if it["model_row"] else "  "
                print(f"{row:>3s} {it['name']:20s} {it['minutes']:6.1f} min  {it['title']}")
        return 0
    if not args.name:
        raise _usage("experiment: give a protocol name or file (see 'hippoviz experiment "
                     "--list')")
    proto = PR.resolve(args.name)
    if args.minutes is not None:
        proto = proto.scaled(args.minutes)
    params = P.load_preset(args.preset)
    overrides = P.parse_set(args.set)
    # validate the combination now (a bad value must fail before anything runs)
    P.replace(P.replace(params, proto.params), overrides)
    if args.scheduler and not args.seeds:
        seeds = [1 if args.seed is None else args.seed]
    elif args.seeds:
        seeds = parse_seeds(args.seeds)
    else:
        seeds = [1 if args.seed is None else args.seed]
    if any(s < 0 for s in seeds):
        raise _usage(f"--seed must be >= 0, got {seeds[0]}")
    many = bool(args.seeds)
    default_out = (f"{proto.name}-seeds{seeds[0]}-{seeds[-1]}" if many
                   else f"{proto.name}-seed{seeds[0]}")
    out = Path(args.out or default_out)
    _check_out(out, args.force)
    kw = {"preset": args.preset, "sets": list(args.set), "minutes": args.minutes}

    t0 = time.perf_counter()
    results: list[RunResult]
    if args.seeds or args.scheduler:
        bar = Progress(len(seeds), f"{proto.name}: seeds")
        try:
            results = run_seeds(proto, params, seeds, overrides, scheduler=args.scheduler,
                                on_done=lambda d, n: bar.update(d), **kw)
        except SweepError as exc:
            raise _usage(str(exc)) from None
        finally:
            bar.close()
    else:
        run = ProtocolRun(proto, params, seeds[0], overrides, **kw)
        bar = Progress(run.total_steps, proto.name)
        try:
            results = [run.run(progress=bar)]
        finally:
            bar.close()
    wall = time.perf_counter() - t0

    out.mkdir(parents=True, exist_ok=True)
    if many:
        summary, figdata, findings = O.write_sweep(out, results, seeds)
    else:
        summary, figdata, findings = O.write_single(out, results[0])
    figs, fig_error = O.write_figures(figdata, out, figure_writer)
    O.write_report(out, summary, findings, figs, seeds if many else None)
    if args.json:
        print(json.dumps(summary))
    else:
        _print_summary(summary, findings, out, wall, many)
    if fig_error:
        print(f"hippoviz: warning: figures were not written: {fig_error}", file=sys.stderr)
        return 1
    return 0


def _check_out(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise _usage(f"output folder {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise _usage(f"output folder {out} exists and is not empty (use --force to write "
                     f"into it)")
    parent = out.resolve().parent
    while not parent.exists():
        parent = parent.parent
    if not os.access(parent, os.W_OK):
        raise _usage(f"cannot write the output folder {out}: {parent} is not writable")


def _print_summary(summary: dict[str, Any], findings: list[R.Finding], out: Path, wall: float,
                   many: bool) -> None:
    title = summary.get("title")
    if many:
        print(f"{title}: {summary['n_seeds']} seeds in {wall:.0f} s")
    else:
        print(f"{title}: seed {summary['seed']}, {summary['minutes']:.1f} simulated minutes in "
              f"{wall:.0f} s")
    for v in summary.get("statistics") or []:
        p = v.get("p")
        mean = v.get("mean")
        print(f"  target: {v['claim']}: {'met' if v['met'] else 'not met'} (mean "
              f"{'n/a' if mean is None else f'{mean:.3g}'}, n = {v.get('n')}, "
              f"p = {'n/a' if p is None else f'{p:.2g}'})")
    for f in findings:
        agree = (summary.get("agreement") or {}).get(f.result)
        print(f"  {f.result}: {f.verdict}" + (f" ({agree})" if agree else ""))
        print(f"    measured: {f.measured}")
    print(f"wrote {out}/ (metrics.json, report.md, figures)")
