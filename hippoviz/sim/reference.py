"""NumPy reference of one step of the loop (the twin of the network part of ``run_steps``).

Readable rather than fast: forward pass with local inhibition, the entorhinal mismatch and the
countercurrent error pathway, exactly as docs/model.md writes them, with the exact gradient of
each layer's local inhibition (``network.inhibition_gradient``). Tests compare the kernel with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hippoviz.params import Params
from hippoviz.sim.network import (
    SPARSITY_CODES,
    NetworkState,
    hidden_layer_np,
    threshold_unit_np,
)

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
    exact = n.inhibition_gradient == "exact"

    def layer(pre: NDArray[np.float64], th: F32, mode: str, k: float,
              e: float) -> tuple[F32, int, float]:
        # the activity, and the threshold unit with its coefficient (see threshold_unit_np)
        a = np.maximum(pre - th, 0.0).astype(np.float32)
        tau, coef = threshold_unit_np(a, SPARSITY_CODES[mode], k, e)
        return hidden_layer_np(pre, th, mode, k, e), tau, coef

    def inhibition(d: NDArray[np.float64], tau: int, coef: float) -> NDArray[np.float64]:
        # exact gradient of the inhibition level: minus coef times the winners' summed error
        if exact and tau >= 0:
            d = d.copy()
            d[tau] -= coef * d.sum()
        return d

    h1, t1, c1 = layer(w1 @ xin + net.b_dg, net.th_dg, n.sparsity_dg, n.k_dg, n.e_dg)
    h2, t2, c2 = layer(w2 @ h1 + net.b_ca3, net.th_ca3, n.sparsity_ca3, n.k_ca3, n.e_ca3)
    pre3 = w3 @ h2 + net.b_ca1 + ip.gamma_ta * (wta @ xin)
    h3, t3, c3 = layer(pre3, net.th_ca1, n.sparsity_ca1, n.k_ca1, n.e_ca1)
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
    d3 = inhibition(d3, t3, c3)
    d2 = lp.g_ca1_ca3 * (b3 @ d3) * (h2 > 0)
    if n.sparsity_ca3 == "none":
        d2 = d2 + n.l1 * (h2 > 0)
    d2 = inhibition(d2, t2, c2)
    d1 = lp.g_ca3_dg * (b2 @ d2) * (h1 > 0)
    if n.sparsity_dg == "none":
        d1 = d1 + n.l1 * (h1 > 0)
    d1 = inhibition(d1, t1, c1)
    grads = {
        "ec_dg": np.outer(d1, xin), "dg_ca3": np.outer(d2, h1), "ca3_ca1": np.outer(d3, h2),
        "ec_ca1": np.outer(ip.gamma_ta * d3, xin), "ca1_out": np.outer(d4, h3),
        "b_dg": d1, "b_ca3": d2, "b_ca1": d3, "b_out": d4,
    }
    return StepResult(h1, h2, h3, xhat.astype(np.float32),
                      {"out": d4, "ca1": d3, "ca3": d2, "dg": d1}, grads)
