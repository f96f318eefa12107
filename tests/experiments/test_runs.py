"""Every built-in protocol end to end on the small preset (scaled down), determinism, branches,
and many seeds through a local Dask cluster."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from hippoviz import params as P
from hippoviz.cli import main
from hippoviz.experiments import protocol as PR
from hippoviz.experiments.cli import run_experiment_command
from hippoviz.experiments.engine import run_protocol

HIDDEN = ("dg", "ca3", "ca1")
LAYER_KEYS = ("place_cell_fraction", "median_si_bits_per_spike", "active_fraction")
PER_LAYER = {
    "rate-remapping": ["pv_correlation", "rate_map_correlation_median",
                       "rate_difference_index_median", "pv_correlation_baseline",
                       "rate_map_correlation_median_baseline",
                       "rate_difference_index_median_baseline"],
    "global-remapping": ["pv_correlation", "pv_correlation_baseline",
                         "rate_map_correlation_median", "rate_difference_index_median"],
    "global-remapping-familiar": ["pv_correlation", "pv_correlation_baseline",
                                  "rate_map_correlation_median"],
    "pattern-separation": ["pv_correlation", "pv_correlation_baseline", "decorrelation"],
    "morph": ["morph_pv_curve", "morph_monotonic", "morph_b_preference"],
    "morph-box": ["morph_pv_curve", "morph_monotonic", "morph_b_preference"],
    "stretch": ["field_elongation_ratio", "field_elongation_ratio_control"],
}
FIGURES = {
    "place-cells": ["place_cells", "mismatch", "place_maps"],
    "rate-remapping": ["pv_correlation", "ratemaps_1"],
    "global-remapping": ["pv_correlation", "ratemaps_1"],
    "global-remapping-familiar": ["pv_correlation", "ratemaps_1"],
    "pattern-separation": ["pv_correlation", "ratemaps_1"],
    "morph": ["morph"],
    "morph-box": ["morph"],
    "stretch": ["stretch", "ratemaps_1", "ratemaps_2"],
    "objects": ["objects", "ratemaps_1", "ratemaps_2", "ratemaps_3", "ratemaps_4"],
    "novelty": ["mismatch"],
    "lesion": ["lesion", "place_cells"],
}


def _args(name: str, out: Path, **kw: Any) -> argparse.Namespace:
    base = {"name": name, "list": False, "out": str(out), "seed": None, "seeds": None,
            "scheduler": None, "minutes": 1.0, "preset": "small", "set": [], "force": False,
            "json": False}
    base.update(kw)
    return argparse.Namespace(**base)


def _check_keys(name: str, m: dict[str, Any]) -> None:
    for k in ("experiment", "seed", "phases", "layers"):
        assert k in m, k
    assert m["experiment"] == name
    assert [p["name"] for p in m["phases"]] == [p.name for p in PR.resolve(name).phases]
    for L in HIDDEN:
        for k in LAYER_KEYS:
            assert k in m["layers"][L], (L, k)
    for key in PER_LAYER.get(name, []):
        assert set(m[key]) == set(HIDDEN), key
    if name in ("morph", "morph-box"):
        assert len(m["morph_values"]) == 6
        assert all(len(m["morph_pv_curve"][L]) == 6 for L in HIDDEN)
    if name == "stretch":
        assert m["field_elongation"]["axis"] == "y"
        control = m["field_elongation_control"]
        assert control["axis"] == "y" and control["arena_cond_m"] == control["arena_ref_m"]
    if name == "objects":
        assert set(m["objects"]) == {"added", "moved", "trace", "control"}
        longest_s = 60.0 * max(p["minutes"] for p in m["phases"])
        for d in m["objects"].values():
            for L in HIDDEN:
                assert {"near_rate_ratio", "p_value", "n_cells"} <= set(d[L])
            assert len(d["time_near_s"]) == 2
            assert all(0.0 <= t <= longest_s for t in d["time_near_s"])
    if name == "novelty":
        for k in ("mismatch", "mismatch_control"):
            assert {"baseline", "peak", "decay_time_s"} <= set(m[k])
        assert m["mismatch"]["baseline"] is not None and m["mismatch"]["peak"] is not None
    if name == "lesion":
        assert set(m["lesion"]) == {"ec_ca1", "ca1_ca3", "ca3_dg"}
        for cut, d in m["lesion"].items():
            assert set(d["intact"]) == set(HIDDEN) == set(d["lesioned"])
            assert d["cut"] == [cut]
        assert m["lesion"]["ca3_dg"]["upstream"] == ["dg"]


@pytest.mark.parametrize("name", list(FIGURES))
def test_protocol_end_to_end_small(name: str, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / name
    rc = main(["experiment", name, "--preset", "small", "--minutes", "1", "--out", str(out)])
    o, err = capsys.readouterr()
    assert rc == 0, err
    assert "wrote" in o
    for f in ("metrics.json", "series.json", "params.toml", "report.md"):
        assert (out / f).is_file(), f
    m = json.loads((out / "metrics.json").read_text())
    _check_keys(name, m)
    assert abs(m["minutes"] - 1.0) < 0.01
    for stem in FIGURES[name]:
        assert (out / f"{stem}.png").stat().st_size > 1000, stem
        assert (out / f"{stem}.svg").stat().st_size > 1000, stem
    report = (out / "report.md").read_text()
    assert "| result | measured | rodent result (citation) | verdict |" in report
    assert PR.resolve(name).citation.split(",")[0] in report
    assert P.load(out / "params.toml").network.n_dg == P.load_preset("small").network.n_dg


def test_json_output_is_one_object(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                   no_figures: Any) -> None:
    rc = run_experiment_command(_args("novelty", tmp_path / "o", minutes=0.3, json=True),
                                figure_writer=no_figures)
    o = capsys.readouterr().out
    assert rc == 0
    data = json.loads(o)
    assert data["experiment"] == "novelty" and data["seed"] == 1


def test_same_seed_same_metrics_file(tmp_path: Path, no_figures: Any,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    texts = []
    for k in range(2):
        out = tmp_path / f"run{k}"
        rc = run_experiment_command(_args("objects", out, seed=3, minutes=1.5),
                                    figure_writer=no_figures)
        assert rc == 0
        texts.append((out / "metrics.json").read_text())
        assert (out / "series.json").read_text()
    assert texts[0] == texts[1]
    other = tmp_path / "seed4"
    assert run_experiment_command(_args("objects", other, seed=4, minutes=1.5),
                                  figure_writer=no_figures) == 0
    assert (other / "metrics.json").read_text() != texts[0]


def test_fresh_start_is_a_new_identical_animal() -> None:
    text = """
