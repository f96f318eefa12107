"""The simulation thread: a thin thread around a :class:`~hippoviz.runtime.Session`.

:class:`SimRunner` owns the session and is the only thread that touches it. The GUI proposes
changes through :meth:`SimRunner.command` (typed commands, :mod:`hippoviz.runtime.commands`);
they are applied between chunks, never mid-step, and a chunk aims at 15 ms of wall time (twice
that while other threads hold a core) so changes take effect well within 100 ms. After every
chunk the runner fills the rings and slots of its :class:`~hippoviz.runtime.LiveSource`; it
reports what happened as typed events (:mod:`hippoviz.runtime.events`). Code that must run on
the simulation thread (a recorder that plugs into the session's hooks, an experiment protocol)
goes through :meth:`SimRunner.call`.
"""

from __future__ import annotations

import contextlib
import copy
import math
import queue
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from typing import Any, TypeVar, assert_never

import numpy as np

from hippoviz import params as P
from hippoviz.analysis.health import HealthMonitor, targets_of
from hippoviz.runtime.commands import (
    AddObject,
    Command,
    Fork,
    MoveObject,
    Pause,
    Play,
    Publish,
    RemoveObject,
    Replay,
    Reset,
    ResetRatemaps,
    SetParams,
    SetSpeed,
    SetTrajectory,
    Step,
    Toggle,
    Unfork,
)
from hippoviz.runtime.divergence import likely_culprit
from hippoviz.runtime.events import (
    Built,
    Compiled,
    Compiling,
    Diverged,
    Error,
    Event,
    Forked,
    Paused,
    ReplayEnded,
    Result,
    Shared,
    Unforked,
)
from hippoviz.runtime.live_source import LiveSource, Slot, Slots
from hippoviz.runtime.maps import MapJob, MapWorker
from hippoviz.runtime.rings import SampleRing, SpikeRing
from hippoviz.runtime.session import Applied, Builder, Session, SimulatorLike, Stop
from hippoviz.runtime.source import ArenaShape, Health, MetricsPoint, RateMaps, Stats
from hippoviz.runtime.threads import limit_threads, run_queue_wait_s
from hippoviz.runtime.twin import DiffPoint, Twin
from hippoviz.sim import WEIGHT_NAMES, Chunk, SimulationDiverged

T = TypeVar("T")

#: The names of ``Simulator.last`` published in the ``last`` slot.
LAST_NAMES = ("x", "x_hat", "dg", "ca3", "ca1", "rate_ec", "rate_dg", "rate_ca3", "rate_ca1",
              "rate_out", "carried_error", "plasticity")
#: Wall time one chunk aims at (s); the chunk size adapts to it.
CHUNK_WALL_S = 0.015
WEIGHTS_EVERY_S = 0.5
RATEMAPS_EVERY_S = 1.0
LAST_EVERY_S = 1.0 / 30.0  # the display rate: no view reads it more often
METRICS_EVERY_SIM_S = 10.0
#: The first metrics come sooner, so that the Metrics view shows a point within seconds of Play
#: even at real-time speed.
METRICS_FIRST_SIM_S = 5.0
#: At high speed, metrics are taken at most this often (wall seconds): they cost the worker
#: ~0.1-0.4 s each on the default preset.
METRICS_MIN_WALL_S = 5.0

#: (command, function to call with the session, future, branch: "a" or "b")
_Job = tuple[Command | None, Callable[[Session], Any] | None, Future[Any] | None, str]


