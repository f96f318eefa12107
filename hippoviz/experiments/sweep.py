"""Many seeds of one protocol in parallel with Dask (``hippoviz experiment NAME --seeds A-B``).

A local cluster of worker processes is started by default (one single-threaded worker per core,
at most one per seed); ``scheduler="tcp://host:8786"`` uses a running Dask scheduler instead, so
that a lab can spread a sweep over its cluster (its workers need hippoviz installed). Each seed
runs exactly as a single run would: the per-seed metrics equal those of ``--seed S``.
:func:`dask_client` is that cluster, shared with the parameter sweeps
(:mod:`hippoviz.experiments.grid_sweep`).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from hippoviz import params as P
from hippoviz.experiments.engine import RunResult, run_protocol
from hippoviz.experiments.protocol import Protocol


class SweepError(RuntimeError):
    """The Dask cluster could not be reached or started."""


def parse_seeds(text: str) -> list[int]:
    """``"1-20"`` -> ``[1, ..., 20]``; ``"7"`` -> ``[7]``."""
    t = text.strip()
    try:
        if "-" in t[1:]:
            i = t.index("-", 1)
            a, b = int(t[:i]), int(t[i + 1:])
        else:
            a = b = int(t)
    except ValueError:
        raise P.ParamError(f"--seeds expects A-B (e.g. 1-20), got {text!r}") from None
    if a < 0 or b < a:
        raise P.ParamError(f"--seeds expects 0 <= A <= B, got {text!r}")
    if b - a >= 10000:
        raise P.ParamError(f"--seeds {text}: at most 10,000 seeds")
    return list(range(a, b + 1))


def available_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _run_seed(protocol: Protocol, params: P.Params, seed: int, overrides: dict[str, Any],
              kwargs: dict[str, Any]) -> RunResult:
    return run_protocol(protocol, params, seed, overrides, **kwargs)


def run_seeds(protocol: Protocol, params: P.Params, seeds: list[int],
              overrides: dict[str, Any] | None = None, *, scheduler: str | None = None,
              n_workers: int | None = None,
              on_done: Callable[[int, int], None] | None = None,
              **kwargs: Any) -> list[RunResult]:
    """Run ``protocol`` on every seed with Dask; results in the order of ``seeds``.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler (``Client(scheduler)``); default: a LocalCluster.
    n_workers : int, optional
        Local worker processes (default: ``$HIPPOVIZ_WORKERS`` if set, else the available
        cores; at most one per seed).
    on_done : callable, optional
        ``on_done(n_done, n_total)`` after each seed.
    **kwargs
        Passed to :func:`~hippoviz.experiments.engine.run_protocol` (``preset``, ``sets``,
        ``minutes``).
    """
    from dask.distributed import as_completed

    overrides = dict(overrides or {})
    with dask_client(scheduler, n_workers, len(seeds)) as client:
        futures = [client.submit(_run_seed, protocol, params, s, overrides, kwargs,
                                 key=f"hippoviz-{protocol.name}-seed{s}-{os.getpid()}",
                                 pure=False) for s in seeds]
        done = 0
        for _ in as_completed(futures):
            done += 1
            if on_done is not None:
                on_done(done, len(seeds))
        return [f.result() for f in futures]


@contextmanager
def dask_client(scheduler: str | None = None, n_workers: int | None = None,
                n_tasks: int | None = None) -> Iterator[Any]:
    """A Dask ``Client``: of the running scheduler at ``scheduler``, or of a LocalCluster of
    single-threaded worker processes (``n_workers``, default ``$HIPPOVIZ_WORKERS`` if set,
    else the available cores; at most ``n_tasks``), closed with the client. Raises
    :class:`SweepError` when the cluster cannot be reached or started."""
    from dask.distributed import Client, LocalCluster

    cluster = None
    try:
        if scheduler:
            client = Client(scheduler, timeout="20s")
        else:
            env_n = os.environ.get("HIPPOVIZ_WORKERS", "")
            n = n_workers or (int(env_n) if env_n.isdigit() and int(env_n) > 0
                              else available_cores())
            if n_tasks is not None:
                n = min(n, n_tasks)
            cluster = LocalCluster(
                n_workers=max(1, n), threads_per_worker=1, processes=True,
                # CRITICAL: a busy machine makes workers log heartbeat timeouts while the
                # cluster closes; a seed that fails is reported through its future instead
                dashboard_address=":0", silence_logs=logging.CRITICAL,
                # one core per worker: keep Numba and BLAS to one thread each
                env={"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                     "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
            client = Client(cluster)
    except (OSError, TimeoutError, ValueError) as exc:
        if cluster is not None:
            cluster.close()
        where = f"the Dask scheduler at {scheduler}" if scheduler else "a local Dask cluster"
        raise SweepError(f"cannot reach {where}: {exc}") from None
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# ----------------------------------------------------------------------------------------------
def aggregate(items: list[Any]) -> tuple[Any, Any]:
    """Mean and standard deviation (ddof = 1; None for one seed) of the numbers of a list of
    metrics trees, leaf by leaf. Booleans become the fraction true; strings and other values
    are kept when all seeds agree (else None); lists of equal length are aggregated element by
    element; None values are skipped."""
    first = items[0]
    if all(isinstance(x, dict) for x in items):
        keys = [k for k in first if all(k in x for x in items)]
        pairs = {k: aggregate([x[k] for x in items]) for k in keys}
        return {k: v[0] for k, v in pairs.items()}, {k: v[1] for k, v in pairs.items()}
    if all(isinstance(x, list) for x in items) and len({len(x) for x in items}) == 1:
        pairs_l = [aggregate([x[i] for x in items]) for i in range(len(first))]
        return [p[0] for p in pairs_l], [p[1] for p in pairs_l]
    vals = [x for x in items if x is not None]
    if vals and all(isinstance(x, bool) for x in vals):
        return float(np.mean(vals)), None
    if vals and all(isinstance(x, int | float) and not isinstance(x, bool) for x in vals):
        a = np.asarray(vals, np.float64)
        sd = float(a.std(ddof=1)) if a.size > 1 else None
        mean = float(a.mean())
        return (mean if math.isfinite(mean) else None), sd
    if vals and all(x == vals[0] for x in vals):
        return vals[0], None
    return None, None
