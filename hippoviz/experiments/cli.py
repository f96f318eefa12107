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
import importlib
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from hippoviz import params as P
from hippoviz.experiments import protocol as PR
from hippoviz.experiments import report as R
from hippoviz.experiments.engine import ProtocolRun, RunResult, clean
from hippoviz.experiments.session import Progress
from hippoviz.experiments.sweep import SweepError, aggregate, parse_seeds, run_seeds
from hippoviz.experiments.verdicts import judge

FigureWriter = Callable[[dict[str, Any], Path], list[str]]


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
        :func:`hippoviz.gui.figures.write_figures`, loaded on demand (with Qt's offscreen
        platform when there is no display) so that this package never imports a GUI toolkit
        itself.
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
        summary, figdata, findings = _write_sweep(out, results, seeds)
    else:
        summary, figdata, findings = _write_single(out, results[0])
    figs, fig_error = _figures(figdata, out, figure_writer)
    _write_report(out, summary, findings, figs, seeds if many else None)
    if args.json:
        print(json.dumps(summary))
    else:
        _print_summary(summary, findings, out, wall, many)
    if fig_error:
        print(f"hippoviz: warning: figures were not written: {fig_error}", file=sys.stderr)
        return 1
    return 0


def write_run(out: Path, result: RunResult, figure_writer: FigureWriter | None = None
              ) -> str | None:
    """Write the files of one run into the existing folder ``out``; returns None, or why the
    figures could not be drawn (metrics, series, params and the report are written anyway)."""
    summary, figdata, findings = _write_single(out, result)
    figs, error = _figures(figdata, out, figure_writer)
    _write_report(out, summary, findings, figs, None)
    return error


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


def _dump(path: Path, obj: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    tmp.replace(path)


def _params_toml(m: dict[str, Any]) -> str:
    params = P.from_dict(m["provenance"]["params"])
    prov = m["provenance"]
    head = (f"# hippoviz {prov.get('version')}: parameters of experiment {m['experiment']} "
            f"(preset {prov.get('preset') or 'default'}; protocol sha256 "
            f"{prov.get('protocol_sha256', '')[:12]})\n")
    return head + P.dumps(params)


def _write_single(out: Path, res: RunResult) -> tuple[dict[str, Any], dict[str, Any],
                                                      list[R.Finding]]:
    m = res.metrics
    _dump(out / "metrics.json", m)
    _dump(out / "series.json", res.series)
    (out / "params.toml").write_text(_params_toml(m), encoding="utf-8")
    findings = R.assess(m)
    figdata = {"metrics": m, "sd": None, "series": res.series, "label": f"seed {m['seed']}",
               **res.figures}
    return m, figdata, findings


def _write_sweep(out: Path, results: list[RunResult], seeds: list[int]
                 ) -> tuple[dict[str, Any], dict[str, Any], list[R.Finding]]:
    for s, res in zip(seeds, results, strict=True):
        d = out / f"seed-{s}"
        d.mkdir(exist_ok=True)
        _dump(d / "metrics.json", res.metrics)
        _dump(d / "series.json", res.series)
    metrics = [r.metrics for r in results]
    mean, sd = aggregate(metrics)
    mean, sd = clean(mean), clean(sd)
    first = metrics[0]
    for k in ("experiment", "title", "model_row", "rodent", "citation", "description",
              "provenance"):
        mean[k] = first.get(k)
    mean["seed"] = None
    # agreement seed by seed
    per_seed = [{f.result: f.verdict for f in R.assess(m)} for m in metrics]
    findings = R.assess(mean, sd)
    agreement = {}
    for f in findings:
        k = sum(1 for ps in per_seed if ps.get(f.result) == "agrees")
        agreement[f.result] = f"{k} of {len(seeds)} seeds agree"
    statistics = [v.to_json() for v in judge(str(first["experiment"]), metrics)]
    summary = {"experiment": first["experiment"], "title": first["title"], "seeds": seeds,
               "n_seeds": len(seeds), "mean": mean, "sd": sd,
               "agreement": agreement,
               "verdicts": {f.result: f.verdict for f in findings},
               "statistics": statistics}
    _dump(out / "metrics.json", clean(summary))
    (out / "params.toml").write_text(_params_toml(first), encoding="utf-8")
    traces = [np.asarray(r.series["mismatch_total"], np.float64) for r in results]
    n = min(t.size for t in traces)
    stack = np.stack([t[:n] for t in traces])
    series = dict(results[0].series)
    series["mismatch_total"] = stack.mean(axis=0).tolist()
    series["mismatch_total_sd"] = (stack.std(axis=0, ddof=1).tolist() if len(traces) > 1
                                   else None)
    _dump(out / "series.json", clean(series))
    figdata = {"metrics": mean, "sd": sd, "series": series,
               "label": f"mean ± sd over seeds {seeds[0]}-{seeds[-1]}",
               "ratemaps": results[0].figures.get("ratemaps", []),
               "final_maps": results[0].figures.get("final_maps"),
               "maps_label": f"seed {seeds[0]}"}
    return summary, figdata, findings


def _figures(figdata: dict[str, Any], out: Path, writer: FigureWriter | None
             ) -> tuple[list[str], str | None]:
    try:
        if writer is None:
            if sys.platform.startswith("linux") and not (
                    os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
                os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
            # loaded by name: the GUI layer is imported only when figures are drawn
            mod = importlib.import_module("hippoviz.gui.figures")
            writer = mod.write_figures
        return list(writer(figdata, out)), None
    except Exception as exc:  # figures must not lose the metrics already written
        return [], f"{type(exc).__name__}: {exc}"


def _write_report(out: Path, summary: dict[str, Any], findings: list[R.Finding],
                  figs: list[str], seeds: list[int] | None) -> None:
    if seeds:
        text = R.render(summary["mean"], findings, figures=figs, seeds=seeds,
                        sd=summary["sd"], agreement=summary.get("agreement"),
                        statistics=summary.get("statistics"))
    else:
        text = R.render(summary, findings, figures=figs)
    tmp = out / "report.md.tmp"
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out / "report.md")


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
