"""Rate-map smoothing and online metrics in a background thread.

The simulation thread only copies the raw (unsmoothed) online rate maps, which is cheap; the
smoothing that views want and the place-cell metrics run here, at a lower priority, so neither
slows the simulation down. Jobs are *latest wins*: when the worker is busy, a newer snapshot
replaces an older one that has not started (metrics then come a little less often than every
10 s of simulated time, and say when they were taken).
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hippoviz.runtime.metrics import LayerMetrics, layer_metrics
from hippoviz.runtime.source import MetricsPoint
from hippoviz.runtime.threads import lower_thread_priority
from hippoviz.sim import HIDDEN


def smooth_rate_maps(raw: NDArray[np.floating], occupancy: NDArray[np.floating],
                     sigma_bins: float = 1.0) -> NDArray[np.float32]:
    """Smooth raw online rate maps as ``hippoviz.sim`` does: counts and occupancy separately.

    Parameters
    ----------
    raw : (n_units, ny, nx) float
        Unsmoothed rates (Hz), NaN where unvisited.
    occupancy : (ny, nx) float
        Time per bin (any scale).
    sigma_bins : float
        Gaussian width in bins.

    Returns
    -------
    (n_units, ny, nx) float32
        Smoothed rates (Hz), NaN where the raw occupancy is zero.
    """
    from scipy.ndimage import gaussian_filter

    occ = np.asarray(occupancy, dtype=np.float64)
    visited = occ > 0
    # float32 halves the work; the maps are published as float32 anyway
    acc = (np.where(np.isfinite(raw), raw, 0.0) * occ[None]).astype(np.float32)
    acc = gaussian_filter(acc, sigma=(0, sigma_bins, sigma_bins), mode="constant")
    occ_s = gaussian_filter(occ, sigma=sigma_bins, mode="constant").astype(np.float32)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = acc / occ_s[None]
    rate[:, ~visited] = np.nan
    out: NDArray[np.float32] = rate.astype(np.float32)
    return out


@dataclass
class MapJob:
    """A snapshot of the raw online rate maps, and what to do with it."""

    build_id: int
    t_s: float
    raw: dict[str, NDArray[np.float32]]
    occupancy: NDArray[np.float64]
    extent: tuple[float, float, float, float]
    metrics: bool = False
    metric_opts: dict[str, Any] = field(default_factory=dict)
    #: ``raw`` holds every layer (else only some: published with the others' latest maps)
    full: bool = True
    #: What the maps belong to: (build, rate-map epoch)
    maps_key: tuple[int, int] = (0, 0)


class MapWorker:
    """The background thread that smooths rate maps and computes metrics.

    Parameters
    ----------
    publish : callable
        ``publish(job, maps)`` with the smoothed maps of each job.
    record_metrics : callable
        ``record_metrics(job, point)`` with the metrics of one job.
    on_error : callable
        ``on_error(message, detail)``.
    niceness : int
        Added to the worker's nice value.
    """

    def __init__(self, publish: Callable[[MapJob, dict[str, NDArray[np.float32]]], None],
                 record_metrics: Callable[[MapJob, MetricsPoint], None],
                 on_error: Callable[[str, str], None], niceness: int = 5) -> None:
        self._publish = publish
        self._record = record_metrics
        self._on_error = on_error
        self._niceness = niceness
        self._cond = threading.Condition()
        self._job: MapJob | None = None
        self._stop = False
        self._busy = False
        self._thread = threading.Thread(target=self._main, name="hippoviz-maps", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, job: MapJob) -> None:
        """Queue ``job``; a queued job that has not started is merged into it (latest wins;
        a layer only the queued job has is kept)."""
        with self._cond:
            old = self._job
            if old is not None and old.build_id == job.build_id:
                if not job.full and old.maps_key == job.maps_key:
                    job.raw = {**old.raw, **job.raw}
                    job.full = old.full
                if old.metrics and not job.metrics:
                    job.metrics, job.metric_opts = True, old.metric_opts
            self._job = job
            self._cond.notify()

    @property
    def alive(self) -> bool:
        """Whether the worker thread runs."""
        return self._thread.is_alive()

    @property
    def idle(self) -> bool:
        with self._cond:
            return self._job is None and not self._busy

    def stop(self, timeout: float = 2.0) -> bool:
        with self._cond:
            self._stop = True
            self._cond.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def _main(self) -> None:
        lower_thread_priority(self._niceness)
        while True:
            with self._cond:
                while self._job is None and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
                job, self._job = self._job, None
                assert job is not None
                self._busy = True
            try:
                self._run(job)
            except Exception as exc:
                self._on_error(f"rate maps / metrics failed: {exc}", traceback.format_exc())
            finally:
                with self._cond:
                    self._busy = False

    def _run(self, job: MapJob) -> None:
        maps = {k: smooth_rate_maps(v, job.occupancy) for k, v in job.raw.items()}
        self._publish(job, maps)
        if job.metrics:
            layers: dict[str, LayerMetrics] = {
                layer: layer_metrics(maps[layer], job.occupancy, **job.metric_opts)
                for layer in HIDDEN if layer in maps}
            self._record(job, MetricsPoint(job.t_s, layers))
