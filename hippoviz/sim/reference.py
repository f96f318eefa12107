"""NumPy reference of one step of the loop (the twin of the network part of ``run_steps``).

Readable rather than fast: forward pass with local inhibition, the entorhinal mismatch and the
countercurrent error pathway, exactly as MODEL.md writes them. Tests compare the kernel with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hippoviz.params import Params
from hippoviz.sim.network import NetworkState, hidden_layer_np

F32 = NDArray[np.float32]


@dataclass
class StepResult:
    h_dg: F32
    h_ca3: F32
    h_ca1: F32
    x_hat: F32
    delta: dict[str, NDArray[np.float64]]
    grads: dict[str, NDArray[np.float64]]


def loop_step_np(x: F32, xin: F32, net: NetworkState, params: Params) -> StepResult:
    """One step of the loop for target ``x`` and (possibly noisy/gated) input ``xin``.

    Gradients are returned in the public orientation ``(n_post, n_pre)``:
    ``dW_l = delta_l h_{l-1}^T`` (to be scaled by ``-lr``).
    """
    n, lp, ip = params.network, params.learning, params.inputs

    w1 = net.w_ec_dg.astype(np.float64)
    w2 = net.wt_dg_ca3.T.astype(np.float64)
    w3 = net.wt_ca3_ca1.T.astype(np.float64)
    wta = net.w_ec_ca1.astype(np.float64)
    w4 = net.wt_ca1_out.T.astype(np.float64)
    h1 = hidden_layer_np(w1 @ xin + net.b_dg, net.th_dg, n.sparsity_dg, n.k_dg, n.e_dg)
    h2 = hidden_layer_np(w2 @ h1 + net.b_ca3, net.th_ca3, n.sparsity_ca3, n.k_ca3, n.e_ca3)
    pre3 = w3 @ h2 + net.b_ca1 + ip.gamma_ta * (wta @ xin)
    h3 = hidden_layer_np(pre3, net.th_ca1, n.sparsity_ca1, n.k_ca1, n.e_ca1)
    xhat = 1.0 / (1.0 + np.exp(-(w4 @ h3 + net.b_out)))
    e = x - xhat
    d4 = -e * xhat * (1 - xhat)
    align = lp.feedback == "alignment"
    b4 = net.ft_ca1_out if align else net.wt_ca1_out  # (n_ca1, n_ec): rows = receivers
    b3 = net.ft_ca3_ca1 if align else net.wt_ca3_ca1
    b2 = net.ft_dg_ca3 if align else net.wt_dg_ca3
    d3 = lp.g_ec_ca1 * (b4 @ d4) * (h3 > 0)
    if n.sparsity_ca1 == "none":
        d3 = d3 + n.l1 * (h3 > 0)
    d2 = lp.g_ca1_ca3 * (b3 @ d3) * (h2 > 0)
    if n.sparsity_ca3 == "none":
        d2 = d2 + n.l1 * (h2 > 0)
    d1 = lp.g_ca3_dg * (b2 @ d2) * (h1 > 0)
    if n.sparsity_dg == "none":
        d1 = d1 + n.l1 * (h1 > 0)
    grads = {
        "ec_dg": np.outer(d1, xin), "dg_ca3": np.outer(d2, h1), "ca3_ca1": np.outer(d3, h2),
        "ec_ca1": np.outer(ip.gamma_ta * d3, xin), "ca1_out": np.outer(d4, h3),
        "b_dg": d1, "b_ca3": d2, "b_ca1": d3, "b_out": d4,
    }
    return StepResult(h1, h2, h3, xhat.astype(np.float32),
                      {"out": d4, "ca1": d3, "ca3": d2, "dg": d1}, grads)
