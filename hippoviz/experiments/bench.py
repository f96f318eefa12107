"""Throughput benchmark of the simulation core (``hippoviz bench``)."""

from __future__ import annotations

import resource
import time
from typing import Any

import numpy as np

from hippoviz.params import Params
from hippoviz.sim import build


def _rss_mb() -> float:
    """Current resident memory of this process in MB (Linux; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize() / 2**20
    except OSError:
        return 0.0


def model_flops_per_step(params: Params, n_ec: int) -> float:
    """Floating-point operations of one step of the loop with learning on (multiply-adds count
    two): the dense EC -> DG product, the sparse products of the other layers, the error
    pathway, the gradient accumulation and the per-batch weight update."""
    n = params.network
    k_dg = max(1, round(n.k_dg * n.n_dg)) if n.sparsity_dg == "kwta" else n.n_dg
    k_ca3 = max(1, round(n.k_ca3 * n.n_ca3)) if n.sparsity_ca3 == "kwta" else n.n_ca3
    k_ca1 = max(1, round(n.k_ca1 * n.n_ca1)) if n.sparsity_ca1 == "kwta" else n.n_ca1
    fwd = 2 * (n.n_dg * n_ec + k_dg * n.n_ca3 + k_ca3 * n.n_ca1 + k_ca1 * n_ec)
    bwd = 2 * (k_ca1 * n_ec + k_ca3 * k_ca1 + k_dg * k_ca3)
    grad = 2 * (k_ca1 * n_ec + k_ca3 * k_ca1 + k_dg * k_ca3 + k_dg * n_ec)
    n_w = n.n_dg * n_ec + n.n_dg * n.n_ca3 + n.n_ca3 * n.n_ca1 + 2 * n.n_ca1 * n_ec
    update = 4 * n_w / params.learning.batch_steps
    return float(fwd + bwd + grad + update)


def numpy_gemm_gflops(n: int = 1024, repeats: int = 5, threads: int | None = None) -> float:
    """Best-of float32 GEMM speed of NumPy's BLAS on this machine, with all of BLAS's threads
    (``threads`` None) or at most ``threads`` of them."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    with threadpool_limits(limits=threads, user_api="blas"):
        a @ b
        best = np.inf
        for _ in range(repeats):
            t = time.perf_counter()
            a @ b
            best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


def blas_threads() -> int:
    """How many threads NumPy's BLAS runs a GEMM on here (0 if it cannot tell)."""
    from threadpoolctl import threadpool_info

    return max((int(i.get("num_threads", 0)) for i in threadpool_info()
                if i.get("user_api") == "blas"), default=0)


def run_bench(params: Params, seconds: float = 10.0, seed: int = 1,
              chunk_steps: int = 200, profile: bool = False) -> dict[str, Any]:
    """Steps per second with learning and spikes on (after a warm-up), plus context. With
    ``profile``, a second run of the same length times each phase of the kernel and the result
    gains ``phases``: name -> share of the step and microseconds per step."""
    rss0 = _rss_mb()
    sim = build(params, seed)
    sim.run_chunk(chunk_steps)  # compile / load the cache, warm up
    sim_mb = _rss_mb() - rss0
    steps = 0
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    while time.perf_counter() - t0 < seconds:
        sim.run_chunk(chunk_steps)
        steps += chunk_steps
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    sps = steps / wall
    flops = model_flops_per_step(params, sim.n_ec)
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    phases: dict[str, dict[str, float]] = {}
    if profile:
        sim.profile_phases()
        p_steps = 0
        t1 = time.perf_counter()
        while time.perf_counter() - t1 < seconds:
            sim.run_chunk(chunk_steps)
            p_steps += chunk_steps
        us = (time.perf_counter() - t1) / p_steps * 1e6
        phases = {name: {"share": f, "us_per_step": f * us}
                  for name, f in sim.phase_profile().items()}
        # the block products of phase B: EC -> DG, and the EC III -> CA1 shortcut when it is on
        n = params.network
        prod = n.n_dg * sim.n_ec + (n.n_ca1 * sim.n_ec if params.inputs.gamma_ta > 0 else 0)
        product_gflops = 2.0 * prod / (phases["EC -> DG product"]["us_per_step"] * 1e3)
        sim.profile_phases(False)
    out = {
        "steps_per_second": sps,
        "real_time_factor": sps * sim.dt_s,
        "steps": steps,
        "wall_s": wall,
        "cpu_s": cpu,
        "model_flops_per_step": flops,
        "achieved_gflops": sps * flops / 1e9,
        "numpy_gemm_gflops": numpy_gemm_gflops(),
        "numpy_gemm_gflops_one_thread": numpy_gemm_gflops(threads=1),
        "blas_threads": blas_threads(),
        "rss_mb": rss_kb / 1024.0,
        "simulator_mb": sim_mb,
        "layer_sizes": sim.layer_sizes,
    }
    if profile:
        out["phases"] = phases
        out["ec_dg_product_gflops"] = product_gflops
    return out
