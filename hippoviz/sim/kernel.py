"""The chunk kernel: ``n`` steps of rat, entorhinal input, loop, learning, spikes and rate maps
in one ``nogil`` numba call.

Live scalar parameters travel in one float64 vector ``pv`` indexed by the constants below, so a
parameter change between chunks never recompiles anything. :data:`PV_NAMES` is the vector's
layout, the kernel's own (its indices are compiled into the cached machine code, so it changes
only with this file). The simulator fills each slot from the parameter whose schema declaration
names it (``Meta.kernel`` in hippoviz/params/schema.py, converted by ``Meta.to_kernel``), or, for
:data:`DERIVED_SLOTS`, from what it derives itself; a slot that neither fills is an error when
the simulator is imported. Adding a parameter the kernel reads: declare it in the schema with
``kernel="name"``, add ``"name"`` and its index constant here, and read ``pv[NAME]``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic
from numpy.typing import NDArray

from hippoviz.sim.agent import (
    TETHER_X,
    TETHER_Y,
    agent_follow,
    agent_step,
    object_drift,
    object_habituate,
)
from hippoviz.sim.arena import wall_distances
from hippoviz.sim.inputs import (
    border_rates,
    grid_rates,
    grid_tether,
    lec_context_rates,
    object_rates,
)
from hippoviz.sim.network import block_forward, sigmoid, sparse_forward, sparsify
from hippoviz.sim.rng import normal, uniform

PV_NAMES: tuple[str, ...] = (
    "dt", "f_theta", "width", "height", "shape_morph",
    "speed_mean", "speed_tau", "rot_std", "rot_tau", "thigmotaxis", "wall_range",
    "wall_strength", "wall_model",
    "gamma_mec", "gamma_border", "gamma_lec", "gamma_ta", "sigma_in", "ctx_morph", "blend",
    "obj_sigma",
    "sp_dg", "sp_ca3", "sp_ca1", "k_dg", "k_ca3", "k_ca1", "e_dg", "e_ca3", "e_ca1", "l1",
    "wta_exact", "divnorm", "homeo", "h_kept", "ip_tau", "sigma_h", "dropout",
    "learn", "align", "adam", "momentum", "batch", "decay", "wnorm", "hbias",
    "lr_dg", "lr_ca3", "lr_ca1", "lr_out",
    "g_ec_ca1", "g_ca1_ca3", "g_ca3_dg",
    "theta_gating", "theta_depth", "enc_phase", "enc_window",
    "kappa", "rmax_grid", "rmax_lec", "rmax_dg", "rmax_ca3", "rmax_ca1", "rmax_out",
    "ph_ec", "ph_dg", "ph_ca3", "ph_ca1",
    "rm_bin", "rm_xmin", "rm_ymin", "rm_nx", "rm_ny", "rm_decay",
    "grid_sx", "grid_sy", "g_rc", "lr_rc", "nov_ca1", "obj_explore", "comp_dg", "comp_ca3",
    "exc_tau_ca3", "g_obj", "lr_obj", "nm_floor", "nm_tau", "nm_hold_obj",
    "grid_tx", "grid_ty", "tether_contact", "gamma_obj",
)
PV = {name: i for i, name in enumerate(PV_NAMES)}
#: Slots the simulator derives itself (the rate-map grid and its forgetting), not parameters.
DERIVED_SLOTS: tuple[str, ...] = ("rm_bin", "rm_xmin", "rm_ymin", "rm_nx", "rm_ny", "rm_decay",
                                  "grid_sx", "grid_sy", "grid_tx", "grid_ty")
(DT, F_THETA, WIDTH, HEIGHT, SHAPE, SPEED_MEAN, SPEED_TAU, ROT_STD, ROT_TAU, THIG, WALL_RANGE,
 WALL_STRENGTH, WALL_MODEL,
 G_MEC, G_BORDER, G_LEC, G_TA, SIGMA_IN, CTX_MORPH, BLEND, OBJ_SIGMA,
 SP_DG, SP_CA3, SP_CA1, K_DG, K_CA3, K_CA1, E_DG, E_CA3, E_CA1, L1, WTA_EXACT, DIVNORM, HOMEO,
 H_KEPT, IP_TAU, SIGMA_H, DROPOUT,
 LEARN, ALIGN, ADAM, MOMENTUM, BATCH, DECAY, WNORM, HBIAS, LR_DG, LR_CA3, LR_CA1, LR_OUT,
 GAIN_EC_CA1, GAIN_CA1_CA3, GAIN_CA3_DG,
 THETA_GATING, THETA_DEPTH, ENC_PHASE, ENC_WINDOW,
 KAPPA, RMAX_GRID, RMAX_LEC, RMAX_DG, RMAX_CA3, RMAX_CA1, RMAX_OUT,
 PH_EC, PH_DG, PH_CA3, PH_CA1,
 RM_BIN, RM_XMIN, RM_YMIN, RM_NX, RM_NY, RM_DECAY,
 GRID_SX, GRID_SY, G_RC, LR_RC, NOV_CA1, OBJ_EXPLORE, COMP_DG, COMP_CA3,
 EXC_TAU_CA3, G_OBJ, LR_OBJ, NM_FLOOR, NM_TAU, NM_HOLD_OBJ,
 GRID_TX, GRID_TY, TETHER_CONTACT, G_OBJ_IN) = range(len(PV_NAMES))

#: Columns of the per-step sample output.
SAMPLE_COLUMNS = ("t", "x", "y", "heading", "speed", "theta", "mm_total", "mm_grid",
                  "mm_border", "mm_lec", "active_dg", "active_ca3", "active_ca1")
(S_T, S_X, S_Y, S_HEADING, S_SPEED, S_THETA, S_MM_TOTAL, S_MM_GRID, S_MM_BORDER, S_MM_LEC,
 S_ACTIVE_DG, S_ACTIVE_CA3, S_ACTIVE_CA1) = range(len(SAMPLE_COLUMNS))
#: Most steps processed together in one block.
BLOCK = 32
#: Phases of a step that ``run_steps`` can time (``hippoviz bench --profile``), in order.
PROFILE_PHASES: tuple[str, ...] = (
    "rat and entorhinal input", "EC -> DG product", "forward DG -> CA3 -> CA1 -> EC",
    "mismatch and error pathway", "gradient accumulation", "weight update",
    "synaptic scaling", "homeostasis", "rates, spikes and rate maps")
(P_INPUT, P_EC_DG, P_FORWARD, P_ERROR, P_GRAD, P_UPDATE, P_SCALING, P_HOMEO,
 P_SPIKES) = range(len(PROFILE_PHASES))
#: Steps between two applications of the rate-map forgetting factor.
RM_DECAY_EVERY = 100
_TWO_PI = 2.0 * math.pi
#: Novelty (``network.novelty_disinhibition_ca1``): time constants (s) of the fast average of
#: the mismatch and of its familiar level (a slow average), and the most CA1's k may grow by.
NOV_TAU_FAST = 0.5
NOV_TAU_SLOW = 120.0
NOV_MAX_FACTOR = 3.0
#: ``nov[NOV_TRACE]``: the novelty-triggered neuromodulatory trace (``learning.plasticity_floor``)
NOV_TRACE = 2
#: ``nov[NOV_HOLD]``: the seconds for which the trace is still held before it decays
NOV_HOLD = 3


@intrinsic
def _cycles(typingctx: Any) -> Any:
    # the CPU's time-stamp counter (LLVM's readcyclecounter): a clock for the phase profile
    sig = types.int64()

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        fnty = ir.FunctionType(ir.IntType(64), [])
        fn = cgutils.get_or_insert_function(  # type: ignore[no-untyped-call]
            builder.module, fnty, "llvm.readcyclecounter")
        return builder.call(fn, [])

    return sig, codegen


@njit(cache=True, nogil=True)
def _lap(prof: NDArray[np.int64], phase: int, t_last: int) -> int:
    # add the cycles since ``t_last`` to ``phase``; returns now
    t: int = _cycles()  # type: ignore[call-arg]
    prof[phase] += t - t_last
    return t


@njit(cache=True, nogil=True)
def _spikes(rates: NDArray[np.float32], active: NDArray[np.int32], n_active: int, dense: bool,
            dt: float, t0: float, rs: NDArray[np.uint64], times: NDArray[np.float64],
            units: NDArray[np.int32], count: NDArray[np.int64], layer: int,
            acc: NDArray[np.float32], acc_off: int, bin_i: int, bin_j: int,
            wdt: float) -> None:
    # inhomogeneous Poisson (one spike per step at most): P = 1 - exp(-r dt); given a spike, the
    # same uniform places it inside the step (u / P is uniform on [0, 1)).
    n = rates.shape[0] if dense else n_active
    c = count[layer]
    for q in range(n):
        i = q if dense else active[q]
        r = rates[i]
        if r <= 0.0:
            continue
        acc[bin_i, bin_j, acc_off + i] += r * wdt
        p = 1.0 - math.exp(-r * dt)
        u = uniform(rs)
        if u < p:
            times[c] = t0 + (u / p) * dt
            units[c] = i
            c += 1
    count[layer] = c


#: Velocities below this are set to 0. A weight that stops learning keeps a velocity that
#: decays by the momentum every batch until it is a subnormal float, and arithmetic on
#: subnormals is many times slower on x86 (it cost about 12 % of a step on the default preset).
#: Adding less than 1e-30 to a weight changes it only if the weight is below ~1e-23.
_V_TINY = np.float32(1e-30)


@njit(cache=True, nogil=True, fastmath=True)
def _apply_update(w: NDArray[np.float32], g: NDArray[np.float32], v: NDArray[np.float32],
                  m2: NDArray[np.float32], lr: float, mom: float, inv_b: float, adam: bool,
                  t_adam: int, decay: float) -> None:
    # SGD with momentum (v <- mom v - lr g; w += v) or Adam (v, m2: first and second moments);
    # g is the batch's mean gradient plus the L2 term decay * w (weight decay).
    wf = w.ravel()
    gf = g.ravel()
    vf = v.ravel()
    mf = m2.ravel()
    lr32 = np.float32(lr)
    scale = np.float32(inv_b)
    lam = np.float32(decay)
    if adam:
        b1 = np.float32(0.9)
        b2 = np.float32(0.999)
        c1 = np.float32(1.0 - 0.9**t_adam)
        c2 = np.float32(1.0 - 0.999**t_adam)
        one = np.float32(1.0)
        eps = np.float32(1e-8)
        for i in range(wf.shape[0]):
            gi = gf[i] * scale + lam * wf[i]
            vf[i] = b1 * vf[i] + (one - b1) * gi
            mf[i] = b2 * mf[i] + (one - b2) * gi * gi
            wf[i] -= lr32 * (vf[i] / c1) / (np.sqrt(mf[i] / c2) + eps)
            gf[i] = 0.0
    else:
        mom32 = np.float32(mom)
        step = lr32 * scale
        zero = np.float32(0.0)
        for i in range(wf.shape[0]):
            if decay > 0.0:
                vi = mom32 * vf[i] - lr32 * (scale * gf[i] + lam * wf[i])
            else:  # without decay, the arithmetic of hippoviz 0.1 (bit for bit)
                vi = mom32 * vf[i] - step * gf[i]
            vi = vi if abs(vi) >= _V_TINY else zero  # no subnormal velocities (see _V_TINY)
            vf[i] = vi
            wf[i] += vi
            gf[i] = 0.0


@njit(cache=True, nogil=True, fastmath=True)
def _apply_update_rows(w: NDArray[np.float32], g: NDArray[np.float32], v: NDArray[np.float32],
                       lr: float, mom: float, inv_b: float, idle: NDArray[np.int64],
                       k_idle: int, decay: float, norm: float, zrow: NDArray[np.float32],
                       colsq: NDArray[np.float64]) -> None:
    # SGD with momentum over the rows of one DG unit; a row idle for k_idle batches has no
    # gradient and a velocity decayed below 1e-4 of its last value: it is zeroed once and then
    # skipped until the unit fires again (most DG units are silent most of the time). idle[j]
    # is 0 for a unit that had a gradient in this batch; the other rows' gradient is 0, so they
    # read the zero row ``zrow`` (same arithmetic, without streaming their gradient rows
    # through memory). With ``norm`` > 0 each row is then scaled to that Euclidean norm while
    # in cache (synaptic scaling, as :func:`normalise_rows` does after the update). A
    # non-empty ``colsq`` gathers the squared column sums of the updated ``w`` in the same pass
    # (:func:`column_squares`, for :func:`scale_columns`).
    lr32 = np.float32(lr)
    scale = np.float32(inv_b)
    lam = np.float32(decay)
    mom32 = np.float32(mom)
    zero = np.float32(0.0)
    cols = colsq.shape[0] > 0
    if cols:
        colsq[:] = 0.0
    for j in range(w.shape[0]):
        wr = w[j]
        if idle[j] > k_idle:
            if cols:
                _add_squares(wr, colsq)
            continue
        vr = v[j]
        if idle[j] == k_idle:
            for i in range(vr.shape[0]):
                vr[i] = 0.0
        else:
            gr = g[j] if idle[j] == 0 else zrow
            for i in range(wr.shape[0]):
                if decay > 0.0:
                    vi = mom32 * vr[i] - lr32 * (scale * gr[i] + lam * wr[i])
                else:  # without decay, the arithmetic of hippoviz 0.1 (bit for bit)
                    vi = mom32 * vr[i] - lr32 * scale * gr[i]
                vi = vi if abs(vi) >= _V_TINY else zero
                vr[i] = vi
                wr[i] += vi
                gr[i] = 0.0
        if norm > 0.0:
            _normalise_row(wr, norm)
        if cols:
            _add_squares(wr, colsq)


@njit(cache=True, nogil=True, fastmath=True)
def _add_squares(row: NDArray[np.float32], s: NDArray[np.float64]) -> None:
    for j in range(row.shape[0]):
        s[j] += row[j] * row[j]


@njit(cache=True, nogil=True)
def _add_block_rows(g: NDArray[np.float32], xb: NDArray[np.float32], ns: int,
                    on: NDArray[np.bool_], coef: NDArray[np.float32], units: NDArray[np.int64],
                    n_units: int, seen: NDArray[np.bool_]) -> None:
    # g[j] += coef[s, j] * xb[s] for each listed unit j and each of the first ns steps s with
    # on[s, j], in step order: every element receives the same products in the same order as
    # when they are added step by step (same flags as run_steps: no fastmath), but each row of g
    # is read once. Clears on, seen.
    for u in range(n_units):
        j = units[u]
        seen[j] = False
        row = g[j]
        for s in range(ns):
            if on[s, j]:
                on[s, j] = False
                c = coef[s, j]
                x = xb[s]
                for i in range(row.shape[0]):
                    row[i] += c * x[i]


@njit(cache=True, nogil=True, fastmath=True)
def _dot(a: NDArray[np.float32], b: NDArray[np.float32]) -> float:
    """``a . b`` summed in float64, vectorised (the order of the sum is the compiler's, the same
    on every call for a given length)."""
    acc = 0.0
    for i in range(a.shape[0]):
        acc += a[i] * b[i]
    return acc


@njit(cache=True, nogil=True)
def _hidden_rates(h: NDArray[np.float32], act: NDArray[np.int32], m: int,
                  href: NDArray[np.float64], k: int, peak: float,
                  out: NDArray[np.float32]) -> None:
    # r = peak tanh(h / h_ref), h_ref a slow average of the layer's active-unit activity
    if m > 0:
        mean = 0.0
        for q in range(m):
            mean += h[act[q]]
        href[k] += 0.01 * (mean / m - href[k])
    inv = 1.0 / max(href[k], 1e-9)
    for q in range(m):
        out[act[q]] = peak * math.tanh(h[act[q]] * inv)


@njit(cache=True, nogil=True)
def _back_project(bt: NDArray[np.float32], act: NDArray[np.int32], m: int,
                  act_down: NDArray[np.int32], m_down: int, d_down: NDArray[np.float32],
                  gain: float, l1: float, d: NDArray[np.float32]) -> None:
    # the error of the active units of a layer, carried back from the units of the next layer
    # that carry error (its winners and threshold unit) through ``bt`` (input-major: row =
    # this layer's unit) and scaled by the back-projection's gain
    for q in range(m):
        i = act[q]
        acc = 0.0
        row = bt[i]
        for r in range(m_down):
            k = act_down[r]
            acc += row[k] * d_down[k]
        d[i] = gain * acc + l1


@njit(cache=True, nogil=True)
def _inhibition_grad(d: NDArray[np.float32], h: NDArray[np.float32], act: NDArray[np.int32],
                     m: int, tau: int, coef: float) -> int:
    # exact gradient of the layer's local inhibition: its level is the activity of the
    # threshold unit ``tau`` times ``coef`` and is subtracted from every winner, so ``tau``
    # receives minus ``coef`` times the winners' summed error (added to its own if it is a
    # winner; appended to ``act`` after the winners if not). Returns the number of units that
    # carry error. Without this, an error shared by all winners lowers all their drives
    # together, which changes no output and nothing opposes (the layer then dies).
    if tau < 0:
        return m
    s = 0.0
    for q in range(m):
        s += d[act[q]]
    if h[tau] > 0.0:
        d[tau] -= coef * s
        return m
    act[m] = tau
    d[tau] = -coef * s
    return m + 1


@njit(cache=True, nogil=True, fastmath=True)
def normalise_rows(w: NDArray[np.float32], norm: float, idle: NDArray[np.int64],
                   k_idle: int) -> None:
    """Scale each row of an output-major ``w`` (one row per receiving unit) to Euclidean norm
    ``norm``; rows of units idle for more than ``k_idle`` batches did not change and are
    skipped (pass ``k_idle < 0`` to do every row), and so is a row whose norm is already
    ``norm`` to within 1e-6 (so a pathway that does not learn stays bit for bit)."""
    for j in range(w.shape[0]):
        if 0 <= k_idle < idle[j]:
            continue
        _normalise_row(w[j], norm)


@njit(cache=True, nogil=True, fastmath=True)
def _normalise_row(row: NDArray[np.float32], norm: float) -> None:
    # one row of normalise_rows (left as it is when its norm is within 1e-6 of ``norm``)
    target = norm * norm
    s = 0.0
    for i in range(row.shape[0]):
        s += row[i] * row[i]
    if s > 0.0 and abs(s - target) > 1e-6 * target:
        f = np.float32(norm / math.sqrt(s))
        for i in range(row.shape[0]):
            row[i] *= f


@njit(cache=True, nogil=True, fastmath=True)
def normalise_columns(wt: NDArray[np.float32], norm: float) -> None:
    """Scale each column of an input-major ``wt`` (one column per receiving unit) to
    Euclidean norm ``norm`` (columns already there within 1e-6 are left as they are)."""
    s = np.zeros(wt.shape[1], np.float64)
    column_squares(wt, s)
    scale_columns(wt, norm, s)


@njit(cache=True, nogil=True, fastmath=True)
def column_squares(wt: NDArray[np.float32], s: NDArray[np.float64]) -> None:
    """``s[j] = sum_i wt[i, j]**2``, row after row (the order the update pass adds them in)."""
    s[:] = 0.0
    for i in range(wt.shape[0]):
        _add_squares(wt[i], s)


@njit(cache=True, nogil=True, fastmath=True)
def scale_columns(wt: NDArray[np.float32], norm: float, s: NDArray[np.float64]) -> None:
    """The scaling of :func:`normalise_columns`, given the squared column norms ``s``."""
    n_in, n_out = wt.shape
    f = np.zeros(n_out, np.float32)
    target = norm * norm
    changed = False
    for j in range(n_out):  # columns already at the norm (within 1e-6) stay as they are
        if s[j] > 0.0 and abs(s[j] - target) > 1e-6 * target:
            f[j] = np.float32(norm / math.sqrt(s[j]))
            changed = True
        else:
            f[j] = np.float32(1.0)
    if not changed:
        return
    for i in range(n_in):
        row = wt[i]
        for j in range(n_out):
            row[j] *= f[j]


@njit(cache=True, nogil=True)
def relax_thresholds(th: NDArray[np.float32], r: float) -> None:
    """Move every threshold of a layer towards the layer's mean threshold by the fraction
    ``r`` (NumPy twin: :func:`hippoviz.sim.reference.relax_thresholds_np`)."""
    n = th.shape[0]
    m = 0.0
    for i in range(n):
        m += th[i]
    m /= n
    for i in range(n):
        th[i] -= r * (th[i] - m)


@njit(cache=True, nogil=True)
def novelty_factor(nov: NDArray[np.float64], b: float) -> float:
    """How much CA1's k grows with novelty: ``1 + b max(0, m_fast / m_slow - 1)``, at most
    :data:`NOV_MAX_FACTOR` (``nov`` = fast and slow average of the mismatch)."""
    if b <= 0.0 or nov[0] <= 0.0:
        return 1.0
    if nov[0] >= NOV_MAX_FACTOR * nov[1]:  # (also before anything is familiar: nov[1] = 0)
        return NOV_MAX_FACTOR
    f = 1.0 + b * max(0.0, float(nov[0] / nov[1]) - 1.0)
    return float(min(f, NOV_MAX_FACTOR))


@njit(cache=True, nogil=True)
def novelty_trace_step(nov: NDArray[np.float64], dt: float, tau: float, obj_hold: float,
                       obj_nov: NDArray[np.float64], obj_on: NDArray[np.bool_]) -> None:
    """One step of the neuromodulatory trace ``nov[NOV_TRACE]`` (in place; ``nov[NOV_HOLD]``:
    the seconds it is still held). Once its hold has run out, the trace decays with time
    constant ``tau``. The novelty of an object present to the rat (``obj_nov``, which
    habituates as the rat explores the object) holds the trace up to its own level and holds
    it there for ``obj_hold`` seconds more (NumPy twin:
    :func:`hippoviz.sim.reference.novelty_trace_step_np`)."""
    t = nov[NOV_TRACE]
    left = nov[NOV_HOLD] - dt
    if left < 0.0:
        left = 0.0
        t *= math.exp(-dt / tau) if tau > 0.0 else 0.0
    drive = 0.0
    for o in range(obj_on.shape[0]):
        if obj_on[o] and obj_nov[o] > drive:
            drive = obj_nov[o]
    if drive > 0.0 and drive >= t:
        t = drive
        left = max(left, obj_hold)
    nov[NOV_TRACE] = t
    nov[NOV_HOLD] = left


@njit(cache=True, nogil=True)
def plasticity_scale(trace: float, floor: float) -> float:
    """What the neuromodulatory trace leaves of every learning rate and of homeostasis:
    ``floor + (1 - floor) * trace``, exactly 1 when ``floor >= 1`` (off)."""
    if floor >= 1.0:
        return 1.0
    return floor + (1.0 - floor) * min(1.0, max(0.0, trace))


@njit(cache=True, nogil=True)
def _target(mode: int, k_frac: float, n: int) -> float:
    # the active fraction homeostasis aims at: what k-WTA keeps (as sparsify rounds it)
    if mode == 0:
        return max(1, int(round(k_frac * n))) / n  # noqa: RUF046
    return k_frac


@njit(cache=True, nogil=True)
def _layer_error(d: NDArray[np.float32], h: NDArray[np.float32], act: NDArray[np.int32], m: int,
                 dn: bool, mean: float, exact: bool, tau: int, coef: float, ip_on: bool,
                 inv_sd: NDArray[np.float32]) -> int:
    # from the error on a layer's output to the error on its pre-activations: through the
    # divisive normalisation, the local inhibition (its threshold unit joins the units with
    # error) and the intrinsic plasticity's standardisation; returns how many units carry error
    if dn:
        _normalise_error(d, h, act, m, mean)
    mb = _inhibition_grad(d, h, act, m, tau, coef) if exact else m
    if ip_on:
        _scale_error(d, act, mb, inv_sd)
    return mb


@njit(cache=True, nogil=True)
def _abs_sum(d: NDArray[np.float32], act: NDArray[np.int32], m: int) -> float:
    c = 0.0
    for q in range(m):
        c += abs(d[act[q]])
    return c


@njit(cache=True, nogil=True)
def _standardise(a: NDArray[np.float32], stat: NDArray[np.float64], off: int, rate: float,
                 inv_sd: NDArray[np.float32]) -> None:
    # intrinsic plasticity: each unit's pre-activation in units of its own running mean and
    # standard deviation (stat[0] mean, stat[1] variance, from ``off``), which adapt at
    # ``rate`` per step (0: frozen); 1 / sd is kept for the error pathway
    for i in range(a.shape[0]):
        j = off + i
        p = a[i]
        if rate > 0.0:
            dm = p - stat[0, j]
            stat[0, j] += rate * dm
            stat[1, j] += rate * (dm * (p - stat[0, j]) - stat[1, j])
        inv = 1.0 / math.sqrt(stat[1, j] + 1e-6)
        inv_sd[i] = inv
        a[i] = (p - stat[0, j]) * inv


@njit(cache=True, nogil=True)
def _normalise_activity(h: NDArray[np.float32], act: NDArray[np.int32], m: int) -> float:
    # divisive normalisation: the active units' activities over their mean (returned)
    if m == 0:
        return 1.0
    s = 0.0
    for q in range(m):
        s += h[act[q]]
    mean = s / m
    if mean <= 0.0:
        return 1.0
    inv = 1.0 / mean
    for q in range(m):
        h[act[q]] *= inv
    return mean


@njit(cache=True, nogil=True)
def _normalise_error(d: NDArray[np.float32], h: NDArray[np.float32], act: NDArray[np.int32],
                     m: int, mean: float) -> None:
    # the exact gradient through the normalisation h_i / mean(h): on the winners,
    # d_h = (d - mean over winners of d * h_normalised) / mean
    if m == 0:
        return
    s = 0.0
    for q in range(m):
        i = act[q]
        s += d[i] * h[i]
    s /= m
    inv = 1.0 / mean
    for q in range(m):
        i = act[q]
        d[i] = (d[i] - s) * inv


@njit(cache=True, nogil=True)
def _scale_error(d: NDArray[np.float32], act: NDArray[np.int32], mb: int,
                 inv_sd: NDArray[np.float32]) -> None:
    # the error at a standardised unit's pre-activation: d / sd
    for q in range(mb):
        d[act[q]] *= inv_sd[act[q]]


@njit(cache=True, nogil=True)
def _hidden(a: NDArray[np.float32], th: NDArray[np.float32], mode: int, k: float, e: float,
            sigma_h: float, dropout: float, rs: NDArray[np.uint64], scratch: NDArray[np.float32],
            active: NDArray[np.int32], tau: NDArray[np.int64], slot: int) -> int:
    # pre-activation -> threshold -> noise -> relu -> local inhibition -> dropout
    for i in range(a.shape[0]):
        v = a[i] - th[i]
        if sigma_h > 0.0:
            v += sigma_h * normal(rs)
        a[i] = v if v > 0.0 else 0.0
    m = sparsify(a, mode, k, e, scratch, active, tau, slot)
    if dropout > 0.0:
        q = 0
        for p in range(m):
            i = active[p]
            if uniform(rs) < dropout:
                a[i] = 0.0
            else:
                active[q] = i
                q += 1
        m = q
    return m


@njit(cache=True, nogil=True)
def _spread(h: NDArray[np.float32]) -> float:
    # a layer's drive spread: its mean absolute deviation over the layer
    n = h.shape[0]
    mu = 0.0
    for i in range(n):
        mu += h[i]
    mu /= n
    mad = 0.0
    for i in range(n):
        mad += abs(h[i] - mu)
    return float(mad / n)


@njit(cache=True, nogil=True)
def _recurrent_drive(h: NDArray[np.float32], wrc: NDArray[np.float32],
                     prev: NDArray[np.float32], prev_act: NDArray[np.int32], m_prev: int,
                     gain: float) -> None:
    # CA3 recurrent collaterals: h_i += gain * spread(h) * sum_j W_ij p_j / sum_j p_j over the
    # previous step's active units j (spread: the feed-forward drive's mean absolute deviation)
    n = h.shape[0]
    mad = _spread(h)
    sp = 0.0
    for q in range(m_prev):
        sp += prev[prev_act[q]]
    if sp <= 0.0 or mad <= 0.0:
        return
    scale = gain * mad / sp
    for i in range(n):
        row = wrc[i]
        acc = 0.0
        for q in range(m_prev):
            j = prev_act[q]
            acc += row[j] * prev[j]
        h[i] += scale * acc


@njit(cache=True, nogil=True)
def _instar(w: NDArray[np.float32], h: NDArray[np.float32], act: NDArray[np.int32], m: int,
            pre: NDArray[np.float32], off: int, lr: float) -> None:
    # instar rule: an active unit's incoming weights move towards the presynaptic activity
    # pre[off:off + w.shape[1]] by lr * its own activity
    n_pre = w.shape[1]
    for q in range(m):
        i = act[q]
        a = min(1.0, lr * h[i])
        row = w[i]
        for j in range(n_pre):
            row[j] += a * (pre[off + j] - row[j])


@njit(cache=True, nogil=True)
def _recurrent_learn(wrc: NDArray[np.float32], h: NDArray[np.float32], act: NDArray[np.int32],
                     m: int, lr: float) -> None:
    # the collaterals' instar rule: towards the layer's own activity, no self-connection
    _instar(wrc, h, act, m, h, 0, lr)
    for q in range(m):
        wrc[act[q], act[q]] = 0.0


@njit(cache=True, nogil=True)
def _object_drive(h: NDArray[np.float32], wobj: NDArray[np.float32], xin: NDArray[np.float32],
                  o_obj: int, gain: float) -> None:
    # LEC object cells -> CA1 (Hebbian): h_l += gain * spread(h) * sum_j W_lj x_j over the
    # object cells j (spread: the feed-forward drive's mean absolute deviation, as for the CA3
    # collaterals); nothing to add while no object cell fires
    n_o = wobj.shape[1]
    s = 0.0
    for j in range(n_o):
        s += xin[o_obj + j]
    if s <= 0.0:
        return
    n = h.shape[0]
    mad = _spread(h)
    if mad <= 0.0:
        return
    scale = gain * mad
    for i in range(n):
        row = wobj[i]
        acc = 0.0
        for j in range(n_o):
            acc += row[j] * xin[o_obj + j]
        h[i] += scale * acc


@njit(cache=True, nogil=True)
def _object_learn(wobj: NDArray[np.float32], h: NDArray[np.float32], act: NDArray[np.int32],
                  m: int, xin: NDArray[np.float32], o_obj: int, lr: float) -> None:
    # the object synapses' instar rule: an active CA1 unit's object weights move towards the
    # object cells' input (so they come to hold the object input where the unit fires)
    _instar(wobj, h, act, m, xin, o_obj, lr)


@njit(cache=True, nogil=True)
def run_steps(n: int, step0: int, pv: NDArray[np.float64], rs_env: NDArray[np.uint64],
              rs: NDArray[np.uint64], agent: NDArray[np.float64], segments: NDArray[np.float64],
              seg_wall: NDArray[np.int64], grid_kmod: NDArray[np.float64],
              grid_cos: NDArray[np.float64], grid_sin: NDArray[np.float64],
              grid_module: NDArray[np.int64], border_d: NDArray[np.float64],
              border_w: NDArray[np.float64],
              maps_a: NDArray[np.float32], maps_b: NDArray[np.float32],
              switch_at: NDArray[np.float64], obj_pos: NDArray[np.float64],
              obj_on: NDArray[np.bool_], obj_vec: NDArray[np.float64],
              net: tuple[Any, ...], fb: tuple[Any, ...], th: tuple[Any, ...],
              grads: tuple[Any, ...], vel: tuple[Any, ...], mom2: tuple[Any, ...],
              counters: NDArray[np.int64], act_count: NDArray[np.float32],
              dg_idle: NDArray[np.int64],
              sp_times: tuple[Any, ...], sp_units: tuple[Any, ...],
              sp_count: NDArray[np.int64],
              samples: NDArray[np.float64], rm_occ: NDArray[np.float64],
              rm_acc: NDArray[np.float32], rm_w: NDArray[np.float64], last_x: NDArray[np.float32],
              last_xhat: NDArray[np.float32], last_h: NDArray[np.float32],
              last_rates: NDArray[np.float32], carried: NDArray[np.float64],
              href: NDArray[np.float64], traj: NDArray[np.float64], traj_off: int,
              ipstat: NDArray[np.float64], wrc: NDArray[np.float32],
              wobj: NDArray[np.float32], hscale: NDArray[np.float64], nov: NDArray[np.float64],
              obj_nov: NDArray[np.float64], prof: NDArray[np.int64]) -> int:
    """Run ``n`` steps from global step ``step0``; every array is updated in place.

    Steps run in blocks that end where a weight update happens: the rat and the entorhinal input
    of a block are computed first (generator ``rs_env``), then the EC -> DG product (and the
    EC III -> CA1 shortcut's) for the whole block as a tiled matrix product
    (:func:`~hippoviz.sim.network.block_forward`), then the rest of each step (generator
    ``rs``); EC -> DG's gradient rows are added once per block (:func:`_add_block_rows`).
    Results do not depend on how a run is cut into chunks. A non-empty ``prof`` (one slot per
    :data:`PROFILE_PHASES`) accumulates the CPU cycles spent in each phase; timing changes
    nothing else.

    Returns -1 on success, or the index (within the chunk) of the first step whose
    reconstruction was not finite (the chunk stops there).
    """
    w1, w2t, w3t, wta, w4t, b1, b2, b3, b4 = net
    f2t, f3t, f4t = fb
    th1, th2, th3 = th
    g1, g2t, g3t, gta, g4t, gb1, gb2, gb3, gb4 = grads
    n_ec = w1.shape[1]
    n_dg = w1.shape[0]
    n_ca3 = w2t.shape[1]
    n_ca1 = w3t.shape[1]
    n_grid = grid_cos.shape[0]
    n_border = 4 * border_w.shape[0]
    n_ctx = maps_a.shape[0]
    o_border = n_grid
    o_ctx = n_grid + n_border
    o_obj = o_ctx + n_ctx

    # scratch (allocated once per chunk, never per step)
    xb = np.zeros((BLOCK, n_ec), np.float32)
    xinb = np.zeros((BLOCK, n_ec), np.float32)
    h1b = np.zeros((BLOCK, n_dg), np.float32)
    plastic_b = np.zeros(BLOCK, np.float64)
    nm_b = np.ones(BLOCK, np.float64)  # each step's plasticity scale (neuromodulation)
    nm = 1.0  # (set from nm_b at every step before it is used)
    trig = np.zeros((2, grid_kmod.shape[0], 3), np.float64)
    xhat = np.zeros(n_ec, np.float32)
    d4 = np.zeros(n_ec, np.float32)
    h1 = np.zeros(n_dg, np.float32)
    h2 = np.zeros(n_ca3, np.float32)
    h3 = np.zeros(n_ca1, np.float32)
    tab = np.zeros((BLOCK, n_ca1), np.float32)  # EC III -> CA1 of a block
    zrow1 = np.zeros(n_ec, np.float32)  # the gradient row of a unit without one in a batch
    zrow2 = np.zeros(n_ca3, np.float32)
    colsq2 = np.zeros(n_ca3, np.float64)  # DG -> CA3's squared column norms
    # EC -> DG gradient rows of a block, added at its end: per step, which units and with what
    # coefficient (of the step's EC input); the units in order of first appearance
    pend_on = np.zeros((BLOCK, n_dg), np.bool_)
    pend_coef = np.zeros((BLOCK, n_dg), np.float32)
    pend_units = np.zeros(n_dg, np.int64)
    pend_seen = np.zeros(n_dg, np.bool_)
    n_pend = 0
    no_cols = np.zeros(0, np.float64)
    d1 = np.zeros(n_dg, np.float32)
    d2 = np.zeros(n_ca3, np.float32)
    d3 = np.zeros(n_ca1, np.float32)
    act1 = np.zeros(n_dg, np.int32)
    act2 = np.zeros(n_ca3, np.int32)
    act3 = np.zeros(n_ca1, np.int32)
    none_act = np.zeros(1, np.int32)
    tau = np.full(3, -1, np.int64)  # threshold unit of each hidden layer (see sparsify)
    isd1 = np.ones(n_dg, np.float32)  # 1 / sd of each unit's pre-activation (intrinsic
    isd2 = np.ones(n_ca3, np.float32)  # plasticity; 1 when off)
    isd3 = np.ones(n_ca1, np.float32)
    scratch = np.zeros(max(n_dg, n_ca3, n_ca1), np.float32)
    # CA3 recurrent collaterals: the previous step's CA3 activity (from the last chunk's end)
    g_rc = pv[G_RC]
    prev2 = np.zeros(n_ca3, np.float32)
    prev_act = np.zeros(n_ca3, np.int32)
    m_prev = 0
    if g_rc > 0.0:
        for i in range(n_ca3):
            v = last_h[n_dg + i]
            if v > 0.0:
                prev2[i] = v
                prev_act[m_prev] = i
                m_prev += 1
    dists = np.zeros(4, np.float64)
    e_grp = np.zeros(3)
    x_grp = np.zeros(3)
    r_ec = np.zeros(n_ec, np.float32)
    r_dg = np.zeros(n_dg, np.float32)
    r_ca3 = np.zeros(n_ca3, np.float32)
    r_ca1 = np.zeros(n_ca1, np.float32)
    r_out = np.zeros(n_ec, np.float32)
    grid_out = np.zeros(n_grid, np.float32)
    border_out = np.zeros(n_border, np.float32)
    ctx_out = np.zeros(n_ctx, np.float32)
    obj_out = np.zeros(n_ec - o_obj, np.float32)

    dt = pv[DT]
    rot_std = pv[ROT_STD]
    sp_dg = int(pv[SP_DG])
    sp_ca3 = int(pv[SP_CA3])
    sp_ca1 = int(pv[SP_CA1])
    exact = pv[WTA_EXACT] > 0.5
    coef1 = 1.0 if sp_dg == 0 else 1.0 - pv[E_DG]
    coef2 = 1.0 if sp_ca3 == 0 else 1.0 - pv[E_CA3]
    coef3 = 1.0 if sp_ca1 == 0 else 1.0 - pv[E_CA1]
    align = pv[ALIGN] > 0.5
    b4t = f4t if align else w4t
    b3t = f3t if align else w3t
    b2t = f2t if align else w2t
    nx_rm = int(pv[RM_NX])
    ny_rm = int(pv[RM_NY])
    off_dg = n_ec
    off_ca3 = off_dg + n_dg
    off_ca1 = off_ca3 + n_ca3
    off_out = off_ca1 + n_ca1
    batch = max(1, int(pv[BATCH]))
    # batches after which a velocity has decayed below 1e-4 (momentum mu): mu^k < 1e-4
    mu = pv[MOMENTUM]
    k_idle = 1 if mu <= 0.0 else int(math.ceil(math.log(1e-4) / math.log(mu)))  # noqa: RUF046
    n1 = n_dg
    n2 = n_ca3
    m1 = 0
    m2 = 0
    m3 = 0
    mean1 = 1.0
    mean2 = 1.0
    mean3 = 1.0
    mb1 = 0
    mb2 = 0
    mb3 = 0

    tp = prof.shape[0] > 0
    t_lap = _cycles() if tp else 0  # type: ignore[call-arg]
    s0 = 0
    while s0 < n:
        # ---- phase A: the rat and the entorhinal input of a block of steps
        nb = 0
        cnt = counters[0]
        learn = pv[LEARN] > 0.5
        while nb < BLOCK and s0 + nb < n:
            s = s0 + nb
            g = step0 + s
            t0 = g * dt
            n_a = normal(rs_env)
            n_b = normal(rs_env)
            row = g - traj_off
            object_habituate(agent, dt, obj_pos, obj_on, obj_nov)  # objects the rat explores
            if 0 <= row < traj.shape[0]:  # a recorded trajectory drives the rat
                agent_follow(agent, traj[row, 0], traj[row, 1], dt)
            else:
                if int(pv[WALL_MODEL]) == 0:  # novel objects draw the rat (RatInABox walls)
                    object_drift(agent, dt, pv[SPEED_MEAN], pv[SPEED_TAU], pv[OBJ_EXPLORE],
                                 obj_pos, obj_on, obj_nov)
                agent_step(agent, dt, pv[SPEED_MEAN], pv[SPEED_TAU], rot_std, pv[ROT_TAU],
                           pv[THIG], pv[WALL_RANGE], pv[WALL_STRENGTH], int(pv[WALL_MODEL]),
                           pv[WIDTH], pv[HEIGHT], pv[SHAPE], segments, seg_wall, n_a, n_b)
            px = agent[0]
            py = agent[1]
            theta = (_TWO_PI * pv[F_THETA] * t0) % _TWO_PI
            # theta gating (SPEAR): encoding half strong input + plasticity; retrieval weak
            plastic = 1.0
            in_scale = 1.0
            if pv[THETA_GATING] > 0.5:
                ph = (theta - pv[ENC_PHASE]) % _TWO_PI
                if ph >= pv[ENC_WINDOW]:
                    plastic = 0.0
                    in_scale = 1.0 - pv[THETA_DEPTH]
            plastic_b[nb] = plastic
            # (the trace runs whether or not it scales anything: switched on, it knows what
            # has been novel)
            novelty_trace_step(nov, dt, pv[NM_TAU], pv[NM_HOLD_OBJ], obj_nov, obj_on)
            nm_b[nb] = plasticity_scale(nov[NOV_TRACE], pv[NM_FLOOR])  # (1 exactly when off)
            samples[s, S_T] = t0
            samples[s, S_X] = px
            samples[s, S_Y] = py
            samples[s, S_HEADING] = agent[2]
            samples[s, S_SPEED] = agent[3]
            samples[s, S_THETA] = theta
            # grids rescale with the box by a part of its deformation (1.0 in a box of the
            # familiar size: the product is then exact and changes nothing)
            # and, tethered, shift with the wall the rat last touched (a shift of exactly 0 in a
            # box of the familiar size or with the tether off)
            grid_tether(agent, px, py, 0.5 * pv[WIDTH], 0.5 * pv[HEIGHT], pv[TETHER_CONTACT])
            grid_rates((px - agent[TETHER_X] * pv[GRID_TX]) * pv[GRID_SX],
                       (py - agent[TETHER_Y] * pv[GRID_TY]) * pv[GRID_SY], grid_kmod, grid_cos,
                       grid_sin, grid_module, trig, grid_out)
            wall_distances(px, py, segments, seg_wall, dists)
            border_rates(dists, border_d, border_w, border_out)
            lec_context_rates(px, py, pv[WIDTH], pv[HEIGHT], maps_a, maps_b, switch_at,
                              pv[CTX_MORPH], pv[BLEND] > 0.5, ctx_out)
            object_rates(px, py, obj_pos, obj_on, obj_vec, pv[OBJ_SIGMA], obj_out)
            x = xb[nb]
            xin = xinb[nb]
            for i in range(n_grid):
                x[i] = pv[G_MEC] * grid_out[i]
            for i in range(n_border):
                x[o_border + i] = pv[G_BORDER] * border_out[i]
            for i in range(n_ctx):
                x[o_ctx + i] = pv[G_LEC] * ctx_out[i]
            for i in range(obj_out.shape[0]):
                x[o_obj + i] = pv[G_LEC] * pv[G_OBJ_IN] * obj_out[i]
            for i in range(n_ec):
                v = x[i]
                if pv[SIGMA_IN] > 0.0:
                    v += pv[SIGMA_IN] * normal(rs_env)
                    if v < 0.0:
                        v = 0.0
                xin[i] = v * in_scale
            nb += 1
            # a block ends with the step that completes a batch (the weights change after it)
            if learn and plastic > 0.0:
                cnt += 1
                if cnt >= batch:
                    break
        if tp:
            t_lap = _lap(prof, P_INPUT, t_lap)
        # ---- phase B: EC -> DG (and the EC III -> CA1 shortcut) for the whole block: the
        # weights change only after a block's last step
        block_forward(w1, xinb, nb, b1, h1b)
        if pv[G_TA] > 0.0:
            block_forward(wta, xinb, nb, b3, tab)
        if tp:
            t_lap = _lap(prof, P_EC_DG, t_lap)
        # ---- phase C: the rest of each step
        for sb in range(nb):
            s = s0 + sb
            g = step0 + s
            t0 = g * dt
            theta = samples[s, S_THETA]
            px = samples[s, S_X]
            py = samples[s, S_Y]
            plastic = plastic_b[sb]
            nm = nm_b[sb]
            x = xb[sb]
            xin = xinb[sb]
            h1[:] = h1b[sb]
            ip_on = pv[IP_TAU] > 0.0
            ip_rate = 0.0
            if ip_on and pv[LEARN] > 0.5 and plastic > 0.0:
                ip_rate = dt / pv[IP_TAU]
            # --- forward: EC -> DG -> CA3 -> CA1 -> EC
            if ip_on:
                _standardise(h1, ipstat, 0, ip_rate, isd1)
            m1 = _hidden(h1, th1, sp_dg, pv[K_DG], pv[E_DG], pv[SIGMA_H], pv[DROPOUT], rs,
                         scratch, act1, tau, 0)
            dn = pv[DIVNORM] > 0.5
            if dn:
                mean1 = _normalise_activity(h1, act1, m1)
            sparse_forward(w2t, h1, act1, m1, b2, h2)
            if g_rc > 0.0 and m_prev > 0:
                _recurrent_drive(h2, wrc, prev2, prev_act, m_prev, g_rc)
            if ip_on:
                _standardise(h2, ipstat, n1, ip_rate, isd2)
            m2 = _hidden(h2, th2, sp_ca3, pv[K_CA3], pv[E_CA3], pv[SIGMA_H], pv[DROPOUT], rs,
                         scratch, act2, tau, 1)
            if dn:
                mean2 = _normalise_activity(h2, act2, m2)
            if g_rc > 0.0:
                for q in range(m_prev):
                    prev2[prev_act[q]] = 0.0
                for q in range(m2):
                    i = act2[q]
                    prev_act[q] = i
                    prev2[i] = h2[i]
                m_prev = m2
                if pv[LEARN] > 0.5 and plastic > 0.0 and pv[LR_RC] > 0.0:
                    _recurrent_learn(wrc, h2, act2, m2, nm * pv[LR_RC])
            sparse_forward(w3t, h2, act2, m2, b3, h3)
            if pv[G_TA] > 0.0:
                ta = tab[sb]
                for i in range(n_ca1):
                    h3[i] += pv[G_TA] * (ta[i] - b3[i])
            g_obj = pv[G_OBJ]
            if g_obj > 0.0:
                _object_drive(h3, wobj, xin, o_obj, g_obj)
            if ip_on:
                _standardise(h3, ipstat, n1 + n2, ip_rate, isd3)
            k3 = pv[K_CA1] * novelty_factor(nov, pv[NOV_CA1])
            m3 = _hidden(h3, th3, sp_ca1, k3, pv[E_CA1], pv[SIGMA_H], pv[DROPOUT], rs,
                         scratch, act3, tau, 2)
            if dn:
                mean3 = _normalise_activity(h3, act3, m3)
            sparse_forward(w4t, h3, act3, m3, b4, xhat)
            if tp:
                t_lap = _lap(prof, P_FORWARD, t_lap)
            # --- mismatch
            e_tot = 0.0
            x_tot = 0.0
            for gi in range(3):
                e_grp[gi] = 0.0
                x_grp[gi] = 0.0
            for i in range(n_ec):
                xh = sigmoid(xhat[i])
                xhat[i] = xh
                e = x[i] - xh
                d4[i] = -e * xh * (1.0 - xh)
                gi = 0 if i < o_border else (1 if i < o_ctx else 2)
                e_grp[gi] += e * e
                x_grp[gi] += x[i] * x[i]
            for gi in range(3):
                e_tot += e_grp[gi]
                x_tot += x_grp[gi]
            if not math.isfinite(e_tot):
                _add_block_rows(g1, xinb, sb, pend_on, pend_coef, pend_units, n_pend, pend_seen)
                return s
            mm = e_tot / max(x_tot, 1e-12)
            samples[s, S_MM_TOTAL] = mm
            # novelty: the mismatch's fast average and its familiar level, a slow average that
            # starts at 0 (nov[1] < 0: not started; to a new network nothing is familiar)
            if nov[1] < 0.0:
                nov[0] = mm
                nov[1] = min(1.0, dt / NOV_TAU_SLOW) * mm
            else:
                nov[0] += min(1.0, dt / NOV_TAU_FAST) * (mm - nov[0])
                nov[1] += min(1.0, dt / NOV_TAU_SLOW) * (mm - nov[1])
            for gi in range(3):
                samples[s, S_MM_GRID + gi] = (e_grp[gi] / max(x_grp[gi], 1e-12)
                                              if x_grp[gi] > 0 else 0.0)
            # --- countercurrent error pathway (computed always: the circuit view shows it)
            # (with the exact inhibition gradient, each layer's threshold unit carries error
            # too: it is appended after the winners, mb = winners + 1)
            for q in range(m3):
                l = act3[q]
                d3[l] = pv[GAIN_EC_CA1] * _dot(b4t[l], d4)
                if sp_ca1 == 2:
                    d3[l] += pv[L1]
            mb3 = _layer_error(d3, h3, act3, m3, dn, mean3, exact, tau[2], coef3, ip_on, isd3)
            _back_project(b3t, act2, m2, act3, mb3, d3, pv[GAIN_CA1_CA3],
                          pv[L1] if sp_ca3 == 2 else 0.0, d2)
            mb2 = _layer_error(d2, h2, act2, m2, dn, mean2, exact, tau[1], coef2, ip_on, isd2)
            _back_project(b2t, act1, m1, act2, mb2, d2, pv[GAIN_CA3_DG],
                          pv[L1] if sp_dg == 2 else 0.0, d1)
            mb1 = _layer_error(d1, h1, act1, m1, dn, mean1, exact, tau[0], coef1, ip_on, isd1)
            carried[0] = _abs_sum(d3, act3, mb3) / max(m3, 1)
            carried[1] = _abs_sum(d2, act2, mb2) / max(m2, 1)
            carried[2] = _abs_sum(d1, act1, mb1) / max(m1, 1)
            if tp:
                t_lap = _lap(prof, P_ERROR, t_lap)
            # --- plasticity: accumulate this step's gradient
            if pv[LEARN] > 0.5 and plastic > 0.0:
                for i in range(n_ec):
                    gb4[i] += d4[i]
                for q in range(m3):
                    l = act3[q]
                    hl = h3[l]
                    grow = g4t[l]
                    for i in range(n_ec):
                        grow[i] += hl * d4[i]
                    gb3[l] += d3[l]
                    if pv[G_TA] > 0.0:
                        grow2 = gta[l]
                        dl = pv[G_TA] * d3[l]
                        for i in range(n_ec):
                            grow2[i] += dl * xin[i]
                    act_count[n1 + n2 + l] += 1.0
                if g_obj > 0.0 and pv[LR_OBJ] > 0.0:
                    _object_learn(wobj, h3, act3, m3, xin, o_obj, nm * pv[LR_OBJ])
                for q in range(m3, mb3):  # CA1's threshold unit (silent: no outgoing term)
                    l = act3[q]
                    gb3[l] += d3[l]
                    if pv[G_TA] > 0.0:
                        grow2 = gta[l]
                        dl = pv[G_TA] * d3[l]
                        for i in range(n_ec):
                            grow2[i] += dl * xin[i]
                for q in range(m2):
                    i = act2[q]
                    hi = h2[i]
                    for r in range(mb3):
                        l = act3[r]
                        g3t[i, l] += hi * d3[l]
                    gb2[i] += d2[i]
                    act_count[n1 + i] += 1.0
                for q in range(m2, mb2):
                    gb2[act2[q]] += d2[act2[q]]
                c_dg = pv[COMP_DG]
                c_ca3 = pv[COMP_CA3]
                for q in range(mb1):
                    j = act1[q]
                    hj = h1[j]
                    if q < m1:
                        for r in range(mb2):
                            i = act2[r]
                            g2t[j, i] += hj * d2[i]
                        if c_ca3 > 0.0:  # competitive learning: co-active winners (descent)
                            for r in range(m2):
                                i = act2[r]
                                g2t[j, i] -= c_ca3 * hj * h2[i]
                        act_count[j] += 1.0
                    else:  # DG's threshold unit learns: mark its row as not idle
                        dg_idle[j] = -1
                    gb1[j] += d1[j]
                    dj = d1[j]
                    # EC -> DG's gradient row: noted here, added for the whole block at once
                    # (_add_block_rows), so that a row is read once however many steps its
                    # unit is active in
                    if not pend_seen[j]:
                        pend_seen[j] = True
                        pend_units[n_pend] = j
                        n_pend += 1
                    pend_on[sb, j] = True
                    if c_dg > 0.0 and q < m1:  # (a float32 of its own: dj's type stays)
                        pend_coef[sb, j] = np.float32(dj - c_dg * hj)
                    else:
                        pend_coef[sb, j] = dj
                counters[0] += 1
                if tp:
                    t_lap = _lap(prof, P_GRAD, t_lap)
                if counters[0] >= batch:
                    _add_block_rows(g1, xinb, sb + 1, pend_on, pend_coef, pend_units, n_pend,
                                    pend_seen)
                    n_pend = 0
                    if tp:
                        t_lap = _lap(prof, P_GRAD, t_lap)
                    inv_b = 1.0 / counters[0]
                    adam = pv[ADAM] > 0.5
                    counters[1] += 1
                    ta_ = counters[1]
                    mom = pv[MOMENTUM]
                    wd = pv[DECAY]
                    # every learning rate times the neuromodulatory scale (exactly 1 when off)
                    lr1 = nm * pv[LR_DG]
                    lr2 = nm * pv[LR_CA3]
                    lr3 = nm * pv[LR_CA1]
                    lr4 = nm * pv[LR_OUT]
                    if adam:
                        _apply_update(w1, g1, vel[0], mom2[0], lr1, mom, inv_b, adam, ta_,
                                      wd)
                        _apply_update(w2t, g2t, vel[1], mom2[1], lr2, mom, inv_b, adam,
                                      ta_, wd)
                    else:
                        for j in range(n_dg):
                            if act_count[j] > 0.0:
                                dg_idle[j] = 0
                            elif dg_idle[j] <= k_idle:
                                dg_idle[j] += 1
                        # (EC -> DG's synaptic scaling done row by row and DG -> CA3's column
                        # norms gathered in the update's pass)
                        _apply_update_rows(w1, g1, vel[0], lr1, mom, inv_b, dg_idle,
                                           k_idle, wd, pv[WNORM], zrow1, no_cols)
                        _apply_update_rows(w2t, g2t, vel[1], lr2, mom, inv_b, dg_idle,
                                           k_idle, wd, 0.0, zrow2,
                                           colsq2 if pv[WNORM] > 0.0 else no_cols)
                    _apply_update(w3t, g3t, vel[2], mom2[2], lr3, mom, inv_b, adam, ta_,
                                  wd)
                    _apply_update(wta, gta, vel[3], mom2[3], lr3, mom, inv_b, adam, ta_,
                                  wd)
                    _apply_update(w4t, g4t, vel[4], mom2[4], lr4, mom, inv_b, adam, ta_,
                                  wd)
                    hb = pv[HBIAS]  # 0: the hidden biases do not learn (gradients cleared)
                    _apply_update(b1, gb1, vel[5], mom2[5], hb * lr1, mom, inv_b, adam,
                                  ta_, 0.0)
                    _apply_update(b2, gb2, vel[6], mom2[6], hb * lr2, mom, inv_b, adam,
                                  ta_, 0.0)
                    _apply_update(b3, gb3, vel[7], mom2[7], hb * lr3, mom, inv_b, adam,
                                  ta_, 0.0)
                    _apply_update(b4, gb4, vel[8], mom2[8], lr4, mom, inv_b, adam, ta_,
                                  0.0)
                    if tp:
                        t_lap = _lap(prof, P_UPDATE, t_lap)
                    # synaptic scaling: every hidden unit's incoming weights back to their norm
                    wn = pv[WNORM]
                    if wn > 0.0:
                        if adam:  # (SGD scales EC -> DG's rows in _apply_update_rows and
                            # gathers DG -> CA3's column norms there)
                            normalise_rows(w1, wn, dg_idle, k_idle)
                            normalise_columns(w2t, wn)
                        else:
                            scale_columns(w2t, wn, colsq2)
                        normalise_columns(w3t, wn)
                    if tp:
                        t_lap = _lap(prof, P_SCALING, t_lap)
                    # homeostasis: adaptive thresholds pull each unit's activity to the layer
                    # target (for k-WTA the fraction it actually keeps, k_count / n, so that
                    # the mean threshold does not drift while the competition binds)
                    eta = nm * pv[HOMEO]  # (times the neuromodulatory scale, 1 when off)
                    if eta > 0.0:
                        kept = pv[H_KEPT] > 0.5
                        t1 = _target(sp_dg if kept else 1, pv[K_DG], n_dg)
                        t2 = _target(sp_ca3 if kept else 1, pv[K_CA3], n_ca3)
                        t3 = _target(sp_ca1 if kept else 1, pv[K_CA1], n_ca1)
                        # (each unit's own factor on the target: network.excitability_spread_*)
                        for j in range(n_dg):
                            th1[j] += eta * (act_count[j] * inv_b - t1 * hscale[j])
                        for i in range(n_ca3):
                            th2[i] += eta * (act_count[n1 + i] * inv_b - t2 * hscale[n1 + i])
                        # CA3's excitability fades towards the layer's (its time constant
                        # against the learning time of this batch)
                        if pv[EXC_TAU_CA3] > 0.0:
                            relax_thresholds(th2, min(1.0, counters[0] * dt / pv[EXC_TAU_CA3]))
                        for l in range(n_ca1):
                            th3[l] += eta * (act_count[n1 + n2 + l] * inv_b
                                             - t3 * hscale[n1 + n2 + l])
                    for j in range(act_count.shape[0]):
                        act_count[j] = 0.0
                    counters[0] = 0
                    if tp:
                        t_lap = _lap(prof, P_HOMEO, t_lap)
            for q in range(mb3):
                d3[act3[q]] = 0.0
            for q in range(mb2):
                d2[act2[q]] = 0.0
            for q in range(mb1):
                d1[act1[q]] = 0.0
            # --- firing rates (theta-modulated) and spikes
            kap = pv[KAPPA]
            mod_ec = 1.0 + kap * math.cos(theta - pv[PH_EC])
            for i in range(n_ec):
                rm = pv[RMAX_GRID] if i < o_ctx else pv[RMAX_LEC]
                r_ec[i] = rm * x[i] * mod_ec
                r_out[i] = pv[RMAX_OUT] * xhat[i] * mod_ec
            # hidden rates: r = r_max tanh(h / h_ref), h_ref a slow average of the layer's
            # active-unit activity, so a typical active unit fires at about 3/4 of r_max and
            # the strongest saturate at r_max, whatever the scale of the weights
            _hidden_rates(h1, act1, m1, href, 0,
                          pv[RMAX_DG] * (1.0 + kap * math.cos(theta - pv[PH_DG])), r_dg)
            _hidden_rates(h2, act2, m2, href, 1,
                          pv[RMAX_CA3] * (1.0 + kap * math.cos(theta - pv[PH_CA3])), r_ca3)
            _hidden_rates(h3, act3, m3, href, 2,
                          pv[RMAX_CA1] * (1.0 + kap * math.cos(theta - pv[PH_CA1])), r_ca1)
            bi = int((py - pv[RM_YMIN]) / pv[RM_BIN])
            bj = int((px - pv[RM_XMIN]) / pv[RM_BIN])
            bi = min(max(bi, 0), ny_rm - 1)
            bj = min(max(bj, 0), nx_rm - 1)
            wdt = dt * rm_w[0]
            rm_occ[bi, bj] += wdt
            _spikes(r_ec, none_act, 0, True, dt, t0, rs, sp_times[0], sp_units[0], sp_count, 0,
                    rm_acc, 0, bi, bj, wdt)
            _spikes(r_dg, act1, m1, False, dt, t0, rs, sp_times[1], sp_units[1], sp_count, 1,
                    rm_acc, off_dg, bi, bj, wdt)
            _spikes(r_ca3, act2, m2, False, dt, t0, rs, sp_times[2], sp_units[2], sp_count, 2,
                    rm_acc, off_ca3, bi, bj, wdt)
            _spikes(r_ca1, act3, m3, False, dt, t0, rs, sp_times[3], sp_units[3], sp_count, 3,
                    rm_acc, off_ca1, bi, bj, wdt)
            _spikes(r_out, none_act, 0, True, dt, t0, rs, sp_times[4], sp_units[4], sp_count, 4,
                    rm_acc, off_out, bi, bj, wdt)
            if (g + 1) % RM_DECAY_EVERY == 0 and pv[RM_DECAY] < 1.0:
                # forgetting without touching the maps: later samples weigh more (the ratio
                # rate = acc / occ is that of maps decayed by the factor); renormalise rarely
                rm_w[0] /= pv[RM_DECAY]
                if rm_w[0] > 1e6:
                    inv = 1.0 / rm_w[0]
                    rm_occ *= inv
                    accf = rm_acc.ravel()
                    inv32 = np.float32(inv)
                    for i in range(accf.shape[0]):
                        accf[i] *= inv32
                    rm_w[0] = 1.0
            samples[s, S_ACTIVE_DG] = m1 / n_dg
            samples[s, S_ACTIVE_CA3] = m2 / n_ca3
            samples[s, S_ACTIVE_CA1] = m3 / n_ca1
            # --- latest values
            if s == n - 1:
                last_x[:] = x
                last_xhat[:] = xhat
                last_h[:n_dg] = h1
                last_h[n_dg:n_dg + n_ca3] = h2
                last_h[n_dg + n_ca3:] = h3
                last_rates[:n_ec] = r_ec
                last_rates[off_dg:off_ca3] = r_dg
                last_rates[off_ca3:off_ca1] = r_ca3
                last_rates[off_ca1:off_out] = r_ca1
                last_rates[off_out:] = r_out
            for q in range(m1):
                r_dg[act1[q]] = 0.0
            for q in range(m2):
                r_ca3[act2[q]] = 0.0
            for q in range(m3):
                r_ca1[act3[q]] = 0.0
            if tp:
                t_lap = _lap(prof, P_SPIKES, t_lap)
        # (a block that ends with the chunk, not with a batch)
        _add_block_rows(g1, xinb, nb, pend_on, pend_coef, pend_units, n_pend, pend_seen)
        n_pend = 0
        s0 += nb
    return -1
