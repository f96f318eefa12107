"""The science of the loop on the default preset: learning reconstructs the input, place cells
form, lesions stop learning upstream of the cut.

The 30-minute runs are shared by the tests of this module (about a minute of CPU).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hippoviz import params as P
from hippoviz.experiments.session import Collector, layer_summary, run_steps
from hippoviz.sim import HIDDEN, build

MINUTES = 30
PROBE_MINUTES = 10
SEED = 1
RESULTS = Path(os.environ.get("HIPPOVIZ_RESULTS", "")) if os.environ.get("HIPPOVIZ_RESULTS") \
    else None


def _session(train_minutes: int) -> dict[str, Any]:
    """Train for ``train_minutes`` (0 = the untrained network), then record a probe session
    with frozen weights on a fresh trajectory, as experimenters compare maps."""
    sim = build(P.Params(), SEED)
    mm = np.zeros(0)
    if train_minutes:
        col = Collector(start_step=10**12)  # keep the mismatch only
        run_steps(sim, train_minutes * 6000, on_chunk=col.add)
        mm = col.mismatch_array()[:, 0]
    sim.command({"op": "set", "patch": {"learning.enabled": False}})
    probe = Collector(start_step=sim.step)
    run_steps(sim, PROBE_MINUTES * 6000, on_chunk=probe.add)
    probe_mm = probe.mismatch_array()[:, 0]
    layers = layer_summary(sim, probe, seed=SEED)
    return {"first_min": float(mm[:6000].mean()) if mm.size else None,
            "last_min": float(mm[-6000:].mean()) if mm.size else None,
            "probe_mismatch": float(probe_mm.mean()),
            "layers": {L: {k: v for k, v in d.items() if k != "result"} for L, d in
                       layers.items()}}


@pytest.fixture(scope="module")
def runs() -> dict[str, dict[str, Any]]:
    res = {"trained": _session(MINUTES), "untrained": _session(0)}
    print("\n" + json.dumps(res, indent=1))
    if RESULTS is not None:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "learning.json").write_text(json.dumps(res, indent=1))
    return res


@pytest.mark.slow
def test_reconstruction_error_falls_by_half(runs: dict[str, dict[str, Any]]) -> None:
    """The last minute of 30 against the untrained network of the same seed and against the
    first minute. With the weights then frozen the error rises again (part of the fit is online
    tracking; the README reports it), but the frozen trained network still beats the untrained
    one."""
    tr, un = runs["trained"], runs["untrained"]
    assert tr["last_min"] <= 0.5 * un["probe_mismatch"]
    assert tr["last_min"] <= 0.5 * tr["first_min"]
    assert tr["probe_mismatch"] < un["probe_mismatch"]


@pytest.mark.slow
def test_place_cells_emerge(runs: dict[str, dict[str, Any]]) -> None:
    tr = runs["trained"]["layers"]
    assert tr["ca1"]["place_cell_fraction"] >= 0.40
    assert tr["ca3"]["place_cell_fraction"] >= 0.30
    assert tr["dg"]["active_fraction"] <= 0.10


@pytest.mark.slow
def test_learning_recruits_dg_and_ca3(runs: dict[str, dict[str, Any]]) -> None:
    """MODEL.md's calibration: sparse random projections already give CA1 fields; learning
    recruits DG and CA3. CA1 is reported, not asserted (see the README's measured table)."""
    tr, un = runs["trained"]["layers"], runs["untrained"]["layers"]
    for L in ("dg", "ca3"):
        assert tr[L]["place_cell_fraction"] > un[L]["place_cell_fraction"], L


def test_lesion_of_ca3_dg_back_projection_freezes_ec_dg() -> None:
    params = P.replace(P.load_preset("small"), {"learning.g_ca3_dg": 0.0})
    sim = build(params, 3)
    w0 = {name: sim.weights(name) for name in ("ec_dg", "dg_ca3", "ca3_ca1", "ca1_out")}
    sim.run_chunk(600)
    assert np.array_equal(sim.weights("ec_dg"), w0["ec_dg"])
    for name in ("dg_ca3", "ca3_ca1", "ca1_out"):
        assert not np.array_equal(sim.weights(name), w0[name]), name


def test_lesion_of_ca1_ca3_back_projection_freezes_upstream() -> None:
    params = P.replace(P.load_preset("small"), {"learning.g_ca1_ca3": 0.0})
    sim = build(params, 3)
    w0 = {name: sim.weights(name) for name in ("ec_dg", "dg_ca3", "ca3_ca1")}
    sim.run_chunk(600)
    assert np.array_equal(sim.weights("ec_dg"), w0["ec_dg"])
    assert np.array_equal(sim.weights("dg_ca3"), w0["dg_ca3"])
    assert not np.array_equal(sim.weights("ca3_ca1"), w0["ca3_ca1"])


def test_learning_off_freezes_everything() -> None:
    sim = build(P.replace(P.load_preset("small"), {"learning.enabled": False}), 3)
    w0 = sim.state_dict()
    sim.run_chunk(300)
    w1 = sim.state_dict()
    for k in w0:
        if k.startswith(("net.", "vel.", "mom2.")):
            assert np.array_equal(w0[k], w1[k]), k


def test_dg_stays_sparse_in_every_mode() -> None:
    for mode in ("kwta", "emax"):
        sim = build(P.replace(P.load_preset("small"), {"network.sparsity_dg": mode}), 1)
        c = sim.run_chunk(300)
        assert c.active_fraction[:, 0].max() <= 0.10, mode


@pytest.mark.parametrize("layer", HIDDEN)
def test_manipulations_apply_between_chunks(layer: str) -> None:
    sim = build(P.load_preset("small"), 1)
    sim.run_chunk(50)
    sim.command({"op": "set", "patch": {"inputs.context_morph": 1.0, "inputs.room": 2,
                                        "arena.width_m": 1.5, "arena.shape_morph": 1.0}})
    oid = sim.command({"op": "add_object", "x": 0.1, "y": 0.1})
    c = sim.run_chunk(200)
    assert sim.arena.width_m == 1.5 and sim.objects == [(oid, 0.1, 0.1)]
    assert np.all(np.abs(c.pos_m[:, 0]) <= 0.75)
    obj = sim.input_groups["lec_object"]
    assert sim.last("x")[obj].max() > 0 or np.hypot(*(c.pos_m[-1] - 0.1)) > 0.4
    sim.command({"op": "remove_object", "id": oid})
    sim.run_chunk(10)
    assert sim.last("x")[obj].max() == 0.0
    assert sim.ratemaps(layer).shape[1:] == (round(1.0 / sim.params.analysis.bin_size_m),
                                             round(1.5 / sim.params.analysis.bin_size_m))
    with pytest.raises(P.ParamError, match="rebuild"):
        sim.command({"op": "set", "patch": {"network.n_dg": 10}})
    with pytest.raises(P.ParamError, match="no object"):
        sim.command({"op": "move_object", "id": 3, "x": 0, "y": 0})