class SimRunner:
    """Runs a :class:`~hippoviz.runtime.Session` in a background thread and publishes what
    views need.

    Parameters
    ----------
    params : Params
        Parameters of the first build.
    seed : int
        Seed of the first build.
    builder : callable, optional
        ``builder(params, seed) -> simulator``; defaults to ``hippoviz.sim.build``.
    speed : float or None
        Simulated seconds per wall second (1 = real time); None runs as fast as possible.
    step_steps : int
        Steps run by one :class:`~hippoviz.runtime.commands.Step` (default 10 = 100 ms at
        dt = 10 ms).
    threads : int
        BLAS/Numba threads allowed to the simulation thread.
    niceness : int
        Added to the simulation thread's nice value (0: compete with the GUI as equals).
    sample_horizon_s, spike_horizon_s : float
        Simulated seconds kept in the sample ring and the spike rings.

    driver : SimRunner, optional
        Makes this runner branch B of ``driver``'s forks (see :attr:`branch_b`): it has no
        thread of its own; ``driver``'s thread runs its session and fills its source, and its
        commands go to ``driver``'s queue, marked for branch B.

    Notes
    -----
    **Forks.** A :class:`~hippoviz.runtime.commands.Fork` splits the session into a
    :class:`~hippoviz.runtime.twin.Twin`: A stays this runner's :attr:`session` and
    :attr:`source`, B is published by :attr:`branch_b` (its own ``source``, starting with A's
    history). Both step in lockstep in this thread (B's chunk in the twin's worker thread);
    transport commands (play, pause, step, speed) drive both from either source.
    :class:`~hippoviz.runtime.commands.Unfork` keeps one.

    Each (re)build makes a new :attr:`session`: what was attached to the old one (a recorder, a
    protocol) ends with it. Compile time never counts in ``Stats.steps_per_s``.
    """

    def __init__(self, params: P.Params, seed: int = 1, builder: Builder | None = None, *,
                 speed: float | None = None, step_steps: int = 10, threads: int = 1,
                 niceness: int = 0, sample_horizon_s: float = 600.0,
                 spike_horizon_s: float = 40.0, driver: SimRunner | None = None) -> None:
        self._driver = driver
        self._params = params
        self._seed = int(seed)
        self._builder = builder
        self._threads = int(threads)
        self._niceness = int(niceness)
        self._sample_horizon_s = float(sample_horizon_s)
        self._spike_horizon_s = float(spike_horizon_s)
        self.step_steps = int(step_steps)

        self.source = LiveSource(self)
        self._queue: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._events: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._first_build_done = threading.Event()  # set even when the first build failed
        self._thread: threading.Thread | None = None
        #: Wall seconds between two rate-map publications (smoothed by the map worker); the
        #: window doubles it while it spares its views (every core busy).
        self.ratemaps_every_s = RATEMAPS_EVERY_S
        #: Fewest wall seconds between two metrics at high speed; doubled likewise.
        self.metrics_min_wall_s = METRICS_MIN_WALL_S
        # the layers whose maps the views on show read (want_map_layers; None: every layer)
        self._map_layers: frozenset[str] | None = None
        self._maps_asked = False  # a layer newly wanted: publish after the next chunk
        #: (build, rate-map epoch) of the last publication of every layer (map worker)
        self._full_maps_key: tuple[int, int] | None = None
        self._maps_base: dict[str, Any] = {}  # that publication's maps, with later layers'

        # state owned by the simulation thread
        #: The session of the current build (None until the first build, or if it failed).
        self.session: Session | None = None
        self._playing = False
        self._until: Stop | None = None
        self._pending_steps = 0
        self._deferred: list[Callable[[], None]] = []  # runs after a chunk is published
        self._speed: float | None = speed
        self._anchor: tuple[float, float] | None = None  # (wall, sim t) for speed control
        self._chunk_n = 2
        self._s_per_step = 1e-3
        self._chunks_run = 0  # chunks run since the thread started (all builds)
        self._build_id = 0
        self._version = 0  # changes whenever the simulator state does
        self._published: dict[str, tuple[int, float]] = {}
        #: Vital signs of the loop: a layer that falls silent is flagged in the app.
        self._health = HealthMonitor({})
        self._next_metrics_t = METRICS_FIRST_SIM_S
        self._metrics: list[MetricsPoint] = []
        self._rate_window: list[tuple[float, int]] = []
        self._last_metrics_wall = 0.0
        self._replay: Replay | None = None  # the replay loaded (a plain reset restarts it)
        self._sim_s = 0.0  # wall time inside run_chunk
        self._compiling = False
        # imported here: `python -m hippoviz.runtime.compile` must find it not yet imported
        from hippoviz.runtime.compile import CompileWatch

        self._compile = CompileWatch(self._compile_started, self._compile_ended)
        self._overhead_s = 0.0  # wall time publishing chunks
        self.thread_limits: dict[str, Any] = {}
        self._maps = MapWorker(self._publish_maps, self._record_metrics,
                               lambda msg, detail: self._emit(Error(msg, detail)))
        self._maps_started = False
        # -- forks (owned by the simulation thread)
        self._twin: Twin | None = None
        self._fork_id = 0
        #: Branch B of a fork: a runner without a thread whose source the views of B read.
        self.branch_b: SimRunner | None = None
        #: Called on the simulation thread right after a fork, before either branch runs:
        #: ``fn(twin)`` (a recording of A adds one of B there).
        self.fork_listeners: list[Callable[[Twin], None]] = []
        #: Called on the simulation thread when a fork ends, before the kept branch goes on:
        #: ``fn(twin, keep, build_id)`` (``build_id``: the run's from then on).
        self.unfork_listeners: list[Callable[[Twin, str, int], None]] = []
        if driver is None:
            self.branch_b = SimRunner(params, seed, builder, speed=speed,
                                      step_steps=step_steps, threads=threads,
                                      niceness=niceness, sample_horizon_s=sample_horizon_s,
                                      spike_horizon_s=spike_horizon_s, driver=self)

    # -- public API (any thread) ---------------------------------------------------------------
    def start(self) -> None:
        """Start the simulation thread (it builds the simulator first; paused)."""
        if self._driver is not None:
            return  # branch B: its driver's thread runs it
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._main, name="hippoviz-sim", daemon=True)
        self._start_maps()
        self._thread.start()

    def _start_maps(self) -> None:
        if not self._maps_started:
            self._maps_started = True
            self._maps.start()

    def stop(self, timeout: float = 5.0) -> bool:
        """Ask the thread to end and join it; returns True when it has ended."""
        self._stop.set()
        self._wake.set()
        t = self._thread
        if t is None:
            return self._stop_maps(timeout)
        t0 = time.monotonic()
        t.join(timeout)
        maps_ok = self._stop_maps(max(0.05, timeout - (time.monotonic() - t0)))
        twin = self._twin
        if twin is not None and not t.is_alive():
            twin.close()
        b_ok = self.branch_b.stop(0.5) if self.branch_b is not None else True
        return not t.is_alive() and maps_ok and b_ok

    def _stop_maps(self, timeout: float) -> bool:
        if not self._maps_started:
            return True
        return self._maps.stop(timeout)

    @property
    def maps_idle(self) -> bool:
        """No rate-map or metrics job queued or running (for tests)."""
        return self._maps.idle

    def want_map_layers(self, layers: Iterable[str] | None) -> None:
        """Smooth only ``layers``' rate maps every ``ratemaps_every_s`` (None: every layer's).

        The window passes the layers its views on show read. Every layer is still smoothed and
        published with each metrics job (every ``metrics_min_wall_s`` at most at high speed),
        so a layer not asked for is never older than that; a layer newly asked for is
        published after the next chunk.
        """
        new = None if layers is None else frozenset(layers)
        old = self._map_layers
        if new == old:
            return
        self._map_layers = new
        if old is not None and (new is None or not new <= old):
            self._maps_asked = True

    def sim_wait_s(self) -> float | None:
        """Seconds the simulation thread has so far spent runnable but waiting for a CPU
        (Linux; None elsewhere, or while it does not run): what the window's drawing costs the
        simulation when every core is busy (``hippoviz.gui.frame_budget``)."""
        t = self._thread
        tid = t.native_id if t is not None and t.is_alive() else None
        return None if tid is None else run_queue_wait_s(tid)

    @property
    def alive(self) -> bool:
        """Whether the simulation thread (or its map worker) still runs."""
        if self._driver is not None:
            return self._maps.alive
        return self._thread is not None and (self._thread.is_alive() or self._maps.alive)

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait for the first build; returns whether it succeeded (False: it failed, and an
        :class:`~hippoviz.runtime.events.Error` says why, or it did not finish within
        ``timeout``). Branch B: whether it is forked now (it never waits)."""
        if self._driver is not None:
            return self._ready.is_set()
        self._first_build_done.wait(timeout)
        return self._ready.is_set()

    def _put(self, job: _Job) -> None:
        if self._driver is not None:  # branch B: the driver's thread runs it
            self._driver._put((job[0], job[1], job[2], "b"))
            return
        self._queue.put(job)
        self._wake.set()

    def command(self, cmd: Command) -> None:
        """Queue a command (applied between chunks; a refusal comes back as an ``Error``
        event)."""
        self._put((cmd, None, None, "a"))

    def submit(self, cmd: Command) -> Future[Any]:
        """Queue a command and get a future of its result (or its exception)."""
        fut: Future[Any] = Future()
        self._put((cmd, None, fut, "a"))
        return fut

    @property
    def chunks_run(self) -> int:
        """Chunks run so far: a command queued while chunk ``c`` runs applies before chunk
        ``c + 1`` starts (the simulation thread drains its queue between every two chunks)."""
        return self._chunks_run

    def call(self, fn: Callable[[Session], T]) -> Future[T]:
        """Run ``fn(session)`` in the simulation thread between chunks; a future of its result
        (a ``RuntimeError`` when there is no session: the build failed, or branch B is not
        forked)."""
        fut: Future[T] = Future()
        self._put((None, fn, fut, "a"))
        return fut

    @property
    def twin(self) -> Twin | None:
        """The twin while forked (use it on the simulation thread only: in ``call``, or in a
        fork or unfork listener)."""
        return self._twin if self._driver is None else self._driver._twin

    @property
    def forked(self) -> bool:
        """Whether the run is forked now (any thread)."""
        return self._twin is not None or (self._driver is not None and
                                          self._driver._twin is not None)

    def twin_history(self) -> tuple[int, float, list[DiffPoint]] | None:
        """``(fork id, fork time in s, the twin's DiffPoint list)`` while forked, else None.
        The list grows in the simulation thread: read it by slicing (any thread)."""
        twin = self._twin if self._driver is None else self._driver._twin
        fid = self._fork_id if self._driver is None else self._driver._fork_id
        if twin is None:
            return None
        return fid, twin.fork_t_s, twin.history

    def twin_param_differences(self) -> dict[str, tuple[Any, Any]]:
        """``{key: (A's value, B's value)}`` while forked (any thread), else empty."""
        twin = self._twin if self._driver is None else self._driver._twin
        return twin.param_differences() if twin is not None else {}

    def poll_events(self) -> list[Event]:
        """Events since the last call (:mod:`hippoviz.runtime.events`)."""
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

    @property
    def compiling(self) -> bool:
        """Whether Numba is compiling the kernels in the simulation thread now."""
        return self._compiling

    @property
    def seed(self) -> int:
        """The seed of the current build."""
        return self._seed

    @property
    def replay_progress(self) -> tuple[int, int] | None:
        """``(step, end_step)`` while a replay is loaded, else None."""
        r = self._replay
        if r is None:
            return None
        end = r.end_step if r.end_step is not None else (r.log[-1][0] if r.log else 0)
        session = self.session
        return (session.step if session is not None else 0, int(end))

    # -- the thread --------------------------------------------------------------------------
    def _emit(self, event: Event) -> None:
        if self._driver is not None:
            self._driver._emit(event)
            return
        self._events.put(event)

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
        self._emit(Compiling())

    def _compile_ended(self, seconds: float) -> None:
        self._compiling = False
        self._rate_window.clear()  # steps/s restarts after the compile
        self._anchor = None  # the speed control must not catch up on it either
        self._publish_stats()
        self._emit(Compiled(seconds))

    def _serve(self) -> None:
        try:
            self._rebuild(self._params, self._seed)
        except Exception as exc:  # a bad first config must not kill the thread
            self._emit(Error(f"cannot build the simulation: {exc}", traceback.format_exc()))
        finally:
            self._first_build_done.set()
        while not self._stop.is_set():
            self._drain()
            if self._stop.is_set():
                break
            try:
                self._apply_due()
                n = self._next_chunk_steps()
                if n == 0:
                    self._publish(idle=True)
                    if self._twin is not None and self.branch_b is not None:
                        self.branch_b._publish(idle=True)
                    self._wake.wait(0.05)
                    self._wake.clear()
                    continue
                self._run(n)
            except Exception as exc:  # report, pause, and keep serving commands
                self._playing = False
                self._pending_steps = 0
                self._emit(Error(f"simulation error: {type(exc).__name__}: {exc}",
                                 traceback.format_exc()))
                self._publish_stats()
                continue
            delay = self._throttle()
            if delay > 0:
                self._wake.wait(delay)
                self._wake.clear()
        # nothing may wait forever on a command that will never run
        while True:
            try:
                _, _, fut, _ = self._queue.get_nowait()
            except queue.Empty:
                break
            if fut is not None and not fut.done():
                fut.cancel()

    def _drain(self) -> None:
        while not self._stop.is_set():
            try:
                cmd, fn, fut, branch = self._queue.get_nowait()
            except queue.Empty:
                return
            try:
                if fn is not None:
                    value = fn(self._session_of(branch))
                else:
                    assert cmd is not None
                    value = self._apply(cmd, branch)
            except Exception as exc:
                if fut is not None:
                    fut.set_exception(exc)
                msg = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
                self._emit(Error(msg, command=cmd))
            else:
                if fut is not None:
                    fut.set_result(value)

    def _session_of(self, branch: str) -> Session:
        if branch == "b":
            if self._twin is None:
                raise RuntimeError("there is no branch B: the run is not forked")
            return self._twin.b
        if self.session is None:
            raise RuntimeError("there is no simulation (the build failed)")
        return self.session

    def _apply(self, cmd: Command, branch: str = "a") -> Any:
        if branch == "b" and isinstance(cmd, Reset | Replay):
            raise P.ParamError("a rebuild ends the fork: unfork first (Simulation ▸ Unfork), "
                               "or reset from branch A")
        match cmd:
            case Play(until_step=until):
                self._cancel_until()
                self._pending_steps = 0
                self._anchor = None
                if until is not None and self.session is not None:
                    if int(until) <= self.session.step:
                        self._playing = False
                        self._publish_stats()
                        self._emit(Paused(self.session.step))
                        return None
                    self._until = self.session.stop_at(int(until),
                                                       self._after_chunk(self._until_reached))
                self._playing = True
                self._publish_stats()
                return None
            case Pause():
                self._playing = False
                self._cancel_until()
                self._publish_stats()
                return None
            case Toggle():
                return self._apply(Pause() if self._playing else Play())
            case Step(n=n):
                self._playing = False
                self._cancel_until()
                self._pending_steps += int(self.step_steps if n is None else n)
                return None
            case SetSpeed(factor=f):
                speed = None if f is None or not math.isfinite(float(f)) else float(f)
                if speed is not None and speed <= 0:
                    raise P.ParamError(f"speed must be positive, got {f!r}")
                self._speed = speed
                self._anchor = None
                self._publish_stats()
                return None
            case Reset():
                return self._reset(cmd)
            case Replay():
                return self._start_replay(cmd)
            case Publish():
                self._published.clear()
                self._publish(idle=True)
                if self._twin is not None and self.branch_b is not None:
                    self.branch_b._published.clear()
                    self.branch_b._publish(idle=True)
                return None
            case Fork():
                return self._fork()
            case Unfork(keep=keep):
                return self._unfork(keep)
            case SetParams() | AddObject() | MoveObject() | RemoveObject() | SetTrajectory() | \
                    ResetRatemaps():
                if self._twin is not None:
                    routed = self._twin.apply(cmd, "b" if branch == "b" else "a")
                    if routed.shared:
                        self._emit(Shared(branch, routed.shared))
                    value = routed.results.get(branch)
                else:
                    value = self._session_of(branch).apply(cmd)
                if value is not None:
                    self._emit(Result(cmd, value))
                return value
            case _:
                assert_never(cmd)

    def _need_session(self) -> Session:
        if self.session is None:
            raise RuntimeError("no simulation (the build failed)")
        return self.session

    def _cancel_until(self) -> None:
        if self._until is not None:
            self._until.cancel()
            self._until = None

    def _after_chunk(self, fn: Callable[[], None]) -> Callable[[Session], None]:
        """A stop callback that runs ``fn`` once the chunk that reached the stop is published
        (so that what it announces is already in the slots)."""
        return lambda _session: self._deferred.append(fn)

    def _until_reached(self) -> None:
        self._until = None
        self._playing = False
        self._publish_stats()
        self._emit(Paused(self._need_session().step))

    def _replay_ended(self) -> None:
        # the end of the recording: pause once; playing on continues live
        self._playing = False
        self._cancel_until()
        self._publish_stats()
        self._emit(ReplayEnded(self._need_session().step))

    def _reset(self, cmd: Reset) -> int:
        """Rebuild; a plain reset while a replay is loaded starts the replay again."""
        seed = self._seed if cmd.seed is None else int(cmd.seed)
        r = self._replay
        if r is not None and seed == self._seed and cmd.params is None and not cmd.patch:
            return self._start_replay(r)
        self._replay = None
        base = cmd.params or (self.session.params if self.session is not None
                              else self._params)
        if cmd.patch:
            base = P.replace(base, dict(cmd.patch))
        self._rebuild(base, seed)
        return self._seed

    def _start_replay(self, r: Replay) -> int:
        """Rebuild from the replay's parameters and seed and schedule its command log."""
        self._replay = None
        self._rebuild(r.params, int(r.seed))
        self._replay = r
        session = self._need_session()
        for problem in session.set_schedule(r.log):
            self._emit(Error(f"replay: {problem.message}"))
        if r.end_step is not None:
            session.stop_at(int(r.end_step), self._after_chunk(self._replay_ended))
        return self._seed

    def _apply_due(self) -> None:
        """Apply the replay's commands whose step has come (chunks end at those steps)."""
        if self.session is not None:
            for problem in self.session.apply_due():
                self._emit(Error(f"replay: {problem.message}"))

    # -- forks --------------------------------------------------------------------------------
    def _fork(self) -> int:
        """Split the session into a twin now; returns the fork step."""
        if self._twin is not None:
            raise P.ParamError("the run is already forked (unfork first)")
        session = self._need_session()
        b = self.branch_b
        assert b is not None
        threads, nice = self._threads, self._niceness
        twin = Twin.fork(session, self._builder,
                         worker_init=lambda: (limit_threads(threads, nice), None)[1])
        self._twin = twin
        self._fork_id += 1
        b._start_maps()
        b._adopt(twin.b, self)
        self._notify(self.fork_listeners, twin)
        self._publish_stats()
        self._emit(Forked(twin.fork_step, twin.fork_t_s))
        return twin.fork_step

    def _unfork(self, keep: str) -> str:
        """End the twin and keep branch ``keep``."""
        if keep not in ("a", "b"):
            raise P.ParamError(f"keep must be 'a' or 'b', got {keep!r}")
        twin = self._twin
        if twin is None:
            raise P.ParamError("the run is not forked")
        b = self.branch_b
        assert b is not None
        self._notify(self.unfork_listeners, twin, keep,
                     self._build_id + 1 if keep == "b" else self._build_id)
        self._twin = None
        twin.close()
        if keep == "b":
            old = self.session
            if old is not None:
                old.applied.disconnect(self._on_applied)
                old.restored.disconnect(self._on_restored)
            self._cancel_until()
            self._replay = None
            self.session = twin.b
            twin.b.applied.disconnect(b._on_applied)
            twin.b.restored.disconnect(b._on_restored)
            twin.b.applied.connect(self._on_applied)
            twin.b.restored.connect(self._on_restored)
            # B's history becomes the run's
            src, bsrc = self.source, b.source
            src.samples_ring, src.spike_rings = bsrc.samples_ring, bsrc.spike_rings
            _copy_slots(bsrc.slots, src.slots, ("ratemaps", "health", "metrics_history"))
            self._metrics, self._health = b._metrics, b._health
            self._next_metrics_t = b._next_metrics_t
            self._build_id += 1  # what was attached to A ends with it
            src.slots.build_id.put(self._build_id)
            self._version += 1
            self._published.clear()
            self._publish_state()
        b._release()
        self._publish_stats()
        self._emit(Unforked(keep, self._need_session().step))
        return keep

    def _notify(self, listeners: list[Callable[..., None]], *args: Any) -> None:
        for fn in list(listeners):
            try:
                fn(*args)
            except Exception as exc:  # a listener must not break the fork
                self._emit(Error(f"{type(exc).__name__}: {exc}", traceback.format_exc()))

    def _adopt(self, session: Session, driver: SimRunner) -> None:
        """Branch B: publish ``session`` from now on, starting with ``driver``'s history."""
        session.applied.connect(self._on_applied)
        session.restored.connect(self._on_restored)
        self.session = session
        self._params = session.params
        self._seed = session.seed
        self._build_id += 1
        self._version += 1
        self._playing = driver._playing
        self._speed = driver._speed
        self._published.clear()
        self._metrics = list(driver._metrics)
        self._health = copy.deepcopy(driver._health)
        self._next_metrics_t = driver._next_metrics_t
        self._last_metrics_wall = 0.0
        self._rate_window = list(driver._rate_window)
        src, dsrc = self.source, driver.source
        src.samples_ring = dsrc.samples_ring.copy()
        src.spike_rings = {k: r.copy() for k, r in dsrc.spike_rings.items()}
        slots = src.slots
        slots.clear_build()
        _copy_slots(dsrc.slots, slots, ("layer_sizes", "input_groups", "seed", "ratemaps",
                                        "health"))
        slots.build_id.put(self._build_id)
        slots.metrics_history.put(list(self._metrics))
        self._publish_state()
        self._publish_stats()
        self._ready.set()
        self._first_build_done.set()

    def _release(self) -> None:
        """Branch B: the fork ended; forget the session (late map jobs are dropped)."""
        session = self.session
        if session is not None:
            with contextlib.suppress(Exception):
                session.applied.disconnect(self._on_applied)
            with contextlib.suppress(Exception):
                session.restored.disconnect(self._on_restored)
        self.session = None
        self._build_id += 1
        self._playing = False
        self._ready.clear()
        self.source.slots.build_id.put(self._build_id)
        self._publish_stats()

    def _rebuild(self, params: P.Params, seed: int) -> None:
        if self._twin is not None:  # a rebuild ends a fork (both branches)
            self._notify(self.unfork_listeners, self._twin, "a", self._build_id)
            twin, self._twin = self._twin, None
            twin.close()
            if self.branch_b is not None:
                self.branch_b._release()
            self._emit(Unforked("a", self.session.step if self.session is not None else 0))
        session = Session(params, seed, self._builder)
        session.applied.connect(self._on_applied)
        session.restored.connect(self._on_restored)
        self.session = session
        sim = session.sim
        self._params = session.params
        self._seed = seed
        self._build_id += 1
        self._version += 1
        self._playing = False
        self._until = None
        self._pending_steps = 0
        self._deferred = []
        self._anchor = None
        self._published.clear()
        self._metrics = []
        self._health = HealthMonitor(self._targets(sim))
        self._next_metrics_t = session.t_s + METRICS_FIRST_SIM_S
        self._last_metrics_wall = 0.0
        src = self.source
        sizes = session.layer_sizes
        src.samples_ring = SampleRing(int(self._sample_horizon_s / session.dt_s) + 1)
        src.spike_rings = {k: SpikeRing(self._spike_horizon_s) for k in sizes}
        slots = src.slots
        slots.clear_build()
        slots.layer_sizes.put(sizes)
        groups = {}
        for name, sl in sim.input_groups.items():
            if isinstance(sl, slice):
                groups[name] = (int(sl.start or 0), int(sl.stop))
            else:
                groups[name] = (int(sl[0]), int(sl[1]))
        slots.input_groups.put(groups)
        slots.seed.put(seed)
        slots.build_id.put(self._build_id)
        slots.metrics_history.put([])
        self._publish_state()
        self._publish_stats()
        self._ready.set()
        self._emit(Built(seed, self._build_id, dict(sizes)))

    def _on_applied(self, _applied: Applied) -> None:
        self._version += 1
        self._publish_state()

    def _on_restored(self, _step: int) -> None:
        self._version += 1
        self._publish_state()

    def _next_chunk_steps(self) -> int:
        session = self.session
        if session is None:
            return 0
        if self._pending_steps > 0:
            return min(self._pending_steps, self._chunk_n)
        if not self._playing:
            return 0
        n = self._chunk_n
        if self._speed is not None:
            # at real-time-like speeds a chunk covers about one display frame
            n = min(n, max(1, round(self._speed * (1 / 60) / session.dt_s)))
        return n

    def _run(self, n: int) -> None:
        session = self._need_session()
        t0 = time.perf_counter()
        compiled0 = self._compile.compile_s
        twin = self._twin
        chunk_b: Chunk | None = None
        try:
            if twin is not None:
                chunk, chunk_b = twin.run_chunk(n)
            else:
                chunk = session.run_chunk(n)
        except SimulationDiverged as exc:
            # the simulator kept the last good state
            self._version += 1
            self._pending_steps = 0
            self.source.slots.t_s.put(session.t_s)
            self.source.slots.step.put(session.step)
            self._diverged(str(exc))
            return
        self._chunks_run += 1
        # a chunk that compiled the kernels says nothing about the speed of a step
        elapsed = max(1e-9, time.perf_counter() - t0 - (self._compile.compile_s - compiled0))
        if self._pending_steps > 0:
            self._pending_steps = max(0, self._pending_steps - chunk.n)
        # adapt the chunk so that one lasts about CHUNK_WALL_S
        per = elapsed / max(1, chunk.n)
        self._s_per_step = 0.8 * self._s_per_step + 0.2 * per
        self._chunk_n = int(min(2000, max(1, CHUNK_WALL_S / max(self._s_per_step, 1e-7))))
        ok = self._take(chunk, elapsed)
        b = self.branch_b
        if chunk_b is not None and b is not None:
            b._playing, b._speed = self._playing, self._speed
            if not b._take(chunk_b, elapsed):
                ok = False
                self._playing = False  # B diverged: both stop
                self._cancel_until()
                self._pending_steps = 0
                self._publish_stats()
        if not ok:
            self._deferred = []
            return
        deferred, self._deferred = self._deferred, []
        for fn in deferred:
            fn()

    def _take(self, chunk: Chunk, elapsed: float) -> bool:
        """Fill the rings and slots with a chunk and publish what is due; False when the chunk
        diverged (then the runner paused and said so)."""
        session = self._need_session()
        sim = session.sim
        t0 = time.perf_counter()
        self._version += 1
        now = time.perf_counter()
        self._rate_window.append((now, session.step))
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
        src.slots.t_s.put(session.t_s)
        src.slots.step.put(session.step)
        self._check_health(chunk, sim)

        if not np.isfinite(chunk.mismatch).all():
            self._diverged("")
            return False
        self._publish(idle=False)
        self._sim_s += elapsed
        self._overhead_s += time.perf_counter() - t0
        return True

    @staticmethod
    def _targets(sim: SimulatorLike) -> dict[str, float]:
        try:
            return targets_of(sim.params)
        except AttributeError:  # a stand-in simulator without a network section
            return {}

    def _check_health(self, chunk: Chunk, sim: SimulatorLike) -> None:
        """Feed the chunk's active fractions, mismatch and carried error to the health monitor
        and publish which layers have fallen silent (slot ``health``)."""
        af = chunk.active_fraction
        n = int(chunk.t_s.shape[0])
        if n == 0 or np.shape(af)[0] != n:
            return
        try:
            carried = np.asarray(sim.last("carried_error"), np.float64)
        except Exception:
            carried = np.zeros(3)
        self._health.add(chunk.t_s, af, chunk.mismatch[:, 0], carried)
        self.source.slots.health.put(Health(
            silent=tuple(self._health.silent_layers()),
            active=dict(self._health.recent_active()),
            targets=dict(self._health.targets)))

    def _diverged(self, detail: str) -> None:
        session = self._need_session()
        sim = session.sim
        self._playing = False
        self._cancel_until()
        self._pending_steps = 0
        bad = []
        with contextlib.suppress(Exception):
            bad = [w for w in WEIGHT_NAMES if not np.isfinite(sim.weights(w)).all()]
        key, reason = likely_culprit(session.params, bad)
        msg = (f"The simulation diverged (NaN) at t = {session.t_s:.1f} s. "
               f"Likely cause: {reason}. Reset, perhaps with a smaller value.")
        self._publish_stats()
        self._emit(Diverged(key, msg, session.t_s, detail))

    def _throttle(self) -> float:
        """Seconds to wait so that simulated time runs at ``speed`` x wall time."""
        if self._speed is None or not self._playing or self.session is None:
            self._anchor = None
            return 0.0
        now = time.perf_counter()
        t_sim = self.session.t_s
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
    def _due(self, slot: Slot[Any], every_s: float) -> bool:
        if not slot.wanted():
            return False
        last = self._published.get(slot.name)
        if last is None:
            return True
        version, wall = last
        return version != self._version and time.monotonic() - wall >= every_s

    def _mark(self, slot: Slot[Any]) -> None:
        self._published[slot.name] = (self._version, time.monotonic())

    def _publish(self, idle: bool) -> None:
        session = self.session
        if session is None:
            return
        sim = session.sim
        slots = self.source.slots

        def last() -> None:
            out = {}
            for name in LAST_NAMES:
                with contextlib.suppress(Exception):
                    out[name] = np.array(sim.last(name), copy=True)
            slots.last.put(out)

        def weights() -> None:
            slots.weights.put({w: np.array(sim.weights(w), copy=True) for w in WEIGHT_NAMES})

        for slot, every, fn in ((slots.last, LAST_EVERY_S, last),
                                (slots.weights, WEIGHTS_EVERY_S, weights)):
            if self._due(slot, every):
                self._mark(slot)  # also on failure: report once per state, do not flood
                try:
                    fn()
                except Exception as exc:
                    self._emit(Error(f"cannot publish {slot.name}: {exc}",
                                     traceback.format_exc()))
        want_maps = self._due(slots.ratemaps, self.ratemaps_every_s)
        if self._maps_asked:
            self._maps_asked, want_maps = False, True
        now = time.monotonic()
        want_metrics = (session.t_s >= self._next_metrics_t
                        and now - self._last_metrics_wall >= self.metrics_min_wall_s)
        if want_maps or want_metrics:
            if want_maps:
                self._mark(slots.ratemaps)
            if want_metrics:
                self._last_metrics_wall = now
                self._next_metrics_t = session.t_s + METRICS_EVERY_SIM_S
            try:
                self._snapshot_maps(want_metrics)
            except Exception as exc:
                self._emit(Error(f"cannot read the rate maps: {exc}", traceback.format_exc()))
        if not idle:
            self._publish_stats()

    def _snapshot_maps(self, metrics: bool) -> None:
        """Copy the raw online rate maps for the map worker (smoothing happens there): every
        layer's for metrics, after a build or when the maps started afresh, else only those of
        the layers wanted (:meth:`want_map_layers`)."""
        session = self._need_session()
        sim = session.sim
        key = (self._build_id, int(sim.ratemaps_epoch))
        wanted = self._map_layers
        full = metrics or wanted is None or self._full_maps_key != key
        layers = [L for L in self.source.spike_rings if full or L in (wanted or ())]
        raw = {}
        for layer in layers:
            with contextlib.suppress(P.ParamError, KeyError):
                raw[layer] = np.asarray(sim.ratemaps(layer, smooth=False), dtype=np.float32)
        a = session.params.analysis
        x0, x1, y0, y1 = (float(v) for v in sim.ratemap_extent)
        self._maps.submit(MapJob(
            build_id=self._build_id, t_s=session.t_s, raw=raw,
            occupancy=np.array(sim.occupancy_s, dtype=np.float64, copy=True),
            extent=(x0, x1, y0, y1), metrics=metrics, full=full, maps_key=key,
            metric_opts={"min_peak_hz": float(a.min_peak_hz),
                         "min_field_bins": int(a.min_field_bins),
                         "strict": a.place_cell_criterion == "strict",
                         "min_si_bits": float(a.min_si_bits),
                         "dominant_field_range": (float(a.dominant_field_min),
                                                  float(a.dominant_field_max)),
                         "second_field_ratio": float(a.second_field_ratio)}))

    # called from the map worker thread
    def _publish_maps(self, job: MapJob, maps: dict[str, Any]) -> None:
        if job.build_id != self._build_id:
            return
        # a new dict each time, never changed once published
        if job.full:
            self._full_maps_key, self._maps_base = job.maps_key, maps
        elif job.maps_key == self._full_maps_key:  # the other layers as published before
            self._maps_base = {**self._maps_base, **maps}
        else:  # the maps started afresh since the last job with every layer: the next has them
            return
        self.source.slots.ratemaps.put(RateMaps(self._maps_base, job.extent))

    def _record_metrics(self, job: MapJob, point: MetricsPoint) -> None:
        if job.build_id != self._build_id:
            return
        self._metrics = [*self._metrics, point]
        self.source.slots.metrics_history.put(self._metrics)

    def _publish_state(self) -> None:
        """Parameters, arena and objects (after a build or a command)."""
        session = self._need_session()
        sim = session.sim
        slots = self.source.slots
        slots.params.put(session.params)
        slots.t_s.put(session.t_s)
        slots.step.put(session.step)
        slots.arena.put(ArenaShape.of(sim.arena))
        slots.objects.put([(int(i), float(x), float(y)) for i, x, y in sim.objects])
        px, py, ph = (float(v) for v in sim.pose)
        slots.pose.put((px, py, ph))  # the rat before any step
        slots.command_log_len.put(len(sim.command_log))
        self._health.targets = self._targets(sim)  # k may have changed

    def _publish_stats(self) -> None:
        b = self.branch_b
        if self._twin is not None and b is not None:
            b._playing, b._speed = self._playing, self._speed
            b._publish_stats()
        w = self._rate_window
        sps = 0.0
        if len(w) >= 2 and w[-1][0] > w[0][0] and self._playing and not self._compiling:
            sps = (w[-1][1] - w[0][1]) / (w[-1][0] - w[0][0])
        dt = self.session.dt_s if self.session is not None else 0.01
        self.source.slots.stats.put(Stats(
            steps_per_s=sps, x_realtime=sps * dt, playing=self._playing, speed=self._speed,
            chunk_steps=self._chunk_n, publish_overhead=self._overhead_s / max(1e-9, self._sim_s),
            dt_s=dt, compiling=self._compiling))


def _copy_slots(frm: Slots, to: Slots, names: tuple[str, ...]) -> None:
    """Put the values of slots ``names`` of ``frm`` into those of ``to``."""
    for name in names:
        slot_to: Slot[Any] = getattr(to, name)
        slot_from: Slot[Any] = getattr(frm, name)
        slot_to.put(slot_from.get())


__all__ = ["METRICS_EVERY_SIM_S", "METRICS_FIRST_SIM_S", "SimRunner"]
