"""The small measures of the experiments, the seed parser, aggregation and the verdicts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hippoviz import params as P
from hippoviz.experiments import measures as M
from hippoviz.experiments import report as R
from hippoviz.experiments.sweep import aggregate, parse_seeds


def test_mismatch_response_finds_jump_and_decay() -> None:
    dt = 0.01
    before = np.full(6000, 0.3)
    t = np.arange(30000) * dt
    after = 0.3 + 0.5 * np.exp(-t / 20.0)
    r = M.mismatch_response(before, after, dt, smooth_s=1.0, peak_window_s=10.0)
    assert r["baseline"] == pytest.approx(0.3)
    assert r["peak"] == pytest.approx(0.3 + 0.5 * np.exp(-0.495 / 20), rel=1e-3)
    assert r["decay_time_s"] == pytest.approx(20.0, abs=0.1)
    assert r["final"] == pytest.approx(0.3, abs=0.01)
    flat = M.mismatch_response(before, np.full(3000, 0.3), dt)
    assert flat["decay_time_s"] is None


def test_sign_test() -> None:
    p, n = M.sign_test_greater([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    assert n == 10 and p == pytest.approx(1 / 1024)
    p, n = M.sign_test_greater([1, -1])
    assert p == pytest.approx(0.75)
    assert math.isnan(M.sign_test_greater([0.0, np.nan])[0])


def test_field_spread_of_an_elongated_field() -> None:
    y, x = np.mgrid[0:40, 0:20]
    m = np.exp(-((x - 10) ** 2) / (2 * 2.0**2) - ((y - 20) ** 2) / (2 * 6.0**2))
    sx, sy = M.field_spread(m, m > 0.2, 0.05)
    assert sy / sx == pytest.approx(3.0, rel=0.15)


def test_near_index_and_disk() -> None:
    mask = M.disk_mask((20, 20), (-0.5, 0.5, -0.5, 0.5), (0.25, 0.25), 0.1)
    assert 9 <= mask.sum() <= 16
    maps = np.ones((2, 20, 20))
    maps[0][mask] = 3.0
    idx = M.near_index(maps, mask)
    assert idx[0] == pytest.approx(3.0) and idx[1] == pytest.approx(1.0)


def test_parse_seeds() -> None:
    assert parse_seeds("1-4") == [1, 2, 3, 4]
    assert parse_seeds("7") == [7]
    for bad in ("4-1", "a-b", "-3", "1-100000"):
        with pytest.raises(P.ParamError):
            parse_seeds(bad)


def test_aggregate_mean_sd_by_leaf() -> None:
    a = {"x": 1.0, "b": True, "s": "same", "l": [1.0, None], "d": {"k": 2.0}, "n": None}
    b = {"x": 3.0, "b": False, "s": "same", "l": [3.0, 4.0], "d": {"k": 4.0}, "n": None}
    mean, sd = aggregate([a, b])
    assert mean["x"] == 2.0 and sd["x"] == pytest.approx(math.sqrt(2))
    assert mean["b"] == 0.5 and mean["s"] == "same"
    assert mean["l"] == [2.0, 4.0] and sd["l"][1] is None
    assert mean["d"]["k"] == 3.0 and mean["n"] is None


def test_verdicts_follow_the_stated_criteria() -> None:
    # a new room: CA3 uncorrelated, CA1 overlapping more than CA3 but still remapping
    m = {"model_row": 3, "pv_correlation": {"dg": 0.5, "ca3": 0.1, "ca1": 0.4},
         "pv_correlation_baseline": {"dg": 0.9, "ca3": 0.9, "ca1": 0.95}}
    (f,) = R.assess(m)
    assert f.verdict == "agrees"
    m["pv_correlation"]["ca1"] = 0.05  # CA1 below CA3
    assert R.assess(m)[0].verdict == "partly"
    m["pv_correlation"]["ca1"] = 0.97  # CA1 not remapping
    assert R.assess(m)[0].verdict == "partly"
    m["pv_correlation"]["ca3"] = -0.25
    assert R.assess(m)[0].verdict == "disagrees"
    m["pv_correlation"]["ca1"] = 0.4  # CA1 above CA3, but CA3 correlated
    assert R.assess(m)[0].verdict == "partly"
    les = {"model_row": 9, "lesion": {"ca3_dg": {
        "upstream": ["dg"], "lower_upstream": {"dg": True},
        "intact": {"dg": 0.5, "ca3": 0.5, "ca1": 0.5},
        "lesioned": {"dg": 0.2, "ca3": 0.6, "ca1": 0.5}}}}
    assert R.assess(les)[0].verdict == "agrees"
    assert R.assess({"model_row": None}) == []


def test_the_object_control_agrees_when_nothing_rises_there() -> None:
    """At an object a significant rise in CA3 and CA1 agrees with the rats; at the control
    place, where nothing happened, the same rise disagrees and no rise agrees."""
    def layer(ratio: float, p: float) -> dict[str, float]:
        return {"near_rate_ratio": ratio, "p_value": p, "n_cells": 40}

    def obj(ratio: float, p: float) -> dict[str, object]:
        return {"at": [0.25, 0.25], "reference": "probe_empty",
                **{L: layer(ratio, p) for L in ("dg", "ca3", "ca1")}}

    m = {"model_row": 6, "objects": {"added": obj(2.0, 0.001), "control": obj(1.0, 0.6)}}
    added, control = R.assess(m)
    assert (added.verdict, control.verdict) == ("agrees", "agrees")
    assert "control" in control.result and control.rodent != added.rodent
    m["objects"]["control"] = obj(2.0, 0.001)
    assert R.assess(m)[1].verdict == "disagrees"
    m["objects"]["added"] = obj(1.0, 0.6)
    assert R.assess(m)[0].verdict == "disagrees"


def test_the_stretch_control_agrees_when_the_same_box_shows_no_elongation() -> None:
    lay = {L: {"p_value": 0.001, "n_cells": 30} for L in ("dg", "ca3", "ca1")}
    m = {"model_row": 5, "field_elongation_ratio": {"dg": 1.3, "ca3": 1.3, "ca1": 1.3},
         "field_elongation": {"layers": lay},
         "field_elongation_ratio_control": {"dg": 1.0, "ca3": 1.0, "ca1": 1.0},
         "field_elongation_control": {"layers": {L: {"p_value": 0.5, "n_cells": 30}
                                                 for L in ("dg", "ca3", "ca1")}}}
    stretched, control = R.assess(m)
    assert (stretched.verdict, control.verdict) == ("agrees", "agrees")
    m["field_elongation_ratio_control"] = {"dg": 1.3, "ca3": 1.3, "ca1": 1.3}
    m["field_elongation_control"] = {"layers": lay}
    assert R.assess(m)[1].verdict == "disagrees"
    del m["field_elongation_ratio_control"]
    assert len(R.assess(m)) == 1  # runs made before the control: the one finding
