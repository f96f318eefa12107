"""The loop's layers: local inhibition (k-WTA, E%-max, none) and dense/sparse propagation.

Weights are stored in the layout each pathway uses fastest (see :class:`NetworkState`); the
public orientation ``(n_post, n_pre)`` is produced by :meth:`Simulator.weights`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
from numba import njit
from numpy.typing import NDArray

#: Sparsity modes (the integer codes used inside the kernels).
SPARSITY_CODES: dict[str, int] = {"kwta": 0, "emax": 1, "none": 2}


#: Layers at least this large select their k-th largest through a sample (:func:`kth_largest`).
SAMPLED_SELECT_MIN = 512


@njit(cache=True, nogil=True)
def kth_largest(a: NDArray[np.float32], n: int, k: int, scratch: NDArray[np.float32]) -> float:
    """The k-th largest (1-based) of ``a[:n]`` (no allocation; ``scratch`` holds ``n`` values).

    For a large layer and a small k (k-WTA's case) a sample of every 16th value gives a
    threshold that about 2k values reach; those are gathered without branches and the k-th
    largest is selected among them (when fewer than k reach it, among all). Any exact
    selection returns the same value; this one avoids most of quickselect's mispredicted
    branches over the whole layer."""
    if k <= 0:
        return np.inf
    if k > n:
        return -np.inf
    if n >= SAMPLED_SELECT_MIN and 8 * k <= n:
        ns = 0
        for i in range(0, n, 16):
            scratch[ns] = a[i]
            ns += 1
        ks = min(ns, (2 * k * ns) // n + 2)
        t = _select(scratch, ns, ks - 1)
        c = 0
        for i in range(n):
            v = a[i]
            scratch[c] = v
            c += 1 if v >= t else 0
        if c >= k:  # the k largest are all >= t
            return _select(scratch, c, k - 1)
    for i in range(n):
        scratch[i] = a[i]
    return _select(scratch, n, k - 1)


@njit(cache=True, nogil=True)
def _select(scratch: NDArray[np.float32], n: int, target: int) -> float:
    # quickselect in place on scratch[:n]: the value at index ``target`` in descending order
    lo = 0
    hi = n - 1
    while lo < hi:
        mid = (lo + hi) // 2
        # median of three as pivot
        x0 = scratch[lo]
        x1 = scratch[mid]
        x2 = scratch[hi]
        if (x0 >= x1) == (x1 >= x2):
            pivot = x1
        elif (x1 >= x0) == (x0 >= x2):
            pivot = x0
        else:
            pivot = x2
        i = lo
        j = hi
        while i <= j:
            while scratch[i] > pivot:
                i += 1
            while scratch[j] < pivot:
                j -= 1
            if i <= j:
                t = scratch[i]
                scratch[i] = scratch[j]
                scratch[j] = t
                i += 1
                j -= 1
        if target <= j:
            hi = j
        elif target >= i:
            lo = i
        else:
            return float(scratch[target])
    return float(scratch[target])


def kth_largest_np(a: NDArray[np.float32], k: int) -> float:
    if k <= 0:
        return float("inf")
    if k > a.shape[0]:
        return float("-inf")
    return float(np.sort(a)[::-1][k - 1])


@njit(cache=True, nogil=True)
def sparsify(a: NDArray[np.float32], mode: int, k_frac: float, e_frac: float,
             scratch: NDArray[np.float32], active: NDArray[np.int32],
             tau: NDArray[np.int64], slot: int) -> int:
    """Local feedback inhibition of one layer, in place on ``a`` (already rectified).

    k-WTA keeps the top ``k`` units: ``h = max(0, a - a_(k+1))``; E%-max keeps units within
    ``e_frac`` of the maximum: ``h = max(0, a - (1 - E) max(a))``; ``none`` keeps ``a``.
    Writes the indices of active units to ``active`` and returns their number. ``tau[slot]``
    receives the *threshold unit* whose activity sets the inhibition level (the (k+1)-th
    largest for k-WTA, the largest for E%-max; -1 when the level is 0 or there is none): the
    error pathway gives it the gradient of that level (:func:`threshold_unit_np`).
    """
    n = a.shape[0]
    thr = 0.0
    tau[slot] = -1
    if mode == 0:
        k = max(1, int(round(k_frac * n)))  # noqa: RUF046 (numba's round may be a float)
        thr = max(0.0, kth_largest(a, n, k + 1, scratch))
    elif mode == 1:
        mx = 0.0
        for i in range(n):
            if a[i] > mx:
                mx = a[i]
                tau[slot] = i
        thr = (1.0 - e_frac) * mx
    m = 0
    for i in range(n):
        v = a[i] - thr
        if v > 0.0:
            a[i] = v
            active[m] = i
            m += 1
        else:
            if mode == 0 and thr > 0.0 and tau[slot] < 0 and a[i] == thr:
                tau[slot] = i
            a[i] = 0.0
    return m


def sparsify_np(a: NDArray[np.float32], mode: int, k_frac: float,
                e_frac: float) -> NDArray[np.float32]:
    a = np.asarray(a, dtype=np.float32)
    if mode == 0:
        k = max(1, round(k_frac * a.shape[0]))
        thr = max(0.0, kth_largest_np(a, k + 1))
    elif mode == 1:
        thr = (1.0 - e_frac) * max(0.0, float(a.max()))
    else:
        thr = 0.0
    v = a.astype(np.float64) - thr  # as the kernel: float32 activity minus a float64 level
    return np.where(v > 0, v, 0.0).astype(np.float32)


def hidden_layer_np(pre: NDArray[np.float64], th: NDArray[np.float32], mode: str, k_frac: float,
                    e_frac: float) -> NDArray[np.float32]:
    """A hidden layer's activity from its pre-activation (NumPy, as the kernel): subtract the
    adaptive thresholds, rectify, then local inhibition. ``pre (n,)`` or ``(p, n)`` (one row
    per place or step)."""
    a = np.maximum(pre - th, 0.0).astype(np.float32)
    code = SPARSITY_CODES[mode]
    if a.ndim == 1:
        return sparsify_np(a, code, k_frac, e_frac)
    return np.array([sparsify_np(row, code, k_frac, e_frac) for row in a], dtype=np.float32)


def threshold_unit_np(a: NDArray[np.float32], mode: int, k_frac: float,
                      e_frac: float) -> tuple[int, float]:
    """The unit whose activity sets a layer's inhibition level, and d level / d its activity.

    ``a`` is the rectified activity before local inhibition. k-WTA subtracts
    ``a_(k+1)`` from every winner: the (k+1)-th unit, coefficient 1. E%-max subtracts
    ``(1 - E) max(a)``: the largest unit, coefficient ``1 - E``. Returns ``(-1, 0.0)`` when the
    level is 0 (fewer than k+1 units above threshold) or the layer has no inhibition. So the
    exact gradient of the layer at that unit's pre-activation is its own error minus
    ``coefficient`` times the summed error of the winners.
    """
    a = np.asarray(a, dtype=np.float32)
    if mode == 0:
        k = max(1, round(k_frac * a.shape[0]))
        thr = kth_largest_np(a, k + 1)
        if not thr > 0.0:
            return -1, 0.0
        return int(np.flatnonzero(a == np.float32(thr))[0]), 1.0
    if mode == 1 and float(a.max()) > 0.0:
        return int(np.argmax(a)), 1.0 - e_frac
    return -1, 0.0


@njit(cache=True, nogil=True, fastmath=True)
def sparse_forward(wt: NDArray[np.float32], h: NDArray[np.float32], active: NDArray[np.int32],
                   n_active: int, b: NDArray[np.float32], out: NDArray[np.float32]) -> None:
    """``out = wt.T @ h + b`` for an input-major ``wt (n_in, n_out)`` and sparse ``h``."""
    n_out = wt.shape[1]
    for i in range(n_out):
        out[i] = b[i]
    for q in range(n_active):
        j = active[q]
        hj = h[j]
        row = wt[j]
        for i in range(n_out):
            out[i] += hj * row[i]


#: Steps of one tile of :func:`block_forward` (a block's last tile is padded to it).
TILE_STEPS = 4


def tile_rows(nb: int) -> int:
    """Rows of ``xb`` / ``out`` that :func:`block_forward` reads and writes for ``nb`` steps."""
    return (nb + TILE_STEPS - 1) // TILE_STEPS * TILE_STEPS


@njit(cache=True, nogil=True, fastmath=True)
def block_forward(w: NDArray[np.float32], xb: NDArray[np.float32], nb: int,
                  b: NDArray[np.float32], out: NDArray[np.float32]) -> None:
    """``out[s] = w @ xb[s] + b`` for the first ``nb`` rows of ``xb``: a matrix product by
    register tiles of 4 output units by 4 steps, so each weight and input read from memory
    serves four multiply-adds.

    The last tile is padded: rows ``nb`` up to :func:`tile_rows` ``(nb)`` of ``xb`` are read
    (whatever they hold) and those rows of ``out`` are written with what is to be ignored, so
    ``xb`` and ``out`` need that many rows. Every step is computed by the same tile code
    whatever its place in the block and the block's size, so an output's bits do not depend
    on how a run is cut into blocks (the simulator's chunk-invariance rests on it)."""
    n_out, n_in = w.shape
    ns = (nb + 3) // 4 * 4
    n4 = n_out - n_out % 4
    for i0 in range(0, n4, 4):
        r0 = w[i0]
        r1 = w[i0 + 1]
        r2 = w[i0 + 2]
        r3 = w[i0 + 3]
        for s0 in range(0, ns, 4):
            x0 = xb[s0]
            x1 = xb[s0 + 1]
            x2 = xb[s0 + 2]
            x3 = xb[s0 + 3]
            a00 = a01 = a02 = a03 = np.float32(0.0)
            a10 = a11 = a12 = a13 = np.float32(0.0)
            a20 = a21 = a22 = a23 = np.float32(0.0)
            a30 = a31 = a32 = a33 = np.float32(0.0)
            for k in range(n_in):
                w0 = r0[k]
                w1 = r1[k]
                w2 = r2[k]
                w3 = r3[k]
                y0 = x0[k]
                y1 = x1[k]
                y2 = x2[k]
                y3 = x3[k]
                a00 += w0 * y0
                a01 += w0 * y1
                a02 += w0 * y2
                a03 += w0 * y3
                a10 += w1 * y0
                a11 += w1 * y1
                a12 += w1 * y2
                a13 += w1 * y3
                a20 += w2 * y0
                a21 += w2 * y1
                a22 += w2 * y2
                a23 += w2 * y3
                a30 += w3 * y0
                a31 += w3 * y1
                a32 += w3 * y2
                a33 += w3 * y3
            c0 = b[i0]
            c1 = b[i0 + 1]
            c2 = b[i0 + 2]
            c3 = b[i0 + 3]
            out[s0, i0] = a00 + c0
            out[s0 + 1, i0] = a01 + c0
            out[s0 + 2, i0] = a02 + c0
            out[s0 + 3, i0] = a03 + c0
            out[s0, i0 + 1] = a10 + c1
            out[s0 + 1, i0 + 1] = a11 + c1
            out[s0 + 2, i0 + 1] = a12 + c1
            out[s0 + 3, i0 + 1] = a13 + c1
            out[s0, i0 + 2] = a20 + c2
            out[s0 + 1, i0 + 2] = a21 + c2
            out[s0 + 2, i0 + 2] = a22 + c2
            out[s0 + 3, i0 + 2] = a23 + c2
            out[s0, i0 + 3] = a30 + c3
            out[s0 + 1, i0 + 3] = a31 + c3
            out[s0 + 2, i0 + 3] = a32 + c3
            out[s0 + 3, i0 + 3] = a33 + c3
    for i in range(n4, n_out):  # the last n_out % 4 units (always the same ones), 1 x 4 tiles
        r = w[i]
        for s0 in range(0, ns, 4):
            x0 = xb[s0]
            x1 = xb[s0 + 1]
            x2 = xb[s0 + 2]
            x3 = xb[s0 + 3]
            a0 = a1 = a2 = a3 = np.float32(0.0)
            for k in range(n_in):
                wk = r[k]
                a0 += wk * x0[k]
                a1 += wk * x1[k]
                a2 += wk * x2[k]
                a3 += wk * x3[k]
            out[s0, i] = a0 + b[i]
            out[s0 + 1, i] = a1 + b[i]
            out[s0 + 2, i] = a2 + b[i]
            out[s0 + 3, i] = a3 + b[i]


def dense_forward_np(w: NDArray[np.float32], x: NDArray[np.float32],
                     b: NDArray[np.float32]) -> NDArray[np.float32]:
    """NumPy twin of one step of :func:`block_forward`: ``w @ x + b``."""
    return np.asarray(w @ x + b, dtype=np.float32)


def sparse_forward_np(wt: NDArray[np.float32], h: NDArray[np.float32],
                      b: NDArray[np.float32]) -> NDArray[np.float32]:
    return np.asarray(wt.T @ h + b, dtype=np.float32)


@njit(cache=True, nogil=True)
def sigmoid(z: float) -> float:
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


# ---- state -----------------------------------------------------------------------------------
@dataclass
class NetworkState:
    """Weights, biases, thresholds and optimiser state of the loop.

    Attributes
    ----------
    w_ec_dg : (n_dg, n_ec) float32
        EC -> DG, output-major (dense input).
    wt_dg_ca3 : (n_dg, n_ca3) float32
        DG -> CA3, input-major (sparse input).
    wt_ca3_ca1 : (n_ca3, n_ca1) float32
    w_ec_ca1 : (n_ca1, n_ec) float32
        EC III -> CA1 shortcut, output-major.
    wt_ca1_out : (n_ca1, n_ec) float32
        CA1 -> EC deep layers, input-major.
    b_dg, b_ca3, b_ca1, b_out : float32 biases.
    ft_dg_ca3, ft_ca3_ca1, ft_ca1_out : fixed random feedback (alignment mode), same layouts.
    th_dg, th_ca3, th_ca1 : adaptive thresholds (homeostasis).
    w_ca3_ca3 : (n_ca3, n_ca3) float32
        CA3 recurrent collaterals, output-major (Hebbian; zero until they learn).
    w_obj_ca1 : (n_ca1, n_obj) float32
        LEC object cells -> CA1, output-major (Hebbian; zero until they learn).
    """

    w_ec_dg: NDArray[np.float32]
    wt_dg_ca3: NDArray[np.float32]
    wt_ca3_ca1: NDArray[np.float32]
    w_ec_ca1: NDArray[np.float32]
    wt_ca1_out: NDArray[np.float32]
    b_dg: NDArray[np.float32]
    b_ca3: NDArray[np.float32]
    b_ca1: NDArray[np.float32]
    b_out: NDArray[np.float32]
    ft_dg_ca3: NDArray[np.float32]
    ft_ca3_ca1: NDArray[np.float32]
    ft_ca1_out: NDArray[np.float32]
    th_dg: NDArray[np.float32]
    th_ca3: NDArray[np.float32]
    th_ca1: NDArray[np.float32]
    w_ca3_ca3: NDArray[np.float32]
    w_obj_ca1: NDArray[np.float32]

    def params_tuple(self) -> tuple[NDArray[np.float32], ...]:
        """The learned arrays in kernel order (weights then biases)."""
        return (self.w_ec_dg, self.wt_dg_ca3, self.wt_ca3_ca1, self.w_ec_ca1, self.wt_ca1_out,
                self.b_dg, self.b_ca3, self.b_ca1, self.b_out)

    def arrays(self) -> dict[str, NDArray[np.float32]]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def homeostasis_scale(n_dg: int, n_ca3: int, n_ca1: int, spread_ca1: float,
                      seed: int) -> NDArray[np.float64]:
    """Each hidden unit's factor on its layer's homeostatic target, in the kernel's order
    (DG, CA3, CA1): 1 everywhere, except CA1 with ``spread_ca1`` > 0, where the factors are
    log-normal, ``exp(s z - s^2 / 2)`` with ``z ~ N(0, 1)`` per unit (their own random stream,
    so the rest of the network is the same draw), scaled to mean 1, capped at 8 and scaled to
    mean 1 again (``network.excitability_spread_ca1``)."""
    out = np.ones(n_dg + n_ca3 + n_ca1, dtype=np.float64)
    if spread_ca1 > 0.0 and n_ca1 > 0:
        z = np.random.default_rng([seed, 11]).standard_normal(n_ca1)
        f = np.exp(spread_ca1 * z - spread_ca1**2 / 2)
        f = np.minimum(f / f.mean(), 8.0)
        out[n_dg + n_ca3:] = f / f.mean()
    return out


def init_network(n_ec: int, n_dg: int, n_ca3: int, n_ca1: int, scale: float,
                 rng: np.random.Generator, n_obj: int = 0) -> NetworkState:
    """Random initial weights ``N(0, scale^2 / fan_in)``, zero biases and thresholds; the
    Hebbian projections (CA3 collaterals, ``n_obj`` LEC object cells -> CA1) start at zero."""

    def w(shape: tuple[int, int], fan_in: int) -> NDArray[np.float32]:
        return np.ascontiguousarray(
            (rng.standard_normal(shape) * (scale / math.sqrt(fan_in))).astype(np.float32))

    def z(n: int) -> NDArray[np.float32]:
        return np.zeros(n, dtype=np.float32)

    return NetworkState(
        w_ec_dg=w((n_dg, n_ec), n_ec), wt_dg_ca3=w((n_dg, n_ca3), n_dg),
        wt_ca3_ca1=w((n_ca3, n_ca1), n_ca3), w_ec_ca1=w((n_ca1, n_ec), n_ec),
        wt_ca1_out=w((n_ca1, n_ec), n_ca1),
        b_dg=z(n_dg), b_ca3=z(n_ca3), b_ca1=z(n_ca1), b_out=z(n_ec),
        ft_dg_ca3=w((n_dg, n_ca3), n_dg), ft_ca3_ca1=w((n_ca3, n_ca1), n_ca3),
        ft_ca1_out=w((n_ca1, n_ec), n_ca1),
        th_dg=z(n_dg), th_ca3=z(n_ca3), th_ca1=z(n_ca1),
        w_ca3_ca3=np.zeros((n_ca3, n_ca3), np.float32),
        w_obj_ca1=np.zeros((n_ca1, n_obj), np.float32))
