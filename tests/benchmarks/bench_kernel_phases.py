"""Benchmark: where the time of one simulation step goes, phase by phase of the chunk kernel
(``run_steps`` in hippoviz/sim/kernel.py).

A script, not a test::

    .venv/bin/python tests/benchmarks/bench_kernel_phases.py [--preset default]
        [--warmup 20000] [--seconds 0.5] [--chunk-seconds 3] [--json]

It builds a simulator, runs ``--warmup`` steps (learned weights, realistic activity), records a
few dozen real steps (entorhinal input, positions) and replays each phase of a step in a loop of
many repetitions: the same njit sub-kernels the step calls (``agent_step``, ``grid_rates``,
``block_forward``, ``_hidden``, ``sparse_forward``, ``_layer_error``, ``_back_project``,
``_apply_update_rows``, ``normalise_columns``, ``_spikes``...) on the simulator's own arrays and
activities, and, for the parts ``run_steps`` has inline (the EC assembly, the mismatch and its
sigmoid, the error into CA1, the gradient accumulation, the rates, the homeostasis), small njit
copies of that code, compiled with the kernel's flags (no fastmath). The EC -> DG product is
timed on a block of ``batch`` steps and divided by it; the per-batch work (weight updates,
synaptic scaling, homeostasis) is timed from the real state (accumulated gradients,
velocities, idle DG rows) and divided by the batch size. The replay starts from the arrays the
simulator recorded, so that before timing the script checks that it reproduces the kernel's
last forward pass bit for bit (``replay_check``). Indented rows are details, not in the sum: the
k-WTA selection inside the DG layer, and the weight updates again with their subnormal
velocities set to zero (velocities of weights that stopped learning decay through the subnormal
floats, whose arithmetic is slow; their counts are printed).

All times are the thread's CPU time (``time.thread_time``), best of five rounds, so that other
processes on a loaded machine count for little (they still share caches and cores: see
``load_avg``); each round times every phase and the whole step, so that a change of load hits
both alike. Each phase is reported as microseconds per step, its share of the sum, and, for
the products and updates, its floating-point operations per step (multiply-adds count two) and
achieved GFLOP/s; next to them, NumPy's float32 GEMM speed in the same process (one thread, as
``hippoviz bench``) and the same products done by BLAS. The sum of the phases is compared with
the measured whole step: ``run_steps`` (the kernel's CPU time per step) and ``run_chunk``
(steps/s, wall and CPU, in chunks of 200 steps as ``hippoviz bench``); ``unaccounted`` is the
part of the kernel's time that no phase covers (the loop itself, the per-chunk scratch, the cache
misses a phase in isolation does not have; the phase loops keep their data hot in cache, which
the full step does not always do). On a busy machine the figures move by tens of percent from
run to run: compare shares within one run, and look at ``load_avg``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).resolve().parents[2] / ".numba_cache"))

import numpy as np
from numba import njit

import hippoviz.sim.simulator as simulator_module
from hippoviz import __version__
from hippoviz import params as P
from hippoviz.runtime.threads import limit_threads
from hippoviz.sim import build
from hippoviz.sim import kernel as K
from hippoviz.sim.agent import agent_step
from hippoviz.sim.arena import wall_distances
from hippoviz.sim.inputs import border_rates, grid_rates, lec_context_rates, object_rates
from hippoviz.sim.network import (
    TILE_STEPS,
    block_forward,
    kth_largest,
    sigmoid,
    sparse_forward,
    tile_rows,
)
from hippoviz.sim.rng import normal

F32 = np.float32
I32 = np.int32


# ---- njit copies of the parts run_steps has inline (same code, same flags) ---------------------
@njit(cache=True, nogil=True)
def _loop_agent(reps: int, pv: Any, agent: Any, segments: Any, seg_wall: Any,
                rs_env: Any, traj: Any) -> Any:
    # the rat: two normal draws, the trajectory test, one agent_step
    dt = pv[K.DT]
    rot_std = pv[K.ROT_STD]
    for r in range(reps):
        n_a = normal(rs_env)
        n_b = normal(rs_env)
        row = r  # no recorded trajectory drives the rat
        if 0 <= row < traj.shape[0]:
            continue
        agent_step(agent, dt, pv[K.SPEED_MEAN], pv[K.SPEED_TAU], rot_std, pv[K.ROT_TAU],
                   pv[K.THIG], pv[K.WALL_RANGE], pv[K.WALL_STRENGTH], int(pv[K.WALL_MODEL]),
                   pv[K.WIDTH], pv[K.HEIGHT], pv[K.SHAPE], segments, seg_wall, n_a, n_b)
    return agent[0]


@njit(cache=True, nogil=True)
def _loop_grid(reps: int, pv: Any, pos: Any, kmod: Any, gcos: Any, gsin: Any, gmod: Any,
               trig: Any, out: Any) -> None:
    for r in range(reps):
        p = r % pos.shape[0]
        grid_rates(pos[p, 0] * pv[K.GRID_SX], pos[p, 1] * pv[K.GRID_SY], kmod, gcos, gsin, gmod,
                   trig, out)


@njit(cache=True, nogil=True)
def _loop_border(reps: int, pos: Any, segments: Any, seg_wall: Any, dists: Any,
                 border_d: Any, border_w: Any, out: Any) -> None:
    for r in range(reps):
        p = r % pos.shape[0]
        wall_distances(pos[p, 0], pos[p, 1], segments, seg_wall, dists)
        border_rates(dists, border_d, border_w, out)


@njit(cache=True, nogil=True)
def _loop_lec(reps: int, pv: Any, pos: Any, maps_a: Any, maps_b: Any, switch_at: Any,
              out: Any) -> None:
    for r in range(reps):
        p = r % pos.shape[0]
        lec_context_rates(pos[p, 0], pos[p, 1], pv[K.WIDTH], pv[K.HEIGHT], maps_a, maps_b,
                          switch_at, pv[K.CTX_MORPH], pv[K.BLEND] > 0.5, out)


@njit(cache=True, nogil=True)
def _loop_objects(reps: int, pv: Any, pos: Any, obj_pos: Any, obj_on: Any, obj_vec: Any,
                  out: Any) -> None:
    for r in range(reps):
        p = r % pos.shape[0]
        object_rates(pos[p, 0], pos[p, 1], obj_pos, obj_on, obj_vec, pv[K.OBJ_SIGMA], out)


@njit(cache=True, nogil=True)
def _loop_ec_assemble(reps: int, step0: int, pv: Any, pos: Any, agent: Any, grid_out: Any,
                      border_out: Any, ctx_out: Any, obj_out: Any, xb: Any, xinb: Any,
                      plastic_b: Any, samples: Any, rs_env: Any, batch: int) -> int:
    # theta, the gating, the sample columns of the rat, the EC vector and its input copy
    n_ec = xb.shape[1]
    n_grid = grid_out.shape[0]
    n_border = border_out.shape[0]
    n_ctx = ctx_out.shape[0]
    o_border = n_grid
    o_ctx = n_grid + n_border
    o_obj = o_ctx + n_ctx
    dt = pv[K.DT]
    learn = pv[K.LEARN] > 0.5
    cnt = 0
    for r in range(reps):
        nb = r % xb.shape[0]
        s = r % samples.shape[0]
        g = step0 + r
        t0 = g * dt
        px = pos[r % pos.shape[0], 0]
        py = pos[r % pos.shape[0], 1]
        theta = (K._TWO_PI * pv[K.F_THETA] * t0) % K._TWO_PI
        plastic = 1.0
        in_scale = 1.0
        if pv[K.THETA_GATING] > 0.5:
            ph = (theta - pv[K.ENC_PHASE]) % K._TWO_PI
            if ph >= pv[K.ENC_WINDOW]:
                plastic = 0.0
                in_scale = 1.0 - pv[K.THETA_DEPTH]
        plastic_b[nb] = plastic
        samples[s, K.S_T] = t0
        samples[s, K.S_X] = px
        samples[s, K.S_Y] = py
        samples[s, K.S_HEADING] = agent[2]
        samples[s, K.S_SPEED] = agent[3]
        samples[s, K.S_THETA] = theta
        x = xb[nb]
        xin = xinb[nb]
        for i in range(n_grid):
            x[i] = pv[K.G_MEC] * grid_out[i]
        for i in range(n_border):
            x[o_border + i] = pv[K.G_BORDER] * border_out[i]
        for i in range(n_ctx):
            x[o_ctx + i] = pv[K.G_LEC] * ctx_out[i]
        for i in range(obj_out.shape[0]):
            x[o_obj + i] = pv[K.G_LEC] * obj_out[i]
        for i in range(n_ec):
            v = x[i]
            if pv[K.SIGMA_IN] > 0.0:
                v += pv[K.SIGMA_IN] * normal(rs_env)
                if v < 0.0:
                    v = 0.0
            xin[i] = v * in_scale
        if learn and plastic > 0.0:
            cnt += 1
            if cnt >= batch:
                cnt = 0
    return cnt


@njit(cache=True, nogil=True)
def _loop_block(reps: int, w1: Any, xinb: Any, nb: int, b1: Any, h1b: Any) -> None:
    for _ in range(reps):
        block_forward(w1, xinb, nb, b1, h1b)


@njit(cache=True, nogil=True)
def _layer_body(pv: Any, h: Any, pre: Any, th: Any, mode: int, k: float, e: float, rs: Any,
                scratch: Any, act: Any, tau: Any, slot: int, ipstat: Any, off: int,
                isd: Any) -> tuple[int, float]:
    # (DG: h1[:] = h1b[sb]) -> intrinsic plasticity -> _hidden -> divisive normalisation
    h[:] = pre
    ip_on = pv[K.IP_TAU] > 0.0
    if ip_on:
        ip_rate = pv[K.DT] / pv[K.IP_TAU] if pv[K.LEARN] > 0.5 else 0.0
        K._standardise(h, ipstat, off, ip_rate, isd)
    m = K._hidden(h, th, mode, k, e, pv[K.SIGMA_H], pv[K.DROPOUT], rs, scratch, act, tau, slot)
    mean = 1.0
    if pv[K.DIVNORM] > 0.5:
        mean = K._normalise_activity(h, act, m)
    return m, mean


@njit(cache=True, nogil=True)
def _loop_layer(reps: int, pv: Any, pres: Any, h: Any, th: Any, mode: int, k: float, e: float,
                rs: Any, scratch: Any, act: Any, tau: Any, slot: int, ipstat: Any, off: int,
                isd: Any) -> int:
    tot = 0
    for r in range(reps):
        # CA3 and CA1 receive their pre-activation from sparse_forward in the kernel; here it
        # is copied in (256 and 128 floats, a few tens of ns)
        m, _ = _layer_body(pv, h, pres[r % pres.shape[0]], th, mode, k, e, rs, scratch, act,
                           tau, slot, ipstat, off, isd)
        tot += m
    return tot


@njit(cache=True, nogil=True)
def _loop_kth(reps: int, pres: Any, th: Any, k: int, scratch: Any) -> float:
    # the selection alone, on the rectified pre-activation (as _hidden hands it to sparsify)
    n = pres.shape[1]
    a = np.zeros(n, np.float32)
    tot = 0.0
    for r in range(reps):
        pre = pres[r % pres.shape[0]]
        for i in range(n):
            v = pre[i] - th[i]
            a[i] = v if v > 0.0 else 0.0
        tot += kth_largest(a, n, k, scratch)
    return tot


@njit(cache=True, nogil=True)
def _loop_sparse(reps: int, wt: Any, hs: Any, acts: Any, ms: Any, b: Any, out: Any) -> None:
    for r in range(reps):
        s = r % hs.shape[0]
        sparse_forward(wt, hs[s], acts[s], ms[s], b, out)


@njit(cache=True, nogil=True)
def _add_ta(pv: Any, ta: Any, b3: Any, h3: Any) -> None:
    # the EC III -> CA1 shortcut's share of CA1's drive (its product is block_forward's)
    for i in range(h3.shape[0]):
        h3[i] += pv[K.G_TA] * (ta[i] - b3[i])


@njit(cache=True, nogil=True)
def _loop_ta(reps: int, pv: Any, wta: Any, xinb: Any, nb: int, b3: Any, tab: Any,
             h3: Any) -> None:
    # the EC III -> CA1 shortcut of a block (only when its gain is on), then its share of the
    # drive of each step
    if pv[K.G_TA] <= 0.0:
        return
    for _ in range(reps):
        block_forward(wta, xinb, nb, b3, tab)
        for s in range(nb):
            _add_ta(pv, tab[s], b3, h3)


@njit(cache=True, nogil=True)
def _mismatch_body(x: Any, xpre: Any, xhat: Any, d4: Any, e_grp: Any, x_grp: Any,
                   samples: Any, s: int, o_border: int, o_ctx: int) -> bool:
    # the kernel runs the sigmoid in place on xhat; here it reads the stored pre-activation
    n_ec = x.shape[0]
    e_tot = 0.0
    x_tot = 0.0
    for gi in range(3):
        e_grp[gi] = 0.0
        x_grp[gi] = 0.0
    for i in range(n_ec):
        xh = sigmoid(xpre[i])
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
        return False
    samples[s, K.S_MM_TOTAL] = e_tot / max(x_tot, 1e-12)
    for gi in range(3):
        samples[s, K.S_MM_GRID + gi] = (e_grp[gi] / max(x_grp[gi], 1e-12)
                                      if x_grp[gi] > 0 else 0.0)
    return True


@njit(cache=True, nogil=True)
def _loop_mismatch(reps: int, xs: Any, xpres: Any, xhat: Any, d4: Any, e_grp: Any, x_grp: Any,
                   samples: Any, o_border: int, o_ctx: int) -> None:
    for r in range(reps):
        s = r % xs.shape[0]
        _mismatch_body(xs[s], xpres[s], xhat, d4, e_grp, x_grp, samples,
                       r % samples.shape[0], o_border, o_ctx)


@njit(cache=True, nogil=True)
def _err_ca1_body(pv: Any, b4t: Any, d4: Any, d3: Any, h3: Any, act3: Any, m3: int,
                  mean3: float, tau3: int, coef3: float, isd3: Any) -> int:
    # the output error carried into CA1 (inline in run_steps) and through CA1's layer
    sp_ca1 = int(pv[K.SP_CA1])
    for q in range(m3):
        l = act3[q]
        d3[l] = pv[K.GAIN_EC_CA1] * K._dot(b4t[l], d4)
        if sp_ca1 == 2:
            d3[l] += pv[K.L1]
    return K._layer_error(d3, h3, act3, m3, pv[K.DIVNORM] > 0.5, mean3, pv[K.WTA_EXACT] > 0.5, tau3,
                        coef3, pv[K.IP_TAU] > 0.0, isd3)


@njit(cache=True, nogil=True)
def _loop_err_ca1(reps: int, pv: Any, b4t: Any, d4s: Any, h3s: Any, acts: Any, ms: Any,
                  means: Any, taus: Any, coef3: float, act3: Any, d3: Any, isd3: Any) -> int:
    tot = 0
    for r in range(reps):
        s = r % d4s.shape[0]
        m3 = ms[s]
        for q in range(m3):  # the winners (the threshold unit is appended after them)
            act3[q] = acts[s, q]
        mb3 = _err_ca1_body(pv, b4t, d4s[s], d3, h3s[s], act3, m3, means[s], taus[s], coef3,
                            isd3)
        for q in range(mb3):
            d3[act3[q]] = 0.0
        tot += mb3
    return tot


@njit(cache=True, nogil=True)
def _err_back_body(pv: Any, b3t: Any, b2t: Any, d3: Any, act3: Any, m3: int, mb3: int, d2: Any,
                   h2: Any, act2: Any, m2: int, mean2: float, tau2: int, coef2: float,
                   isd2: Any, d1: Any, h1: Any, act1: Any, m1: int, mean1: float, tau1: int,
                   coef1: float, isd1: Any, carried: Any) -> tuple[int, int]:
    dn = pv[K.DIVNORM] > 0.5
    exact = pv[K.WTA_EXACT] > 0.5
    ip_on = pv[K.IP_TAU] > 0.0
    K._back_project(b3t, act2, m2, act3, mb3, d3, pv[K.GAIN_CA1_CA3],
                  pv[K.L1] if int(pv[K.SP_CA3]) == 2 else 0.0, d2)
    mb2 = K._layer_error(d2, h2, act2, m2, dn, mean2, exact, tau2, coef2, ip_on, isd2)
    K._back_project(b2t, act1, m1, act2, mb2, d2, pv[K.GAIN_CA3_DG],
                  pv[K.L1] if int(pv[K.SP_DG]) == 2 else 0.0, d1)
    mb1 = K._layer_error(d1, h1, act1, m1, dn, mean1, exact, tau1, coef1, ip_on, isd1)
    carried[0] = K._abs_sum(d3, act3, mb3) / max(m3, 1)
    carried[1] = K._abs_sum(d2, act2, mb2) / max(m2, 1)
    carried[2] = K._abs_sum(d1, act1, mb1) / max(m1, 1)
    return mb2, mb1


@njit(cache=True, nogil=True)
def _loop_err_back(reps: int, pv: Any, b3t: Any, b2t: Any, d3s: Any, act3s: Any, m3s: Any,
                   mb3s: Any, h2s: Any, act2s: Any, m2s: Any, mean2s: Any, taus: Any,
                   coef2: float, h1s: Any, act1s: Any, m1s: Any, mean1s: Any, coef1: float,
                   act2: Any, act1: Any, d2: Any, d1: Any, isd2: Any, isd1: Any,
                   carried: Any) -> int:
    tot = 0
    for r in range(reps):
        s = r % d3s.shape[0]
        m2 = m2s[s]
        m1 = m1s[s]
        for q in range(m2):
            act2[q] = act2s[s, q]
        for q in range(m1):
            act1[q] = act1s[s, q]
        mb2, mb1 = _err_back_body(pv, b3t, b2t, d3s[s], act3s[s], m3s[s], mb3s[s], d2, h2s[s],
                                  act2, m2, mean2s[s], taus[s, 1], coef2, isd2, d1, h1s[s],
                                  act1, m1, mean1s[s], taus[s, 0], coef1, isd1, carried)
        for q in range(mb2):
            d2[act2[q]] = 0.0
        for q in range(mb1):
            d1[act1[q]] = 0.0
        tot += mb1
    return tot


@njit(cache=True, nogil=True)
def _grad_body(pv: Any, xin: Any, d4: Any, h3: Any, act3: Any, m3: int, mb3: int, d3: Any,
               h2: Any, act2: Any, m2: int, mb2: int, d2: Any, h1: Any, act1: Any, m1: int,
               mb1: int, d1: Any, g1: Any, g2t: Any, g3t: Any, gta: Any, g4t: Any, gb1: Any,
               gb2: Any, gb3: Any, gb4: Any, act_count: Any, dg_idle: Any,
               counters: Any) -> None:
    # the gradient accumulation of one step, as run_steps has it inline
    n_ec = d4.shape[0]
    n1 = h1.shape[0]
    n2 = h2.shape[0]
    for i in range(n_ec):
        gb4[i] += d4[i]
    for q in range(m3):
        l = act3[q]
        hl = h3[l]
        grow = g4t[l]
        for i in range(n_ec):
            grow[i] += hl * d4[i]
        gb3[l] += d3[l]
        if pv[K.G_TA] > 0.0:
            grow2 = gta[l]
            dl = pv[K.G_TA] * d3[l]
            for i in range(n_ec):
                grow2[i] += dl * xin[i]
        act_count[n1 + n2 + l] += 1.0
    for q in range(m3, mb3):
        l = act3[q]
        gb3[l] += d3[l]
        if pv[K.G_TA] > 0.0:
            grow2 = gta[l]
            dl = pv[K.G_TA] * d3[l]
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
    for q in range(mb1):
        j = act1[q]
        hj = h1[j]
        if q < m1:
            for r in range(mb2):
                i = act2[r]
                g2t[j, i] += hj * d2[i]
            act_count[j] += 1.0
        else:
            dg_idle[j] = -1
        gb1[j] += d1[j]
        dj = d1[j]
        grow = g1[j]
        for i in range(n_ec):
            grow[i] += dj * xin[i]
    counters[0] += 1


@njit(cache=True, nogil=True)
def _loop_grad(reps: int, pv: Any, xs: Any, d4s: Any, h3s: Any, act3s: Any, m3s: Any,
               mb3s: Any, d3s: Any, h2s: Any, act2s: Any, m2s: Any, mb2s: Any, d2s: Any,
               h1s: Any, act1s: Any, m1s: Any, mb1s: Any, d1s: Any, g1: Any, g2t: Any,
               g3t: Any, gta: Any, g4t: Any, gb1: Any, gb2: Any, gb3: Any, gb4: Any,
               act_count: Any, dg_idle: Any, counters: Any) -> None:
    for r in range(reps):
        s = r % xs.shape[0]
        _grad_body(pv, xs[s], d4s[s], h3s[s], act3s[s], m3s[s], mb3s[s], d3s[s], h2s[s],
                   act2s[s], m2s[s], mb2s[s], d2s[s], h1s[s], act1s[s], m1s[s], mb1s[s],
                   d1s[s], g1, g2t, g3t, gta, g4t, gb1, gb2, gb3, gb4, act_count, dg_idle,
                   counters)


@njit(cache=True, nogil=True)
def _rates_body(pv: Any, g: int, theta: float, px: float, py: float, x: Any, xhat: Any,
                h1: Any, act1: Any, m1: int, h2: Any, act2: Any, m2: int, h3: Any, act3: Any,
                m3: int, href: Any, r_ec: Any, r_out: Any, r_dg: Any, r_ca3: Any, r_ca1: Any,
                rm_occ: Any, rm_w: Any, o_ctx: int) -> tuple[int, int, float]:
    # theta-modulated rates, the rate-map bin and the occupancy (the spikes are timed apart)
    n_ec = x.shape[0]
    dt = pv[K.DT]
    kap = pv[K.KAPPA]
    mod_ec = 1.0 + kap * math.cos(theta - pv[K.PH_EC])
    for i in range(n_ec):
        rm = pv[K.RMAX_GRID] if i < o_ctx else pv[K.RMAX_LEC]
        r_ec[i] = rm * x[i] * mod_ec
        r_out[i] = pv[K.RMAX_OUT] * xhat[i] * mod_ec
    K._hidden_rates(h1, act1, m1, href, 0,
                  pv[K.RMAX_DG] * (1.0 + kap * math.cos(theta - pv[K.PH_DG])), r_dg)
    K._hidden_rates(h2, act2, m2, href, 1,
                  pv[K.RMAX_CA3] * (1.0 + kap * math.cos(theta - pv[K.PH_CA3])), r_ca3)
    K._hidden_rates(h3, act3, m3, href, 2,
                  pv[K.RMAX_CA1] * (1.0 + kap * math.cos(theta - pv[K.PH_CA1])), r_ca1)
    ny_rm, nx_rm = rm_occ.shape
    bi = int((py - pv[K.RM_YMIN]) / pv[K.RM_BIN])
    bj = int((px - pv[K.RM_XMIN]) / pv[K.RM_BIN])
    bi = min(max(bi, 0), ny_rm - 1)
    bj = min(max(bj, 0), nx_rm - 1)
    wdt = dt * rm_w[0]
    rm_occ[bi, bj] += wdt
    if (g + 1) % K.RM_DECAY_EVERY == 0 and pv[K.RM_DECAY] < 1.0:
        rm_w[0] /= pv[K.RM_DECAY]
    return bi, bj, wdt


@njit(cache=True, nogil=True)
def _loop_rates(reps: int, pv: Any, steps: Any, pos: Any, xs: Any, xhats: Any, h1s: Any,
                act1s: Any, m1s: Any, h2s: Any, act2s: Any, m2s: Any, h3s: Any, act3s: Any,
                m3s: Any, href: Any, r_ec: Any, r_out: Any, r_dg: Any, r_ca3: Any, r_ca1: Any,
                rm_occ: Any, rm_w: Any, samples: Any, o_ctx: int) -> None:
    n_dg = h1s.shape[1]
    n_ca3 = h2s.shape[1]
    n_ca1 = h3s.shape[1]
    dt = pv[K.DT]
    for r in range(reps):
        s = r % xs.shape[0]
        g = steps[s]
        theta = (K._TWO_PI * pv[K.F_THETA] * g * dt) % K._TWO_PI
        m1 = m1s[s]
        m2 = m2s[s]
        m3 = m3s[s]
        _rates_body(pv, g, theta, pos[s, 0], pos[s, 1], xs[s], xhats[s], h1s[s], act1s[s], m1,
                    h2s[s], act2s[s], m2, h3s[s], act3s[s], m3, href, r_ec, r_out, r_dg,
                    r_ca3, r_ca1, rm_occ, rm_w, o_ctx)
        ss = r % samples.shape[0]
        samples[ss, K.S_ACTIVE_DG] = m1 / n_dg
        samples[ss, K.S_ACTIVE_CA3] = m2 / n_ca3
        samples[ss, K.S_ACTIVE_CA1] = m3 / n_ca1
        act1 = act1s[s]
        act2 = act2s[s]
        act3 = act3s[s]
        for q in range(m1):
            r_dg[act1[q]] = 0.0
        for q in range(m2):
            r_ca3[act2[q]] = 0.0
        for q in range(m3):
            r_ca1[act3[q]] = 0.0
        rm_w[0] = 1.0


@njit(cache=True, nogil=True)
def _loop_spikes(reps: int, pv: Any, steps: Any, r_ecs: Any, r_dgs: Any, r_ca3s: Any,
                 r_ca1s: Any, r_outs: Any, act1s: Any, m1s: Any, act2s: Any, m2s: Any,
                 act3s: Any, m3s: Any, bis: Any, bjs: Any, rs: Any, sp_times: Any,
                 sp_units: Any, sp_count: Any, rm_acc: Any, offs: Any) -> int:
    none_act = np.zeros(1, np.int32)
    dt = pv[K.DT]
    tot = 0
    for r in range(reps):
        s = r % r_ecs.shape[0]
        t0 = steps[s] * dt
        bi = bis[s]
        bj = bjs[s]
        wdt = dt
        K._spikes(r_ecs[s], none_act, 0, True, dt, t0, rs, sp_times[0], sp_units[0], sp_count,
                0, rm_acc, offs[0], bi, bj, wdt)
        K._spikes(r_dgs[s], act1s[s], m1s[s], False, dt, t0, rs, sp_times[1], sp_units[1],
                sp_count, 1, rm_acc, offs[1], bi, bj, wdt)
        K._spikes(r_ca3s[s], act2s[s], m2s[s], False, dt, t0, rs, sp_times[2], sp_units[2],
                sp_count, 2, rm_acc, offs[2], bi, bj, wdt)
        K._spikes(r_ca1s[s], act3s[s], m3s[s], False, dt, t0, rs, sp_times[3], sp_units[3],
                sp_count, 3, rm_acc, offs[3], bi, bj, wdt)
        K._spikes(r_outs[s], none_act, 0, True, dt, t0, rs, sp_times[4], sp_units[4], sp_count,
                4, rm_acc, offs[4], bi, bj, wdt)
        for k in range(5):  # the buffers hold one step: start again (the kernel's hold a chunk)
            tot += sp_count[k]
            sp_count[k] = 0
    return tot


# ---- the per-batch work, one call per batch -----------------------------------------------------
@njit(cache=True, nogil=True)
def _batch_dg(pv: Any, w1: Any, g1: Any, v1: Any, m21: Any, w2t: Any, g2t: Any, v2: Any,
              m22: Any, act_count: Any, dg_idle: Any, k_idle: int, inv_b: float,
              t_adam: int, colsq2: Any) -> None:
    mom = pv[K.MOMENTUM]
    wd = pv[K.DECAY]
    if pv[K.ADAM] > 0.5:
        K._apply_update(w1, g1, v1, m21, pv[K.LR_DG], mom, inv_b, True, t_adam, wd)
        K._apply_update(w2t, g2t, v2, m22, pv[K.LR_CA3], mom, inv_b, True, t_adam, wd)
        return
    for j in range(w1.shape[0]):
        if act_count[j] > 0.0:
            dg_idle[j] = 0
        elif dg_idle[j] <= k_idle:
            dg_idle[j] += 1
    no_cols = np.zeros(0, np.float64)
    K._apply_update_rows(w1, g1, v1, pv[K.LR_DG], mom, inv_b, dg_idle, k_idle, wd, pv[K.WNORM],
                         np.zeros(w1.shape[1], np.float32), no_cols)
    K._apply_update_rows(w2t, g2t, v2, pv[K.LR_CA3], mom, inv_b, dg_idle, k_idle, wd, 0.0,
                         np.zeros(w2t.shape[1], np.float32),
                         colsq2 if pv[K.WNORM] > 0.0 else no_cols)


@njit(cache=True, nogil=True)
def _batch_dense(pv: Any, w3t: Any, g3t: Any, v3: Any, m23: Any, wta: Any, gta: Any, vta: Any,
                 m2ta: Any, w4t: Any, g4t: Any, v4: Any, m24: Any, inv_b: float,
                 t_adam: int) -> None:
    adam = pv[K.ADAM] > 0.5
    mom = pv[K.MOMENTUM]
    wd = pv[K.DECAY]
    K._apply_update(w3t, g3t, v3, m23, pv[K.LR_CA1], mom, inv_b, adam, t_adam, wd)
    K._apply_update(wta, gta, vta, m2ta, pv[K.LR_CA1], mom, inv_b, adam, t_adam, wd)
    K._apply_update(w4t, g4t, v4, m24, pv[K.LR_OUT], mom, inv_b, adam, t_adam, wd)


@njit(cache=True, nogil=True)
def _batch_bias(pv: Any, b1: Any, gb1: Any, v5: Any, m25: Any, b2: Any, gb2: Any, v6: Any,
                m26: Any, b3: Any, gb3: Any, v7: Any, m27: Any, b4: Any, gb4: Any, v8: Any,
                m28: Any, inv_b: float, t_adam: int) -> None:
    adam = pv[K.ADAM] > 0.5
    mom = pv[K.MOMENTUM]
    hb = pv[K.HBIAS]
    K._apply_update(b1, gb1, v5, m25, hb * pv[K.LR_DG], mom, inv_b, adam, t_adam, 0.0)
    K._apply_update(b2, gb2, v6, m26, hb * pv[K.LR_CA3], mom, inv_b, adam, t_adam, 0.0)
    K._apply_update(b3, gb3, v7, m27, hb * pv[K.LR_CA1], mom, inv_b, adam, t_adam, 0.0)
    K._apply_update(b4, gb4, v8, m28, pv[K.LR_OUT], mom, inv_b, adam, t_adam, 0.0)


@njit(cache=True, nogil=True)
def _batch_scaling(pv: Any, w1: Any, w2t: Any, w3t: Any, dg_idle: Any, k_idle: int,
                   colsq2: Any) -> None:
    wn = pv[K.WNORM]
    if wn > 0.0:
        if pv[K.ADAM] > 0.5:  # (with SGD EC -> DG's rows are scaled in _apply_update_rows,
            K.normalise_rows(w1, wn, dg_idle, k_idle)  # which gathers DG -> CA3's columns)
            K.normalise_columns(w2t, wn)
        else:
            K.scale_columns(w2t, wn, colsq2)
        K.normalise_columns(w3t, wn)


@njit(cache=True, nogil=True)
def _batch_homeostasis(pv: Any, th1: Any, th2: Any, th3: Any, act_count: Any, inv_b: float,
                       counters: Any) -> None:
    n_dg = th1.shape[0]
    n_ca3 = th2.shape[0]
    n_ca1 = th3.shape[0]
    n1 = n_dg
    n2 = n_ca3
    eta = pv[K.HOMEO]
    if eta > 0.0:
        kept = pv[K.H_KEPT] > 0.5
        t1 = K._target(int(pv[K.SP_DG]) if kept else 1, pv[K.K_DG], n_dg)
        t2 = K._target(int(pv[K.SP_CA3]) if kept else 1, pv[K.K_CA3], n_ca3)
        t3 = K._target(int(pv[K.SP_CA1]) if kept else 1, pv[K.K_CA1], n_ca1)
        for j in range(n_dg):
            th1[j] += eta * (act_count[j] * inv_b - t1)
        for i in range(n_ca3):
            th2[i] += eta * (act_count[n1 + i] * inv_b - t2)
        for l in range(n_ca1):
            th3[l] += eta * (act_count[n1 + n2 + l] * inv_b - t3)
    for j in range(act_count.shape[0]):
        act_count[j] = 0.0
    counters[0] = 0
    counters[1] += 1


# ---- recording real steps ----------------------------------------------------------------------
def _pad(rows: list[Any], dtype: Any) -> Any:
    return np.ascontiguousarray(np.stack([np.asarray(r, dtype) for r in rows]))


def record(sim: Any, n_samples: int, spacing: int) -> dict[str, Any]:
    """Run ``n_samples`` chunks of ``spacing`` steps, keep each last step's EC input and the
    rat's position, then replay the step on the final weights with the kernel's own functions
    (and this file's copies of its inline parts), keeping every intermediate array."""
    xs, steps, pos = [], [], []
    for i in range(n_samples):
        ch = sim.run_chunk(spacing)
        # the last step should not end a batch (counters[0] > 0 after it): its weights are
        # then the current ones, and its replay can be checked against the kernel's
        while i == n_samples - 1 and int(sim._counters[0]) == 0 and sim._pv[K.LEARN] > 0.5:
            ch = sim.run_chunk(1)
        xs.append(sim.last("x"))
        steps.append(sim.step - 1)
        pos.append(np.asarray(ch.pos_m[-1], np.float64))
    check_possible = int(sim._counters[0]) > 0 or sim._pv[K.LEARN] <= 0.5
    pv = sim._pv.copy()
    net = sim.net
    n_ec, n_dg = net.w_ec_dg.shape[1], net.w_ec_dg.shape[0]
    n_ca3, n_ca1 = net.wt_dg_ca3.shape[1], net.wt_ca3_ca1.shape[1]
    S = n_samples
    X = _pad(xs + [xs[-1]] * (tile_rows(S) - S), F32)  # (block_forward reads whole tiles)
    h1pre = np.zeros((X.shape[0], n_dg), F32)
    block_forward(net.w_ec_dg, X, S, net.b_dg, h1pre)
    rs = sim._rs.copy()
    ipstat = sim._ipstat.copy()
    scratch = np.zeros(max(n_dg, n_ca3, n_ca1), F32)
    tau = np.full(3, -1, np.int64)
    isd = [np.ones(n, F32) for n in (n_dg, n_ca3, n_ca1)]
    ths = (net.th_dg, net.th_ca3, net.th_ca1)
    modes = (int(pv[K.SP_DG]), int(pv[K.SP_CA3]), int(pv[K.SP_CA1]))
    ks = (pv[K.K_DG], pv[K.K_CA3], pv[K.K_CA1])
    es = (pv[K.E_DG], pv[K.E_CA3], pv[K.E_CA1])
    coefs = tuple(1.0 if modes[i] == 0 else 1.0 - es[i] for i in range(3))
    offs = (0, n_dg, n_dg + n_ca3)
    out: dict[str, list[Any]] = {k: [] for k in (
        "h1", "h2pre", "h2", "h3pre", "h3", "xpre", "xhat", "d4", "d3", "d2", "d1", "act1",
        "act2", "act3", "m", "mb", "mean", "tau")}
    e_grp, x_grp = np.zeros(3), np.zeros(3)
    samples = np.zeros((1, len(K.SAMPLE_COLUMNS)))
    o_border = sim.input_groups["border"].start
    o_ctx = sim.input_groups["lec_context"].start
    carried = np.zeros(3)
    for s in range(S):
        acts = [np.zeros(n, I32) for n in (n_dg, n_ca3, n_ca1)]
        hs: list[Any] = []
        pres: list[Any] = [h1pre[s]]
        ms, means, taus = [], [], []
        for li, (wt, b) in enumerate(((net.wt_dg_ca3, net.b_ca3), (net.wt_ca3_ca1, net.b_ca1),
                                      (None, None))):
            h = np.zeros_like(pres[li])
            m, mean = _layer_body(pv, h, pres[li], ths[li], modes[li], ks[li], es[li], rs,
                                  scratch, acts[li], tau, li, ipstat, offs[li], isd[li])
            hs.append(h)
            ms.append(m)
            means.append(mean)
            taus.append(int(tau[li]))
            if wt is not None:
                nxt = np.zeros(wt.shape[1], F32)
                sparse_forward(wt, h, acts[li], m, b, nxt)
                if li == 1 and pv[K.G_TA] > 0.0:
                    tab = np.zeros((TILE_STEPS, n_ca1), F32)
                    block_forward(net.w_ec_ca1, np.repeat(X[s:s + 1], TILE_STEPS, axis=0), 1,
                                  net.b_ca1, tab)
                    _add_ta(pv, tab[0], net.b_ca1, nxt)
                pres.append(nxt)
        xpre = np.zeros(n_ec, F32)
        sparse_forward(net.wt_ca1_out, hs[2], acts[2], ms[2], net.b_out, xpre)
        xhat, d4 = np.zeros(n_ec, F32), np.zeros(n_ec, F32)
        _mismatch_body(X[s], xpre, xhat, d4, e_grp, x_grp, samples, 0, o_border, o_ctx)
        d3, d2, d1 = np.zeros(n_ca1, F32), np.zeros(n_ca3, F32), np.zeros(n_dg, F32)
        mb3 = _err_ca1_body(pv, net.wt_ca1_out, d4, d3, hs[2], acts[2], ms[2], means[2],
                            taus[2], coefs[2], isd[2])
        mb2, mb1 = _err_back_body(pv, net.wt_ca3_ca1, net.wt_dg_ca3, d3, acts[2], ms[2], mb3,
                                  d2, hs[1], acts[1], ms[1], means[1], taus[1], coefs[1],
                                  isd[1], d1, hs[0], acts[0], ms[0], means[0], taus[0],
                                  coefs[0], isd[0], carried)
        for k, v in (("h1", hs[0]), ("h2pre", pres[1]), ("h2", hs[1]), ("h3pre", pres[2]),
                     ("h3", hs[2]), ("xpre", xpre), ("xhat", xhat), ("d4", d4), ("d3", d3),
                     ("d2", d2), ("d1", d1), ("act1", acts[0]), ("act2", acts[1]),
                     ("act3", acts[2]), ("m", ms), ("mb", [mb1, mb2, mb3]), ("mean", means),
                     ("tau", taus)):
            out[k].append(v)
    ints = {"act1": I32, "act2": I32, "act3": I32, "m": I32, "mb": I32, "tau": np.int64,
            "mean": np.float64}
    rec: dict[str, Any] = {k: _pad(v, ints.get(k, F32)) for k, v in out.items()}
    for li in range(3):  # per layer, contiguous
        for k in ("m", "mb", "mean", "tau"):
            rec[f"{k}{li + 1}"] = np.ascontiguousarray(rec[k][:, li])
    rec.update(x=X, h1pre=h1pre, steps=np.asarray(steps, np.int64), pos=_pad(pos, np.float64),
               pv=pv, coefs=coefs, o_border=o_border, o_ctx=o_ctx)
    # the replay of the last step against what the kernel kept of it
    check: dict[str, Any] = {"possible": check_possible}
    if check_possible:
        nd, n3 = n_dg, n_ca3
        last_h = sim._last_h
        check["dg"] = bool(np.array_equal(rec["h1"][-1], last_h[:nd]))
        check["ca3"] = bool(np.array_equal(rec["h2"][-1], last_h[nd:nd + n3]))
        check["ca1"] = bool(np.array_equal(rec["h3"][-1], last_h[nd + n3:]))
        check["x_hat"] = bool(np.array_equal(rec["xhat"][-1], sim._last_xhat))
    rec["check"] = check
    return rec


# ---- timing --------------------------------------------------------------------------------------
def _calibrate(fn: Callable[[int], Any], seconds: float) -> int:
    """Repetitions of ``fn(reps)`` that take about ``seconds`` (after a first call that
    compiles or loads it)."""
    fn(1)
    reps, dt = 1, 0.0
    while True:
        t = time.thread_time()
        fn(reps)
        dt = time.thread_time() - t
        if dt > 0.01 or reps > 1 << 26:
            break
        reps *= 8
    return max(1, int(reps * seconds / max(dt, 1e-9)))


def _per_rep(fn: Callable[[int], Any], reps: int) -> float:
    t = time.thread_time()
    fn(reps)
    return (time.thread_time() - t) / reps


def _best_per_rep(fn: Callable[[int], Any], seconds: float, n_meas: int = 5) -> float:
    """Thread CPU seconds per repetition of ``fn(reps)``, best of ``n_meas`` measurements that
    together last about ``seconds``."""
    reps = _calibrate(fn, seconds / n_meas)
    return min(_per_rep(fn, reps) for _ in range(n_meas))


class _Kernel:
    """Wraps the simulator's ``run_steps`` to add up its thread CPU time."""

    def __init__(self) -> None:
        self.inner = simulator_module.__dict__["run_steps"]
        self.cpu = 0.0

    def __call__(self, *args: Any) -> Any:
        t = time.thread_time()
        r = self.inner(*args)
        self.cpu += time.thread_time() - t
        return r


def measure_run_chunk(sim: Any, seconds: float, chunk: int = 200) -> dict[str, float]:
    """Whole steps through ``sim.run_chunk(chunk)``: wall and CPU time per step, and the
    kernel's own CPU time per step."""
    wrap = _Kernel()
    simulator_module.__dict__["run_steps"] = wrap
    try:
        sim.run_chunk(chunk)
        wrap.cpu = 0.0
        steps = 0
        w0, c0 = time.perf_counter(), time.thread_time()
        while time.perf_counter() - w0 < seconds:
            sim.run_chunk(chunk)
            steps += chunk
        wall, cpu = time.perf_counter() - w0, time.thread_time() - c0
    finally:
        simulator_module.__dict__["run_steps"] = wrap.inner
    return {"steps": steps, "steps_per_s": steps / wall, "wall_us": 1e6 * wall / steps,
            "cpu_us": 1e6 * cpu / steps, "kernel_cpu_us": 1e6 * wrap.cpu / steps}


def _gemm(m: int, k: int, n: int, seconds: float) -> float:
    """float32 ``(m, k) @ (k, n)`` by NumPy: GFLOP/s (thread CPU time)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    c = np.zeros((m, n), np.float32)

    def run(reps: int) -> None:
        for _ in range(reps):
            np.matmul(a, b, out=c)

    return 2.0 * m * k * n / _best_per_rep(run, seconds) / 1e9


def phases(sim: Any, rec: dict[str, Any]) -> list[dict[str, Any]]:
    """The phases of a step: name, description, ``fn(reps)`` that runs it ``reps`` times, the
    steps one repetition stands for, floating-point operations per step, and ``part_of`` for a
    detail already counted in another phase."""
    pv = rec["pv"]
    net = sim.net
    n_ec, n_dg = net.w_ec_dg.shape[1], net.w_ec_dg.shape[0]
    n_ca3, n_ca1 = net.wt_dg_ca3.shape[1], net.wt_ca3_ca1.shape[1]
    S = rec["x"].shape[0]
    batch = max(1, int(pv[K.BATCH]))
    learning = pv[K.LEARN] > 0.5
    nb = min(batch, K.BLOCK) if learning else K.BLOCK
    cp = {k: v.copy() for k, v in net.arrays().items()}
    w1, w2t, w3t, wta, w4t = (cp["w_ec_dg"], cp["wt_dg_ca3"], cp["wt_ca3_ca1"], cp["w_ec_ca1"],
                              cp["wt_ca1_out"])
    b1, b2, b3, b4 = cp["b_dg"], cp["b_ca3"], cp["b_ca1"], cp["b_out"]
    align = pv[K.ALIGN] > 0.5
    b4t = cp["ft_ca1_out"] if align else w4t
    b3t = cp["ft_ca3_ca1"] if align else w3t
    b2t = cp["ft_dg_ca3"] if align else w2t
    th1, th2, th3 = cp["th_dg"], cp["th_ca3"], cp["th_ca1"]
    m = rec["m"].astype(np.float64).mean(axis=0)  # mean winners per layer
    mb = rec["mb"].astype(np.float64).mean(axis=0)  # mean units with error (DG, CA3, CA1)
    rs = sim._rs.copy()
    rs_env = sim._rs_env.copy()
    samples = np.zeros((64, len(K.SAMPLE_COLUMNS)))
    scratch = np.zeros(max(n_dg, n_ca3, n_ca1), F32)
    tau = np.full(3, -1, np.int64)
    ipstat = sim._ipstat.copy()
    isd = [np.ones(n, F32) for n in (n_dg, n_ca3, n_ca1)]
    pos = rec["pos"]
    rows: list[dict[str, Any]] = []

    def add(name: str, what: str, fn: Callable[[int], Any], per: float = 1.0,
            flops: float = 0.0, part_of: str | None = None) -> None:
        rows.append({"phase": name, "what": what, "fn": fn, "per": per, "flops": flops,
                     "part_of": part_of})

    # -- phase A: the rat and the entorhinal input
    agent = sim._agent.copy()
    traj = np.zeros((0, 2))
    seg, segw = sim.arena.segments, sim.arena.seg_wall
    add("agent", "agent_step + 2 normal draws",
        lambda r: _loop_agent(r, pv, agent, seg, segw, rs_env, traj))
    n_grid = sim._grid_cos.shape[0]
    grid_out = np.zeros(n_grid, F32)
    trig = np.zeros((2, sim._grid_kmod.shape[0], 3))
    add("grid", f"grid_rates ({n_grid} cells)",
        lambda r: _loop_grid(r, pv, pos, sim._grid_kmod, sim._grid_cos, sim._grid_sin,
                             sim._grid_module, trig, grid_out))
    border_out = np.zeros(4 * sim._border_w.shape[0], F32)
    dists = np.zeros(4)
    add("border", "wall_distances + border_rates",
        lambda r: _loop_border(r, pos, seg, segw, dists, sim._border_d, sim._border_w,
                               border_out))
    ctx_out = np.zeros(sim._maps_a.shape[0], F32)
    add("lec_context", f"lec_context_rates ({ctx_out.shape[0]} cells)",
        lambda r: _loop_lec(r, pv, pos, sim._maps_a, sim._maps_b, sim._switch_at, ctx_out))
    obj_out = np.zeros(n_ec - rec["o_ctx"] - ctx_out.shape[0], F32)
    add("lec_object", f"object_rates ({obj_out.shape[0]} cells, "
        f"{int(sim._obj_on.sum())} objects)",
        lambda r: _loop_objects(r, pv, pos, sim._obj_pos, sim._obj_on, sim._obj_vec, obj_out))
    xb, xinb = np.zeros((K.BLOCK, n_ec), F32), np.zeros((K.BLOCK, n_ec), F32)
    plastic_b = np.zeros(K.BLOCK)
    add("ec_assemble", "theta, gating, samples, EC vector and input (inline)",
        lambda r: _loop_ec_assemble(r, sim.step, pv, pos, agent, grid_out, border_out, ctx_out,
                                    obj_out, xb, xinb, plastic_b, samples, rs_env, batch))
    # -- phase B: EC -> DG for a block
    xinb[:] = rec["x"][np.arange(K.BLOCK) % S]
    h1b = np.zeros((K.BLOCK, n_dg), F32)
    add("ec_dg_block", f"block_forward {n_dg}x{n_ec} over a block of {nb} steps",
        lambda r: _loop_block(r, w1, xinb, nb, b1, h1b), per=nb, flops=2.0 * n_dg * n_ec)
    # -- phase C: the rest of the step
    modes = (int(pv[K.SP_DG]), int(pv[K.SP_CA3]), int(pv[K.SP_CA1]))
    h1, h2, h3 = np.zeros(n_dg, F32), np.zeros(n_ca3, F32), np.zeros(n_ca1, F32)
    a1, a2, a3 = np.zeros(n_dg, I32), np.zeros(n_ca3, I32), np.zeros(n_ca1, I32)
    add("dg_layer", "copy + _hidden (k-WTA by quickselect) + _normalise_activity",
        lambda r: _loop_layer(r, pv, rec["h1pre"], h1, th1, modes[0], pv[K.K_DG], pv[K.E_DG], rs,
                              scratch, a1, tau, 0, ipstat, 0, isd[0]))
    k_dg = max(1, round(pv[K.K_DG] * n_dg))
    if modes[0] == 0:
        add("kth_largest", f"of which the quickselect of the {k_dg + 1}-th largest DG unit",
            lambda r: _loop_kth(r, rec["h1pre"], th1, k_dg + 1, scratch), part_of="dg_layer")
    out2, out3, xo = np.zeros(n_ca3, F32), np.zeros(n_ca1, F32), np.zeros(n_ec, F32)
    add("dg_ca3", f"sparse_forward ({m[0]:.0f} of {n_dg} -> {n_ca3})",
        lambda r: _loop_sparse(r, w2t, rec["h1"], rec["act1"], rec["m1"], b2, out2),
        flops=2.0 * m[0] * n_ca3)
    add("ca3_layer", "_hidden + _normalise_activity",
        lambda r: _loop_layer(r, pv, rec["h2pre"], h2, th2, modes[1], pv[K.K_CA3], pv[K.E_CA3], rs,
                              scratch, a2, tau, 1, ipstat, n_dg, isd[1]))
    add("ca3_ca1", f"sparse_forward ({m[1]:.0f} of {n_ca3} -> {n_ca1})",
        lambda r: _loop_sparse(r, w3t, rec["h2"], rec["act2"], rec["m2"], b3, out3),
        flops=2.0 * m[1] * n_ca1)
    if pv[K.G_TA] > 0.0:
        tab = np.zeros((K.BLOCK, n_ca1), F32)
        add("ec_ca1_ta", f"block_forward {n_ca1}x{n_ec} (EC III shortcut) over a block of "
            f"{nb} steps", lambda r: _loop_ta(r, pv, wta, xinb, nb, b3, tab, out3), per=nb,
            flops=2.0 * n_ca1 * n_ec)
    add("ca1_layer", "_hidden + _normalise_activity",
        lambda r: _loop_layer(r, pv, rec["h3pre"], h3, th3, modes[2], pv[K.K_CA1], pv[K.E_CA1], rs,
                              scratch, a3, tau, 2, ipstat, n_dg + n_ca3, isd[2]))
    add("ca1_out", f"sparse_forward ({m[2]:.0f} of {n_ca1} -> {n_ec})",
        lambda r: _loop_sparse(r, w4t, rec["h3"], rec["act3"], rec["m3"], b4, xo),
        flops=2.0 * m[2] * n_ec)
    xhat, d4 = np.zeros(n_ec, F32), np.zeros(n_ec, F32)
    e_grp, x_grp = np.zeros(3), np.zeros(3)
    add("mismatch", f"sigmoid, output error, mismatch by group ({n_ec} units, inline)",
        lambda r: _loop_mismatch(r, rec["x"], rec["xpre"], xhat, d4, e_grp, x_grp, samples,
                                 rec["o_border"], rec["o_ctx"]))
    d1, d2, d3 = np.zeros(n_dg, F32), np.zeros(n_ca3, F32), np.zeros(n_ca1, F32)
    coefs = rec["coefs"]
    add("err_ca1", f"error into CA1 ({m[2]:.0f} x {n_ec} dots by _dot) "
        "+ _layer_error",
        lambda r: _loop_err_ca1(r, pv, b4t, rec["d4"], rec["h3"], rec["act3"], rec["m3"],
                                rec["mean3"], rec["tau3"], coefs[2], a3, d3, isd[2]),
        flops=2.0 * m[2] * n_ec)
    carried = np.zeros(3)
    add("err_ca3_dg", "_back_project x2 + _layer_error x2 + _abs_sum x3",
        lambda r: _loop_err_back(r, pv, b3t, b2t, rec["d3"], rec["act3"], rec["m3"],
                                 rec["mb3"], rec["h2"], rec["act2"], rec["m2"],
                                 rec["mean2"], rec["tau"], coefs[1], rec["h1"],
                                 rec["act1"], rec["m1"], rec["mean1"], coefs[0], a2,
                                 a1, d2, d1, isd[1], isd[0], carried),
        flops=2.0 * (m[1] * mb[2] + m[0] * mb[1]))
    grads = [g.copy() for g in sim._grads]
    g1, g2t, g3t, gta, g4t, gb1, gb2, gb3, gb4 = grads
    act_count = sim._act_count.copy()
    dg_idle = sim._dg_idle.copy()
    counters = sim._counters.copy()
    grad_flops = n_ec + 2.0 * (m[2] * n_ec + m[1] * mb[2] + m[0] * mb[1] + mb[0] * n_ec)
    if pv[K.G_TA] > 0.0:
        grad_flops += 2.0 * mb[2] * n_ec
    add("grad_accum", f"gradient accumulation (inline; {mb[0]:.0f} DG rows x {n_ec} of the "
        "EC -> DG gradient)",
        lambda r: _loop_grad(r, pv, rec["x"], rec["d4"], rec["h3"], rec["act3"],
                             rec["m3"], rec["mb3"], rec["d3"], rec["h2"],
                             rec["act2"], rec["m2"], rec["mb2"], rec["d2"],
                             rec["h1"], rec["act1"], rec["m1"], rec["mb1"],
                             rec["d1"], g1, g2t, g3t, gta, g4t, gb1, gb2, gb3, gb4, act_count,
                             dg_idle, counters),
        flops=grad_flops)
    # rates and spikes: the rates of each recorded step, computed once for the spikes
    href = sim._href.copy()
    rm_occ, rm_w = sim._rm_occ.copy(), np.ones(1)
    r_ec, r_out = np.zeros(n_ec, F32), np.zeros(n_ec, F32)
    r_dg, r_ca3, r_ca1 = np.zeros(n_dg, F32), np.zeros(n_ca3, F32), np.zeros(n_ca1, F32)
    add("rates", "theta-modulated rates, _hidden_rates x3, rate-map bin (inline)",
        lambda r: _loop_rates(r, pv, rec["steps"], pos, rec["x"], rec["xhat"], rec["h1"],
                              rec["act1"], rec["m1"], rec["h2"], rec["act2"],
                              rec["m2"], rec["h3"], rec["act3"], rec["m3"], href,
                              r_ec, r_out, r_dg, r_ca3, r_ca1, rm_occ, rm_w, samples,
                              rec["o_ctx"]))
    rates: dict[str, list[Any]] = {k: [] for k in ("ec", "out", "dg", "ca3", "ca1")}
    bis, bjs = np.zeros(S, np.int64), np.zeros(S, np.int64)
    for s in range(S):
        g = int(rec["steps"][s])
        theta = (2 * math.pi * pv[K.F_THETA] * g * pv[K.DT]) % (2 * math.pi)
        ms_ = rec["m"][s]
        bis[s], bjs[s], _ = _rates_body(
            pv, g, theta, pos[s, 0], pos[s, 1], rec["x"][s], rec["xhat"][s], rec["h1"][s],
            rec["act1"][s], ms_[0], rec["h2"][s], rec["act2"][s], ms_[1], rec["h3"][s],
            rec["act3"][s], ms_[2], href, r_ec, r_out, r_dg, r_ca3, r_ca1, rm_occ, np.ones(1),
            rec["o_ctx"])
        for k, v in (("ec", r_ec), ("out", r_out), ("dg", r_dg), ("ca3", r_ca3),
                     ("ca1", r_ca1)):
            rates[k].append(v.copy())
        r_dg[:], r_ca3[:], r_ca1[:] = 0, 0, 0
    sizes = [n_ec, n_dg, n_ca3, n_ca1, n_ec]
    sp_times = tuple(np.zeros(n, np.float64) for n in sizes)
    sp_units = tuple(np.zeros(n, np.int32) for n in sizes)
    sp_count = np.zeros(5, np.int64)
    rm_acc = sim._rm_acc.copy()
    offs = np.cumsum([0, *sizes[:-1]]).astype(np.int64)
    rr = {k: _pad(v, F32) for k, v in rates.items()}
    add("spikes", f"_spikes x5 (Poisson draw per rate > 0; {n_ec} EC + {n_ec} out dense)",
        lambda r: _loop_spikes(r, pv, rec["steps"], rr["ec"], rr["dg"], rr["ca3"], rr["ca1"],
                               rr["out"], rec["act1"], rec["m1"], rec["act2"],
                               rec["m2"], rec["act3"], rec["m3"], bis, bjs, rs,
                               sp_times, sp_units, sp_count, rm_acc, offs))
    return rows


def batch_phases(sim: Any, rec: dict[str, Any]) -> dict[str, Any]:
    """The weight updates, the synaptic scaling and the homeostasis of one batch, each from
    the simulator's state restored before every call (its gradients, velocities, idle DG rows
    and thresholds; a batch's activity counts taken from the recorded steps)."""
    pv = rec["pv"]
    net = sim.net
    n_ec, n_dg = net.w_ec_dg.shape[1], net.w_ec_dg.shape[0]
    n_ca3, n_ca1 = net.wt_dg_ca3.shape[1], net.wt_ca3_ca1.shape[1]
    batch = max(1, int(pv[K.BATCH]))
    mu = pv[K.MOMENTUM]
    k_idle = 1 if mu <= 0.0 else math.ceil(math.log(1e-4) / math.log(mu))
    names = ("w_ec_dg", "wt_dg_ca3", "wt_ca3_ca1", "w_ec_ca1", "wt_ca1_out", "b_dg", "b_ca3",
             "b_ca1", "b_out", "th_dg", "th_ca3", "th_ca1")
    ref: dict[str, Any] = {k: getattr(net, k).copy() for k in names}
    ref_g = [g.copy() for g in sim._grads]
    ref_v = [v.copy() for v in sim._vel]
    ref_m2 = [v.copy() for v in sim._mom2]
    ref_idle = sim._dg_idle.copy()
    # a batch's activity counts: the winners of `batch` recorded steps
    ref_count = np.zeros(n_dg + n_ca3 + n_ca1, F32)
    for s in range(min(batch, rec["x"].shape[0])):
        for li, off in enumerate((0, n_dg, n_dg + n_ca3)):
            mm = int(rec["m"][s, li])
            ref_count[off + rec[f"act{li + 1}"][s, :mm]] += 1.0
    cur: dict[str, Any] = {k: v.copy() for k, v in ref.items()}
    g = [x.copy() for x in ref_g]
    v = [x.copy() for x in ref_v]
    m2 = [x.copy() for x in ref_m2]
    idle = ref_idle.copy()
    count = ref_count.copy()
    counters = sim._counters.copy()
    inv_b = 1.0 / batch
    t_adam = int(counters[1]) + 1
    # velocities of weights that stopped learning decay by the momentum every batch, through
    # the subnormal floats (slow arithmetic on most CPUs) before they reach zero: the same
    # updates are timed again with those set to zero, as flush-to-zero would have them
    tiny = np.finfo(np.float32).tiny
    ref_v0 = [np.where(np.abs(x) < tiny, np.float32(0.0), x) for x in ref_v]
    v0 = [x.copy() for x in ref_v0]
    subnormal = {n: int(np.sum((x != 0.0) & (np.abs(x) < tiny)))
                 for n, x in zip(("ec_dg", "dg_ca3", "ca3_ca1", "ec_ca1", "ca1_out", "b_dg",
                                  "b_ca3", "b_ca1", "b_out"), ref_v)}

    def restore() -> None:
        for k in names:
            np.copyto(cur[k], ref[k])
        for dst, src in ((g, ref_g), (v, ref_v), (m2, ref_m2), (v0, ref_v0)):
            for a, b in zip(dst, src):
                np.copyto(a, b)
        np.copyto(idle, ref_idle)
        np.copyto(count, ref_count)

    colsq2 = np.zeros(n_ca3, np.float64)  # (gathered by update_dg, used by scaling)
    calls: list[tuple[str, str, Callable[[], Any]]] = [
        ("update_dg", "DG idle rows + _apply_update_rows (EC->DG and its scaling, DG->CA3)",
         lambda: _batch_dg(pv, cur["w_ec_dg"], g[0], v[0], m2[0], cur["wt_dg_ca3"], g[1], v[1],
                           m2[1], count, idle, k_idle, inv_b, t_adam, colsq2)),
        ("update_dense", "_apply_update (CA3->CA1, EC->CA1, CA1->out)",
         lambda: _batch_dense(pv, cur["wt_ca3_ca1"], g[2], v[2], m2[2], cur["w_ec_ca1"], g[3],
                              v[3], m2[3], cur["wt_ca1_out"], g[4], v[4], m2[4], inv_b,
                              t_adam)),
        ("update_bias", "_apply_update x4 (biases)",
         lambda: _batch_bias(pv, cur["b_dg"], g[5], v[5], m2[5], cur["b_ca3"], g[6], v[6],
                             m2[6], cur["b_ca1"], g[7], v[7], m2[7], cur["b_out"], g[8], v[8],
                             m2[8], inv_b, t_adam)),
        ("scaling", "scale_columns (DG->CA3) + normalise_columns (CA3->CA1)",
         lambda: _batch_scaling(pv, cur["w_ec_dg"], cur["wt_dg_ca3"], cur["wt_ca3_ca1"], idle,
                                k_idle, colsq2)),
        ("homeostasis", "thresholds + activity counts (inline)",
         lambda: _batch_homeostasis(pv, cur["th_dg"], cur["th_ca3"], cur["th_ca1"], count,
                                    inv_b, counters)),
        ("update_dg:ftz", "update_dg with the subnormal velocities set to 0",
         lambda: _batch_dg(pv, cur["w_ec_dg"], g[0], v0[0], m2[0], cur["wt_dg_ca3"], g[1],
                           v0[1], m2[1], count, idle, k_idle, inv_b, t_adam, colsq2)),
        ("update_dense:ftz", "update_dense with the subnormal velocities set to 0",
         lambda: _batch_dense(pv, cur["wt_ca3_ca1"], g[2], v0[2], m2[2], cur["w_ec_ca1"],
                              g[3], v0[3], m2[3], cur["wt_ca1_out"], g[4], v0[4], m2[4],
                              inv_b, t_adam)),
    ]
    # how many DG rows the update touched (not idle) in the restored state
    after = ref_idle.copy()
    after[ref_count[:n_dg] > 0] = 0
    after[(ref_count[:n_dg] == 0) & (after <= k_idle)] += 1
    rows_dg = int(np.sum(after < k_idle))
    rows_scaled = int(np.sum(after <= k_idle))
    row_scaling = 3.0 * rows_scaled * n_ec  # EC -> DG's rows: in update_dg with SGD
    adam = pv[K.ADAM] > 0.5
    flops = {
        "update_dg": 4.0 * rows_dg * (n_ec + n_ca3) + (0.0 if adam else row_scaling),
        "update_dense": 4.0 * (n_ca3 * n_ca1 + 2 * n_ca1 * n_ec),
        "update_bias": 4.0 * (n_dg + n_ca3 + n_ca1 + n_ec),
        "scaling": 3.0 * (n_dg * n_ca3 + n_ca3 * n_ca1) + (row_scaling if adam else 0.0),
        "homeostasis": 0.0,
    }
    flops["update_dg:ftz"] = flops["update_dg"]
    flops["update_dense:ftz"] = flops["update_dense"]
    rows = []
    for name, what, fn in calls:
        if name == "update_dg":
            what += f" ({rows_dg} of {n_dg} rows)"
        base, _, alt = name.partition(":")
        rows.append({"phase": alt or name, "what": what + f", per batch of {batch}",
                     "call": fn, "per": float(batch), "flops": flops[name] / batch,
                     "part_of": base if alt else None})
    # the variants go under the row they vary
    for var in [r for r in rows if r["part_of"] is not None]:
        rows.remove(var)
        rows.insert(next(i for i, r in enumerate(rows) if r["phase"] == var["part_of"]) + 1,
                    var)
    return {"rows": rows, "restore": restore, "subnormal_velocities": subnormal}


def _batch_round(group: dict[str, Any], seconds: float) -> list[float]:
    """Seconds per call of each per-batch phase: the median of calls from the restored state
    during about ``seconds``."""
    rows = group["rows"]
    times: list[list[float]] = [[] for _ in rows]
    t_end = time.perf_counter() + seconds
    n = 0
    while n < 3 or (time.perf_counter() < t_end and n < 2000):
        group["restore"]()
        for i, r in enumerate(rows):
            t = time.thread_time()
            r["call"]()
            times[i].append(time.thread_time() - t)
        n += 1
    return [float(np.median(t)) for t in times]


def measure(sim: Any, rows: list[dict[str, Any]], group: dict[str, Any] | None,
            seconds: float, chunk_seconds: float, rounds: int = 5) -> list[dict[str, float]]:
    """Time every phase and the whole step in ``rounds`` interleaved rounds (so that a change
    of load hits both alike); each phase keeps its best round (``us``, per step), and the
    whole step's rounds are returned."""
    for r in rows:
        r["reps"] = _calibrate(r["fn"], seconds / rounds)
        r["times"] = []
    if group is not None:
        group["restore"]()
        for r in group["rows"]:  # compile or load
            r["call"]()
            r["times"] = []
    whole = []
    for _ in range(rounds):
        whole.append(measure_run_chunk(sim, chunk_seconds / rounds))
        for r in rows:
            r["times"].append(_per_rep(r["fn"], r["reps"]))
        if group is not None:
            per_call = _batch_round(group, seconds * len(group["rows"]) / rounds)
            for r, t in zip(group["rows"], per_call):
                r["times"].append(t)
    out = rows + (group["rows"] if group is not None else [])
    for r in out:
        r["us"] = 1e6 * min(r["times"]) / r["per"]
        f = r["flops"]
        r["gflops"] = f / r["us"] / 1e3 if f > 0 else None
    return whole


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    ap.add_argument("--preset", default="default")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=20000, help="steps before measuring")
    ap.add_argument("--samples", type=int, default=48, help="recorded steps to replay")
    ap.add_argument("--seconds", type=float, default=0.5, help="measuring time per phase")
    ap.add_argument("--chunk-seconds", type=float, default=3.0,
                    help="measuring time of the whole step (run_chunk)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    limit_threads(1)
    load0 = os.getloadavg()
    sim = build(P.load_preset(args.preset), args.seed)
    sim.run_chunk(args.warmup)
    rec = record(sim, args.samples, 7)
    rows = phases(sim, rec)
    group = batch_phases(sim, rec) if rec["pv"][K.LEARN] > 0.5 else None
    wholes = measure(sim, rows, group, args.seconds, args.chunk_seconds)
    if group is not None:
        rows += group["rows"]
    gemm = {"1024x400@400x64": _gemm(1024, 400, 64, 1.0),
            "1024x400@400x12": _gemm(1024, 400, 12, 1.0)}
    # the block's EC -> DG product and the batch's EC -> DG gradient as BLAS would do them
    pv = rec["pv"]
    batch = max(1, int(pv[K.BATCH]))
    n_dg, n_ec = sim.net.w_ec_dg.shape
    xin12 = np.ascontiguousarray(rec["x"][:batch])
    w1t = sim.net.w_ec_dg.T  # a transposed view: BLAS reads the row-major weights as they are
    hb = np.zeros((batch, n_dg), F32)
    d1b = np.ascontiguousarray(rec["d1"][:batch].T)  # (n_dg, batch)
    gfull = np.zeros((n_dg, n_ec), F32)
    rows_err = np.flatnonzero(np.any(d1b != 0.0, axis=1))  # DG rows with error in the batch
    d1c = np.ascontiguousarray(d1b[rows_err])
    gcomp = np.zeros((rows_err.shape[0], n_ec), F32)

    def blas_fwd(reps: int) -> None:
        for _ in range(reps):
            np.matmul(xin12, w1t, out=hb)

    def blas_grad(reps: int) -> None:
        for _ in range(reps):
            np.matmul(d1b, xin12, out=gfull)

    def blas_grad_rows(reps: int) -> None:
        for _ in range(reps):
            np.matmul(d1c, xin12, out=gcomp)
            gfull[rows_err] += gcomp

    blas = {"ec_dg_block": 1e6 * _best_per_rep(blas_fwd, args.seconds) / batch,
            "grad_ec_dg_dense": 1e6 * _best_per_rep(blas_grad, args.seconds) / batch,
            "grad_ec_dg_rows": 1e6 * _best_per_rep(blas_grad_rows, args.seconds) / batch,
            "grad_rows": float(rows_err.shape[0])}
    load1 = os.getloadavg()
    whole = min(wholes, key=lambda w: w["kernel_cpu_us"])
    total = sum(r["us"] for r in rows if r["part_of"] is None)
    table = []
    for r in rows:
        table.append({"phase": r["phase"].strip(), "what": r["what"], "us": r["us"],
                      "share": r["us"] / total, "flops": r["flops"], "gflops": r["gflops"],
                      "part_of": r["part_of"],
                      "rounds_us": [1e6 * t / r["per"] for t in r["times"]]})
    out = {
        "preset": args.preset, "warmup": args.warmup, "samples": args.samples,
        "layer_sizes": sim.layer_sizes, "batch": batch,
        "active_mean": {k: float(v) for k, v in zip(("dg", "ca3", "ca1"),
                                                    rec["m"].mean(axis=0))},
        "replay_check": rec["check"], "phases": table, "sum_us": total,
        "subnormal_velocities": group["subnormal_velocities"] if group is not None else {},
        "whole_rounds": wholes, "whole_best": whole,
        "unaccounted": 1.0 - total / whole["kernel_cpu_us"],
        "numpy_gemm_gflops": gemm, "blas_us_per_step": blas,
        "cpus": os.cpu_count(), "load_avg_start": list(load0), "load_avg_end": list(load1),
        "hippoviz": __version__,
    }
    if args.json:
        print(json.dumps(out))
        return 0
    _print(out)
    return 0


def _print(o: dict[str, Any]) -> None:
    ls = o["layer_sizes"]
    am = o["active_mean"]
    print(f"preset {o['preset']} (EC {ls['ec']}, DG {ls['dg']}, CA3 {ls['ca3']}, CA1 {ls['ca1']};"
          f" mean winners DG {am['dg']:.1f}, CA3 {am['ca3']:.1f}, CA1 {am['ca1']:.1f}; batch "
          f"{o['batch']}) after {o['warmup']} steps; {o['cpus']} CPUs, load average "
          f"{o['load_avg_start'][0]:.2f} at the start, {o['load_avg_end'][0]:.2f} at the end")
    c = o["replay_check"]
    if c["possible"]:
        ok = all(c[k] for k in ("dg", "ca3", "ca1", "x_hat"))
        print(f"replay of the kernel's last forward pass: {'identical' if ok else 'DIFFERS'} "
              f"({', '.join(f'{k} {v}' for k, v in c.items() if k != 'possible')})")
    print(f"\n{'phase':<13} {'us/step':>8} {'share':>6} {'kFLOP/step':>11} {'GFLOP/s':>8}  what")
    for r in o["phases"]:
        if r["part_of"] is not None:
            r = {**r, "phase": "  " + r["phase"]}
        gf = f"{r['gflops']:8.2f}" if r["gflops"] is not None else f"{'':8}"
        kf = f"{r['flops'] / 1e3:11.1f}" if r["flops"] > 0 else f"{'':11}"
        print(f"{r['phase']:<13} {r['us']:8.2f} {100 * r['share']:5.1f}% {kf} {gf}  {r['what']}")
    w = o["whole_best"]
    print(f"{'sum':<13} {o['sum_us']:8.2f} 100.0%  (indented rows: details of the row above, "
          "not in the sum)")
    sub = {k: v for k, v in o["subnormal_velocities"].items() if v}
    if sub:
        print("subnormal velocities: " + ", ".join(f"{k} {v}" for k, v in sub.items()))
    print("\nwhole step (run_chunk of 200 steps), in the rounds between the phases' rounds:")
    for i, x in enumerate(o["whole_rounds"]):
        print(f"  round {i + 1}: {x['steps_per_s']:6.0f} steps/s wall ({x['wall_us']:.1f} "
              f"us/step); CPU {x['cpu_us']:.1f} us/step, of which run_steps "
              f"{x['kernel_cpu_us']:.1f}")
    print(f"  best: {1e6 / w['kernel_cpu_us']:.0f} steps/s of run_steps CPU time "
          f"({w['kernel_cpu_us']:.1f} us/step), {w['steps_per_s']:.0f} steps/s wall")
    print(f"  sum of the phases {o['sum_us']:.1f} us against run_steps {w['kernel_cpu_us']:.1f} "
          f"us/step: unaccounted {100 * o['unaccounted']:.1f} %")
    g = o["numpy_gemm_gflops"]
    print("\nNumPy float32 GEMM, one thread: " + ", ".join(f"{k} {v:.1f} GFLOP/s"
                                                       for k, v in g.items()))
    b = o["blas_us_per_step"]
    print(f"by BLAS: the block's EC -> DG product ({o['batch']}x{ls['ec']} @ {ls['ec']}x"
          f"{ls['dg']}) {b['ec_dg_block']:.2f} us/step")
    print(f"by BLAS: the batch's EC -> DG gradient, dense ({ls['dg']}x{o['batch']} @ "
          f"{o['batch']}x{ls['ec']}, no accumulation) {b['grad_ec_dg_dense']:.2f} us/step; "
          f"on the {b['grad_rows']:.0f} DG rows with error in the batch (product + scatter-add)"
          f" {b['grad_ec_dg_rows']:.2f} us/step")


if __name__ == "__main__":
    sys.exit(main())
