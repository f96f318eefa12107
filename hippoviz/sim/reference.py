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
    threshold_units: tuple[int, int, int] = (-1, -1, -1)


def relax_thresholds_np(th: F32, r: float) -> F32:
    """A layer's thresholds moved towards their mean by the fraction ``r`` (twin of the
    kernel's ``relax_thresholds``)."""
    t = th.astype(np.float64)
    out: F32 = (t - r * (t - t.mean())).astype(np.float32)
    return out


def _drive_spread(z: NDArray[np.float64]) -> tuple[NDArray[np.float64], float]:
    """The drive as the kernel holds it (float32) and its mean absolute deviation."""
    z32 = z.astype(np.float32).astype(np.float64)
    return z32, float(np.mean(np.abs(z32 - z32.mean())))


def recurrent_drive_np(z: NDArray[np.float64], w: F32, prev: F32,
                       gain: float) -> NDArray[np.float64]:
    """CA3's feed-forward drive ``z`` plus its recurrent collaterals (twin of the kernel's).

    ``z + gain * s * (W p) / sum(p)``: ``p`` the previous step's CA3 activity, ``s`` the mean
    absolute deviation of ``z`` over the layer (so the gain is in units of the feed-forward
    drive's spread, whatever the scale of the weights).
    """
    z32, s = _drive_spread(z)
    tot = float(prev[prev > 0].astype(np.float64).sum())
    if gain <= 0 or tot <= 0 or s <= 0:
        return z32
    out: NDArray[np.float64] = z32 + gain * s / tot * (w.astype(np.float64) @ prev)
    return out


def recurrent_learn_np(w: F32, h: F32, lr: float) -> F32:
    """The instar rule of the CA3 collaterals (twin of the kernel's): each active unit ``i``
    moves its incoming weights towards the layer's activity, ``w_i += min(1, lr h_i) (h - w_i)``,
    with no self-connection."""
    w64 = w.astype(np.float64)
    for i in np.flatnonzero(h > 0):
        a = min(1.0, lr * float(h[i]))
        w64[i] += a * (h.astype(np.float64) - w64[i])
        w64[i, i] = 0.0
    return w64.astype(np.float32)


def novelty_trace_step_np(nov: NDArray[np.float64], dt: float, tau: float, obj_hold: float,
                          obj_nov: NDArray[np.float64],
                          obj_on: NDArray[np.bool_]) -> NDArray[np.float64]:
    """The neuromodulatory trace's step (twin of the kernel's ``novelty_trace_step``; returns
    the new ``nov`` instead of changing it): once its hold has run out the trace decays with
    ``tau``; the novelty of an object present holds it up, and holds it ``obj_hold`` s more."""
    out = nov.copy()
    trace, left = float(nov[2]), float(nov[3]) - dt
    if left < 0:
        left = 0.0
        trace *= np.exp(-dt / tau) if tau > 0 else 0.0
    present = obj_nov[obj_on]
    drive = float(present.max()) if present.size else 0.0
    if drive > 0 and drive >= trace:
        trace, left = drive, max(left, obj_hold)
    out[2], out[3] = trace, left
    return out


def object_drive_np(z: NDArray[np.float64], w: F32, x_obj: F32,
                    gain: float) -> NDArray[np.float64]:
    """CA1's feed-forward drive ``z`` plus the Hebbian LEC object-cell input (twin of the
    kernel's ``_object_drive``): ``z + gain * s * (W x_obj)``, ``s`` the mean absolute deviation
    of ``z`` over the layer; ``z`` unchanged while no object cell fires."""
    z32, s = _drive_spread(z)
    if gain <= 0 or float(x_obj.astype(np.float64).sum()) <= 0 or s <= 0:
        return z32
    out: NDArray[np.float64] = z32 + gain * s * (w.astype(np.float64) @ x_obj.astype(np.float64))
    return out


def object_learn_np(w: F32, h: F32, x_obj: F32, lr: float) -> F32:
    """The instar rule of the LEC object cells -> CA1 synapses (twin of the kernel's): each
    active CA1 unit ``l`` moves its object weights towards the object cells' input,
    ``w_l += min(1, lr h_l) (x_obj - w_l)``."""
    w64 = w.astype(np.float64)
    for i in np.flatnonzero(h > 0):
        a = min(1.0, lr * float(h[i]))
        w64[i] += a * (x_obj.astype(np.float64) - w64[i])
    return w64.astype(np.float32)