[protocol]
name = "twins"
title = "Twins"
[[phase]]
name = "first"
minutes = 0.5
learning = true
analyses = ["place_cells"]
[[phase]]
name = "second"
start = "fresh"
minutes = 0.5
learning = true
analyses = ["place_cells"]
"""
    res = run_protocol(PR.loads(text), P.load_preset("small"), 2)
    a, b = res.metrics["phases"]
    assert a["layers"] == b["layers"]
    assert a["mismatch_mean"] == b["mismatch_mean"]


def test_branch_restores_the_state_of_its_phase() -> None:
    text = """
[protocol]
name = "branch"
title = "Branch"
[[phase]]
name = "base"
minutes = 0.3
learning = true
[[phase]]
name = "a"
minutes = 0.3
learning = false
morph = 1.0
[[phase]]
name = "b"
start = "base"
minutes = 0.3
learning = false
morph = 1.0
"""
    res = run_protocol(PR.loads(text), P.load_preset("small"), 5)
    _, a, b = res.metrics["phases"]
    assert a["mismatch_mean"] == b["mismatch_mean"]
    # the branch starts where "base" ended, not where "a" ended
    n = len(res.series["mismatch_total"]) // 3
    tr = res.series["mismatch_total"]
    assert tr[n:2 * n] == tr[2 * n:3 * n]


def _metrics(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def test_many_seeds_with_dask_equal_single_runs(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HIPPOVIZ_WORKERS", "2")
    out = tmp_path / "sweep"
    minutes = 0.6
    rc = main(["experiment", "rate-remapping", "--preset", "small", "--minutes", str(minutes),
               "--seeds", "1-4", "--out", str(out)])
    _o, err = capsys.readouterr()
    assert rc == 0, err
    summary = _metrics(out / "metrics.json")
    assert summary["seeds"] == [1, 2, 3, 4] and summary["n_seeds"] == 4
    assert "pv_correlation" in summary["mean"] and "pv_correlation" in summary["sd"]
    assert (out / "report.md").read_text().count("±") > 0
    assert (out / "pv_correlation.png").is_file()
    proto = PR.resolve("rate-remapping").scaled(minutes)
    values = []
    for s in (1, 2, 3, 4):
        single = run_protocol(proto, P.load_preset("small"), s, {}, preset="small", sets=[],
                              minutes=minutes)
        swept = _metrics(out / f"seed-{s}" / "metrics.json")
        assert swept == json.loads(json.dumps(single.metrics)), s
        values.append(swept["phases"][0]["mismatch_mean"])
    assert summary["mean"]["phases"][0]["mismatch_mean"] == pytest.approx(sum(values) / 4)
