"""The simulation thread: command queue, chunked stepping, speed control, publication.

The runner owns the :class:`~hippoviz.sim.Simulator` and is the only thread that touches it. The
GUI proposes changes through :meth:`SimRunner.command`; they are applied between chunks, never
mid-step, and a chunk lasts at most ~20 ms of wall time so changes take effect well within 100 ms.
"""

from __future__ import annotations

import contextlib
import math
import queue
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import numpy as np

from hippoviz import params as P
from hippoviz.analysis.health import HealthMonitor, targets_of
from hippoviz.runtime.divergence import likely_culprit
from hippoviz.runtime.maps import MapJob, MapWorker
from hippoviz.runtime.rings import SampleRing, SpikeRing
from hippoviz.runtime.source import DataSource
from hippoviz.runtime.threads import limit_threads

Builder = Callable[[P.Params, int], Any]

#: Runtime commands handled by the runner itself; every other op goes to ``sim.command``.
RUNTIME_OPS = ("play", "pause", "toggle", "step", "speed", "reset", "publish")
LAST_NAMES = ("x", "x_hat", "dg", "ca3", "ca1", "rate_ec", "rate_dg", "rate_ca3", "rate_ca1",
              "rate_out", "carried_error")
HIDDEN = ("dg", "ca3", "ca1")
#: ``hippoviz.sim.WEIGHT_NAMES`` (repeated so the runtime imports without the simulator).
WEIGHT_NAMES = ("ec_dg", "dg_ca3", "ca3_ca1", "ca1_out", "ec_ca1", "fb_out_ca1", "fb_ca1_ca3",
                "fb_ca3_dg")
#: Wall time one chunk aims at (s); the chunk size adapts to it.
CHUNK_WALL_S = 0.015
WEIGHTS_EVERY_S = 0.5
RATEMAPS_EVERY_S = 1.0
LAST_EVERY_S = 1.0 / 60.0
METRICS_EVERY_SIM_S = 10.0
#: The first metrics come sooner, so that the Metrics view shows a point within seconds of Play
#: even at real-time speed.
METRICS_FIRST_SIM_S = 5.0
#: At high speed, metrics are taken at most this often (wall seconds): they cost the worker
#: ~0.1-0.4 s each on the default preset.
METRICS_MIN_WALL_S = 5.0


def default_builder(params: P.Params, seed: int) -> Any:
    """``hippoviz.sim.build`` (imported on first use so the runtime imports fast)."""
    from hippoviz.sim import build

    return build(params, seed)


