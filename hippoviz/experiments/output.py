"""The files of an experiment: metrics, series, parameters, figures and ``report.md``.

Used by ``hippoviz experiment`` (:mod:`hippoviz.experiments.cli`) and by the app, which writes
the files of a protocol it ran live (:func:`write_run`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from hippoviz import params as P
from hippoviz.experiments import report as R
from hippoviz.experiments.engine import RunResult, clean
from hippoviz.experiments.sweep import aggregate
from hippoviz.experiments.verdicts import judge

#: ``writer(figure_data, out_dir) -> [file names]``.
FigureWriter = Callable[[dict[str, Any], Path], list[str]]


def write_run(out: Path, result: RunResult, figure_writer: FigureWriter | None = None
              ) -> str | None:
    """Write the files of one run into the existing folder ``out``; returns None, or why the
    figures could not be drawn (metrics, series, params and the report are written anyway)."""
    summary, figdata, findings = write_single(out, result)
    figs, error = write_figures(figdata, out, figure_writer)
    write_report(out, summary, findings, figs, None)
    return error


def dump(path: Path, obj: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    tmp.replace(path)


def params_toml(m: dict[str, Any]) -> str:
    params = P.from_dict(m["provenance"]["params"])
    prov = m["provenance"]
    head = (f"# hippoviz {prov.get('version')}: parameters of experiment {m['experiment']} "
            f"(preset {prov.get('preset') or 'default'}; protocol sha256 "
            f"{prov.get('protocol_sha256', '')[:12]})\n")
    return head + P.dumps(params)


def write_single(out: Path, res: RunResult) -> tuple[dict[str, Any], dict[str, Any],
                                                      list[R.Finding]]:
    m = res.metrics
    dump(out / "metrics.json", m)
    dump(out / "series.json", res.series)
    (out / "params.toml").write_text(params_toml(m), encoding="utf-8")
    findings = R.assess(m)
    figdata = {"metrics": m, "sd": None, "series": res.series, "label": f"seed {m['seed']}",
               **res.figures}
    return m, figdata, findings


def write_sweep(out: Path, results: list[RunResult], seeds: list[int]
                 ) -> tuple[dict[str, Any], dict[str, Any], list[R.Finding]]:
    for s, res in zip(seeds, results, strict=True):
        d = out / f"seed-{s}"
        d.mkdir(exist_ok=True)
        dump(d / "metrics.json", res.metrics)
        dump(d / "series.json", res.series)
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
        n_agree = sum(1 for ps in per_seed if ps.get(f.result) == "agrees")
        agreement[f.result] = f"{n_agree} of {len(seeds)} seeds agree"
    statistics = [v.to_json() for v in judge(str(first["experiment"]), metrics)]
    summary = {"experiment": first["experiment"], "title": first["title"], "seeds": seeds,
               "n_seeds": len(seeds), "mean": mean, "sd": sd,
               "agreement": agreement,
               "verdicts": {f.result: f.verdict for f in findings},
               "statistics": statistics}
    dump(out / "metrics.json", clean(summary))
    (out / "params.toml").write_text(params_toml(first), encoding="utf-8")
    traces = [np.asarray(r.series["mismatch_total"], np.float64) for r in results]
    n = min(t.size for t in traces)
    stack = np.stack([t[:n] for t in traces])
    series = dict(results[0].series)
    series["mismatch_total"] = stack.mean(axis=0).tolist()
    series["mismatch_total_sd"] = (stack.std(axis=0, ddof=1).tolist() if len(traces) > 1
                                   else None)
    dump(out / "series.json", clean(series))
    figdata = {"metrics": mean, "sd": sd, "series": series,
               "label": f"mean ± sd over seeds {seeds[0]}-{seeds[-1]}",
               "ratemaps": results[0].figures.get("ratemaps", []),
               "final_maps": results[0].figures.get("final_maps"),
               "maps_label": f"seed {seeds[0]}"}
    return summary, figdata, findings


def write_figures(figdata: dict[str, Any], out: Path, writer: FigureWriter | None
                  ) -> tuple[list[str], str | None]:
    """Draw the figures (default: :func:`hippoviz.experiments.figures.write_figures`); returns
    their file names and None, or no names and why they could not be drawn."""
    try:
        if writer is None:
            from hippoviz.experiments import figures

            writer = figures.write_figures
        return list(writer(figdata, out)), None
    except Exception as exc:  # figures must not lose the metrics already written
        return [], f"{type(exc).__name__}: {exc}"


def write_report(out: Path, summary: dict[str, Any], findings: list[R.Finding],
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


__all__ = ["FigureWriter", "dump", "params_toml", "write_figures", "write_report", "write_run",
           "write_single", "write_sweep"]