def loop_step_np(x: F32, xin: F32, net: NetworkState, params: Params,
                 ipstat: NDArray[np.float64] | None = None, ip_rate: float = 0.0,
                 prev_ca3: F32 | None = None) -> StepResult:
    """One step of the loop for target ``x`` and (possibly noisy/gated) input ``xin``.

    With intrinsic plasticity (``network.intrinsic_plasticity_s > 0``), ``ipstat (2,
    n_hidden)`` holds each hidden unit's running mean and variance before the step; they move
    by ``ip_rate`` (dt / time constant while learning, 0 when frozen) and are not changed here.

    With CA3 recurrent collaterals (``network.ca3_recurrent_gain > 0``), ``prev_ca3`` is the
    previous step's CA3 activity; its recurrent drive is an input like the bias (no gradient
    flows through it: the collaterals learn by their own Hebbian rule).

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
    ip_on = n.intrinsic_plasticity_s > 0 and ipstat is not None
    offs = {"dg": 0, "ca3": n.n_dg, "ca1": n.n_dg + n.n_ca3}

    def standardise(pre: NDArray[np.float64], L: str) -> tuple[NDArray[np.float64],
                                                                 NDArray[np.float64]]:
        # the pre-activation in units of the unit's running mean and sd (and 1 / sd)
        if not ip_on:
            return pre, np.ones_like(pre)
        assert ipstat is not None
        sl = slice(offs[L], offs[L] + pre.shape[0])
        pre32 = pre.astype(np.float32).astype(np.float64)  # the kernel holds it in float32
        mu, var = ipstat[0, sl].copy(), ipstat[1, sl].copy()
        dm = pre32 - mu
        mu = mu + ip_rate * dm
        var = var + ip_rate * (dm * (pre32 - mu) - var)
        inv = 1.0 / np.sqrt(var + 1e-6)
        return (pre32 - mu) * inv, inv

    def layer(pre: NDArray[np.float64], th: F32, mode: str, k: float,
              e: float) -> tuple[F32, int, float]:
        # the activity, and the threshold unit with its coefficient (see threshold_unit_np)
        a = np.maximum(pre - th, 0.0).astype(np.float32)
        tau, coef = threshold_unit_np(a, SPARSITY_CODES[mode], k, e)
        return hidden_layer_np(pre, th, mode, k, e), tau, coef

    dn = n.divisive_normalisation

    def normalise(h: F32) -> tuple[F32, float]:
        # divisive normalisation: active activities over their mean
        if not dn or not (h > 0).any():
            return h, 1.0
        mean = float(h[h > 0].astype(np.float64).mean())
        return (h.astype(np.float64) / mean).astype(np.float32), mean

    def normalise_error(d: NDArray[np.float64], hn: F32, mean: float) -> NDArray[np.float64]:
        # exact gradient through h / mean(h) on the winners
        if not dn or not (hn > 0).any():
            return d
        w = hn > 0
        s = float(np.sum(d[w] * hn[w])) / int(w.sum())
        return np.where(w, (d - s) / mean, d)

    def inhibition(d: NDArray[np.float64], tau: int, coef: float) -> NDArray[np.float64]:
        # exact gradient of the inhibition level: minus coef times the winners' summed error
        if exact and tau >= 0:
            d = d.copy()
            d[tau] -= coef * d.sum()
        return d

    z1, i1 = standardise(w1 @ xin + net.b_dg, "dg")
    h1, t1, c1 = layer(z1, net.th_dg, n.sparsity_dg, n.k_dg, n.e_dg)
    h1, n1 = normalise(h1)
    z2 = w2 @ h1 + net.b_ca3
    if n.ca3_recurrent_gain > 0 and prev_ca3 is not None:
        z2 = recurrent_drive_np(z2, net.w_ca3_ca3, prev_ca3, n.ca3_recurrent_gain)
    z2, i2 = standardise(z2, "ca3")
    h2, t2, c2 = layer(z2, net.th_ca3, n.sparsity_ca3, n.k_ca3, n.e_ca3)
    h2, n2 = normalise(h2)
    z3 = w3 @ h2 + net.b_ca1 + ip.gamma_ta * (wta @ xin)
    if n.object_ca1_gain > 0:  # LEC object cells -> CA1 (Hebbian: no gradient through it)
        n_obj = net.w_obj_ca1.shape[1]
        z3 = object_drive_np(z3, net.w_obj_ca1, xin[xin.shape[0] - n_obj:], n.object_ca1_gain)
    z3, i3 = standardise(z3, "ca1")
    h3, t3, c3 = layer(z3, net.th_ca1, n.sparsity_ca1, n.k_ca1, n.e_ca1)
    h3, n3 = normalise(h3)
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
    d3 = inhibition(normalise_error(d3, h3, n3), t3, c3) * i3
    d2 = lp.g_ca1_ca3 * (b3 @ d3) * (h2 > 0)
    if n.sparsity_ca3 == "none":
        d2 = d2 + n.l1 * (h2 > 0)
    d2 = inhibition(normalise_error(d2, h2, n2), t2, c2) * i2
    d1 = lp.g_ca3_dg * (b2 @ d2) * (h1 > 0)
    if n.sparsity_dg == "none":
        d1 = d1 + n.l1 * (h1 > 0)
    d1 = inhibition(normalise_error(d1, h1, n1), t1, c1) * i1
    # competitive learning (learning.competitive_*): a Hebbian term between co-active
    # winners, on the same descent as the error's
    grads = {
        "ec_dg": np.outer(d1 - lp.competitive_dg * h1, xin),
        "dg_ca3": np.outer(d2, h1) - lp.competitive_ca3 * np.outer(h2, h1),
        "ca3_ca1": np.outer(d3, h2),
        "ec_ca1": np.outer(ip.gamma_ta * d3, xin), "ca1_out": np.outer(d4, h3),
        "b_dg": d1, "b_ca3": d2, "b_ca1": d3, "b_out": d4,
    }
    return StepResult(h1, h2, h3, xhat.astype(np.float32),
                      {"out": d4, "ca1": d3, "ca3": d2, "dg": d1}, grads, (t1, t2, t3))