class SimRunner:
    """Runs a simulator in a background thread and publishes what views need.

    Parameters
    ----------
    params : Params
        Parameters of the first build.
    seed : int
        Seed of the first build.
    builder : callable, optional
        ``builder(params, seed) -> Simulator``; defaults to ``hippoviz.sim.build``.
    speed : float or None
        Simulated seconds per wall second (1 = real time); None runs as fast as possible.
    step_steps : int
        Steps run by one ``{"op": "step"}`` (default 10 = 100 ms at dt = 10 ms).
    threads : int
        BLAS/Numba threads allowed to the simulation thread.
    niceness : int
        Added to the simulation thread's nice value (0: compete with the GUI as equals).
    sample_horizon_s, spike_horizon_s : float
        Simulated seconds kept in the sample ring and the spike rings.

    Notes
    -----
    Events (``poll_events``) are dicts with a ``"kind"``: ``"built"`` (after every build, with
    ``seed`` and ``build_id``), ``"error"`` (``message``: a rejected command or a failed
    build), ``"diverged"`` (``key``, ``message``, ``t_s``: NaN detected; the runner paused),
    ``"result"`` (``cmd``, ``value``: what a simulator command returned, e.g. an object id),
    ``"paused"`` (the runner stopped by itself: ``until_step`` reached), ``"compiling"``
    (Numba began compiling the kernels: the first chunk after an install, an update or a
    cleared cache; ``stats["compiling"]`` is True until it ends) and ``"compiled"``
    (``seconds``). Compile time never counts in ``stats["steps_per_s"]``.
    """

    def __init__(self, params: P.Params, seed: int = 1, builder: Builder | None = None, *,
                 speed: float | None = None, step_steps: int = 10, threads: int = 1,
                 niceness: int = 0, sample_horizon_s: float = 600.0,
                 spike_horizon_s: float = 40.0) -> None:
        self._params = params
        self._seed = int(seed)
        self._builder: Builder = builder or default_builder
        self._threads = int(threads)
        self._niceness = int(niceness)
        self._sample_horizon_s = float(sample_horizon_s)
        self._spike_horizon_s = float(spike_horizon_s)
        self.step_steps = int(step_steps)
        #: Called on the simulation thread with every chunk, in order (e.g. a recorder).
        self.chunk_listeners: list[Callable[[Any], None]] = []

        self.source = DataSource(self)
        self._queue: queue.SimpleQueue[tuple[dict[str, Any] | None, Any, Future[Any] | None]] = (
            queue.SimpleQueue())
        self._events: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._first_build_done = threading.Event()  # set even when the first build failed
        self._thread: threading.Thread | None = None

        # state owned by the simulation thread
        self.sim: Any = None
        self._playing = False
        self._until_step: int | None = None
        self._pending_steps = 0
        self._speed: float | None = speed
        self._anchor: tuple[float, float] | None = None  # (wall, sim t) for speed control
        self._chunk_n = 2
        self._s_per_step = 1e-3
        self._build_id = 0
        self._version = 0  # changes whenever the simulator state does
        self._published: dict[str, tuple[int, float]] = {}
        #: Vital signs of the loop: a layer that falls silent is flagged in the app.
        self._health = HealthMonitor({})
        self._next_metrics_t = METRICS_FIRST_SIM_S
        self._metrics: list[dict[str, Any]] = []
        self._rate_window: list[tuple[float, int]] = []
        self._last_metrics_wall = 0.0
        self._schedule: list[tuple[int, dict[str, Any]]] = []  # replay: (step, command)
        self._i_sched = 0
        self._schedule_end: int | None = None  # pause here (the end of a replay)
        self._replay_end: int | None = None
        self._replay_params = params
        self._sim_s = 0.0  # wall time inside run_chunk
        self._compiling = False
        # imported here: `python -m hippoviz.runtime.compile` must find it not yet imported
        from hippoviz.runtime.compile import CompileWatch

        self._compile = CompileWatch(self._compile_started, self._compile_ended)
        self._overhead_s = 0.0  # wall time publishing chunks
        self.thread_limits: dict[str, Any] = {}
        self._maps = MapWorker(self._publish_maps, self._record_metrics,
                               lambda msg, detail: self._emit("error", message=msg,
                                                              detail=detail))

    # -- public API (any thread) ---------------------------------------------------------------
    def start(self) -> None:
        """Start the simulation thread (it builds the simulator first; paused)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._main, name="hippoviz-sim", daemon=True)
        self._maps.start()
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> bool:
        """Ask the thread to end and join it; returns True when it has ended."""
        self._stop.set()
        self._wake.set()
        t = self._thread
        if t is None:
            return True
        t0 = time.monotonic()
        t.join(timeout)
        maps_ok = self._maps.stop(max(0.05, timeout - (time.monotonic() - t0)))
        return not t.is_alive() and maps_ok

    @property
    def maps_idle(self) -> bool:
        """No rate-map or metrics job queued or running (for tests)."""
        return self._maps.idle

    @property
    def alive(self) -> bool:
        """Whether the simulation thread (or its map worker) still runs."""
        return self._thread is not None and (self._thread.is_alive()
                                             or self._maps._thread.is_alive())

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait for the first build; returns whether it succeeded (False: it failed, and an
        ``"error"`` event says why, or it did not finish within ``timeout``)."""
        self._first_build_done.wait(timeout)
        return self._ready.is_set()

    def command(self, cmd: dict[str, Any]) -> None:
        """Queue a command (see :meth:`DataSource.command`)."""
        self._queue.put((dict(cmd), None, None))
        self._wake.set()

    def submit(self, cmd: dict[str, Any]) -> Future[Any]:
        """Queue a command and get a future of its result (or its exception)."""
        fut: Future[Any] = Future()
        self._queue.put((dict(cmd), None, fut))
        self._wake.set()
        return fut

    def call(self, fn: Callable[[Any], Any]) -> Future[Any]:
        """Run ``fn(sim)`` in the simulation thread between chunks; a future of its result."""
        fut: Future[Any] = Future()
        self._queue.put((None, fn, fut))
        self._wake.set()
        return fut

    def poll_events(self) -> list[dict[str, Any]]:
        """Events since the last call (see the class notes)."""
        out = []
        while True:
            try:
                out.append(self._events.get_nowait())
            except queue.Empty:
                return out

    @property
    def playing(self) -> bool:
        return self._playing

    @property
    def speed(self) -> float | None:
        return self._speed

    # -- the thread --------------------------------------------------------------------------
    def _emit(self, kind: str, **kw: Any) -> None:
        self._events.put({"kind": kind, **kw})

    def _main(self) -> None:
        self.thread_limits = limit_threads(self._threads, self._niceness)
        self._compile.install()  # compiles happen in this thread (a chunk, sometimes a build)
        try:
            self._serve()
        finally:
            self._compile.remove()

    def _compile_started(self) -> None:
        self._compiling = True
        self._rate_window.clear()
        self._publish_stats()
        self._emit("compiling")

    def _compile_ended(self, seconds: float) -> None:
        self._compiling = False
        self._rate_window.clear()  # steps/s restarts after the compile
        self._anchor = None  # the speed control must not catch up on it either
        self._publish_stats()
        self._emit("compiled", seconds=seconds)

    @property
    def compiling(self) -> bool:
        """Whether Numba is compiling the kernels in the simulation thread now."""
        return self._compiling

    def _serve(self) -> None:
        try:
            self._rebuild(self._params, self._seed)
        except Exception as exc:  # a bad first config must not kill the thread
            self._emit("error", message=f"cannot build the simulation: {exc}",
                       detail=traceback.format_exc())
        finally:
            self._first_build_done.set()
        while not self._stop.is_set():
            self._drain()
            if self._stop.is_set():
                break
            try:
                self._apply_scheduled()
                n = self._next_chunk_steps()
                if n == 0:
                    self._publish(idle=True)
                    self._wake.wait(0.05)
                    self._wake.clear()
                    continue
                self._run(n)
            except Exception as exc:  # report, pause, and keep serving commands
                self._playing = False
                self._pending_steps = 0
                self._emit("error", message=f"simulation error: {type(exc).__name__}: {exc}",
                           detail=traceback.format_exc())
                self._publish_stats()
                continue
            delay = self._throttle()
            if delay > 0:
                self._wake.wait(delay)
                self._wake.clear()
        # nothing may wait forever on a command that will never run
        while True:
            try:
                _, _, fut = self._queue.get_nowait()
            except queue.Empty:
                break
            if fut is not None and not fut.done():
                fut.cancel()

    def _drain(self) -> None:
        while not self._stop.is_set():
            try:
                cmd, fn, fut = self._queue.get_nowait()
            except queue.Empty:
                return
            try:
                if fn is not None:
                    value = fn(self.sim)
                else:
                    assert cmd is not None
                    value = self._apply(cmd)
            except Exception as exc:
                if fut is not None:
                    fut.set_exception(exc)
                msg = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
                self._emit("error", message=msg, cmd=cmd)
            else:
                if fut is not None:
                    fut.set_result(value)

    def _apply(self, cmd: dict[str, Any]) -> Any:
        op = cmd.get("op")
        if op == "play":
            until = cmd.get("until_step")
            self._until_step = None if until is None else int(until)
            self._playing = True
            self._anchor = None
            self._pending_steps = 0
            self._publish_stats()
            return None
        if op == "pause":
            self._playing = False
            self._until_step = None
            self._publish_stats()
            return None
        if op == "toggle":
            return self._apply({"op": "pause" if self._playing else "play"})
        if op == "step":
            self._playing = False
            self._pending_steps += int(cmd.get("n", self.step_steps))
            return None
        if op == "speed":
            f = cmd.get("factor")
            self._speed = None if f is None or not math.isfinite(float(f)) else float(f)
            if self._speed is not None and self._speed <= 0:
                raise P.ParamError(f"speed must be positive, got {f!r}")
            self._anchor = None
            self._publish_stats()
            return None
        if op == "reset":
            return self._reset(cmd)
        if op == "publish":
            self._published.clear()
            self._publish(idle=True)
            return None
        if self.sim is None:
            raise RuntimeError("no simulation (the build failed)")
        value = self.sim.command(cmd)
        self._version += 1
        self._publish_state()
        if value is not None:
            self._emit("result", cmd=cmd, value=value)
        return value

    def _reset(self, cmd: dict[str, Any]) -> int:
        """Rebuild; ``schedule`` starts a replay, a plain reset restarts the current one."""
        seed = cmd.get("seed")
        seed = self._seed if seed is None else int(seed)
        schedule = cmd.get("schedule")
        if schedule is not None:
            base = cmd.get("params") or self._params
            self._schedule = [(int(st), dict(c)) for st, c in schedule]
            end = cmd.get("end_step")
            self._replay_end = None if end is None else int(end)
        elif self._schedule and seed == self._seed and not cmd.get("params") and not cmd.get(
                "patch"):
            base = self._replay_params  # same seed, same start: replay again from t = 0
        else:
            self._schedule, self._replay_end = [], None
            base = cmd.get("params") or (self.sim.params if self.sim is not None
                                         else self._params)
        patch = cmd.get("patch")
        if patch:
            base = P.replace(base, patch)
        self._rebuild(base, seed)
        self._replay_params = base
        self._schedule_end = self._replay_end
        self._i_sched = 0
        self._apply_scheduled()
        return self._seed

    def _apply_scheduled(self) -> None:
        """Apply the replay's commands whose step has come (chunks end at those steps)."""
        sim = self.sim
        if sim is None or self._i_sched >= len(self._schedule):
            return
        step = int(sim.step)
        applied = False
        while self._i_sched < len(self._schedule) and self._schedule[self._i_sched][0] <= step:
            at, cmd = self._schedule[self._i_sched]
            self._i_sched += 1
            if at < step:
                self._emit("error", message=f"replay: command at step {at} skipped (the "
                           f"simulation is at step {step})")
                continue
            try:
                sim.command(cmd)
            except (P.ParamError, ValueError, KeyError) as exc:
                self._emit("error", message=f"replay: command at step {at} refused: {exc}")
            applied = True
        if applied:
            self._version += 1
            self._publish_state()

    @property
    def replay_progress(self) -> tuple[int, int] | None:
        """``(step, end_step)`` while a replay is loaded, else None."""
        if self._replay_end is None and not self._schedule:
            return None
        end = self._replay_end if self._replay_end is not None else self._schedule[-1][0]
        return (int(self.sim.step) if self.sim is not None else 0, end)

    def _rebuild(self, params: P.Params, seed: int) -> None:
        sim = self._builder(params, seed)
        self.sim = sim
        self._params = sim.params
        self._seed = seed
        self._build_id += 1
        self._version += 1
        self._playing = False
        self._until_step = None
        self._pending_steps = 0
        self._anchor = None
        self._published.clear()
        self._metrics = []
        self._health = HealthMonitor(self._targets(sim))
        self._next_metrics_t = float(sim.t_s) + METRICS_FIRST_SIM_S
        self._last_metrics_wall = 0.0
        src = self.source
        sizes = {k: int(v) for k, v in sim.layer_sizes.items()}
        dt = float(sim.dt_s)
        src.samples_ring = SampleRing(int(self._sample_horizon_s / dt) + 1)
        src.spike_rings = {k: SpikeRing(self._spike_horizon_s) for k in sizes}
        src.slots.drop("weights", "ratemaps", "ratemap_extent", "last", "metrics_history",
                       "health")
        src.slots.put("layer_sizes", sizes)
        groups = {}
        for name, sl in sim.input_groups.items():
            if isinstance(sl, slice):
                groups[name] = (int(sl.start or 0), int(sl.stop))
            else:
                groups[name] = (int(sl[0]), int(sl[1]))
        src.slots.put("input_groups", groups)
        src.slots.put("seed", seed)
        src.slots.put("build_id", self._build_id)
        src.slots.put("metrics_history", [])
        self._publish_state()
        self._publish_stats()
        self._ready.set()
        self._emit("built", seed=seed, build_id=self._build_id, layer_sizes=sizes)

    def _next_chunk_steps(self) -> int:
        if self.sim is None:
            return 0
        if self._pending_steps > 0:
            n = min(self._pending_steps, self._chunk_n)
            if self._i_sched < len(self._schedule):
                n = min(n, max(1, self._schedule[self._i_sched][0] - int(self.sim.step)))
            return n
        if not self._playing:
            return 0
        n = self._chunk_n
        if self._speed is not None:
            # at real-time-like speeds a chunk covers about one display frame
            n = min(n, max(1, round(self._speed * (1 / 60) / float(self.sim.dt_s))))
        step = int(self.sim.step)
        if self._i_sched < len(self._schedule):
            n = min(n, max(1, self._schedule[self._i_sched][0] - step))
        if self._schedule_end is not None:
            if step >= self._schedule_end:
                # the end of the recording: pause once; playing on continues live
                self._playing = False
                self._until_step = None
                self._schedule_end = None
                self._publish_stats()
                self._emit("replay_end", step=step)
                return 0
            n = min(n, self._schedule_end - step)
        if self._until_step is not None:
            n = min(n, self._until_step - int(self.sim.step))
            if n <= 0:
                self._playing = False
                self._until_step = None
                self._publish_stats()
                self._emit("paused", step=int(self.sim.step))
                return 0
        return n

    def _run(self, n: int) -> None:
        sim = self.sim
        t0 = time.perf_counter()
        compiled0 = self._compile.compile_s
        try:
            chunk = sim.run_chunk(n)
        except Exception as exc:
            # hippoviz.sim raises SimulationDiverged and keeps the last good state
            if type(exc).__name__ != "SimulationDiverged":
                raise
            self._version += 1
            self._pending_steps = 0
            src = self.source
            src.slots.put("t_s", float(sim.t_s))
            src.slots.put("step", int(sim.step))
            self._diverged(str(exc))
            return
        for fn in self.chunk_listeners:
            fn(chunk)
        # a chunk that compiled the kernels says nothing about the speed of a step
        elapsed = max(1e-9, time.perf_counter() - t0 - (self._compile.compile_s - compiled0))
        self._version += 1
        if self._pending_steps > 0:
            self._pending_steps = max(0, self._pending_steps - n)
        # adapt the chunk so that one lasts about CHUNK_WALL_S
        per = elapsed / max(1, n)
        self._s_per_step = 0.8 * self._s_per_step + 0.2 * per
        self._chunk_n = int(min(2000, max(1, CHUNK_WALL_S / max(self._s_per_step, 1e-7))))
        now = time.perf_counter()
        self._rate_window.append((now, int(sim.step)))
        while len(self._rate_window) > 2 and now - self._rate_window[0][0] > 1.0:
            self._rate_window.pop(0)

        src = self.source
        src.samples_ring.append({
            "t_s": chunk.t_s, "pos_m": chunk.pos_m, "heading_rad": chunk.heading_rad,
            "speed_m_s": chunk.speed_m_s, "theta_phase_rad": chunk.theta_phase_rad,
            "mismatch": chunk.mismatch,
        })
        for layer, sp in chunk.spikes.items():
            ring = src.spike_rings.get(layer)
            if ring is not None:
                ring.append(sp.times_s, sp.units)
        src.slots.put("t_s", float(sim.t_s))
        src.slots.put("step", int(sim.step))
        self._check_health(chunk)

        if not np.isfinite(chunk.mismatch).all():
            self._diverged("")
            return
        self._publish(idle=False)
        self._sim_s += elapsed
        self._overhead_s += time.perf_counter() - t0 - elapsed

    @staticmethod
    def _targets(sim: Any) -> dict[str, float]:
        try:
            return targets_of(sim.params)
        except AttributeError:  # a stand-in simulator without a network section
            return {}

    def _check_health(self, chunk: Any) -> None:
        """Feed the chunk's active fractions, mismatch and carried error to the health monitor
        and publish which layers have fallen silent (slot ``health``)."""
        af = getattr(chunk, "active_fraction", None)
        n = int(chunk.t_s.shape[0])
        if af is None or n == 0 or np.shape(af)[0] != n:
            return
        try:
            carried = np.asarray(self.sim.last("carried_error"), np.float64)
        except Exception:
            carried = np.zeros(3)
        self._health.add(chunk.t_s, af, chunk.mismatch[:, 0], carried)
        self.source.slots.put("health", {
            "silent": self._health.silent_layers(), "active": self._health.recent_active(),
            "targets": dict(self._health.targets)})

    def _diverged(self, detail: str) -> None:
        sim = self.sim
        self._playing = False
        self._until_step = None
        self._pending_steps = 0
        bad = []
        with contextlib.suppress(Exception):
            bad = [w for w in WEIGHT_NAMES if not np.isfinite(sim.weights(w)).all()]
        key, reason = likely_culprit(sim.params, bad)
        msg = (f"The simulation diverged (NaN) at t = {float(sim.t_s):.1f} s. "
               f"Likely cause: {reason}. Reset, perhaps with a smaller value.")
        self._publish_stats()
        self._emit("diverged", key=key, message=msg, t_s=float(sim.t_s), detail=detail)

    def _throttle(self) -> float:
        """Seconds to wait so that simulated time runs at ``speed`` x wall time."""
        if self._speed is None or not self._playing or self.sim is None:
            self._anchor = None
            return 0.0
        now = time.perf_counter()
        t_sim = float(self.sim.t_s)
        if self._anchor is None:
            self._anchor = (now, t_sim)
            return 0.0
        wall0, sim0 = self._anchor
        delay = wall0 + (t_sim - sim0) / self._speed - now
        if delay < -0.25:  # cannot keep up: do not try to catch up later in a burst
            self._anchor = (now, t_sim)
            return 0.0
        return delay

    # -- publication ---------------------------------------------------------------------------
    def _due(self, key: str, every_s: float) -> bool:
        if not self.source.slots.wanted(key):
            return False
        last = self._published.get(key)
        if last is None:
            return True
        version, wall = last
        return version != self._version and time.monotonic() - wall >= every_s

    def _mark(self, key: str) -> None:
        self._published[key] = (self._version, time.monotonic())

    def _publish(self, idle: bool) -> None:
        sim = self.sim
        if sim is None:
            return
        slots = self.source.slots

        def last() -> None:
            out = {}
            for name in LAST_NAMES:
                with contextlib.suppress(Exception):
                    out[name] = np.array(sim.last(name), copy=True)
            slots.put("last", out)

        def weights() -> None:
            slots.put("weights", {w: np.array(sim.weights(w), copy=True) for w in WEIGHT_NAMES})

        for key, every, fn in (("last", LAST_EVERY_S, last), ("weights", WEIGHTS_EVERY_S, weights)):
            if self._due(key, every):
                self._mark(key)  # also on failure: report once per state, do not flood
                try:
                    fn()
                except Exception as exc:
                    self._emit("error", message=f"cannot publish {key}: {exc}",
                               detail=traceback.format_exc())
        want_maps = self._due("ratemaps", RATEMAPS_EVERY_S)
        now = time.monotonic()
        want_metrics = (float(sim.t_s) >= self._next_metrics_t
                        and now - self._last_metrics_wall >= METRICS_MIN_WALL_S)
        if want_maps or want_metrics:
            if want_maps:
                self._mark("ratemaps")
            if want_metrics:
                self._last_metrics_wall = now
                self._next_metrics_t = float(sim.t_s) + METRICS_EVERY_SIM_S
            try:
                self._snapshot_maps(want_maps, want_metrics)
            except Exception as exc:
                self._emit("error", message=f"cannot read the rate maps: {exc}",
                           detail=traceback.format_exc())
        if not idle:
            self._publish_stats()

    def _snapshot_maps(self, publish: bool, metrics: bool) -> None:
        """Copy the raw online rate maps for the map worker (smoothing happens there)."""
        sim = self.sim
        layers = list(self.source.spike_rings) if publish else list(HIDDEN)
        raw = {}
        for layer in layers:
            with contextlib.suppress(P.ParamError, KeyError):
                raw[layer] = np.asarray(sim.ratemaps(layer, smooth=False), dtype=np.float32)
        p = sim.params
        self._maps.submit(MapJob(
            build_id=self._build_id, t_s=float(sim.t_s), raw=raw,
            occupancy=np.array(sim.occupancy_s, dtype=np.float64, copy=True),
            extent=tuple(float(v) for v in sim.ratemap_extent),  # type: ignore[arg-type]
            publish=publish, metrics=metrics,
            metric_opts={"min_peak_hz": float(P.get(p, "analysis.min_peak_hz")),
                         "min_field_bins": int(P.get(p, "analysis.min_field_bins")),
                         "strict": P.get(p, "analysis.place_cell_criterion") == "strict",
                         "min_si_bits": float(P.get(p, "analysis.min_si_bits")),
                         "dominant_field_range": (
                             float(P.get(p, "analysis.dominant_field_min")),
                             float(P.get(p, "analysis.dominant_field_max"))),
                         "second_field_ratio": float(P.get(p, "analysis.second_field_ratio"))}))

    # called from the map worker thread
    def _publish_maps(self, job: MapJob, maps: dict[str, Any]) -> None:
        if job.build_id != self._build_id:
            return
        self.source.slots.put("ratemaps", maps)
        self.source.slots.put("ratemap_extent", job.extent)

    def _record_metrics(self, job: MapJob, entry: dict[str, Any]) -> None:
        if job.build_id != self._build_id:
            return
        self._metrics = [*self._metrics, entry]
        self.source.slots.put("metrics_history", self._metrics)

    def _publish_state(self) -> None:
        """Parameters, arena and objects (after a build or a command)."""
        sim = self.sim
        slots = self.source.slots
        slots.put("params", sim.params)
        slots.put("t_s", float(sim.t_s))
        slots.put("step", int(sim.step))
        arena = sim.arena
        slots.put("arena", {
            "width_m": float(arena.width_m), "height_m": float(arena.height_m),
            "shape_morph": float(arena.shape_morph),
            "outline": np.array(arena.outline(), dtype=np.float64),
            "bounds": tuple(float(v) for v in arena.bounds),
        })
        slots.put("objects", [(int(i), float(x), float(y)) for i, x, y in sim.objects])
        slots.put("pose", tuple(float(v) for v in sim.pose))  # the rat before any step
        slots.put("command_log_len", len(getattr(sim, "command_log", [])))
        self._health.targets = self._targets(sim)  # k may have changed

    def _publish_stats(self) -> None:
        w = self._rate_window
        sps = 0.0
        if len(w) >= 2 and w[-1][0] > w[0][0] and self._playing and not self._compiling:
            sps = (w[-1][1] - w[0][1]) / (w[-1][0] - w[0][0])
        dt = float(self.sim.dt_s) if self.sim is not None else 0.01
        self.source.slots.put("stats", {
            "steps_per_s": sps, "x_realtime": sps * dt, "playing": self._playing,
            "speed": self._speed, "chunk_steps": self._chunk_n,
            "publish_overhead": self._overhead_s / max(1e-9, self._sim_s), "dt_s": dt,
            "compiling": self._compiling,
        })
