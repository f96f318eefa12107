"""Initial thresholds of a settled homeostasis (NumPy; run once when a simulator is built).

With every threshold at zero, which hidden units win the local competition at first depends on
the random draw of their weights: some units win nearly everywhere, many never, and the slow
homeostasis takes tens of minutes to even them out while learning trains only the winners. A
rat's hippocampus has had its whole life to settle its excitability, so with
``network.threshold_init = "calibrated"`` each unit's threshold starts where that unit would be
above it in a fraction k (the layer's target) of the arena it starts in: the ``(1 - k)``
quantile of its pre-activation over a lattice of places, layer by layer (DG first, then CA3
from the thresholded DG, then CA1).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from hippoviz.params import Params
from hippoviz.sim.arena import Arena, _radius, wall_distances_np
from hippoviz.sim.inputs import (
    border_rates_np,
    grid_rates_np,
    lec_context_rates_np,
    object_rates_np,
)
from hippoviz.sim.network import NetworkState, hidden_layer_np

#: Spacing of the lattice of places the thresholds are calibrated on.
CALIBRATION_SPACING_M = 0.025


def lattice(arena: Arena, spacing_m: float = CALIBRATION_SPACING_M) -> NDArray[np.float64]:
    """Centres of a square lattice of bins inside the arena, ``(n, 2)`` metres."""
    xmin, xmax, ymin, ymax = arena.bounds
    xs = np.arange(xmin + spacing_m / 2, xmax, spacing_m)
    ys = np.arange(ymin + spacing_m / 2, ymax, spacing_m)
    gx, gy = np.meshgrid(xs, ys)
    pts = np.stack([gx.ravel(), gy.ravel()], axis=1)
    r = np.hypot(pts[:, 0], pts[:, 1])
    edge = _radius(np.arctan2(pts[:, 1], pts[:, 0]), arena.width_m / 2, arena.height_m / 2,
                   arena.shape_morph)
    return np.ascontiguousarray(pts[(r == 0.0) | (r < edge)])


def ec_inputs(params: Params, arena: Arena, positions: NDArray[np.float64],
              grid_k: NDArray[np.float64], grid_phi: NDArray[np.float64],
              border_prefs: NDArray[np.float64],
              border_widths: NDArray[np.float64], maps_a: NDArray[np.float32],
              maps_b: NDArray[np.float32], switch_at: NDArray[np.float64],
              obj_pos: NDArray[np.float64], obj_on: NDArray[np.bool_],
              obj_vec: NDArray[np.float64]) -> NDArray[np.float64]:
    """The noiseless entorhinal vector ``x`` at each position, ``(n, n_ec)``: the same inputs
    and gains as the kernel (grid, border and boundary-vector, LEC context, LEC objects), from
    the NumPy twins of the input kernels (tests compare it with the kernel's own ``x``)."""
    ip = params.inputs
    px, py = positions[:, 0], positions[:, 1]
    grid = grid_rates_np(px, py, grid_k, grid_phi)
    border = border_rates_np(wall_distances_np(px, py, arena.segments, arena.seg_wall),
                             border_prefs, border_widths)
    ctx = np.array([lec_context_rates_np(x, y, arena.width_m, arena.height_m, maps_a, maps_b,
                                         switch_at, ip.context_morph, ip.morph_mode == "blend")
                    for x, y in positions]).reshape(len(positions), -1)
    obj = object_rates_np(px, py, obj_pos, obj_on, obj_vec, ip.object_sigma_m)
    return np.concatenate([ip.gamma_mec * grid, ip.gamma_border * border, ip.gamma_lec * ctx,
                           ip.gamma_lec * ip.gamma_object * obj], axis=1)


def calibrate_thresholds(net: NetworkState, x: NDArray[np.float64], params: Params,
                         layers: tuple[str, ...] = ("dg", "ca3", "ca1")) -> None:
    """Set ``net``'s thresholds in place so that each hidden unit's pre-activation exceeds its
    threshold at a fraction ``k`` of the places whose inputs are the rows of ``x``.

    Only the thresholds of ``layers`` are set; a layer not named keeps its own, through which
    the layers after it are read. The EC -> CA1 shortcut (``gamma_ta``) is included in CA1's
    pre-activation, as in the kernel.
    """
    n = params.network
    a1 = x @ net.w_ec_dg.T.astype(np.float64) + net.b_dg
    if "dg" in layers:
        net.th_dg[:] = np.quantile(a1, 1.0 - n.k_dg, axis=0)
    h1 = hidden_layer_np(a1, net.th_dg, n.sparsity_dg, n.k_dg, n.e_dg)
    a2 = h1.astype(np.float64) @ net.wt_dg_ca3 + net.b_ca3
    if "ca3" in layers:
        net.th_ca3[:] = np.quantile(a2, 1.0 - n.k_ca3, axis=0)
    if "ca1" not in layers:
        return
    h2 = hidden_layer_np(a2, net.th_ca3, n.sparsity_ca3, n.k_ca3, n.e_ca3)
    a3 = h2.astype(np.float64) @ net.wt_ca3_ca1 + net.b_ca1
    if params.inputs.gamma_ta > 0.0:
        a3 = a3 + params.inputs.gamma_ta * (x @ net.w_ec_ca1.T.astype(np.float64))
    net.th_ca1[:] = np.quantile(a3, 1.0 - n.k_ca1, axis=0)
