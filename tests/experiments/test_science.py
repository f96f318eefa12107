"""The qualitative results of MODEL.md's table on the default preset, seed 1, at the built-in
protocols' realistic durations (a few minutes of wall time in all).

These check what the model does, not what we hope it does: the protocols and the thresholds are
the ones stated in the issue and in ``hippoviz/experiments/report.py``; nothing here was adjusted
to make a check pass. Results the model does not reproduce are marked ``xfail(strict=True)``
with the measured numbers: the assertion stays, and a change that makes the model reproduce
them turns the mark into a failure to remove.
Each test prints its numbers (``-s`` shows them; ``-rA`` keeps them in the summary).
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from hippoviz import params as P
from hippoviz.experiments import protocol as PR
from hippoviz.experiments.engine import run_protocol

pytestmark = pytest.mark.slow

SEED = 1
_cache: dict[str, dict[str, Any]] = {}


def metrics(name: str) -> dict[str, Any]:
    if name not in _cache:
        res = run_protocol(PR.resolve(name), P.load_preset("default"), SEED, preset="default")
        _cache[name] = res.metrics
    return _cache[name]


def show(label: str, value: Any) -> None:
    print(f"\n{label}: {json.dumps(value)}")


@pytest.mark.parametrize("layer", ["dg", "ca3", "ca1"])
def test_pv_same_room_above_rate_above_global(layer: str) -> None:
    rate = metrics("rate-remapping")
    glob = metrics("global-remapping")
    same = rate["pv_correlation_baseline"][layer]
    r, g = rate["pv_correlation"][layer], glob["pv_correlation"][layer]
    show(f"PV {layer}: same room / rate remapping / global remapping", [same, r, g])
    assert same == glob["pv_correlation_baseline"][layer]  # the same training and probes
    assert same > r > g


@pytest.mark.xfail(strict=True, reason="measured PV new room: CA3 0.47, CA1 0.36 (the same "
                   "units stay the most active across rooms)")
@pytest.mark.parametrize("layer", ["ca3", "ca1"])
def test_global_remapping_uncorrelated(layer: str) -> None:
    m = metrics("global-remapping")
    show(f"global remapping PV {layer} (mean-rate correlation)",
         [m["pv_correlation"][layer], m["mean_rate_correlation"][layer]])
    assert abs(m["pv_correlation"][layer]) < 0.2


@pytest.mark.parametrize("layer", ["ca3", "ca1"])
def test_rate_remapping_fields_stay_put(layer: str) -> None:
    m = metrics("rate-remapping")
    show(f"rate remapping median map correlation {layer} (baseline)",
         [m["rate_map_correlation_median"][layer],
          m["rate_map_correlation_median_baseline"][layer]])
    assert m["rate_map_correlation_median"][layer] >= 0.5


@pytest.mark.parametrize("layer", ["ca3", "ca1"])
def test_rate_remapping_changes_rates(layer: str) -> None:
    m = metrics("rate-remapping")
    show(f"rate remapping rate-difference index {layer} (baseline)",
         [m["rate_difference_index_median"][layer],
          m["rate_difference_index_median_baseline"][layer]])
    assert m["rate_difference_index_median"][layer] > \
        m["rate_difference_index_median_baseline"][layer]


@pytest.mark.parametrize("layer", [
    "dg",
    pytest.param("ca3", marks=pytest.mark.xfail(strict=True, reason="measured CA3 PV curve "
                                                "0.97 0.96 0.96 0.96 0.93 0.93: rises by 0.006")),
    pytest.param("ca1", marks=pytest.mark.xfail(strict=True, reason="CA1 PV curve not "
                                                "monotonic in the measured run")),
])
def test_morph_curve_is_monotonic(layer: str) -> None:
    m = metrics("morph")
    curve = m["morph_pv_curve"][layer]
    show(f"morph PV curve {layer} at m = {m['morph_values']}", curve)
    assert all(b <= a for a, b in itertools.pairwise(curve))


@pytest.mark.xfail(strict=True, reason="measured decorrelation DG 0.015 < CA3 0.017 (seed 1)")
def test_dg_decorrelates_more_than_ca3_for_a_small_morph() -> None:
    m = metrics("pattern-separation")
    show("small morph: decorrelation (baseline - morph PV)", m["decorrelation"])
    show("small morph: raw PV / baseline PV", [m["pv_correlation"],
                                                m["pv_correlation_baseline"]])
    assert m["decorrelation"]["dg"] > m["decorrelation"]["ca3"]


@pytest.mark.xfail(strict=True, reason="measured peak 0.383 = baseline 0.261 + 1.3 sd, not 3 sd")
def test_mismatch_jumps_at_the_change() -> None:
    mm = metrics("novelty")["mismatch"]
    show("novelty mismatch (learning on)", mm)
    assert mm["peak"] > mm["baseline"] + 3 * mm["baseline_sd"]


def test_mismatch_decays_with_learning() -> None:
    m = metrics("novelty")
    mm, ctl = m["mismatch"], m["mismatch_control"]
    show("novelty mismatch, learning off (control)", ctl)
    assert mm["decay_time_s"] is not None
    assert mm["final"] < ctl["final"]


@pytest.mark.xfail(strict=True, reason="measured: a lesion raises the upstream place-cell "
                   "fraction (DG 0.55 -> 0.99, CA3 0.26 -> 0.91)")
@pytest.mark.parametrize("cut", ["ec_ca1", "ca1_ca3", "ca3_dg"])
def test_lesion_lowers_place_cells_upstream(cut: str) -> None:
    d = metrics("lesion")["lesion"][cut]
    show(f"lesion {cut}: intact / lesioned place-cell fraction (upstream {d['upstream']})",
         [d["intact"], d["lesioned"]])
    for layer in d["upstream"]:
        assert d["lesioned"][layer] < d["intact"][layer], layer
