"""Calibrated initial thresholds (``network.threshold_init = "calibrated"``)."""

from __future__ import annotations

import numpy as np
import pytest

from hippoviz import params as P
from hippoviz.sim import build
from hippoviz.sim.arena import Arena, contains_np
from hippoviz.sim.calibrate import ec_inputs, lattice
from hippoviz.sim.inputs import grid_room
from hippoviz.sim.network import SPARSITY_CODES, sparsify_np


def _inputs_at(sim, positions):  # type: ignore[no-untyped-def]
    ip = sim.params.inputs
    k, phi = grid_room(sim._grid_layout, ip.room, sim.seed, sim.params.arena.shape_morph,
                       ip.grid_shape_realign)
    return ec_inputs(sim.params, sim.arena, positions, k, phi, sim._border_d, sim._border_w,
                     sim._lec_maps(ip.context_a), sim._lec_maps(ip.context_b), sim._switch_at,
                     sim._obj_pos, sim._obj_on, sim._obj_vec)


@pytest.mark.parametrize("patch", [
    {},
    {"arena.shape_morph": 1.0, "arena.width_m": 1.4, "inputs.context_morph": 0.5,
     "inputs.room": 3, "inputs.gamma_lec": 0.5, "inputs.gamma_border": 1.5},
    {"inputs.morph_mode": "blend", "inputs.context_morph": 0.3},
    {"inputs.bvc_distances_m": [0.1, 0.3], "arena.height_m": 1.3},
])
def test_batched_inputs_equal_the_kernel_input(small_params: P.Params,
                                               patch: dict[str, object]) -> None:
    """The entorhinal vector the calibration computes for many places at once is the one the
    kernel feeds the loop at the rat's position (objects included)."""
    sim = build(P.replace(small_params, {**patch, "learning.enabled": False}), seed=4)
    sim.command({"op": "add_object", "x": 0.1, "y": -0.15})
    sim.command({"op": "add_object", "x": -0.3, "y": 0.2})
    for _ in range(25):
        chunk = sim.run_chunk(7)
        pos = chunk.pos_m[-1:].astype(np.float64)
        got = _inputs_at(sim, pos)[0]
        np.testing.assert_allclose(got, sim.last("x"), rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("w,h,morph", [(1.0, 1.0, 0.0), (1.5, 1.0, 1.0), (0.6, 1.2, 0.5)])
def test_lattice_fills_the_arena(w: float, h: float, morph: float) -> None:
    arena = Arena(w, h, morph)
    pts = lattice(arena, 0.025)
    assert all(contains_np(x, y, w, h, morph) for x, y in pts)
    assert abs(len(pts) * 0.025**2 - arena.area_m2()) < 0.03 * arena.area_m2()


def test_thresholds_put_each_unit_above_them_at_a_fraction_k(small_params: P.Params) -> None:
    """Checked independently of the calibration's code path: each DG unit's pre-activation
    exceeds its threshold at k of the places; CA3 and CA1 (after the thresholded, k-WTA layer
    below) likewise."""
    p = P.replace(small_params, {"network.threshold_init": "calibrated"})
    sim = build(p, seed=2)
    net, n = sim.net, p.network
    pts = lattice(sim.arena)
    x = _inputs_at(sim, pts)
    m = len(pts)

    def above(pre: np.ndarray, th: np.ndarray) -> np.ndarray:
        return np.asarray((pre > th).mean(axis=0))

    def kwta(pre: np.ndarray, th: np.ndarray, k: float) -> np.ndarray:
        a = np.maximum(pre - th, 0.0).astype(np.float32)
        return np.array([sparsify_np(r, SPARSITY_CODES["kwta"], k, 0.1) for r in a])

    pre1 = np.einsum("pi,ji->pj", x, net.w_ec_dg) + net.b_dg
    f1 = above(pre1, net.th_dg)
    assert np.all(np.abs(f1 - n.k_dg) <= 1.0 / m + 1e-9)
    h1 = kwta(pre1, net.th_dg, n.k_dg)
    pre2 = h1 @ net.wt_dg_ca3 + net.b_ca3
    assert np.all(np.abs(above(pre2, net.th_ca3) - n.k_ca3) <= 1.0 / m + 1e-9)
    h2 = kwta(pre2, net.th_ca3, n.k_ca3)
    pre3 = h2 @ net.wt_ca3_ca1 + net.b_ca1
    assert np.all(np.abs(above(pre3, net.th_ca1) - n.k_ca1) <= 1.0 / m + 1e-9)


def test_zero_is_zero_and_calibration_is_deterministic(small_params: P.Params) -> None:
    zero = build(small_params, seed=3)
    assert small_params.network.threshold_init == "zero"
    for L in ("dg", "ca3", "ca1"):
        assert not getattr(zero.net, f"th_{L}").any()
    p = P.replace(small_params, {"network.threshold_init": "calibrated"})
    a, b = build(p, seed=3), build(p, seed=3)
    for L in ("dg", "ca3", "ca1"):
        ta, tb = getattr(a.net, f"th_{L}"), getattr(b.net, f"th_{L}")
        assert ta.any()
        np.testing.assert_array_equal(ta, tb)


def test_calibrated_network_uses_its_units(small_params: P.Params) -> None:
    """What the option is for: with zero thresholds a fixed subset of units wins the local
    competition everywhere; calibrated, more units take part in every layer (frozen weights,
    2 simulated minutes, units that fire at least once; seed 5 measured DG 30 -> 80 %, CA3
    80 -> 97 %, CA1 90 -> 100 %: DG, whose fields are smallest, is not yet covered in full)."""
    def used(init: str) -> dict[str, float]:
        sim = build(P.replace(small_params, {"network.threshold_init": init,
                                              "learning.enabled": False}), seed=5)
        seen = {L: np.zeros(sim.layer_sizes[L], bool) for L in ("dg", "ca3", "ca1")}
        for _ in range(60):
            ch = sim.run_chunk(200)
            for L in seen:
                seen[L][ch.spikes[L].units] = True
        return {L: float(v.mean()) for L, v in seen.items()}

    zero, cal = used("zero"), used("calibrated")
    print(f"\nfraction of units that fired: zero {zero}, calibrated {cal}")
    for L in ("dg", "ca3", "ca1"):
        assert cal[L] > zero[L], L
    assert cal["dg"] >= 2.0 * zero["dg"]
